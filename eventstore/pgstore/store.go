// Package pgstore is the Postgres implementation of the event store, the default one.
package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/mediciasafely/jobserver/eventstore"
)

var eventsAppended = promauto.NewCounter(prometheus.CounterOpts{
	Name: "jobserver_events_appended_total",
	Help: "Events appended to the event store by this process.",
})

// Store is the Postgres event store.
type Store struct {
	pool     *pgxpool.Pool
	notifier *Notifier
}

// New returns a store on pool. Call Close to stop its notification goroutines.
func New(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, notifier: newNotifier(pool)}
}

// Close stops listening for and announcing appends.
func (s *Store) Close() { s.notifier.close() }

// Notifier tells waiting readers that events were appended, in this process or another.
func (s *Store) Notifier() *Notifier { return s.notifier }

// appendSQL inserts every event of an append in one statement, only when every exact expected version still
// holds (the stream's event at that version exists); a second writer racing for the same next version is
// stopped by the unique (stream_id, stream_version) constraint.
const appendSQL = `
INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version, data, metadata)
SELECT i.event_id, i.stream_id, i.stream_version, i.event_type, i.schema_version, i.data::jsonb, i.metadata::jsonb
FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::int[], $6::text[], $7::text[])
     WITH ORDINALITY AS i(event_id, stream_id, stream_version, event_type, schema_version, data, metadata, ord)
WHERE NOT EXISTS (
    SELECT 1 FROM unnest($8::text[], $9::bigint[]) AS r(stream_id, version)
    WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.stream_id = r.stream_id AND e.stream_version = r.version))
ORDER BY i.ord
RETURNING tx_id, seq`

// appendStreamSQL is appendSQL for an append to one stream, with the expected version as a plain parameter
// ($8, 0 for a new stream). Postgres keeps its cached generic plan; appendSQL's check over arrays is costed
// at ten rows in the generic plan, so once events has statistics Postgres plans it afresh on every call.
const appendStreamSQL = `
INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version, data, metadata)
SELECT i.event_id, $2, i.stream_version, i.event_type, i.schema_version, i.data::jsonb, i.metadata::jsonb
FROM unnest($1::uuid[], $3::bigint[], $4::text[], $5::int[], $6::text[], $7::text[])
     WITH ORDINALITY AS i(event_id, stream_version, event_type, schema_version, data, metadata, ord)
WHERE $8::bigint = 0 OR EXISTS (SELECT 1 FROM events e WHERE e.stream_id = $2 AND e.stream_version = $8::bigint)
ORDER BY i.ord
RETURNING tx_id, seq`

// appendEventSQL is appendStreamSQL for the commonest append, one event, without arrays to encode and unnest.
const appendEventSQL = `
INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version, data, metadata)
SELECT $1, $2, $3, $4, $5, $6::jsonb, $7::jsonb
WHERE $8::bigint = 0 OR EXISTS (SELECT 1 FROM events e WHERE e.stream_id = $2 AND e.stream_version = $8::bigint)
RETURNING tx_id, seq`

func (s *Store) Append(ctx context.Context, appends []eventstore.Append, secrets ...eventstore.SecretWrite) (eventstore.AppendResult, error) {
	if err := eventstore.Validate(appends); err != nil {
		return eventstore.AppendResult{}, err
	}
	for {
		res, err := s.tryAppend(ctx, appends, secrets)
		if errors.Is(err, errRetryAny) {
			continue
		}
		if err == nil {
			eventsAppended.Add(float64(countEvents(appends)))
			s.notifier.appended(res.Last)
		}
		return res, err
	}
}

// errRetryAny means a writer with expected version Any lost a race; it tries again on the new version.
var errRetryAny = errors.New("retry append with expected version any")

