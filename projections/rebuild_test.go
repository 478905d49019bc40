package projections_test

import (
	"context"
	"log/slog"
	"slices"
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
