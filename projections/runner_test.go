package projections_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/internal/pgtest"
	"github.com/mediciasafely/jobserver/projections"
)

type thingCreated struct{ ID, Name string }
type thingRenamed struct{ ID, Name string }
type thingBroken struct{ ID string }
type thingCorrupted struct{ ID string }

func (thingCreated) EventType() string   { return "ThingCreated" }
func (thingRenamed) EventType() string   { return "ThingRenamed" }
func (thingBroken) EventType() string    { return "ThingBroken" }
func (thingCorrupted) EventType() string { return "ThingCorrupted" }

var registry = domain.NewRegistry(domain.Type[thingCreated](), domain.Type[thingRenamed](), domain.Type[thingBroken](), domain.Type[thingCorrupted]())

// things counts renames, so an event applied twice shows up as a wrong count.
type things struct {
	version int
	// beforeApply, when set, runs before each event and may fail it.
	beforeApply func(ctx context.Context, e projections.Event) error
}

func (things) Name() string     { return "things" }
func (p things) Version() int   { return p.version }
func (things) Tables() []string { return []string{"things"} }
func (things) Handles() []string {
	return []string{"ThingCreated", "ThingRenamed", "ThingBroken", "ThingCorrupted"}
}
func (things) Schema() string {
	return `CREATE TABLE things (id text PRIMARY KEY, name text NOT NULL, renames int NOT NULL DEFAULT 0, created_at timestamptz NOT NULL)`
}

func (p things) Apply(ctx context.Context, db projections.DB, e projections.Event) error {
	if p.beforeApply != nil {
		if err := p.beforeApply(ctx, e); err != nil {
			return err
		}
	}
	switch ev := e.Payload.(type) {
	case thingCreated:
		return db.Exec(ctx, `INSERT INTO things (id, name, created_at) VALUES ($1, $2, $3)`, ev.ID, ev.Name, e.RecordedAt)
	case thingRenamed:
		return db.Exec(ctx, `UPDATE things SET name = $2, renames = renames + 1 WHERE id = $1`, ev.ID, ev.Name)
	case thingBroken:
		return errors.New("this projector cannot apply ThingBroken")
	case thingCorrupted:
		// A statement the database refuses: it aborts the transaction up to the savepoint.
		return db.Exec(ctx, `INSERT INTO things (id, name, created_at) VALUES ($1, NULL, now())`, ev.ID)
	}
	return nil
}

type fixture struct {
	pool  *pgxpool.Pool
	store *pgstore.Store
}

func newFixture(t *testing.T) fixture {
	pool := pgtest.NewPool(t)
	store := pgstore.New(pool)
	t.Cleanup(store.Close)
	return fixture{pool: pool, store: store}
}

func (f fixture) runner(p projections.Projector) *projections.Runner {
	return projections.NewRunner(f.pool, f.store, registry, slog.New(slog.NewTextHandler(io.Discard, nil)), p)
}

func (f fixture) append(t *testing.T, stream string, events ...domain.Event) eventstore.AppendResult {
	t.Helper()
	a := eventstore.Append{Stream: stream, Expected: eventstore.Any}
	for _, e := range events {
		name, v, data, err := registry.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		a.Events = append(a.Events, eventstore.NewEvent{ID: domain.NewULID(time.Now()), Type: name, SchemaVersion: v, Data: data})
	}
	res, err := f.store.Append(context.Background(), []eventstore.Append{a})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// seed appends n things, each created and renamed twice, and returns the position of the last event.
func (f fixture) seed(t *testing.T, from, n int) eventstore.Position {
	t.Helper()
	var last eventstore.Position
	for i := from; i < from+n; i++ {
		id := fmt.Sprintf("thing-%04d", i)
		last = f.append(t, id, thingCreated{id, "first"}, thingRenamed{id, "second"}, thingRenamed{id, fmt.Sprintf("name %d", i)}).Last
	}
	return last
}

// waitVisible waits until the events up to pos can be read globally: another test's transaction on the same
// server may hold them back for a moment.
func (f fixture) waitVisible(t *testing.T, pos eventstore.Position) {
	t.Helper()
	pgtest.WaitVisible(t, f.store, pos)
}

func (f fixture) rows(t *testing.T) map[string]string {
	t.Helper()
	rows, err := f.pool.Query(context.Background(), `SELECT id, name || '/' || renames FROM readmodel.things`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, v string
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		out[id] = v
	}
	return out
}

func (f fixture) mustVerifyEqual(t *testing.T, r *projections.Runner, p projections.Projector) {
	t.Helper()
	diffs, err := r.Verify(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		t.Errorf("%s.%s %s: %s", d.Projector, d.Table, d.Side, d.Row)
	}
}

func runLive(t *testing.T, r *projections.Runner) context.CancelFunc {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("live runner did not stop")
		}
	})
	return cancel
}