func (s *Store) tryAppend(ctx context.Context, all []eventstore.Append, secrets []eventstore.SecretWrite) (eventstore.AppendResult, error) {
	appends, guards := eventstore.SplitGuards(all)
	versions, err := s.currentVersionsForAny(ctx, appends)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	stmt, res, err := appendStatement(appends, versions)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	var rows []position
	if len(secrets) == 0 && len(guards) == 0 {
		rows, err = insertEvents(ctx, s.pool, stmt)
	} else {
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if rows, err = insertEvents(ctx, tx, stmt); err != nil || len(rows) == 0 {
				return err
			}
			if err := checkGuards(ctx, tx, guards); err != nil {
				return err
			}
			return writeSecrets(ctx, tx, secrets)
		})
	}
	if errors.Is(err, eventstore.ErrConcurrency) {
		return eventstore.AppendResult{}, err
	}
	if err != nil && !isUniqueViolation(err) {
		return eventstore.AppendResult{}, fmt.Errorf("append: %w", err)
	}
	if err != nil || len(rows) == 0 {
		return s.explainRejectedAppend(ctx, appends, versions)
	}
	last := rows[len(rows)-1]
	res.Last = eventstore.Position{TxID: uint64(last.txID), Seq: last.seq}
	return res, nil
}

type position struct {
	txID int64
	seq  int64
}

// checkGuards fails with a *ConcurrencyError unless every guarded stream is still at its expected version.
// It runs after the insert, inside the same transaction: a change to a guarded stream committed before
// this statement fails the append; one committed after it is ordered after this append, which it did not
// read, so the two are as if run one after the other.
func checkGuards(ctx context.Context, tx pgx.Tx, guards []eventstore.Append) error {
	if len(guards) == 0 {
		return nil
	}
	streams, expected := make([]string, len(guards)), make([]int64, len(guards))
	for i, g := range guards {
		streams[i], expected[i] = g.Stream, int64(g.Expected)
	}
	var stream string
	var actual int64
	err := tx.QueryRow(ctx, `
SELECT g.stream_id, v.version
FROM unnest($1::text[], $2::bigint[]) AS g(stream_id, expected),
     LATERAL (SELECT coalesce(max(e.stream_version), 0) AS version FROM events e WHERE e.stream_id = g.stream_id) v
WHERE v.version <> g.expected
LIMIT 1`, streams, expected).Scan(&stream, &actual)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("append: check guards: %w", err)
	}
	for _, g := range guards {
		if g.Stream == stream {
			return &eventstore.ConcurrencyError{Stream: stream, Expected: g.Expected, Actual: actual}
		}
	}
	return &eventstore.ConcurrencyError{Stream: stream, Actual: actual}
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func insertEvents(ctx context.Context, q querier, stmt statement) ([]position, error) {
	rows, err := q.Query(ctx, stmt.sql, stmt.args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (position, error) {
		var p position
		err := row.Scan(&p.txID, &p.seq)
		return p, err
	})
}

func writeSecrets(ctx context.Context, tx pgx.Tx, secrets []eventstore.SecretWrite) error {
	for _, sw := range secrets {
		var err error
		if sw.Delete {
			_, err = tx.Exec(ctx, `DELETE FROM secrets WHERE key = $1`, sw.Key)
		} else {
			_, err = tx.Exec(ctx, `INSERT INTO secrets (key, value) VALUES ($1, $2)
				ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()`, sw.Key, sw.Value)
		}
		if err != nil {
			return fmt.Errorf("write secret: %w", err)
		}
	}
	return nil
}

// currentVersionsForAny reads the version of each stream appended with expected version Any, turning the
// append into one with an exact expected version.
func (s *Store) currentVersionsForAny(ctx context.Context, appends []eventstore.Append) (map[string]int64, error) {
	versions := map[string]int64{}
	for _, a := range appends {
		if a.Expected != eventstore.Any {
			versions[a.Stream] = int64(a.Expected)
			continue
		}
		v, err := s.streamVersion(ctx, a.Stream)
		if err != nil {
			return nil, err
		}
		versions[a.Stream] = v
	}
	return versions, nil
}

