package releases_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/releases"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/integrations/blobs"
	"github.com/mediciasafely/jobserver/integrations/blobs/blobtest"
	"github.com/mediciasafely/jobserver/internal/pgtest"
)

// sweptStorage is a blob store under the sweep, and how a test makes what it holds older than the grace.
type sweptStorage struct {
	store blobs.Store
	// ageAll makes every blob stored so far older than SweepGrace.
	ageAll func(t *testing.T)
}

// blobDirectory is the directory store; its blobs age by their modification times.
func blobDirectory(t *testing.T) sweptStorage {
	root := t.TempDir()
	dir, err := blobs.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	return sweptStorage{store: dir, ageAll: func(t *testing.T) {
		old := time.Now().Add(-releases.SweepGrace - time.Minute)
		blobFiles, err := filepath.Glob(filepath.Join(root, "??", "*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range blobFiles {
			if err := os.Chtimes(f, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}}
}

// fakeS3Bucket is the S3 store on gofakes3 (the in-process S3 server integrations/blobs tests with),
// whose clock starts past the grace and is moved to now by ageAll.
func fakeS3Bucket(t *testing.T) sweptStorage {
	clock := gofakes3.FixedTimeSource(time.Now().Add(-releases.SweepGrace - time.Minute))
	faker := gofakes3.New(s3mem.New(s3mem.WithTimeSource(clock)), gofakes3.WithTimeSource(clock), gofakes3.WithTimeSkewLimit(0))
	srv := httptest.NewServer(faker.Server())
	t.Cleanup(srv.Close)
	cfg := blobs.S3Config{Endpoint: srv.URL, Region: "us-east-1", AccessKey: "test-access", SecretKey: "test-secret", PathStyle: true,
		Bucket: "released"}
	blobtest.PrimeFakeBucket(t, cfg)
	ctx := context.Background()
	s3, err := blobs.NewS3(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sweptStorage{store: s3, ageAll: func(*testing.T) { clock.Advance(releases.SweepGrace + time.Minute) }}
}

// TestTheSweepRemovesOldOrphansAndKeepsYoungOnesAndEveryReferencedBlob: on Postgres, for each blob store,
// an orphan (bytes stored by an upload that crashed before its event) older than the grace goes, and so do
// a deleted file's bytes whose removal never finished; a young orphan, a live file's bytes and bytes that
// a deleted file shared with a live one stay. A second sweep finds nothing more to remove.
func TestTheSweepRemovesOldOrphansAndKeepsYoungOnesAndEveryReferencedBlob(t *testing.T) {
	t.Parallel()
	for _, backend := range []struct {
		name string
		open func(t *testing.T) sweptStorage
	}{{"Dir", blobDirectory}, {"S3", fakeS3Bucket}} {
		t.Run(backend.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool := pgtest.NewPool(t)
			store := pgstore.New(pool)
			t.Cleanup(store.Close)
			storage := backend.open(t)
			w := newWorldWith(t, store, storage.store)

			live := w.release(t, listed("output/live.csv", "live bytes"))
			must(w.upload(live, "output/live.csv", "live bytes"))(t)
			// Two files share the bytes "shared bytes"; one of them is deleted.
			first := w.release(t, listed("output/shared.csv", "shared bytes"))
			deleted := must(w.upload(first, "output/shared.csv", "shared bytes"))(t).FileID
			second := w.release(t, listed("output/shared.csv", "shared bytes"))
			must(w.upload(second, "output/shared.csv", "shared bytes"))(t)
			w.delete(t, first, deleted)
			// A deleted file's removal started, and the Remover never ran (it crashed, say).
			unfinished := w.release(t, listed("output/gone.csv", "unfinished removal"))
			w.delete(t, unfinished, must(w.upload(unfinished, "output/gone.csv", "unfinished removal"))(t).FileID)
			// An upload that crashed between storing its bytes and appending its event.
			if _, err := storage.store.Put(ctx, strings.NewReader("old orphan"), 100); err != nil {
				t.Fatal(err)
			}
			storage.ageAll(t)
			// One crashed a moment ago: it might as well be an upload on its way to its event.
			if _, err := storage.store.Put(ctx, strings.NewReader("young orphan"), 100); err != nil {
				t.Fatal(err)
			}

			var logs bytes.Buffer
			sweeper := releases.NewSweeper(commands.Kit{Log: w.log, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, blobs.ForReleases{Store: storage.store})
			swept, err := sweeper.Sweep(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := (releases.Swept{Listed: 5, Young: 1, Referenced: 2, Removed: 2}); swept != want {
				t.Errorf("the sweep counted %+v, want %+v", swept, want)
			}
			for content, want := range map[string]bool{"live bytes": true, "shared bytes": true, "young orphan": true,
				"old orphan": false, "unfinished removal": false} {
				if got := w.stored(t, sum(content)); got != want {
					t.Errorf("after the sweep %q stored: %v, want %v", content, got, want)
				}
			}
			events, err := store.ReadStream(ctx, domain.BlobStream(sum("old orphan")))
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != 2 || events[0].Type != "BlobRemovalStarted" || events[1].Type != "BlobRemoved" ||
				events[1].Metadata.Actor != "reactor:"+releases.SweeperName {
				t.Errorf("the old orphan's stream: %+v, want its removal started and finished by the sweep", events)
			}
			line := logs.String()
			if strings.Count(line, "\n") != 1 || !strings.Contains(line, "listed=5") || !strings.Contains(line, "removed=2") {
				t.Errorf("the sweep logged %q, want one line with its counts", line)
			}

			again, err := sweeper.Sweep(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := (releases.Swept{Listed: 3, Young: 1, Referenced: 2}); again != want {
				t.Errorf("the second sweep counted %+v, want %+v", again, want)
			}
		})
	}
}
