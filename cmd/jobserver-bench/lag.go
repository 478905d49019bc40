package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"golang.org/x/sync/errgroup"

	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/projections"
)

// pollInterval is the pause between two reads of the read model by the lag poller; with the read itself it
// bounds how much the poller can add to a measured lag.
const pollInterval = time.Millisecond

// lagMethod says in the report what the lag numbers are.
const lagMethod = "lag = from Append returning to the projector's row being seen by a separate reader that polls the " +
	"read model every ~1 ms (the time the poll returned: an upper bound, at most one poll late)"

// measureLag runs the live projections while appenders add cfg.lagRate events per second for
// cfg.lagDuration, and reports how long each event took to become visible in the read model.
func measureLag(ctx context.Context, env *benchEnv, cfg config, rep *report) error {
	runner := newRunner(env, eventIndex{})
	if err := runner.Prepare(ctx); err != nil { // catches up with the events of the write measurements
		return fmt.Errorf("prepare live runner: %w", err)
	}
	live := startLive(ctx, runner)
	defer live.stop()

	probe := newLagProbe()
	pollCtx, stopPolling := context.WithCancel(ctx)
	polled := make(chan struct{})
	go func() { defer close(polled); pollReadModel(pollCtx, env, probe) }()
	defer func() { stopPolling(); <-polled }()

	if err := warmUpLivePath(ctx, env, probe, live); err != nil {
		return err
	}
	env.settle(ctx)
	others := watchOtherTransactions(ctx, env.pool)
	start := time.Now()
	appended, err := appendSteadily(ctx, env, cfg, probe)
	if err != nil {
		others.finish()
		return fmt.Errorf("lag appends: %w", err)
	}
	rate := float64(appended) / time.Since(start).Seconds()
	err = probe.waitDrained(ctx, 30*time.Second, live)
	oldestOther := others.finish()
	if err != nil {
		return err
	}
	latencies := probe.results()
	fmt.Fprintf(os.Stderr, "lag: %d events appended at %.0f/s, %d seen in the read model\n", appended, rate, len(latencies))
	addLagRows(rep, cfg, latencies)
	rep.note(lagMethod)
	rep.note(fmt.Sprintf("lag load: %d events by %d appenders at %.0f events/s (asked for %d/s) for %s",
		appended, cfg.lagAppenders, rate, cfg.lagRate, cfg.lagDuration))
	rep.note(fmt.Sprintf("oldest transaction of another database on the server during the lag measurement: %s "+
		"(visibility is cluster-wide: such a transaction delays every event of ours until it ends)", oldestOther.Round(time.Millisecond)))
	return nil
}

func addLagRows(rep *report, cfg config, latencies []time.Duration) {
	slices.Sort(latencies)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	const name = "projection lag %s (Append → row visible)"
	rep.add(row{section: sectionLag, measurement: fmt.Sprintf(name, "p50"), writers: cfg.lagAppenders, value: ms(percentile(latencies, 0.50)), unit: "ms"})
	rep.add(row{section: sectionLag, measurement: fmt.Sprintf(name, "p99"), writers: cfg.lagAppenders, value: ms(percentile(latencies, 0.99)), unit: "ms", goal: below(50, "ms")})
	rep.add(row{section: sectionLag, measurement: fmt.Sprintf(name, "max"), writers: cfg.lagAppenders, value: ms(percentile(latencies, 1)), unit: "ms"})
}

// percentile returns the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(p*float64(len(sorted)-1)+0.5)]
}

// liveRunner is projections.Runner.Run in a goroutine.
type liveRunner struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func startLive(ctx context.Context, runner *projections.Runner) *liveRunner {
	return startFollowing(ctx, runner.Run)
}

// startFollowing runs a follower of the log (the projections' runner, the audit sealer) in a goroutine.
func startFollowing(ctx context.Context, run func(context.Context) error) *liveRunner {
	runCtx, cancel := context.WithCancel(ctx)
	l := &liveRunner{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		l.err = run(runCtx)
	}()
	return l
}

// stopped reports a live runner that ended by itself, which would make every lag infinite.
func (l *liveRunner) stopped() error {
	select {
	case <-l.done:
		return fmt.Errorf("the live runner stopped: %v", l.err)
	default:
		return nil
	}
}

func (l *liveRunner) stop() {
	l.cancel()
	select {
	case <-l.done:
	case <-time.After(15 * time.Second):
		fmt.Fprintln(os.Stderr, "the live runner did not stop within 15s")
	}
}

