package identity_test

import (
	"context"

	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/internal/pgtest"
	"github.com/mediciasafely/jobserver/projections"
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