func TestProjectorCatchesUpThenFollowsTheLogLive(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	last := f.seed(t, 0, 30)
	f.waitVisible(t, last)
	p := things{}
	r := f.runner(p)
	if err := r.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.rows(t); len(got) != 30 || got["thing-0007"] != "name 7/2" {
		t.Fatalf("after catch-up: %d rows, thing-0007 = %q", len(got), got["thing-0007"])
	}
	runLive(t, r)
	last = f.seed(t, 30, 5)
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := r.WaitFor(waitCtx, last); err != nil {
		t.Fatal(err)
	}
	if got := f.rows(t); len(got) != 35 || got["thing-0033"] != "name 33/2" {
		t.Fatalf("after live events: %d rows, thing-0033 = %q", len(got), got["thing-0033"])
	}
	f.mustVerifyEqual(t, r, p)
}

func TestKilledRunnerLeavesReadModelsEqualToAFreshRebuild(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if err := f.runner(things{}).Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	last := f.seed(t, 0, 700) // 2100 events: three catch-up batches
	f.waitVisible(t, last)

	// The first runner dies in the middle of its second batch, as a killed process would.
	killCtx, kill := context.WithCancel(context.Background())
	var applied atomic.Int64
	dying := things{beforeApply: func(ctx context.Context, e projections.Event) error {
		if applied.Add(1) == 1500 {
			kill()
		}
		return killCtx.Err()
	}}
	if err := f.runner(dying).Prepare(killCtx); err == nil {
		t.Fatal("the runner was killed but Prepare reported success")
	}
	partial := f.rows(t)
	if len(partial) == 0 || len(partial) >= 700 {
		t.Fatalf("expected the first batch kept and the rest lost, got %d rows", len(partial))
	}

	// A live runner is killed while it is applying, too.
	more := f.seed(t, 700, 50)
	liveKill := make(chan struct{})
	var liveApplied atomic.Int64
	dyingLive := things{beforeApply: func(ctx context.Context, e projections.Event) error {
		if liveApplied.Add(1) == 40 {
			close(liveKill)
		}
		return nil
	}}
	r := f.runner(dyingLive)
	cancelLive := runLive(t, r)
	<-liveKill
	cancelLive()

	// A new runner takes over from the checkpoints.
	p := things{}
	r = f.runner(p)
	if err := r.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.waitVisible(t, more)
	if err := r.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := f.rows(t)
	if len(got) != 750 {
		t.Fatalf("after restart: %d rows, want 750", len(got))
	}
	for id, v := range got {
		var n int
		fmt.Sscanf(id, "thing-%04d", &n)
		if want := fmt.Sprintf("name %d/2", n); v != want {
			t.Fatalf("%s = %q, want %q: an event was lost or applied twice", id, v, want)
		}
	}
	f.mustVerifyEqual(t, r, p)
}

func TestVerifyReportsADamagedRowAndReplayRepairsIt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.waitVisible(t, f.seed(t, 0, 10))
	p := things{}
	r := f.runner(p)
	if err := r.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(ctx, `UPDATE readmodel.things SET name = 'tampered' WHERE id = 'thing-0003'`); err != nil {
		t.Fatal(err)
	}
	diffs, err := r.Verify(ctx, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 2 || diffs[0].Table != "things" {
		t.Fatalf("verify found %+v; want the tampered row on both sides", diffs)
	}
	var total int
	if err := r.Replay(ctx, p, func(n int) { total += n }); err != nil {
		t.Fatal(err)
	}
	if total != 30 {
		t.Errorf("replay reported %d events, want 30", total)
	}
	if got := f.rows(t)["thing-0003"]; got != "name 3/2" {
		t.Errorf("after replay thing-0003 = %q", got)
	}
	f.mustVerifyEqual(t, r, p)
}

