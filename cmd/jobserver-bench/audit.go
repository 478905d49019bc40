package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/mediciasafely/jobserver/projections/audit"
)

// The audit measurements (projections/audit): sealing the seeded log, verifying it against the raw keyset
// read of the same run, 16 writers appending with the sealer running against the same writers without it,
// how long an event waits to be sealed at a steady 1,000 events/s, and the audit pages over the log
// (audit_pages.go).

// sealedSQL finds which of the events ($1) the chain holds, through the indexes on both tables' keys (the
// chain has no index on event_id: the sealer does not pay for one).
const sealedSQL = `SELECT e.event_id FROM public.events e
JOIN public.audit_chain c ON c.tx_id = e.tx_id AND c.seq = e.seq WHERE e.event_id = ANY($1)`

// sealerWriters is the writer count of the appends with and without the sealer.
const sealerWriters = 16

func newBenchSealer(env *benchEnv) *audit.Sealer {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	return audit.NewSealer(env.pool, env.store.Notifier(), key, env.logger, audit.SealerOptions{})
}

// measureAudit seals the events seeded before, verifies them, measures the sealer's cost to appends and
// its lag, then the audit pages. It needs rep.rawRead from measureReads.
func measureAudit(ctx context.Context, env *benchEnv, cfg config, rep *report) error {
	sealer := newBenchSealer(env)
	start := time.Now()
	head, err := sealer.Seal(ctx)
	if err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	sealRate := float64(head.Position) / time.Since(start).Seconds()
	fmt.Fprintf(os.Stderr, "audit: sealed %d events at %.0f events/s\n", head.Position, sealRate)
	rep.add(row{section: sectionAudit, measurement: "audit sealer catching up with the seeded log", writers: 1,
		value: sealRate, unit: "events/s", raw: rep.rawRead})

	verifyRate, err := timeVerify(ctx, env, head)
	if err != nil {
		return err
	}
	rep.add(row{section: sectionAudit, measurement: "audit verify of the database (chain recomputed, every checkpoint checked)",
		writers: 1, value: verifyRate, unit: "events/s", raw: rep.rawRead, goal: atLeastRatio(0.5)})

	if err := measureAppendsWhileSealing(ctx, env, cfg, sealer, rep); err != nil {
		return err
	}
	if err := measureSealLag(ctx, env, cfg, sealer, rep); err != nil {
		return err
	}
	return measureAuditPages(ctx, env, rep)
}

// timeVerify verifies the whole sealed log, the best of readPasses runs, and fails unless it is untouched.
func timeVerify(ctx context.Context, env *benchEnv, head audit.Checkpoint) (float64, error) {
	var best float64
	for range readPasses {
		src, err := audit.OpenLog(ctx, env.pool, audit.Filter{})
		if err != nil {
			return 0, err
		}
		begin := time.Now()
		report, err := audit.Verify(src, []ed25519.PublicKey{head.PublicKey}, nil)
		elapsed := time.Since(begin)
		src.Close()
		if err != nil {
			return 0, fmt.Errorf("verify: %w", err)
		}
		if report.Problem != nil || report.Events != head.Position || report.Signed != head.Position {
			return 0, fmt.Errorf("verify of an untouched log: %+v, want %d events signed", report, head.Position)
		}
		rate := float64(report.Events) / elapsed.Seconds()
		fmt.Fprintf(os.Stderr, "audit verify: %.0f events/s\n", rate)
		best = max(best, rate)
	}
	return best, nil
}

// measureAppendsWhileSealing alternates slices of 16 writers appending with the sealer running (caught up
// before the slice starts) and without it.
func measureAppendsWhileSealing(ctx context.Context, env *benchEnv, cfg config, sealer *audit.Sealer, rep *report) error {
	if err := env.warmPool(ctx, sealerWriters+4); err != nil {
		return err
	}
	env.settle(ctx)
	without, with := &contender{}, &contender{}
	for range sealerWriters {
		without.ops = append(without.ops, appender(env))
		with.ops = append(with.ops, appender(env))
	}
	slice := cfg.duration / writeRounds
	for round := range writeRounds {
		order := []*contender{without, with}
		if round%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, c := range order {
			if c == without {
				if err := c.total.run(ctx, c.ops, slice); err != nil {
					return err
				}
				continue
			}
			if _, err := sealer.Seal(ctx); err != nil {
				return fmt.Errorf("seal before a slice: %w", err)
			}
			running := startFollowing(ctx, sealer.Run)
			err := c.total.run(ctx, c.ops, slice)
			stopErr := running.stopped()
			running.stop()
			if err != nil {
				return err
			}
			if stopErr != nil {
				return fmt.Errorf("the sealer: %w", stopErr)
			}
		}
	}
	fmt.Fprintf(os.Stderr, "%d writers: %.0f appends/s with the sealer, %.0f without\n", sealerWriters, with.total.perSecond(), without.total.perSecond())
	rep.add(row{section: sectionAudit, measurement: "Store.Append with the audit sealer running (raw: the same appends without it)",
		writers: sealerWriters, value: with.total.perSecond(), unit: "appends/s", raw: without.total.perSecond(), goal: atLeastRatio(0.9)})
	return nil
}

// measureSealLag appends cfg.lagRate events per second with the sealer running and measures how long each
// waits until the chain holds it.
func measureSealLag(ctx context.Context, env *benchEnv, cfg config, sealer *audit.Sealer, rep *report) error {
	if _, err := sealer.Seal(ctx); err != nil {
		return err
	}
	running := startFollowing(ctx, sealer.Run)
	defer running.stop()
	probe := newLagProbe()
	pollCtx, stopPolling := context.WithCancel(ctx)
	polled := make(chan struct{})
	go func() { defer close(polled); pollSeen(pollCtx, env, probe, sealedSQL) }()
	defer func() { stopPolling(); <-polled }()

	env.settle(ctx)
	start := time.Now()
	appended, err := appendSteadily(ctx, env, cfg, probe)
	if err != nil {
		return fmt.Errorf("seal lag appends: %w", err)
	}
	rate := float64(appended) / time.Since(start).Seconds()
	if err := probe.waitDrained(ctx, 30*time.Second, running); err != nil {
		return fmt.Errorf("seal lag: %w", err)
	}
	latencies := probe.results()
	slices.Sort(latencies)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	fmt.Fprintf(os.Stderr, "seal lag: %d events at %.0f/s, p99 %s\n", appended, rate, percentile(latencies, 0.99))
	rep.add(row{section: sectionAudit, measurement: "seal lag p50 (Append → in the chain)", writers: cfg.lagAppenders, value: ms(percentile(latencies, 0.5)), unit: "ms"})
	rep.add(row{section: sectionAudit, measurement: "seal lag p99 (Append → in the chain)", writers: cfg.lagAppenders,
		value: ms(percentile(latencies, 0.99)), unit: "ms", goal: below(1000, "ms")})
	rep.note(fmt.Sprintf("seal lag load: %d events by %d appenders at %.0f events/s for %s; lag measured as the projection lag is, "+
		"polling audit_chain", appended, cfg.lagAppenders, rate, cfg.lagDuration))
	return nil
}
