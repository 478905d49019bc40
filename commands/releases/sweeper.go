package releases

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// SweeperName names the sweep of orphan bytes: the lock that runs it in one process at a time, and the
// actor of what it appends.
const SweeperName = "release-blob-sweep"

const (
	// SweepGrace is how long stored bytes are left alone before a sweep may take them for orphans. An
	// upload stores its bytes before it appends the event that references them; in between it reads the
	// release, the uploader's roles and the blob's stream, retrying on a conflict: well under a minute,
	// and never more than the release API's upload timeout. An hour leaves every upload in flight alone,
	// and costs only the disk an orphan takes until the next sweep after it.
	SweepGrace = time.Hour
	// SweepEvery is how often a server sweeps: orphans come only from a crash between a Put and its
	// event, and each sweep reads the blob stream of every stored file older than the grace.
	SweepEvery = time.Hour
)

var (
	blobSweeps = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "jobserver_blob_sweeps_total",
		Help: "Sweeps of blob storage for bytes no released file references, by outcome (ok, error).",
	}, []string{"outcome"})
	blobsSwept = promauto.NewCounter(prometheus.CounterOpts{
		Name: "jobserver_blob_sweep_removed_total",
		Help: "Orphan bytes (stored, but referenced by no released file) that sweeps removed from blob storage.",
	})
)

// ListedBlob is stored bytes as storage lists them, with when they were stored.
type ListedBlob struct {
	SHA256 string
	Stored time.Time
}

// SweptBlobs is blob storage that lists what it holds, for the sweep.
type SweptBlobs interface {
	Blobs
	// List calls each with every stored blob, and stops at the first error each returns.
	List(ctx context.Context, each func(ListedBlob) error) error
}

// Sweeper removes orphan bytes: bytes in storage that no live released file references, which a crash
// between an upload's Put and its event leaves behind (no event names them, so no deletion ever
// removes them). It decides on each blob's stream like any removal: an upload of the same bytes at the
// same moment either references them first, and they stay, or is told to send them again.
type Sweeper struct {
	log    *commands.EventLog
	logger *slog.Logger
	blobs  SweptBlobs
	// Grace is SweepGrace unless a test sets it; Now is the clock the bytes' age is read against.
	Grace time.Duration
	Now   func() time.Time
}

// NewSweeper builds the sweep on the kit's event log and the blob storage.
func NewSweeper(k commands.Kit, blobs SweptBlobs) *Sweeper {
	logger := k.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &Sweeper{log: k.Log, logger: logger, blobs: blobs, Grace: SweepGrace, Now: time.Now}
}

// Swept counts what one sweep found.
type Swept struct {
	// Listed is every blob in storage; Young those stored within the grace, left alone; Referenced those
	// a live file references; Removed the orphans deleted.
	Listed, Young, Referenced, Removed int
}

// Run sweeps now and then every SweepEvery until ctx ends; a failed sweep is logged and the next one
// tries again.
func (s *Sweeper) Run(ctx context.Context) error {
	for {
		_, _ = s.Sweep(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(SweepEvery):
		}
	}
}

// Sweep removes every orphan stored before the grace, and logs one line with the counts.
func (s *Sweeper) Sweep(ctx context.Context) (Swept, error) {
	started := time.Now()
	cutoff := s.Now().Add(-s.Grace)
	var swept Swept
	err := s.blobs.List(ctx, func(b ListedBlob) error {
		swept.Listed++
		if !b.Stored.Before(cutoff) {
			swept.Young++
			return nil
		}
		removed, err := s.removeOrphan(ctx, b.SHA256)
		if err != nil {
			return err
		}
		if removed {
			swept.Removed++
			blobsSwept.Inc()
		} else {
			swept.Referenced++
		}
		return nil
	})
	attrs := []slog.Attr{slog.Int("listed", swept.Listed), slog.Int("young", swept.Young), slog.Int("referenced", swept.Referenced),
		slog.Int("removed", swept.Removed), slog.Duration("grace", s.Grace), slog.Float64("duration_ms", float64(time.Since(started).Microseconds())/1000)}
	if err != nil {
		blobSweeps.WithLabelValues("error").Inc()
		s.logger.LogAttrs(ctx, slog.LevelError, "sweep of orphan bytes failed; the next sweep tries again", append(attrs, slog.Any("error", err))...)
		return swept, err
	}
	blobSweeps.WithLabelValues("ok").Inc()
	s.logger.LogAttrs(ctx, slog.LevelInfo, "swept blob storage for orphan bytes", attrs...)
	return swept, nil
}

// removeOrphan starts the removal of bytes no live file references, through their stream, and finishes
// it: deletes them and records it. A removal another started and did not finish (a crash of the
// Remover) is finished too. Bytes that a live file references stay, and it reports false.
func (s *Sweeper) removeOrphan(ctx context.Context, sha256 string) (bool, error) {
	actor := commands.ReactorActor(SweeperName)
	orphan := false
	_, err := commands.Retry(ctx, func() (commands.Result, error) {
		blob, version, err := commands.LoadAggregate[domain.Blob](ctx, s.log, domain.BlobStream(sha256))
		if err != nil {
			return commands.Result{}, err
		}
		start := blob.RemoveUnreferenced(sha256)
		orphan = len(start) > 0 || len(blob.FinishRemoval(sha256)) > 0
		if len(start) == 0 {
			return commands.Result{}, nil
		}
		return s.log.Append(ctx, actor, []commands.Write{{Stream: domain.BlobStream(sha256), Expected: eventstore.Exactly(version), Events: start}})
	})
	if err != nil || !orphan {
		return false, err
	}
	if _, err := finishRemoval(ctx, s.log, s.blobs, actor, sha256); err != nil {
		return false, err
	}
	return true, nil
}