func (s *Store) streamVersion(ctx context.Context, stream string) (int64, error) {
	var v int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1`, stream).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("append: read version of %s: %w", stream, err)
	}
	return v, nil
}

// statement is one SQL statement with its arguments.
type statement struct {
	sql  string
	args []any
}

// appendStatement builds the statement for an append, choosing the simplest one that fits: most commands
// append one event to one stream.
func appendStatement(appends []eventstore.Append, versions map[string]int64) (statement, eventstore.AppendResult, error) {
	n := countEvents(appends)
	var (
		ids         = make([][16]byte, 0, n)
		streams     = make([]string, 0, n)
		streamVers  = make([]int64, 0, n)
		types       = make([]string, 0, n)
		schemaVers  = make([]int32, 0, n)
		data        = make([]string, 0, n)
		metas       = make([]string, 0, n)
		reqStreams  []string
		reqVersions []int64
	)
	res := eventstore.AppendResult{Versions: make(map[string]int64, len(appends))}
	for _, a := range appends {
		base := versions[a.Stream]
		if base > 0 {
			reqStreams = append(reqStreams, a.Stream)
			reqVersions = append(reqVersions, base)
		}
		for i, e := range a.Events {
			meta, err := json.Marshal(e.Metadata)
			if err != nil {
				return statement{}, res, fmt.Errorf("append: metadata: %w", err)
			}
			if !json.Valid(e.Data) {
				return statement{}, res, fmt.Errorf("append: event %s (%s) data is not JSON", e.ID, e.Type)
			}
			ids = append(ids, [16]byte(e.ID))
			streams = append(streams, a.Stream)
			streamVers = append(streamVers, base+int64(i)+1)
			types = append(types, e.Type)
			schemaVers = append(schemaVers, int32(e.SchemaVersion))
			data = append(data, string(e.Data))
			metas = append(metas, string(meta))
		}
		res.Versions[a.Stream] = base + int64(len(a.Events))
	}
	if len(appends) > 1 {
		return statement{appendSQL, []any{ids, streams, streamVers, types, schemaVers, data, metas, reqStreams, reqVersions}}, res, nil
	}
	expected := versions[appends[0].Stream]
	if n == 1 {
		return statement{appendEventSQL, []any{ids[0], streams[0], streamVers[0], types[0], schemaVers[0], data[0], metas[0], expected}}, res, nil
	}
	return statement{appendStreamSQL, []any{ids, streams[0], streamVers, types, schemaVers, data, metas, expected}}, res, nil
}

// explainRejectedAppend decides why an append inserted nothing: the same events were appended before (a
// retry, which succeeds with the original result), an id is used elsewhere, or a stream moved on.
func (s *Store) explainRejectedAppend(ctx context.Context, appends []eventstore.Append, versions map[string]int64) (eventstore.AppendResult, error) {
	var ids [][16]byte
	want := map[ulid.ULID]string{}
	for _, a := range appends {
		for _, e := range a.Events {
			ids = append(ids, [16]byte(e.ID))
			want[e.ID] = a.Stream
		}
	}
	rows, err := s.pool.Query(ctx, `SELECT event_id, stream_id, stream_version, tx_id, seq FROM events WHERE event_id = ANY($1)`, ids)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append: %w", err)
	}
	res := eventstore.AppendResult{Versions: map[string]int64{}}
	found := 0
	for rows.Next() {
		var (
			id      pgtype.UUID
			stream  string
			version int64
			pos     position
		)
		if err := rows.Scan(&id, &stream, &version, &pos.txID, &pos.seq); err != nil {
			rows.Close()
			return eventstore.AppendResult{}, fmt.Errorf("append: %w", err)
		}
		if want[ulid.ULID(id.Bytes)] != stream {
			rows.Close()
			return eventstore.AppendResult{}, eventstore.ErrDuplicateEventID
		}
		found++
		p := eventstore.Position{TxID: uint64(pos.txID), Seq: pos.seq}
		if res.Last.Less(p) {
			res.Last = p
		}
		res.Versions[stream] = max(res.Versions[stream], version)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append: %w", err)
	}
	switch {
	case found == len(ids):
		return res, nil
	case found > 0:
		return eventstore.AppendResult{}, eventstore.ErrDuplicateEventID
	}
	for _, a := range appends {
		actual, err := s.streamVersion(ctx, a.Stream)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		if actual != versions[a.Stream] {
			if a.Expected == eventstore.Any {
				return eventstore.AppendResult{}, errRetryAny
			}
			return eventstore.AppendResult{}, &eventstore.ConcurrencyError{Stream: a.Stream, Expected: a.Expected, Actual: actual}
		}
	}
	// Every stream is now where the append expected it: the writer that beat us rolled back. Try again.
	for _, a := range appends {
		if a.Expected != eventstore.Any {
			return eventstore.AppendResult{}, &eventstore.ConcurrencyError{Stream: a.Stream, Expected: a.Expected, Actual: versions[a.Stream]}
		}
	}
	return eventstore.AppendResult{}, errRetryAny
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

func countEvents(appends []eventstore.Append) int {
	n := 0
	for _, a := range appends {
		n += len(a.Events)
	}
	return n
}

// eventColumns are the columns scanEvent reads. The metadata's fields are taken apart by Postgres, which
// spares the reader a JSON parse per event (a visible share of a rebuild's time).
const eventColumns = `tx_id, seq, event_id, stream_id, stream_version, event_type, schema_version, data,
	coalesce(metadata->>'actor', ''), coalesce(metadata->>'correlation_id', ''), coalesce(metadata->>'causation_id', ''), recorded_at`

const selectEvent = `SELECT ` + eventColumns + ` FROM events`

func (s *Store) ReadStream(ctx context.Context, stream string) ([]eventstore.Event, error) {
	rows, err := s.pool.Query(ctx, selectEvent+` WHERE stream_id = $1 ORDER BY stream_version`, stream)
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	events, err := pgx.CollectRows(rows, collectEvent)
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	return events, nil
}

// ReadAllSQL selects the visible events after a position in global order: $1/$2 is the position, $3 the limit.
// Rows of transactions that may still be running, or that started before one still running, are not
// visible yet; they will be once every older transaction has ended.
const ReadAllSQL = selectEvent + `
WHERE (tx_id, seq) > ($1, $2) AND tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
ORDER BY tx_id, seq LIMIT $3`

func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Event, error) {
	return ReadAll(ctx, s.pool, after, limit)
}

// ReadAll reads visible events with q, which may be a transaction: projectors read and apply in one.
func ReadAll(ctx context.Context, q querier, after eventstore.Position, limit int) ([]eventstore.Event, error) {
	rows, err := q.Query(ctx, ReadAllSQL, int64(after.TxID), after.Seq, limit)
	if err != nil {
		return nil, fmt.Errorf("read all: %w", err)
	}
	events, err := pgx.CollectRows(rows, collectEvent)
	if err != nil {
		return nil, fmt.Errorf("read all: %w", err)
	}
	return events, nil
}

// collectEvent is scanEvent for pgx.CollectRows.
func collectEvent(row pgx.CollectableRow) (eventstore.Event, error) { return scanEvent(row) }

// scanEvent scans a row selected as eventColumns.
func scanEvent(row interface{ Scan(...any) error }) (eventstore.Event, error) {
	var (
		e             eventstore.Event
		txID          int64
		id            pgtype.UUID
		schemaVersion int32
	)
	err := row.Scan(&txID, &e.Position.Seq, &id, &e.Stream, &e.Version, &e.Type, &schemaVersion, &e.Data,
		&e.Metadata.Actor, &e.Metadata.CorrelationID, &e.Metadata.CausationID, &e.RecordedAt)
	if err != nil {
		return e, err
	}
	e.Position.TxID = uint64(txID)
	e.ID = ulid.ULID(id.Bytes)
	e.SchemaVersion = int(schemaVersion)
	e.RecordedAt = e.RecordedAt.UTC()
	return e, nil
}

func (s *Store) Subscribe(ctx context.Context, after eventstore.Position, handle func(eventstore.Event) error) error {
	const batch = 1000
	waiter := s.notifier.Waiter()
	for {
		waiter.Arm()
		events, err := s.ReadAll(ctx, after, batch)
		if err != nil {
			return err
		}
		for _, e := range events {
			if err := handle(e); err != nil {
				return err
			}
			after = e.Position
		}
		if len(events) == batch {
			continue
		}
		waiter.Saw(after)
		if len(events) > 0 {
			continue
		}
		if err := waiter.Wait(ctx); err != nil {
			return err
		}
	}
}

func (s *Store) Secret(ctx context.Context, key string) ([]byte, bool, error) {
	return NewSecrets(s.pool).Secret(ctx, key)
}

// pollFallback bounds how long a reader waits when it heard nothing: appends by a process whose
// notification was lost still arrive.
const pollFallback = time.Second
