package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/kurrentdb"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/projections"
)

// logOfRecord is the log commands append to and decide on. By default it is the Postgres events table
// itself. With JOBSERVER_EVENTSTORE=kurrentdb it is KurrentDB, and a mirror (one process at a time)
// copies its events, in its order, into the events table, which everything downstream (the projectors,
// reactors, live pages, the audit sealer, verify) keeps reading as it does by default.
type logOfRecord struct {
	store eventstore.Store
	// mirror copies KurrentDB into the events table; nil when Postgres is the log.
	mirror *pgstore.Mirror
	close  func()
}

// openLog opens the log of record of cfg beside local, the Postgres store on pool.
func openLog(ctx context.Context, cfg config, pool *pgxpool.Pool, local *pgstore.Store) (logOfRecord, error) {
	if cfg.KurrentDBURL == "" {
		return logOfRecord{store: local, close: func() {}}, nil
	}
	// Secrets (runner tokens, sealed GitHub tokens) stay in Postgres, written before the events that
	// mention them.
	remote, err := kurrentdb.Open(cfg.KurrentDBURL, pgstore.NewSecrets(pool))
	if err != nil {
		return logOfRecord{}, err
	}
	mirror := pgstore.NewMirror(remote, local)
	if err := mirror.Prepare(ctx); err != nil {
		_ = remote.Close()
		return logOfRecord{}, err
	}
	return logOfRecord{store: remote, mirror: mirror, close: func() { _ = remote.Close() }}, nil
}

// mirrorJobName keys the lock of the log mirror: one process copies KurrentDB at a time.
const mirrorJobName = "log-mirror"

// background is the log mirror as a job of its own, when there is one, run by startBackground beside the
// projectors: any number of servers may start it, one copies.
func (l logOfRecord) background(pool *pgxpool.Pool, logger *slog.Logger) []func(context.Context) error {
	if l.mirror == nil {
		return nil
	}
	return []func(context.Context) error{func(ctx context.Context) error {
		return projections.NewExclusive(pool, logger, 0).Run(ctx, projections.Job{Name: mirrorJobName, Run: l.mirror.Run})
	}}
}

// projected is read-your-writes for a command's result, whose position is in the log of record: with
// KurrentDB it first waits for the mirror to copy the event, then for the read models to reach where the
// copy landed.
func (b *backend) projected() projections.Waiter {
	if b.log.mirror == nil {
		return b.runner
	}
	return mirroredWaiter{mirror: b.log.mirror, runner: b.runner}
}

type mirroredWaiter struct {
	mirror *pgstore.Mirror
	runner *projections.Runner
}

func (w mirroredWaiter) WaitFor(ctx context.Context, pos eventstore.Position, projectors ...string) error {
	local, err := w.mirror.WaitCopied(ctx, pos)
	if errors.Is(err, pgstore.ErrNotYetMirrored) {
		return fmt.Errorf("%w: %w", projections.ErrNotYetProjected, err)
	}
	if err != nil {
		return err
	}
	return w.runner.WaitFor(ctx, local, projectors...)
}

// verifyMirror is verify's check of the log mirror, when there is one: the events table the read models
// are rebuilt from holds KurrentDB's events, in its order, up to the mirror's checkpoint.
func verifyMirror(ctx context.Context, b *backend, out output) error {
	if b.log.mirror == nil {
		return nil
	}
	compared, err := b.log.mirror.Compare(ctx)
	if errors.Is(err, pgstore.ErrMirrorDiffers) {
		fmt.Fprintf(out.stdout, "log mirror: %v\n", err)
		return exitError{code: 1}
	}
	if err != nil {
		return fmt.Errorf("verify the log mirror: %w", err)
	}
	fmt.Fprintf(out.stdout, "log mirror: the events table holds KurrentDB's %d events up to the mirror's checkpoint, in its order\n", compared)
	return nil
}
