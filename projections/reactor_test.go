package projections_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/internal/pgtest"
	"github.com/mediciasafely/jobserver/projections"
)

type reactorPinged struct{ N int }
type reactorIgnored struct{ N int }

func (reactorPinged) EventType() string  { return "ReactorPinged" }
func (reactorIgnored) EventType() string { return "ReactorIgnored" }

var reactorRegistry = domain.NewRegistry(domain.Type[reactorPinged](), domain.Type[reactorIgnored]())

type reactorFixture struct {
	pool  *pgxpool.Pool
	store *pgstore.Store
}

func newReactorFixture(t *testing.T) reactorFixture {
	pool := pgtest.NewPool(t)
	store := pgstore.New(pool)
	t.Cleanup(store.Close)
	return reactorFixture{pool: pool, store: store}
}

func (f reactorFixture) append(t *testing.T, stream string, events ...domain.Event) eventstore.Position {
	t.Helper()
	a := eventstore.Append{Stream: stream, Expected: eventstore.Any}
	for _, e := range events {
		name, v, data, err := reactorRegistry.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		a.Events = append(a.Events, eventstore.NewEvent{ID: domain.NewULID(time.Now()), Type: name, SchemaVersion: v, Data: data})
	}
	res, err := f.store.Append(context.Background(), []eventstore.Append{a})
	if err != nil {
		t.Fatal(err)
	}
	return res.Last
}

// pings appends pings from..to and waits until the global log shows the last one: a reactor placed at the
// log's end afterwards then starts after them, however long other transactions on the server hide them.
func (f reactorFixture) pings(t *testing.T, from, to int) {
	t.Helper()
	var last eventstore.Position
	for n := from; n <= to; n++ {
		// An ignored event between the pings: the reactor must pass it by.
		last = f.append(t, fmt.Sprintf("ping-%d", n), reactorIgnored{n}, reactorPinged{n})
	}
	pgtest.WaitVisible(t, f.store, last)
}

// pingRecorder is a reactor that records the pings it saw; fail, when set, may fail one attempt.
type pingRecorder struct {
	name string
	fail func(n, attempt int) error

	mu       sync.Mutex
	seen     []int
	attempts map[int]int
}

func (r *pingRecorder) Name() string      { return r.name }
func (r *pingRecorder) Handles() []string { return []string{"ReactorPinged"} }
func (r *pingRecorder) React(_ context.Context, e projections.Event) error {
	n := e.Payload.(reactorPinged).N
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.attempts == nil {
		r.attempts = map[int]int{}
	}
	r.attempts[n]++
	if r.fail != nil {
		if err := r.fail(n, r.attempts[n]); err != nil {
			return err
		}
	}
	r.seen = append(r.seen, n)
	return nil
}

func (r *pingRecorder) got() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

