package main

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mediciasafely/jobserver/eventstore"
)

// streamsPerWriter: each writer cycles over a few streams of its own, so almost every append carries an
// exact expected version above zero, which the store has to check.
const streamsPerWriter = 8

// writeOp does one write; a writer calls it in a loop.
type writeOp func(ctx context.Context) error

// writeRounds: each write measurement is cut into this many slices, and raw and append slices alternate
// (the order flipping every round), so that both see the same noise from the machine, checkpoints and
// autovacuum; each still runs for -duration in total.
const writeRounds = 5

// measureWrites measures the raw insert ceiling and Store.Append at each writer count.
func measureWrites(ctx context.Context, env *benchEnv, cfg config, rep *report) error {
	if err := env.warmPool(ctx, maxWriters(cfg)); err != nil {
		return err
	}
	for _, writers := range cfg.writerCounts {
		raw, appends, err := measureWritePair(ctx, env, writers, cfg.duration)
		if err != nil {
			return fmt.Errorf("%d writers: %w", writers, err)
		}
		fmt.Fprintf(os.Stderr, "%2d writers: raw insert %.0f inserts/s, store append %.0f appends/s\n", writers, raw, appends)
		rep.add(row{section: sectionRawInsert, measurement: "raw INSERT (1 row, autocommit, table shaped like events)", writers: writers, value: raw, unit: "inserts/s"})
		rep.add(row{section: sectionAppend, measurement: "Store.Append (1 event, exact version)", writers: writers,
			value: appends, unit: "appends/s", raw: raw, rawUnit: "inserts/s", goal: appendGoal(writers)})
	}
	return nil
}

// measureWritePair returns raw inserts/s and appends/s for the number of writers, measured in alternating
// slices. Each writer keeps its streams from slice to slice.
func measureWritePair(ctx context.Context, env *benchEnv, writers int, d time.Duration) (raw, appends float64, err error) {
	env.settle(ctx)
	rawSide, appendSide := &contender{}, &contender{}
	for range writers {
		rawSide.ops = append(rawSide.ops, rawInserter(env))
		appendSide.ops = append(appendSide.ops, appender(env))
	}
	slice := d / writeRounds
	for round := range writeRounds {
		order := []*contender{rawSide, appendSide}
		if round%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, c := range order {
			if err := c.total.run(ctx, c.ops, slice); err != nil {
				return 0, 0, err
			}
		}
	}
	return rawSide.total.perSecond(), appendSide.total.perSecond(), nil
}

// contender is one side of a write comparison: its writers and what they have done so far.
type contender struct {
	ops   []writeOp
	total throughput
}

// appendGoal: a single writer waits for its own commit each time, so the store's overhead shows fully;
// many writers share commits, so a little more overhead per append is allowed there.
func appendGoal(writers int) *goal {
	switch {
	case writers == 1:
		return atLeastRatio(0.85)
	case writers >= 16:
		return atLeastRatio(0.8)
	}
	return nil
}

// throughput adds up operations and the time they took over several runs.
type throughput struct {
	ops     int64
	elapsed time.Duration
}

func (t throughput) perSecond() float64 { return float64(t.ops) / t.elapsed.Seconds() }

// run calls every op in a loop, each in its own goroutine, for d, and adds what they did to t.
func (t *throughput) run(ctx context.Context, ops []writeOp, d time.Duration) error {
	var done atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	start := time.Now()
	deadline := start.Add(d)
	for _, op := range ops {
		g.Go(func() error {
			for time.Now().Before(deadline) {
				if err := op(gctx); err != nil {
					return err
				}
				done.Add(1)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	t.ops += done.Load()
	t.elapsed += time.Since(start)
	return nil
}

// rawInsertSQL is the INSERT the store has to do, into a table of the same shape (rawInsertTableDDL).
const rawInsertSQL = `INSERT INTO public.raw_inserts (event_id, stream_id, stream_version, event_type, schema_version, data, metadata)
VALUES ($1, $2, $3, $4, $5, $6, $7)`

// rawInserter writes one row per autocommitted statement, with the values an append would write.
func rawInserter(env *benchEnv) writeOp {
	streams := newStreamSet(streamsPerWriter)
	return func(ctx context.Context) error {
		i, stream, version := streams.pick()
		r := newRawRow(stream, version+1)
		_, err := env.pool.Exec(ctx, rawInsertSQL, r.eventID, r.stream, r.version, r.eventType, r.schemaVersion, r.data, r.metadata)
		if err == nil {
			streams.appended(i)
		}
		return err
	}
}

// appender appends one event per call with the exact version the writer appended last.
func appender(env *benchEnv) writeOp {
	streams := newStreamSet(streamsPerWriter)
	return func(ctx context.Context) error {
		i, stream, version := streams.pick()
		_, err := env.store.Append(ctx, []eventstore.Append{{
			Stream: stream, Expected: eventstore.Exactly(version), Events: []eventstore.NewEvent{newEvent(stream, int(version)+1)},
		}})
		if err == nil {
			streams.appended(i)
		}
		return err
	}
}
