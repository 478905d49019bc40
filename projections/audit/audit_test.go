package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/oklog/ulid/v2"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/internal/pgtest"
	"github.com/mediciasafely/jobserver/projections/audit"
)

// sealedLog is a database with a log of events, sealed, and the key that signed it.
type sealedLog struct {
	pool   *pgxpool.Pool
	store  *pgstore.Store
	key    ed25519.PrivateKey
	sealer *audit.Sealer
	ids    []ulid.ULID // in the order of the log
}

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// newSealedLog appends events events to streams streams, a few to each append, and seals them with
// checkpoints every checkpointEvents events.
func newSealedLog(t *testing.T, events, checkpointEvents int) *sealedLog {
	t.Helper()
	pool := pgtest.NewPool(t)
	store := pgstore.New(pool)
	t.Cleanup(store.Close)
	l := &sealedLog{pool: pool, store: store, key: newKey(t)}
	l.sealer = audit.NewSealer(pool, store.Notifier(), l.key, nil, audit.SealerOptions{CheckpointEvents: checkpointEvents})
	l.appendEvents(t, events)
	l.seal(t)
	return l
}

func (l *sealedLog) appendEvents(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; {
		var appends []eventstore.Append
		for s := range 3 {
			a := eventstore.Append{Stream: fmt.Sprintf("thing-%d", s), Expected: eventstore.Any}
			for range 2 {
				if i == n {
					break
				}
				i++
				a.Events = append(a.Events, eventstore.NewEvent{ID: domain.NewULID(time.Now()), Type: "ThingHappened", SchemaVersion: 1,
					Data:     []byte(fmt.Sprintf(`{"n": %d, "note": "<b>&amp; ü \"quoted\"</b>", "nested": {"z": [1, 2.50, null], "a": true}}`, i)),
					Metadata: eventstore.Metadata{Actor: "user-1", CorrelationID: fmt.Sprint("c", i)}})
			}
			if len(a.Events) > 0 {
				appends = append(appends, a)
			}
		}
		res, err := l.store.Append(context.Background(), appends)
		if err != nil {
			t.Fatal(err)
		}
		pgtest.WaitVisible(t, l.store, res.Last)
	}
	events, err := l.store.ReadAll(context.Background(), eventstore.Position{}, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	l.ids = l.ids[:0]
	for _, e := range events {
		l.ids = append(l.ids, e.ID)
	}
}

func (l *sealedLog) seal(t *testing.T) audit.Checkpoint {
	t.Helper()
	head, err := l.sealer.Seal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return head
}

func (l *sealedLog) verify(t *testing.T) audit.Report {
	t.Helper()
	src, err := audit.OpenLog(context.Background(), l.pool, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	report, err := audit.Verify(src, []ed25519.PublicKey{l.key.Public().(ed25519.PublicKey)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return report
}

func (l *sealedLog) export(t *testing.T, f audit.Filter) []byte {
	t.Helper()
	src, err := audit.OpenLog(context.Background(), l.pool, f)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out bytes.Buffer
	if _, err := audit.Export(&out, src, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func verifyExport(t *testing.T, export []byte, keys ...ed25519.PublicKey) audit.Report {
	t.Helper()
	src, err := audit.ReadExport(bytes.NewReader(export))
	if err != nil {
		t.Fatal(err)
	}
	report, err := audit.Verify(src, keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	return report
}

// tamper runs statements as a superuser who disables the tables' append-only triggers.
func (l *sealedLog) tamper(t *testing.T, statements ...string) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, l.pool, func(tx pgx.Tx) error {
		for _, s := range append([]string{"SET LOCAL session_replication_role = replica"}, statements...) {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestTheLogAndTheChainRefuseUpdateDeleteAndTruncate(t *testing.T) {
	t.Parallel()
	l := newSealedLog(t, 3, 1000)
	for _, statement := range []string{
		`UPDATE events SET data = '{"n": 99}'`,
		`UPDATE events SET data = data WHERE false`,
		`DELETE FROM events`,
		`TRUNCATE events`,
		`UPDATE audit_chain SET hash = hash`,
		`DELETE FROM audit_checkpoints`,
		`TRUNCATE audit_chain`,
	} {
		_, err := l.pool.Exec(context.Background(), statement)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "23001" || !strings.Contains(pgErr.Message, "append-only") {
			t.Errorf("%s: %v, want a refusal saying the table is append-only", statement, err)
		}
	}
	if r := l.verify(t); r.Problem != nil || r.Events != 3 {
		t.Errorf("after the refused statements: %+v, want 3 events and no problem", r)
	}
}

func TestAnUntouchedLogVerifiesFromTheDatabaseAndFromItsExports(t *testing.T) {
	t.Parallel()
	l := newSealedLog(t, 25, 10)
	public := l.key.Public().(ed25519.PublicKey)
	r := l.verify(t)
	if r.Problem != nil || r.Events != 25 || r.Signed != 25 || r.Checkpoints != 3 {
		t.Fatalf("database: %+v, want 25 events, checkpoints at 10, 20 and 25, no problem", r)
	}

	export := l.export(t, audit.Filter{})
	lines := strings.Split(strings.TrimSpace(string(export)), "\n")
	if len(lines) != 1+25+3 || !strings.Contains(lines[0], `"format":"jobserver-audit-export/1"`) {
		t.Fatalf("export of %d lines, want a header, 25 events and 3 checkpoints:\n%s", len(lines), export)
	}
	if !strings.Contains(lines[1], `"data":{"n":1,"note":"<b>&amp; ü \"quoted\"</b>","nested":{"a":true,"z":[1,2.50,null]}}`) {
		t.Errorf("the first event's data is not the stored jsonb, compacted, byte for byte: %s", lines[1])
	}
	if r := verifyExport(t, export, public); r.Problem != nil || r.Events != 25 || r.Signed != 25 {
		t.Errorf("export: %+v, want 25 events signed, no problem", r)
	}
	if r := verifyExport(t, export, newKey(t).Public().(ed25519.PublicKey)); r.Problem == nil || r.Problem.Kind != audit.ForgedCheckpoint {
		t.Errorf("export checked with another key: %+v, want its checkpoints refused", r.Problem)
	}

	later := l.export(t, audit.Filter{From: 12})
	if r := verifyExport(t, later, public); r.Problem != nil || r.Events != 14 || r.Signed != 25 {
		t.Errorf("export from position 12: %+v, want 14 events up to a signed 25", r)
	}
	stream := l.export(t, audit.Filter{Stream: "thing-1"})
	if r := verifyExport(t, stream, public); r.Problem != nil || !r.Separately || r.Events < 8 {
		t.Errorf("export of one stream: %+v, want its events checked one by one", r)
	}

	l.appendEvents(t, 5) // not sealed yet: neither verified nor exported
	if r := l.verify(t); r.Problem != nil || r.Events != 25 {
		t.Errorf("with 5 events not sealed yet: %+v, want the 25 sealed ones verified", r)
	}
	if n, err := audit.Unsealed(context.Background(), l.pool); err != nil || n != 5 {
		t.Errorf("unsealed: %d, %v; want 5", n, err)
	}
	l.seal(t)
	if r := l.verify(t); r.Problem != nil || r.Events != 30 || r.Signed != 30 {
		t.Errorf("sealed again: %+v, want 30 events signed", r)
	}
}

func TestTheExportEndsWithTheLogAsItStoodAtUntil(t *testing.T) {
	t.Parallel()
	l := newSealedLog(t, 6, 1000)
	time.Sleep(20 * time.Millisecond)
	until := time.Now()
	time.Sleep(20 * time.Millisecond)
	l.appendEvents(t, 4)
	l.seal(t)
	export := l.export(t, audit.Filter{Until: until})
	r := verifyExport(t, export, l.key.Public().(ed25519.PublicKey))
	if r.Problem != nil || r.Events != 6 || r.Signed != 6 {
		t.Errorf("export until before the last 4 events: %+v, want the first 6, signed", r)
	}
}

// tampering is one way of altering history, and what verify must say of it.
type tampering struct {
	name     string
	kind     audit.ProblemKind
	position int64 // where verify must point
	idIndex  int   // index into the log's ids of the event it must name; -1: none
}

func TestVerifyNamesEachTamperingOfTheDatabase(t *testing.T) {
	t.Parallel()
	forged := newKey(t)
	for _, tc := range []struct {
		tampering
		statements func(l *sealedLog) []string
	}{
		{tampering{"alter a row's data", audit.Altered, 5, 4}, func(l *sealedLog) []string {
			return []string{fmt.Sprintf(`UPDATE events SET data = '{"n": 500}' WHERE event_id = '%s'`, uuid(l.ids[4]))}
		}},
		{tampering{"delete a row", audit.Removed, 7, 6}, func(l *sealedLog) []string {
			return []string{fmt.Sprintf(`DELETE FROM events WHERE event_id = '%s'`, uuid(l.ids[6]))}
		}},
		// The first append wrote the first 6 events in one transaction: an event given its transaction id
		// comes after them in the global order.
		{tampering{"insert a row among sealed ones", audit.Inserted, 6, -1}, func(l *sealedLog) []string {
			return []string{fmt.Sprintf(`INSERT INTO events (tx_id, event_id, stream_id, stream_version, event_type, schema_version, data, metadata)
				SELECT tx_id, '%s', 'slipped-in', 1, 'ThingHappened', 1, '{}', '{}' FROM events WHERE event_id = '%s'`,
				uuid(domain.NewULID(time.Now())), uuid(l.ids[2]))}
		}},
		{tampering{"swap two rows", audit.Reordered, 8, 8}, func(l *sealedLog) []string {
			return []string{
				fmt.Sprintf(`CREATE TEMP TABLE swapped ON COMMIT DROP AS SELECT * FROM events WHERE event_id IN ('%s', '%s')`, uuid(l.ids[7]), uuid(l.ids[8])),
				`DELETE FROM events WHERE event_id IN (SELECT event_id FROM swapped)`,
				`INSERT INTO events (seq, tx_id, event_id, stream_id, stream_version, event_type, schema_version, data, metadata, recorded_at)
				OVERRIDING SYSTEM VALUE SELECT o.seq, o.tx_id, s.event_id, s.stream_id, s.stream_version, s.event_type, s.schema_version,
				s.data, s.metadata, s.recorded_at FROM swapped s JOIN swapped o ON o.event_id <> s.event_id`,
			}
		}},
		{tampering{"forge a checkpoint", audit.ForgedCheckpoint, 10, -1}, func(l *sealedLog) []string {
			c := audit.Sign(forged, 10, audit.Hash{}, time.Now())
			c.PublicKey = l.key.Public().(ed25519.PublicKey)
			return []string{`DELETE FROM audit_checkpoints WHERE position = 10`, fmt.Sprintf(
				`INSERT INTO audit_checkpoints VALUES (10, '\x%x', now(), '\x%x', '\x%x')`, c.Hash[:], []byte(c.PublicKey), c.Signature)}
		}},
		{tampering{"alter a row and write the chain again after it", audit.Rewritten, 10, -1}, func(l *sealedLog) []string {
			return []string{fmt.Sprintf(`UPDATE events SET data = '{"n": 500}' WHERE event_id = '%s'`, uuid(l.ids[4])),
				`DELETE FROM audit_chain WHERE position >= 5`}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := newSealedLog(t, 12, 10)
			l.tamper(t, tc.statements(l)...)
			if tc.kind == audit.Rewritten {
				// The tamperer seals the altered log again: the chain agrees with the log, the checkpoint does not.
				l.seal(t)
			}
			tc.check(t, l, "database", l.verify(t).Problem)
			export := l.export(t, audit.Filter{})
			tc.check(t, l, "export of the database", verifyExport(t, export, l.key.Public().(ed25519.PublicKey)).Problem)
		})
	}
}

func (tc tampering) check(t *testing.T, l *sealedLog, where string, p *audit.Problem) {
	t.Helper()
	if p == nil {
		t.Fatalf("%s: verify found nothing, want %s at position %d", where, tc.kind, tc.position)
	}
	var wantID ulid.ULID
	if tc.idIndex >= 0 {
		wantID = l.ids[tc.idIndex]
	}
	if p.Kind != tc.kind || p.Position != tc.position || tc.idIndex >= 0 && p.ID != wantID {
		t.Errorf("%s: %s; want %s at position %d (event %s)", where, p, tc.kind, tc.position, wantID)
	}
}

func TestVerifyNamesEachTamperingOfAnExport(t *testing.T) {
	t.Parallel()
	l := newSealedLog(t, 12, 10)
	public := l.key.Public().(ed25519.PublicKey)
	export := string(l.export(t, audit.Filter{}))
	lines := strings.SplitAfter(export, "\n")
	// lines[0] is the header; lines[n] the event at position n, up to 10; lines[11] the checkpoint at 10.
	edit := func(change func(lines []string) []string) []byte {
		return []byte(strings.Join(change(append([]string(nil), lines...)), ""))
	}
	for _, tc := range []struct {
		tampering
		export []byte
	}{
		{tampering{"alter a line's data", audit.Altered, 5, 4}, edit(func(ls []string) []string {
			ls[5] = strings.Replace(ls[5], `"n":5,`, `"n":50,`, 1)
			return ls
		})},
		{tampering{"delete a line", audit.Removed, 7, -1}, edit(func(ls []string) []string {
			return append(ls[:7], ls[8:]...)
		})},
		{tampering{"insert a line", audit.Inserted, 3, -1}, edit(func(ls []string) []string {
			forged := fmt.Sprintf(`{"kind":"event","id":"%s","stream":"slipped-in","version":1,"type":"ThingHappened","schema_version":1,"recorded_at":"2026-01-01T00:00:00.000000Z","data":{},"metadata":{}}`+"\n",
				domain.NewULID(time.Now()))
			return append(ls[:4], append([]string{forged}, ls[4:]...)...)
		})},
		{tampering{"swap two lines", audit.Reordered, 8, 7}, edit(func(ls []string) []string {
			ls[8], ls[9] = ls[9], ls[8]
			return ls
		})},
		{tampering{"forge a checkpoint", audit.ForgedCheckpoint, 10, -1}, edit(func(ls []string) []string {
			ls[11] = regexp.MustCompile(`"hash":"[0-9a-f]{64}"`).ReplaceAllString(ls[11], `"hash":"`+strings.Repeat("00", 32)+`"`)
			return ls
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.check(t, l, "export", verifyExport(t, tc.export, public).Problem)
		})
	}
}

func TestTheSealerSignsAtLeastEveryThousandEventsAndEverySecond(t *testing.T) {
	t.Parallel()
	pool := pgtest.NewPool(t)
	store := pgstore.New(pool)
	t.Cleanup(store.Close)
	key := newKey(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	// Two servers: one seals, the other stands by; the chain stays one.
	for range 2 {
		sealer := audit.NewSealer(pool, store.Notifier(), key, nil, audit.SealerOptions{Standby: 50 * time.Millisecond})
		go func() { _ = sealer.Run(ctx); done <- struct{}{} }()
	}
	l := &sealedLog{pool: pool, store: store, key: key}
	l.appendEvents(t, 2500)
	l.appendEvents(t, 1)
	deadline := time.Now().Add(10 * time.Second)
	var positions []int64
	for {
		rows, err := pool.Query(ctx, `SELECT position FROM audit_checkpoints ORDER BY position`)
		if positions, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
			t.Fatal(err)
		}
		if len(positions) > 0 && positions[len(positions)-1] == 2501 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the head (2501) was not signed within 10s; checkpoints at %v", positions)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	<-done
	last := int64(0)
	for _, p := range positions {
		if p-last > 1000 {
			t.Errorf("checkpoints at %d and %d: more than 1,000 events between them", last, p)
		}
		last = p
	}
	if r := l.verify(t); r.Problem != nil || r.Events != 2501 || r.Signed != 2501 {
		t.Errorf("%+v, want 2501 events signed", r)
	}
}

func uuid(id ulid.ULID) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:16])
}
