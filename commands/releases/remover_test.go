package releases_test

import (
	"context"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands/releases"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/internal/pgtest"
	"github.com/mediciasafely/jobserver/projections"
)

// TestTheRemoverRunsAsAReactorAndRemovesADeletedFilesBytes: on Postgres, with the reactor runner serve
// uses, the bytes of a deleted file go from storage soon after the deletion, and the blob stream says so.
func TestTheRemoverRunsAsAReactorAndRemovesADeletedFilesBytes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	store := pgstore.New(pool)
	t.Cleanup(store.Close)
	w := newWorldOn(t, store)
	reactors := projections.NewReactors(pool, store, domain.Events, nil, projections.ReactorOptions{},
		projections.DefineReactor(releases.RemoverName, releases.RemoverHandles(), func(ctx context.Context, e projections.Event) error {
			return w.remover.React(ctx, e.Payload, e.ID.String())
		}))
	if err := reactors.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = reactors.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })

	id := w.release(t, listed("output/a.csv", "bytes to remove"))
	file := must(w.upload(id, "output/a.csv", "bytes to remove"))(t).FileID
	w.delete(t, id, file)
	sha := sum("bytes to remove")
	// Generous: the reactor's first catch-up took 14 s once on a machine at load 15.
	deadline := time.Now().Add(60 * time.Second)
	for w.stored(t, sha) {
		if time.Now().After(deadline) {
			t.Fatal("the deleted file's bytes are still stored")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		events, err := store.ReadStream(ctx, domain.BlobStream(sha))
		if err != nil {
			t.Fatal(err)
		}
		if last := events[len(events)-1]; last.Type == "BlobRemoved" {
			if last.Metadata.Actor != "reactor:"+releases.RemoverName {
				t.Errorf("BlobRemoved recorded as by %q", last.Metadata.Actor)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the blob stream ends with %s", events[len(events)-1].Type)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
