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
	config := f.pool.Config().Copy()
	// Each server's lock connection is then named "jobserver <name> locks", so the test can tell whose it is.
	config.ConnConfig.RuntimeParams["application_name"] = "jobserver " + name
	pool, err := pgxpool.NewWithConfig(context.Background(), config)
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

// lockHolder is a lock connection that holds a lock: its process id and the server it is of.
type lockHolder struct {
	PID    int32
	Server string
}

// lockHolders returns the lock connections that hold a lock.
func (f fixture) lockHolders(t *testing.T) []lockHolder {
	t.Helper()
	rows, err := f.pool.Query(context.Background(), `SELECT DISTINCT a.pid, substring(a.application_name FROM '^jobserver (.*) locks$')
		FROM pg_locks l JOIN pg_stat_activity a USING (pid)
		WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'jobserver % locks' AND a.datname = current_database()`)
	holders, err := projections.All(rows, err, pgx.RowToStructByPos[lockHolder])
	if err != nil {
		t.Fatal(err)
	}
	return holders
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
	waitUntil(t, "server a holds no lock", 10*time.Second, func() bool {
		holders := f.lockHolders(t)
		return len(holders) == 1 && holders[0].Server == "a"
	})
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

	// Server a is cut off: every lock connection it opens dies. b takes over within seconds, and a stops, so no
	// event is applied twice. (Killed once, a's connection may come back before b's, and a rightly goes on.)
	waitUntil(t, "nobody took the lock over", 10*time.Second, func() bool {
		holders := f.lockHolders(t)
		for _, h := range holders {
			if h.Server == "a" {
				if _, err := f.pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, h.PID); err != nil {
					t.Fatal(err)
				}
			}
		}
		return len(holders) == 1 && holders[0].Server == "b"
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
