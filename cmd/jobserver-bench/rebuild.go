package main

import (
	"context"
	"fmt"
	"time"

	"github.com/mediciasafely/jobserver/projections"
)

// eventIndex is the simplest honest projector: one row per event, keyed by the event id, so a reader can
// tell exactly when a given event has been projected.
type eventIndex struct{}

const eventIndexTable = "bench_event_index"

func (eventIndex) Name() string      { return "bench_event_index" }
func (eventIndex) Version() int      { return 1 }
func (eventIndex) Tables() []string  { return []string{eventIndexTable} }
func (eventIndex) Handles() []string { return []string{benchJobStatusChanged{}.EventType()} }
func (eventIndex) Schema() string {
	return `CREATE TABLE bench_event_index (
		event_id       uuid PRIMARY KEY,
		stream_id      text NOT NULL,
		stream_version bigint NOT NULL,
		status         text NOT NULL,
		recorded_at    timestamptz NOT NULL)`
}

// Apply is idempotent, as delivery is at least once.
func (eventIndex) Apply(ctx context.Context, db projections.DB, e projections.Event) error {
	ev, ok := e.Payload.(benchJobStatusChanged)
	if !ok {
		return fmt.Errorf("bench_event_index: unexpected payload %T", e.Payload)
	}
	return db.Exec(ctx, `INSERT INTO bench_event_index (event_id, stream_id, stream_version, status, recorded_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO NOTHING`,
		[16]byte(e.ID), e.Stream, e.Version, ev.Status, e.RecordedAt)
}

func newRunner(env *benchEnv, ps ...projections.Projector) *projections.Runner {
	return projections.NewRunner(env.pool, env.store, registry, env.logger, ps...)
}

// measureRebuild replays the projector over the whole log (exactly the seeded events at this point) and
// leaves its live table in place for the lag measurement.
func measureRebuild(ctx context.Context, env *benchEnv, events int, rep *report) error {
	// A runner without projectors creates the live schema and checkpoint table that Replay swaps into,
	// without rebuilding anything itself.
	if err := newRunner(env).Prepare(ctx); err != nil {
		return fmt.Errorf("prepare read-model schema: %w", err)
	}
	env.settle(ctx)
	bar := eventBar("rebuilding", events)
	start := time.Now()
	if err := newRunner(env, eventIndex{}).Replay(ctx, eventIndex{}, func(n int) { _ = bar.Add(n) }); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	elapsed := time.Since(start)
	_ = bar.Finish()
	var rows int
	if err := env.pool.QueryRow(ctx, `SELECT count(*) FROM `+projections.LiveSchema+`.`+eventIndexTable).Scan(&rows); err != nil {
		return err
	}
	if rows != events {
		return fmt.Errorf("replay left %d rows, want %d", rows, events)
	}
	rep.add(row{section: sectionRebuild, measurement: "Runner.Replay, 1 row per event (raw: keyset read)", writers: 1,
		value: float64(events) / elapsed.Seconds(), unit: "events/s", raw: rep.rawRead, goal: atLeastRatio(0.5)})
	return nil
}
