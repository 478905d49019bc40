package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/mediciasafely/jobserver/eventstore"
)

var (
	eventsMirrored = promauto.NewCounter(prometheus.CounterOpts{
		Name: "jobserver_log_mirror_events_total",
		Help: "Events of the log of record (KurrentDB) copied into the Postgres events table by this process.",
	})
	mirrorBatches = promauto.NewCounter(prometheus.CounterOpts{
		Name: "jobserver_log_mirror_batches_total",
		Help: "Transactions in which this process copied events of the log of record into the events table.",
	})
	mirrorFailures = promauto.NewCounter(prometheus.CounterOpts{
		Name: "jobserver_log_mirror_failures_total",
		Help: "Runs of the log mirror in this process that stopped on an error (each is started again after a pause).",
	})
	mirrorLastCopied = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "jobserver_log_mirror_last_copied_timestamp_seconds",
		Help: "When the last event this process copied was recorded in the log of record: with events flowing, now minus this is the mirror's lag.",
	})
)

// Mirror copies the events of a log of record kept elsewhere (KurrentDB) into the events table, in the
// log's order, so that what follows the events table (projectors, reactors, live pages, the audit sealer)
// works as it does when Postgres is the log. Each copied event keeps its id, stream, version, type, data,
// metadata and recording time; its position in the events table is the one Postgres gives it, and a
// batch's transaction records the log of record's position of its last event in log_mirror, which is the
// mirror's checkpoint: a batch and its checkpoint commit together, so a mirror started again resumes
// after the last event copied, neither skipping nor repeating one.
//
// One mirror runs at a time (an exclusive job). Its lock does not fence its writes, so each batch locks
// the checkpoint row and checks it is where this run left it: a run that lost its lock and still writes
// finds the checkpoint moved and stops, and the unique event ids would refuse a repeat anyway.
type Mirror struct {
	source eventstore.Store
	target *Store
}

// MirrorBatch is the most events one transaction copies. Under load a batch takes what has arrived since
// the last one, so the mirror keeps up with fewer, larger transactions; when quiet, each event alone.
const MirrorBatch = 500

// NewMirror returns the mirror of source into target's events table. Prepare creates its checkpoint.
func NewMirror(source eventstore.Store, target *Store) *Mirror {
	return &Mirror{source: source, target: target}
}

