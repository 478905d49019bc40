package pgstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/oklog/ulid/v2"

	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/eventstore/storetest"
	"github.com/mediciasafely/jobserver/internal/pgtest"
)

// insertInOpenTx starts a transaction that takes its transaction id at once and inserts one event, leaving
// the transaction open: it started before the appends that follow and will commit after them.
func insertInOpenTx(t *testing.T, ctx context.Context, conn *pgx.Conn, stream string, id ulid.ULID) pgx.Tx {
	t.Helper()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version, data, metadata)
		VALUES ($1, $2, 1, 'Slow', 1, '{}', '{}')`, [16]byte(id), stream)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func TestReaderNeverSkipsATransactionThatCommitsLate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	pool := pgtest.NewPoolFor(t, dsn)
	store := pgstore.New(pool)
	t.Cleanup(store.Close)

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	slowID := ulid.Make()
	slow := insertInOpenTx(t, ctx, conn, "slow-1", slowID)

	fast := storetest.Event("Fast", `{}`)
	if _, err := store.Append(ctx, []eventstore.Append{{Stream: "fast-1", Expected: eventstore.NoStream, Events: []eventstore.NewEvent{fast}}}); err != nil {
		t.Fatal(err)
	}
	// The fast event is committed, but the slow transaction is older and still running: a reader must not
	// see the fast one yet, or it would move its position past the slow one.
	seen, err := store.ReadAll(ctx, eventstore.Position{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 0 {
		t.Fatalf("reader saw %d events while an older transaction was still open", len(seen))
	}
	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got := readUntil(t, store, 2)
	if got[0].ID != slowID || got[1].ID != fast.ID {
		t.Fatalf("read %s then %s; want the slow event first, then the fast one", got[0].ID, got[1].ID)
	}
}

func TestSubscriberReceivesEveryEventOnceWhileTransactionsCommitOutOfOrder(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dsn := pgtest.NewDatabase(t)
	store := pgstore.New(pgtest.NewPoolFor(t, dsn))
	t.Cleanup(store.Close)

	const slowWriters, slowEach, fastWriters, fastEach = 4, 5, 8, 25
	want := slowWriters*slowEach + fastWriters*fastEach
	received := make(chan eventstore.Event, want*2)
	go func() {
		_ = store.Subscribe(ctx, eventstore.Position{}, func(e eventstore.Event) error {
			received <- e
			return nil
		})
	}()

	var wg sync.WaitGroup
	for w := range slowWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close(context.Background())
			for i := range slowEach {
				tx := insertInOpenTx(t, ctx, conn, fmt.Sprintf("slow-%d-%d", w, i), ulid.Make())
				time.Sleep(time.Duration(5+i*3) * time.Millisecond)
				if err := tx.Commit(ctx); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for w := range fastWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range fastEach {
				e := storetest.Event("Fast", `{}`)
				if _, err := store.Append(ctx, []eventstore.Append{{Stream: fmt.Sprintf("fast-%d", w), Expected: eventstore.Any, Events: []eventstore.NewEvent{e}}}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()

	seen := map[ulid.ULID]bool{}
	var last eventstore.Position
	for len(seen) < want {
		select {
		case e := <-received:
			if seen[e.ID] {
				t.Fatalf("event %s delivered twice", e.ID)
			}
			if !last.Less(e.Position) {
				t.Fatalf("position went from %v to %v", last, e.Position)
			}
			seen[e.ID], last = true, e.Position
		case <-ctx.Done():
			t.Fatalf("received %d of %d events", len(seen), want)
		}
	}
}

func readUntil(t *testing.T, s *pgstore.Store, n int) []eventstore.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		got, err := s.ReadAll(context.Background(), eventstore.Position{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) >= n {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("fewer than %d events became visible", n)
	return nil
}