func TestChangedProjectorIsRebuiltWhenItStarts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.waitVisible(t, f.seed(t, 0, 3))
	if err := f.runner(things{version: 1}).Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(ctx, `DELETE FROM readmodel.things`); err != nil {
		t.Fatal(err)
	}
	if err := f.runner(things{version: 1}).Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(f.rows(t)); n != 0 {
		t.Fatalf("an unchanged projector was rebuilt (%d rows)", n)
	}
	if err := f.runner(things{version: 2}).Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(f.rows(t)); n != 3 {
		t.Fatalf("a changed projector was not rebuilt: %d rows, want 3", n)
	}
}

func TestAnEventTheProjectorCannotApplyIsSetAsideAndRecorded(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.seed(t, 0, 2)
	f.append(t, "thing-0000", thingBroken{"thing-0000"})
	f.waitVisible(t, f.seed(t, 2, 2))
	p := things{}
	r := f.runner(p)
	if err := r.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(f.rows(t)); n != 4 {
		t.Fatalf("catch-up stopped at the broken event: %d rows, want 4", n)
	}
	runLive(t, r)
	f.append(t, "thing-0001", thingBroken{"thing-0001"})
	last := f.seed(t, 4, 1)
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := r.WaitFor(waitCtx, last); err != nil {
		t.Fatal(err)
	}
	var failures int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM event_failures WHERE consumer = 'things' AND event_type = 'ThingBroken'
		AND reason LIKE '%cannot apply ThingBroken%'`).Scan(&failures); err != nil {
		t.Fatal(err)
	}
	if failures != 2 {
		t.Fatalf("%d failures recorded, want one from catch-up and one from the live path", failures)
	}
	if n := len(f.rows(t)); n != 5 {
		t.Fatalf("live path stopped at the broken event: %d rows, want 5", n)
	}
}

func TestWaitForGivesUpWhenTheReadModelsDoNotCatchUp(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	r := f.runner(things{})
	if err := r.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	last := f.seed(t, 0, 1) // no live runner: nobody applies it
	waitCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := r.WaitFor(waitCtx, last); !errors.Is(err, projections.ErrNotYetProjected) {
		t.Fatalf("err = %v, want ErrNotYetProjected", err)
	}
}

func TestWaitForWaitsOnlyForTheNamedProjectors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	last := f.seed(t, 0, 1)
	f.waitVisible(t, last)
	if err := f.runner(things{}).Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	// A runner that also knows a projector nobody has run: it never reaches pos.
	r := projections.NewRunner(f.pool, f.store, registry, slog.New(slog.NewTextHandler(io.Discard, nil)), things{}, neverRun{})
	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := r.WaitFor(waitCtx, last, "things"); err != nil {
		t.Fatalf("waiting for the applied projector: %v", err)
	}
	shortCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := r.WaitFor(shortCtx, last); !errors.Is(err, projections.ErrNotYetProjected) {
		t.Fatalf("waiting for every projector: err = %v, want ErrNotYetProjected", err)
	}
	if err := r.WaitFor(ctx, last, "nope"); err == nil || !strings.Contains(err.Error(), `no projector named "nope"`) {
		t.Fatalf("waiting for an unknown projector: err = %v", err)
	}
}

// neverRun is a projector that is never prepared or run.
type neverRun struct{ things }

func (neverRun) Name() string     { return "never_run" }
func (neverRun) Tables() []string { return []string{"never_run"} }

func TestAStatementTheDatabaseRefusesOnTheLivePathIsSetAsideAndTheBatchGoesOn(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	r := f.runner(things{})
	if err := r.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	runLive(t, r)
	f.append(t, "thing-x", thingCorrupted{"thing-x"})
	last := f.seed(t, 0, 2)
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := r.WaitFor(waitCtx, last); err != nil {
		t.Fatal(err)
	}
	if got := f.rows(t); len(got) != 2 || got["thing-0001"] != "name 1/2" {
		t.Fatalf("rows after the refused statement: %v", got)
	}
	var reason string
	if err := f.pool.QueryRow(ctx, `SELECT reason FROM event_failures WHERE event_type = 'ThingCorrupted'`).Scan(&reason); err != nil {
		t.Fatalf("the refused event was not recorded: %v", err)
	}
	if !strings.Contains(reason, "null value") {
		t.Errorf("recorded reason %q", reason)
	}
}
