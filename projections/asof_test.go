package projections_test

import (
	"context"
	"crypto/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/oklog/ulid/v2"

	"github.com/mediciasafely/jobserver/projections"
)

// pastSchema is the name time travel gives a schema it started building at t.
func pastSchema(t time.Time) string {
	return "asof_" + strings.ToLower(ulid.MustNew(ulid.Timestamp(t), rand.Reader).String())
}

// Time travel sweeps the schemas a crashed server left behind before it builds one, and never a schema a
// live server holds: neither one being read now nor an old one whose owner still keeps it.
func TestTimeTravelDropsTheSchemasACrashLeftButNoneInUse(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.waitVisible(t, f.seed(t, 0, 3))
	r := f.runner(things{})
	schemas := func() []string {
		t.Helper()
		rows, err := f.pool.Query(ctx, `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'asof\_%' ORDER BY nspname`)
		if err != nil {
			t.Fatal(err)
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return names
	}

	// A server that crashed an hour ago left one schema; another server made one as long ago and keeps it,
	// holding its lock as time travel does.
	leftover, kept := pastSchema(time.Now().Add(-time.Hour)), pastSchema(time.Now().Add(-time.Hour))
	for _, name := range []string{leftover, kept} {
		if _, err := f.pool.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
			t.Fatal(err)
		}
	}
	keeper, err := pgx.ConnectConfig(ctx, f.pool.Config().ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer keeper.Close(ctx)
	if _, err := keeper.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended('jobserver asof ' || $1::text, 0))`, kept); err != nil {
		t.Fatal(err)
	}

	// One server draws a page as of now and is still drawing it when a second builds the log as of before
	// the first event: neither sweep drops the other's schema, nor the kept one.
	first := projections.NewTimeTravel(r, 2)
	defer first.Close()
	_, done, err := first.At(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	second := projections.NewTimeTravel(r, 2)
	defer second.Close()
	_, secondDone, err := second.At(ctx, time.Now().Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	secondDone()
	got := schemas()
	if slices.Contains(got, leftover) || !slices.Contains(got, kept) || len(got) != 3 {
		t.Fatalf("schemas after two builds: %v; want the kept %s and the two built, not the leftover %s", got, kept, leftover)
	}

	// Once the keeper is gone (its connection closed, as a crash closes it) the next build drops its schema.
	pid := keeper.PgConn().PID()
	if err := keeper.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for gone := false; !gone; time.Sleep(10 * time.Millisecond) { // the server ends its session a moment later
		if err := f.pool.QueryRow(ctx, `SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $1)`, pid).Scan(&gone); err != nil {
			t.Fatal(err)
		}
	}
	f.waitVisible(t, f.seed(t, 3, 1))
	_, thirdDone, err := second.At(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	thirdDone()
	if got := schemas(); slices.Contains(got, kept) || len(got) != 3 {
		t.Fatalf("schemas after the keeper left: %v; want the three built, not %s", got, kept)
	}
}
