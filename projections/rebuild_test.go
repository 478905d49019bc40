package projections_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mediciasafely/jobserver/projections"
)

// packedThings is a table that sets its own fill factor (and is left empty).
type packedThings struct{ things }

func (packedThings) Name() string      { return "packed_things" }
func (packedThings) Tables() []string  { return []string{"packed_things"} }
func (packedThings) Handles() []string { return nil }
func (packedThings) Schema() string {
	return `CREATE TABLE packed_things (id text PRIMARY KEY, name text NOT NULL, renames int NOT NULL DEFAULT 0,
		created_at timestamptz NOT NULL) WITH (fillfactor = 100)`
}

// A rebuilt table leaves room on its pages for the updates of its rows (so they stay on their page and
// skip the indexes), unless its schema chose its own storage options, which stand.
func TestRebuiltTablesLeaveRoomForUpdates(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.waitVisible(t, f.seed(t, 0, 10))
	if err := projections.NewRunner(f.pool, f.store, registry, slog.New(slog.DiscardHandler), things{}, packedThings{}).Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	for table, want := range map[string][]string{"things": {"fillfactor=80"}, "packed_things": {"fillfactor=100"}} {
		var got []string
		if err := f.pool.QueryRow(ctx, `SELECT reloptions FROM pg_class WHERE oid = ('readmodel.' || $1)::regclass`, table).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: storage options %v, want %v", table, got, want)
		}
	}
}

// namedThings is things with an index on the names, which only queries read.
type namedThings struct{ things }

func (namedThings) Schema() string {
	return things{}.Schema() + `; CREATE INDEX things_name ON things (name)`
}

// A read index is missing while a rebuild fills the tables, and there once it is swapped in.
func TestReadIndexesAreCreatedAfterTheFill(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.waitVisible(t, f.seed(t, 0, 10))
	indexes := func(schemas string) int {
		var n int
		if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE indexname = 'things_name' AND schemaname LIKE $1`,
			schemas).Scan(&n); err != nil {
			t.Error(err)
		}
		return n
	}
	var duringFill atomic.Int32
	p := namedThings{things{beforeApply: func(context.Context, projections.Event) error {
		duringFill.Add(int32(indexes("rebuild_%")))
		return nil
	}}}
	if err := projections.NewRunner(f.pool, f.store, registry, slog.New(slog.DiscardHandler),
		projections.ReadIndexes(p, "things_name")).Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if duringFill.Load() != 0 {
		t.Errorf("the read index was there while %d events were applied", duringFill.Load())
	}
	if indexes("readmodel") != 1 {
		t.Errorf("the read index is not in the live schema after the rebuild")
	}
	if got := f.rows(t); len(got) != 10 || got["thing-0009"] != "name 9/2" {
		t.Errorf("%d rows, thing-0009 = %q", len(got), got["thing-0009"])
	}
}

// A unique index checks what the handlers write, so it cannot wait for the end of the fill.
func TestAUniqueIndexIsNotAReadIndex(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	err := projections.NewRunner(f.pool, f.store, registry, slog.New(slog.DiscardHandler),
		projections.ReadIndexes(things{}, "things_pkey")).Prepare(context.Background())
	if err == nil || !strings.Contains(err.Error(), "unique") {
		t.Fatalf("Prepare with a unique read index: %v", err)
	}
}