// waitFor waits until the recorder has seen want (in that order), and fails the test otherwise.
func (r *pingRecorder) waitFor(t *testing.T, want []int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if got := r.got(); len(got) >= len(want) {
			if !slices.Equal(got, want) {
				t.Fatalf("reactor saw %v, want %v", got, want)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("reactor saw %v, want %v", r.got(), want)
}

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

var fastReactors = projections.ReactorOptions{InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
	Standby: 20 * time.Millisecond, CheckpointEvery: 10 * time.Millisecond}

// start prepares and runs the reactors until the returned stop is called (or the test ends).
func (f reactorFixture) start(t *testing.T, reactors ...projections.Reactor) (*projections.Reactors, func()) {
	t.Helper()
	rs := projections.NewReactors(f.pool, f.store, reactorRegistry, quietLogger, fastReactors, reactors...)
	if err := rs.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rs.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("reactors: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("reactors did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return rs, stop
}

func seq(from, to int) []int {
	var out []int
	for n := from; n <= to; n++ {
		out = append(out, n)
	}
	return out
}

func TestReactorStartsAtTheLogsEndAndReactsInGlobalOrder(t *testing.T) {
	f := newReactorFixture(t)
	f.pings(t, 1, 5) // history: a new reactor must not react to it
	rec := &pingRecorder{name: "pings"}
	f.start(t, rec)

	f.pings(t, 6, 30)
	rec.waitFor(t, seq(6, 30))
}

func TestReactorCheckpointSurvivesARestart(t *testing.T) {
	f := newReactorFixture(t)
	first := &pingRecorder{name: "pings"}
	rs, stop := f.start(t, first)
	f.pings(t, 1, 10)
	first.waitFor(t, seq(1, 10))
	stop()

	before, err := rs.Checkpoint(context.Background(), "pings")
	if err != nil {
		t.Fatal(err)
	}
	f.pings(t, 11, 15) // appended while no reactor runs

	second := &pingRecorder{name: "pings"}
	rs2, _ := f.start(t, second)
	f.pings(t, 16, 20)
	second.waitFor(t, seq(11, 20)) // neither 1..10 again nor anything lost
	after, err := rs2.Checkpoint(context.Background(), "pings")
	if err != nil {
		t.Fatal(err)
	}
	if !before.Less(after) {
		t.Errorf("checkpoint did not move on: %s then %s", before, after)
	}
}

var errBrokenPing = errors.New("this ping cannot be reacted to")

// temporaryError says of itself that it is temporary, as the mail adapter's 4xx errors do.
type temporaryError struct{}

func (temporaryError) Error() string   { return "the server says: try again later" }
func (temporaryError) Temporary() bool { return true }

func TestReactorSetsAsideAnEventThatKeepsFailingAndGoesOn(t *testing.T) {
	f := newReactorFixture(t)
	rec := &pingRecorder{name: "pings", fail: func(n, attempt int) error {
		switch {
		case n == 3:
			return errBrokenPing // every time: set aside after the attempts
		case n == 5 && attempt <= 6:
			return temporaryError{} // more times than Attempts, but transient: retried until it passes
		case n == 7 && attempt == 1:
			panic("a reactor that panics once")
		}
		return nil
	}}
	f.start(t, rec)
	f.pings(t, 1, 8)
	rec.waitFor(t, []int{1, 2, 4, 5, 6, 7, 8})

	rows, err := f.pool.Query(context.Background(), `SELECT consumer, event_type, reason FROM event_failures`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var failures []string
	for rows.Next() {
		var consumer, typ, reason string
		if err := rows.Scan(&consumer, &typ, &reason); err != nil {
			t.Fatal(err)
		}
		failures = append(failures, consumer+" "+typ+": "+reason)
	}
	if len(failures) != 1 || !containsAll(failures[0], "pings ReactorPinged", errBrokenPing.Error()) {
		t.Fatalf("event_failures = %q, want the one ping that keeps failing", failures)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.attempts[3] != 3 {
		t.Errorf("the failing ping was tried %d times, want 3 (the default Attempts)", rec.attempts[3])
	}
	if rec.attempts[5] != 7 {
		t.Errorf("the transiently failing ping was tried %d times, want 7", rec.attempts[5])
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

func TestReactorIsNotRunByARebuild(t *testing.T) {
	f := newReactorFixture(t)
	rec := &pingRecorder{name: "pings"}
	rs, stop := f.start(t, rec)
	f.pings(t, 1, 5)
	rec.waitFor(t, seq(1, 5))
	stop()
	at, err := rs.Checkpoint(context.Background(), "pings")
	if err != nil {
		t.Fatal(err)
	}

	// A projector over the same events, rebuilt and verified: the reactor takes no part.
	handlers := projections.Handlers{}
	projections.On(handlers, func(ctx context.Context, db projections.DB, _ projections.Event, p reactorPinged) error {
		return db.Exec(ctx, `INSERT INTO reactor_probe (n) VALUES ($1)`, p.N)
	})
	probe := projections.Define("reactor_probe", 1, []string{"reactor_probe"}, `CREATE TABLE reactor_probe (n int PRIMARY KEY)`, handlers)
	runner := projections.NewRunner(f.pool, f.store, reactorRegistry, quietLogger, probe)
	ctx := context.Background()
	if err := runner.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if err := runner.Replay(ctx, probe, nil); err != nil {
		t.Fatal(err)
	}
	if diffs, err := runner.Verify(ctx, probe, nil); err != nil || len(diffs) != 0 {
		t.Fatalf("verify: %v %v", diffs, err)
	}
	var probed int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM readmodel.reactor_probe`).Scan(&probed); err != nil || probed != 5 {
		t.Fatalf("the projector has %d rows (%v), want 5", probed, err)
	}
	if got := rec.got(); !slices.Equal(got, seq(1, 5)) {
		t.Fatalf("a rebuild ran the reactor: it saw %v", got)
	}
	if after, err := rs.Checkpoint(ctx, "pings"); err != nil || after != at {
		t.Fatalf("after a rebuild the reactor's checkpoint is %s (%v), want %s", after, err, at)
	}

	// Started again, the reactor goes on from where it was.
	again := &pingRecorder{name: "pings"}
	f.start(t, again)
	f.pings(t, 6, 7)
	again.waitFor(t, seq(6, 7))
}

func TestReactorRunsInOneProcessAtATime(t *testing.T) {
	f := newReactorFixture(t)
	a := &pingRecorder{name: "pings"}
	b := &pingRecorder{name: "pings"}
	f.start(t, a)
	f.start(t, b)
	f.pings(t, 1, 20)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) && len(a.got())+len(b.got()) < 20 {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // a second delivery, if there were one, would show by now
	all := append(a.got(), b.got()...)
	slices.Sort(all)
	if !slices.Equal(all, seq(1, 20)) {
		t.Fatalf("two runners of one reactor saw %v and %v, want each ping once", a.got(), b.got())
	}
}
