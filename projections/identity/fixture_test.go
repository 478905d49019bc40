package identity_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/commands"
	identitycmd "github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/internal/pgtest"
	"github.com/mediciasafely/jobserver/projections"
	"github.com/mediciasafely/jobserver/projections/identity"
)

var (
	ctx = context.Background()
	cli = commands.CLIActor
)

// fixture is a database of the test's own with the Postgres event store on it.
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

func (f fixture) waitVisible(t *testing.T, pos eventstore.Position) {
	t.Helper()
	pgtest.WaitVisible(t, f.store, pos)
}

// mustVerifyEqual rebuilds p's tables from the log and fails on any row that differs from the live ones.
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

// world drives the identity commands on a fixture and the identity projectors behind them.
type world struct {
	fixture
	t      *testing.T
	id     *identitycmd.Commands
	runner *projections.Runner
	q      *identity.Queries
	last   eventstore.Position
}

func newWorld(t *testing.T) *world {
	f := newFixture(t)
	return &world{fixture: f, t: t,
		id:     identitycmd.New(commands.Kit{Log: commands.NewEventLog(f.store, domain.Events, time.Now)}),
		runner: projections.NewRunner(f.pool, f.store, domain.Events, slog.New(slog.NewTextHandler(io.Discard, nil)), identity.Projectors()...),
		q:      identity.NewQueries(f.pool)}
}

// track fails on a command's error and remembers its append for catchUp.
func (w *world) track(res commands.Result, err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
	if w.last.Less(res.Position) {
		w.last = res.Position
	}
}

// catchUp brings the read models to the last append, the way the live runner does.
func (w *world) catchUp() {
	w.t.Helper()
	w.waitVisible(w.t, w.last)
	if err := w.runner.Prepare(context.Background()); err != nil {
		w.t.Fatal(err)
	}
}

// verify fails on any row of any projector that a rebuild does not write alike.
func (w *world) verify() {
	w.t.Helper()
	for _, p := range w.runner.Projectors() {
		w.mustVerifyEqual(w.t, w.runner, p)
	}
}