// Prepare creates the checkpoint table, once, whichever server gets there first: it exists only where a
// log of record is mirrored, so it is not among the migrations of the default (Postgres) log. It is named
// with its schema, public beside events: the servers' search_path puts the read models' schema first once
// it exists, and an unqualified CREATE TABLE IF NOT EXISTS would then make a second, empty checkpoint there.
func (m *Mirror) Prepare(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, m.target.pool, func(tx pgx.Tx) error {
		// Servers starting together would trip over each other's CREATE TABLE IF NOT EXISTS.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('jobserver log mirror', 0))`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `
CREATE TABLE IF NOT EXISTS public.log_mirror (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    -- the log of record's position (KurrentDB commit/prepare) of the last event copied
    log_commit  bigint      NOT NULL,
    log_prepare bigint      NOT NULL,
    -- where in the events table it was copied to
    tx_id       bigint      NOT NULL,
    seq         bigint      NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO public.log_mirror (log_commit, log_prepare, tx_id, seq) VALUES (0, 0, 0, 0) ON CONFLICT DO NOTHING`)
		return err
	})
	if err != nil {
		return fmt.Errorf("prepare the log mirror: %w", err)
	}
	return nil
}

// MirrorCheckpoint is how far the mirror has copied: Log is the log of record's position of the last
// event copied, Local where it landed in the events table.
type MirrorCheckpoint struct {
	Log, Local eventstore.Position
}

// Checkpoint reads how far the mirror has copied.
func (m *Mirror) Checkpoint(ctx context.Context) (MirrorCheckpoint, error) {
	return readMirrorCheckpoint(m.target.pool.QueryRow(ctx, selectMirrorCheckpoint))
}

const selectMirrorCheckpoint = `SELECT log_commit, log_prepare, tx_id, seq FROM public.log_mirror`

func readMirrorCheckpoint(row pgx.Row) (MirrorCheckpoint, error) {
	var logCommit, logPrepare, txID, seq int64
	if err := row.Scan(&logCommit, &logPrepare, &txID, &seq); err != nil {
		return MirrorCheckpoint{}, fmt.Errorf("read the log mirror's checkpoint: %w", err)
	}
	return MirrorCheckpoint{
		Log:   eventstore.Position{TxID: uint64(logCommit), Seq: logPrepare},
		Local: eventstore.Position{TxID: uint64(txID), Seq: seq},
	}, nil
}

// Run copies the log of record's events from the checkpoint on, as they are appended, until ctx ends or a
// write fails (the exclusive job is then started again, from the checkpoint).
func (m *Mirror) Run(ctx context.Context) error {
	err := m.run(ctx)
	if ctx.Err() == nil {
		mirrorFailures.Inc()
	}
	return err
}

func (m *Mirror) run(ctx context.Context) error {
	at, err := m.Checkpoint(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	arrived := make(chan eventstore.Event, MirrorBatch)
	subscription := make(chan error, 1)
	go func() {
		subscription <- m.source.Subscribe(ctx, at.Log, func(e eventstore.Event) error {
			select {
			case arrived <- e:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	batch := make([]eventstore.Event, 0, MirrorBatch)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-subscription:
			return fmt.Errorf("log mirror: follow the log of record: %w", err)
		case e := <-arrived:
			batch = append(batch, e)
		}
	more:
		for len(batch) < MirrorBatch {
			select {
			case e := <-arrived:
				batch = append(batch, e)
			default:
				break more
			}
		}
		if at, err = m.copy(ctx, at.Log, batch); err != nil {
			return err
		}
	}
}

// ErrMirrorMoved stops a mirror run that finds the checkpoint where it did not leave it: another run
// copied events meanwhile.
var ErrMirrorMoved = errors.New("log mirror: the checkpoint moved under this run; another run copies the log")

// insertMirroredSQL copies events in the order given (ord), so their seq, and with one transaction their
// place in the global order, follows the log of record's order.
const insertMirroredSQL = `
INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version, data, metadata, recorded_at)
SELECT i.event_id, i.stream_id, i.stream_version, i.event_type, i.schema_version, i.data::jsonb, i.metadata::jsonb, i.recorded_at
FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::int[], $6::text[], $7::text[], $8::timestamptz[])
     WITH ORDINALITY AS i(event_id, stream_id, stream_version, event_type, schema_version, data, metadata, recorded_at, ord)
ORDER BY i.ord
RETURNING tx_id, seq`

// copy writes batch (the events after from in the log of record) and the new checkpoint in one
// transaction.
func (m *Mirror) copy(ctx context.Context, from eventstore.Position, batch []eventstore.Event) (MirrorCheckpoint, error) {
	n := len(batch)
	var (
		ids        = make([][16]byte, n)
		streams    = make([]string, n)
		versions   = make([]int64, n)
		types      = make([]string, n)
		schemas    = make([]int32, n)
		data       = make([]string, n)
		metas      = make([]string, n)
		recordedAt = make([]time.Time, n)
	)
	for i, e := range batch {
		meta, err := json.Marshal(e.Metadata)
		if err != nil {
			return MirrorCheckpoint{}, fmt.Errorf("log mirror: metadata of %s: %w", e.ID, err)
		}
		ids[i], streams[i], versions[i], types[i] = [16]byte(e.ID), e.Stream, e.Version, e.Type
		schemas[i], data[i], metas[i], recordedAt[i] = int32(e.SchemaVersion), string(e.Data), string(meta), e.RecordedAt
	}
	next := MirrorCheckpoint{Log: batch[n-1].Position}
	err := pgx.BeginFunc(ctx, m.target.pool, func(tx pgx.Tx) error {
		at, err := readMirrorCheckpoint(tx.QueryRow(ctx, selectMirrorCheckpoint+` FOR UPDATE`))
		if err != nil {
			return err
		}
		if at.Log != from {
			return ErrMirrorMoved
		}
		rows, err := insertEvents(ctx, tx, statement{insertMirroredSQL, []any{ids, streams, versions, types, schemas, data, metas, recordedAt}})
		if err != nil {
			return fmt.Errorf("log mirror: copy %d events after %s: %w", n, from, err)
		}
		for _, r := range rows {
			if p := (eventstore.Position{TxID: uint64(r.txID), Seq: r.seq}); next.Local.Less(p) {
				next.Local = p
			}
		}
		_, err = tx.Exec(ctx, `UPDATE public.log_mirror SET log_commit = $1, log_prepare = $2, tx_id = $3, seq = $4, updated_at = now()`,
			int64(next.Log.TxID), next.Log.Seq, int64(next.Local.TxID), next.Local.Seq)
		return err
	})
	if err != nil {
		return MirrorCheckpoint{}, err
	}
	eventsMirrored.Add(float64(n))
	mirrorBatches.Inc()
	mirrorLastCopied.Set(float64(batch[n-1].RecordedAt.UnixMicro()) / 1e6)
	m.target.notifier.appended(next.Local)
	return next, nil
}

// ErrNotYetMirrored is returned by WaitCopied when the mirror did not reach a position in time.
var ErrNotYetMirrored = errors.New("the log mirror has not copied the event yet")

// WaitCopied returns once the mirror has copied the log of record's event at pos, with the position in
// the events table up to which what the mirror had copied by then lies: a reader of the events table that
// reached it sees that event. It fails with ErrNotYetMirrored when ctx ends first.
func (m *Mirror) WaitCopied(ctx context.Context, pos eventstore.Position) (eventstore.Position, error) {
	for {
		_, woken := m.target.notifier.State()
		at, err := m.Checkpoint(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return eventstore.Position{}, ErrNotYetMirrored
			}
			return eventstore.Position{}, err
		}
		if !at.Log.Less(pos) {
			return at.Local, nil
		}
		select {
		case <-ctx.Done():
			return eventstore.Position{}, ErrNotYetMirrored
		case <-woken:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// ErrMirrorDiffers marks Compare's report of an event the events table and the log of record disagree on.
var ErrMirrorDiffers = errors.New("the events table differs from the log of record")

// Compare checks that the events table holds exactly the log of record's events up to the checkpoint, in
// the same order, and returns how many it compared; a difference is an error naming the first one.
func (m *Mirror) Compare(ctx context.Context) (int, error) {
	at, err := m.Checkpoint(ctx)
	if err != nil {
		return 0, err
	}
	const batch = 1000
	var logAfter, localAfter eventstore.Position
	compared := 0
	for {
		theirs, err := m.source.ReadAll(ctx, logAfter, batch)
		if err != nil {
			return compared, err
		}
		ours, err := m.target.ReadAll(ctx, localAfter, batch)
		if err != nil {
			return compared, err
		}
		// What was appended, or copied, since the checkpoint was read is left for the next verify.
		theirs = upTo(theirs, at.Log)
		ours = upTo(ours, at.Local)
		for i, e := range theirs {
			if i >= len(ours) {
				return compared, fmt.Errorf("%w: event %s (%s %d) of the log of record, before the mirror's checkpoint, is missing", ErrMirrorDiffers, e.ID, e.Stream, e.Version)
			}
			if o := ours[i]; o.ID != e.ID || o.Stream != e.Stream || o.Version != e.Version || o.Type != e.Type {
				return compared, fmt.Errorf("%w: event %d is %s (%s %d) in the log of record, %s (%s %d) in the events table",
					ErrMirrorDiffers, compared+i+1, e.ID, e.Stream, e.Version, o.ID, o.Stream, o.Version)
			}
		}
		compared += len(theirs)
		if len(theirs) < batch {
			if len(ours) > len(theirs) {
				o := ours[len(theirs)]
				return compared, fmt.Errorf("%w: it holds %s (%s %d), which the log of record does not have before the mirror's checkpoint", ErrMirrorDiffers, o.ID, o.Stream, o.Version)
			}
			return compared, nil
		}
		logAfter, localAfter = theirs[len(theirs)-1].Position, ours[len(theirs)-1].Position
	}
}

// upTo returns the events of events (in global order) at or before pos.
func upTo(events []eventstore.Event, pos eventstore.Position) []eventstore.Event {
	for len(events) > 0 && pos.Less(events[len(events)-1].Position) {
		events = events[:len(events)-1]
	}
	return events
}
