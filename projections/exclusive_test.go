package projections_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/projections"
)

// server is one of several servers on a database: its own pool, store and runner of the same projector,
// which records each event it applies under the server's name.
type server struct {
	name   string
	pool   *pgxpool.Pool
	runner *projections.Runner
}

type applied struct {
	mu sync.Mutex
	by map[string]int // server name → events applied
}

func (a *applied) count(name string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.by[name]
}

func (f fixture) server(t *testing.T, name string, log *applied) server {
	t.Helper()
	pool, err := pgxpool.NewWithConfig(context.Background(), f.pool.Config().Copy())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store := pgstore.New(pool)
	t.Cleanup(store.Close)
	p := things{beforeApply: func(context.Context, projections.Event) error {
		log.mu.Lock()
		defer log.mu.Unlock()
		log.by[name]++
		return nil
	}}
	return server{name: name, pool: pool,
		runner: projections.NewRunner(pool, store, registry, slog.New(slog.NewTextHandler(io.Discard, nil)), p)}
}

// lockHolders returns the process ids of the lock connections that hold a lock.
func (f fixture) lockHolders(t *testing.T) []int32 {
	t.Helper()
	rows, err := f.pool.Query(context.Background(), `SELECT DISTINCT a.pid FROM pg_locks l JOIN pg_stat_activity a USING (pid)
		WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'jobserver locks' AND a.datname = current_database()`)
	if err != nil {
		t.Fatal(err)
	}
	pids, err := projections.All(rows, err, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	return pids
}

func waitUntil(t *testing.T, what string, limit time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAProjectorRunsOnOneServerAndAnotherTakesOverWhenItsLockConnectionDies(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	log := &applied{by: map[string]int{}}
	a, b := f.server(t, "a", log), f.server(t, "b", log)
	if err := a.runner.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	runLive(t, a.runner)
	waitUntil(t, "server a holds no lock", 10*time.Second, func() bool { return len(f.lockHolders(t)) == 1 })
	holderA := f.lockHolders(t)[0]
	if err := b.runner.Prepare(ctx); err != nil { // a runs the projector: b's start-up leaves it to a
		t.Fatal(err)
	}
	runLive(t, b.runner)

	// Read-your-writes on a server that does not run the projector: b waits on the checkpoint a moves.
	last := f.seed(t, 0, 20)
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := b.runner.WaitFor(waitCtx, last); err != nil {
		t.Fatalf("server b waiting for what server a projects: %v", err)
	}
	if log.count("a") != 60 || log.count("b") != 0 {
		t.Fatalf("applied by a %d, by b %d; want 60 by a alone", log.count("a"), log.count("b"))
	}

	// The holder's lock connection dies, as when its server is killed or cut off: b takes over within
	// seconds, and a stops, so no event is applied twice.
	if _, err := f.pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, holderA); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "nobody took the lock over", 10*time.Second, func() bool {
		holders := f.lockHolders(t)
		return len(holders) == 1 && holders[0] != holderA
	})
	last = f.seed(t, 20, 20)
	waitCtx, cancel = context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := a.runner.WaitFor(waitCtx, last); err != nil {
		t.Fatalf("server a waiting for what server b projects: %v", err)
	}
	if log.count("b") == 0 {
		t.Errorf("server b applied nothing after taking over")
	}
	if got := f.rows(t); len(got) != 40 || got["thing-0031"] != "name 31/2" {
		t.Errorf("%d rows, thing-0031 = %q; want 40, each rename applied once", len(got), got["thing-0031"])
	}
	f.mustVerifyEqual(t, a.runner, things{})
}
