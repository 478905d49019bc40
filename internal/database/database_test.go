package database_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mediciasafely/jobserver/internal/database"
	"github.com/mediciasafely/jobserver/internal/pgtest"
	"github.com/mediciasafely/jobserver/projections"
)

func TestMigratingAgainAfterTheReadModelSchemaExistsChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t) // already migrated
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+database.ReadModelSchema); err != nil {
		t.Fatal(err)
	}
	n, err := database.Migrate(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d migrations ran again", n)
	}
	var copies int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 'events'`).Scan(&copies); err != nil {
		t.Fatal(err)
	}
	if copies != 1 {
		t.Fatalf("%d events tables exist, want 1", copies)
	}
}

func TestTheReadModelSchemaIsTheProjectionsLiveSchema(t *testing.T) {
	t.Parallel()
	if database.ReadModelSchema != projections.LiveSchema {
		t.Fatalf("database.ReadModelSchema %q, projections.LiveSchema %q", database.ReadModelSchema, projections.LiveSchema)
	}
}

func TestAServerPoolHoldsEnoughConnectionsUnlessTheURLSaysOtherwise(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	withThree := dsn + " pool_max_conns=3" // keyword form
	if strings.Contains(dsn, "://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		withThree = dsn + sep + "pool_max_conns=3"
	}
	for _, c := range []struct {
		dsn  string
		want int32
	}{
		{dsn, database.DefaultMaxConns},
		{withThree, 3},
	} {
		pool, err := database.Open(ctx, c.dsn, 0)
		if err != nil {
			t.Fatal(err)
		}
		got := pool.Config().MaxConns
		pool.Close()
		if got != c.want {
			t.Errorf("%s: MaxConns %d, want %d", c.dsn, got, c.want)
		}
	}
}