// warmUpLivePath appends a few events and waits until they are projected, so the measurement starts with
// the router subscribed and every statement prepared; their lags are not counted.
func warmUpLivePath(ctx context.Context, env *benchEnv, probe *lagProbe, live *liveRunner) error {
	streams := newStreamSet(1)
	for range 20 {
		if err := appendTracked(ctx, env, streams, probe); err != nil {
			return fmt.Errorf("warm-up append: %w", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := probe.waitDrained(ctx, 30*time.Second, live); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	probe.results()
	return nil
}

// appendSteadily appends cfg.lagRate events per second for cfg.lagDuration from cfg.lagAppenders
// goroutines, each on its own streams, and returns how many it appended.
func appendSteadily(ctx context.Context, env *benchEnv, cfg config, probe *lagProbe) (int, error) {
	jobs := make(chan struct{}, cfg.lagRate)
	g, gctx := errgroup.WithContext(ctx)
	var appended atomic.Int64
	g.Go(func() error {
		defer close(jobs)
		paceJobs(gctx, cfg.lagRate, cfg.lagDuration, jobs)
		return nil
	})
	for range cfg.lagAppenders {
		g.Go(func() error {
			streams := newStreamSet(streamsPerWriter)
			for range jobs {
				if err := appendTracked(gctx, env, streams, probe); err != nil {
					return err
				}
				appended.Add(1)
			}
			return nil
		})
	}
	err := g.Wait()
	return int(appended.Load()), err
}

// paceJobs hands out rate jobs per second for d. It counts what is due from the start rather than one job
// per tick, so a late tick does not lower the rate.
func paceJobs(ctx context.Context, rate int, d time.Duration, jobs chan<- struct{}) {
	ticker := time.NewTicker(time.Millisecond)
	defer ticker.Stop()
	start := time.Now()
	sent := 0
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-ticker.C:
			elapsed := now.Sub(start)
			if elapsed >= d {
				return
			}
			for due := int(elapsed.Seconds() * float64(rate)); sent < due; sent++ {
				select {
				case jobs <- struct{}{}:
				case <-ctx.Done():
					return
				}
			}
		}
	}
}

// appendTracked appends one event with an exact expected version and starts its clock when Append returns.
func appendTracked(ctx context.Context, env *benchEnv, streams *streamSet, probe *lagProbe) error {
	i, stream, version := streams.pick()
	e := newEvent(stream, int(version)+1)
	_, err := env.store.Append(ctx, []eventstore.Append{{Stream: stream, Expected: eventstore.Exactly(version), Events: []eventstore.NewEvent{e}}})
	if err != nil {
		return err
	}
	probe.appended(e.ID, time.Now())
	streams.appended(i)
	return nil
}

// lagProbe holds the events appended but not yet seen in the read model, and the lags of those seen.
type lagProbe struct {
	mu        sync.Mutex
	pending   map[[16]byte]time.Time // event id → when its Append returned
	latencies []time.Duration
	pollErr   error // why the poller stopped, if it did
}

func newLagProbe() *lagProbe { return &lagProbe{pending: map[[16]byte]time.Time{}} }

func (p *lagProbe) appended(id [16]byte, at time.Time) {
	p.mu.Lock()
	p.pending[id] = at
	p.mu.Unlock()
}

func (p *lagProbe) pendingIDs() [][16]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := make([][16]byte, 0, len(p.pending))
	for id := range p.pending {
		ids = append(ids, id)
	}
	return ids
}

func (p *lagProbe) seen(ids [][16]byte, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range ids {
		if appended, ok := p.pending[id]; ok {
			p.latencies = append(p.latencies, at.Sub(appended))
			delete(p.pending, id)
		}
	}
}

func (p *lagProbe) pollFailed(err error) {
	p.mu.Lock()
	p.pollErr = err
	p.mu.Unlock()
}

func (p *lagProbe) pollFailure() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pollErr
}

func (p *lagProbe) outstanding() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pending)
}

// results returns the lags measured so far and starts a new series.
func (p *lagProbe) results() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.latencies
	p.latencies = nil
	return l
}

// waitDrained waits until every appended event has been seen in the read model.
func (p *lagProbe) waitDrained(ctx context.Context, limit time.Duration, live *liveRunner) error {
	deadline := time.Now().Add(limit)
	for p.outstanding() > 0 {
		if err := live.stopped(); err != nil {
			return err
		}
		if err := p.pollFailure(); err != nil {
			return fmt.Errorf("polling the read model: %w", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d appended events were not projected within %s", p.outstanding(), limit)
		}
		if err := sleep(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

const seenSQL = `SELECT event_id FROM ` + projections.LiveSchema + `.` + eventIndexTable + ` WHERE event_id = ANY($1)`

// pollReadModel reads, again and again, which pending events have their row in the read model, as a page
// would: from its own connection, outside the projector's transaction.
func pollReadModel(ctx context.Context, env *benchEnv, probe *lagProbe) {
	pollSeen(ctx, env, probe, seenSQL)
}

// pollSeen reads, again and again, which pending events the query ($1: their ids) returns.
func pollSeen(ctx context.Context, env *benchEnv, probe *lagProbe, query string) {
	for {
		if ids := probe.pendingIDs(); len(ids) > 0 {
			seen, err := readSeen(ctx, env, query, ids)
			if err != nil {
				if ctx.Err() == nil {
					probe.pollFailed(err)
				}
				return
			}
			probe.seen(seen, time.Now())
		}
		if sleep(ctx, pollInterval) != nil {
			return
		}
	}
}

func readSeen(ctx context.Context, env *benchEnv, query string, ids [][16]byte) ([][16]byte, error) {
	rows, err := env.pool.Query(ctx, query, ids)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) ([16]byte, error) {
		var id pgtype.UUID
		err := row.Scan(&id)
		return id.Bytes, err
	})
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
