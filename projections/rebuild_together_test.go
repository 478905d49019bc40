package projections_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/mediciasafely/jobserver/projections"
)

// renameLog is a second projector over the same events: one row per rename, so it writes many rows where
// things updates one.
func renameLog() projections.Projector {
	h := projections.Handlers{}
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev thingRenamed) error {
		return db.Exec(ctx, `INSERT INTO thing_renames (event_id, thing_id, name) VALUES ($1, $2, $3)`, [16]byte(e.ID), ev.ID, ev.Name)
	})
	return projections.Define("thing_renames", 1, []string{"thing_renames"},
		`CREATE TABLE thing_renames (event_id uuid PRIMARY KEY, thing_id text NOT NULL, name text NOT NULL)`, h)
}

// Prepare rebuilds every projector that needs it from one read of the log; each ends with its own tables,
// its failures set aside, and its checkpoint at the end of the log, over several batches.
func TestPrepareRebuildsSeveralProjectorsFromOneRead(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.append(t, "thing-broken", thingBroken{"thing-broken"})
	last := f.seed(t, 0, 400) // 1200 events more: two batches
	f.waitVisible(t, last)
	r := projections.NewRunner(f.pool, f.store, registry, slog.New(slog.NewTextHandler(io.Discard, nil)), things{}, renameLog())
	if err := r.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	got := f.rows(t)
	if len(got) != 400 || got["thing-0399"] != "name 399/2" {
		t.Fatalf("things: %d rows, thing-0399 = %q", len(got), got["thing-0399"])
	}
	var renames int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM readmodel.thing_renames`).Scan(&renames); err != nil {
		t.Fatal(err)
	}
	if renames != 800 {
		t.Fatalf("thing_renames: %d rows, want 800", renames)
	}
	var failures int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM event_failures WHERE consumer = 'things' AND event_type = 'ThingBroken'`).Scan(&failures); err != nil {
		t.Fatal(err)
	}
	if failures != 1 {
		t.Fatalf("failures of things: %d, want 1", failures)
	}
	var atEnd int
	if err := f.pool.QueryRow(ctx, `SELECT count(*) FROM readmodel.projection_checkpoints WHERE tx_id = $1 AND seq = $2`,
		int64(last.TxID), last.Seq).Scan(&atEnd); err != nil {
		t.Fatal(err)
	}
	if atEnd != 2 {
		t.Fatalf("%d checkpoints at the end of the log, want 2", atEnd)
	}
}
