package main

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/sync/errgroup"

	"github.com/mediciasafely/jobserver/eventstore"
)

const (
	// seedBatch events go in one Append: seedStreamLength events each for seedBatch/seedStreamLength new
	// streams, the shape of many aggregates written at once.
	seedBatch        = 1000
	seedStreamLength = 10
	seedWriters      = 4
	readBatch        = 1000
)

// seed appends n events through the store with multi-stream appends, then copies the very same rows into
// raw_events (the read ceiling) and raw_inserts (the write ceiling, so that its indexes are as deep as
// those of events) in global order, and vacuums them so that reads measure reading, not setting hint bits.
func seed(ctx context.Context, env *benchEnv, n int) error {
	bar := eventBar("seeding events", n)
	var claimed atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for range seedWriters {
		g.Go(func() error {
			for {
				end := claimed.Add(seedBatch)
				size := min(seedBatch, int64(n)-(end-seedBatch))
				if size <= 0 {
					return nil
				}
				if _, err := env.store.Append(gctx, seedAppends(int(size))); err != nil {
					return fmt.Errorf("seed: %w", err)
				}
				_ = bar.Add(int(size))
			}
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	_ = bar.Finish()
	return copyToRawAndVacuum(ctx, env, true)
}

// seedAppends builds one multi-stream append of size events on new streams.
func seedAppends(size int) []eventstore.Append {
	var appends []eventstore.Append
	for size > 0 {
		length := min(size, seedStreamLength)
		stream := newStreamName()
		a := eventstore.Append{Stream: stream, Expected: eventstore.NoStream}
		for step := 1; step <= length; step++ {
			a.Events = append(a.Events, newEvent(stream, step))
		}
		appends = append(appends, a)
		size -= length
	}
	return appends
}

// eventBar is a progress bar on stderr counting events, so the report on stdout stays clean.
func eventBar(description string, total int) *progressbar.ProgressBar {
	return progressbar.NewOptions64(int64(total),
		progressbar.OptionSetDescription(description),
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("events"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionFullWidth(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(os.Stderr) }),
	)
}

// copyToRawAndVacuum copies the events into raw_events, and into raw_inserts too when the run measures
// writes on this database.
func copyToRawAndVacuum(ctx context.Context, env *benchEnv, insertCeiling bool) error {
	tables := []string{"public.raw_events"}
	if insertCeiling {
		tables = append(tables, "public.raw_inserts")
	}
	fmt.Fprintf(os.Stderr, "copying the events into %v and vacuuming\n", tables)
	for _, table := range tables {
		_, err := env.pool.Exec(ctx, `INSERT INTO `+table+`
		(tx_id, event_id, stream_id, stream_version, event_type, schema_version, data, metadata, recorded_at)
		SELECT tx_id, event_id, stream_id, stream_version, event_type, schema_version, data, metadata, recorded_at
		FROM public.events ORDER BY tx_id, seq`)
		if err != nil {
			return fmt.Errorf("copy events into %s: %w", table, err)
		}
	}
	for _, table := range append(tables, "public.events") {
		if _, err := env.pool.Exec(ctx, "VACUUM (ANALYZE) "+table); err != nil {
			return fmt.Errorf("vacuum %s: %w", table, err)
		}
	}
	return nil
}

// readPasses: the reads alternate, ours then raw, this many times, and the best pass of each counts; the
// first pass of either may still be pulling pages from disk into the cache.
const readPasses = 2

// measureReads reads every seeded event in batches of readBatch, with ReadAll and with a raw keyset read.
func measureReads(ctx context.Context, env *benchEnv, want int, rep *report) error {
	var best struct{ ours, raw float64 }
	for range readPasses {
		ours, err := timeRead(ctx, want, func(ctx context.Context) (int, error) { return readAllThroughStore(ctx, env) })
		if err != nil {
			return fmt.Errorf("ReadAll: %w", err)
		}
		raw, err := timeRead(ctx, want, func(ctx context.Context) (int, error) { return readAllRaw(ctx, env) })
		if err != nil {
			return fmt.Errorf("raw keyset read: %w", err)
		}
		fmt.Fprintf(os.Stderr, "read all: ReadAll %.0f events/s, raw keyset %.0f events/s\n", ours, raw)
		best.ours, best.raw = max(best.ours, ours), max(best.raw, raw)
	}
	rep.add(row{section: sectionRead, measurement: fmt.Sprintf("ReadAll, batches of %d (raw: keyset on seq)", readBatch),
		writers: 1, value: best.ours, unit: "events/s", raw: best.raw, goal: atLeastRatio(0.6)})
	rep.rawRead = best.raw
	return nil
}

// timeRead runs read and returns events per second; it fails when read did not see every event.
func timeRead(ctx context.Context, want int, read func(context.Context) (int, error)) (float64, error) {
	start := time.Now()
	n, err := read(ctx)
	if err != nil {
		return 0, err
	}
	elapsed := time.Since(start)
	if n != want {
		return 0, fmt.Errorf("read %d events, want %d", n, want)
	}
	return float64(n) / elapsed.Seconds(), nil
}

func readAllThroughStore(ctx context.Context, env *benchEnv) (int, error) {
	var after eventstore.Position
	total := 0
	for {
		events, err := env.store.ReadAll(ctx, after, readBatch)
		if err != nil {
			return total, err
		}
		total += len(events)
		if len(events) < readBatch {
			return total, nil
		}
		after = events[len(events)-1].Position
	}
}

const rawReadSQL = `SELECT tx_id, seq, event_id, stream_id, stream_version, event_type, schema_version, data, metadata, recorded_at
FROM public.raw_events WHERE seq > $1 ORDER BY seq LIMIT $2`

// rawEvent holds a raw_events row in the Go types the store scans into.
type rawEvent struct {
	txID, seq, version int64
	id                 pgtype.UUID
	stream, eventType  string
	schemaVersion      int32
	data, metadata     []byte
	recordedAt         time.Time
}

func readAllRaw(ctx context.Context, env *benchEnv) (int, error) {
	var after int64
	total := 0
	for {
		rows, err := env.pool.Query(ctx, rawReadSQL, after, readBatch)
		if err != nil {
			return total, err
		}
		events, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (rawEvent, error) {
			var e rawEvent
			err := row.Scan(&e.txID, &e.seq, &e.id, &e.stream, &e.version, &e.eventType, &e.schemaVersion, &e.data, &e.metadata, &e.recordedAt)
			return e, err
		})
		if err != nil {
			return total, err
		}
		total += len(events)
		if len(events) < readBatch {
			return total, nil
		}
		after = events[len(events)-1].seq
	}
}
