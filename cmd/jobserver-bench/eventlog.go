package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	eventlogpages "github.com/mediciasafely/jobserver/http/web/eventlog"
	"github.com/mediciasafely/jobserver/projections"
	eventlogviews "github.com/mediciasafely/jobserver/projections/eventlog"
	identityproj "github.com/mediciasafely/jobserver/projections/identity"
	"github.com/mediciasafely/jobserver/projections/workspaces"
)

// The event log measurements (issue 10, Performance): with the generated history in the read models
// (eventlog_seed.go), the real server (`jobserver serve`, a process of its own) answers /event-log to
// eventLogClients logged-in browsers at once, for each filter and for deep pages, with its memory and the
// plan of the slowest query.
const (
	eventLogClients = 50
	// deepPages is how far the deep-page rows reach by following Older from the first page.
	deepPages = 1000
)

// eventLogSizes are the sizes of one run.
type eventLogSizes struct {
	requests int
	samples  int // requests per filter
	deep     int // pages walked for the deep-page rows
	live     time.Duration
}

func eventLogSizesFor(cfg config) eventLogSizes {
	if cfg.quickEventLog {
		return eventLogSizes{requests: cfg.eventLogRequests, samples: 200, deep: 100, live: 10 * time.Second}
	}
	return eventLogSizes{requests: cfg.eventLogRequests, samples: 600, deep: deepPages, live: 30 * time.Second}
}

// pageFilter is one filter of the event log as a browser sets it: a draw of its values.
type pageFilter struct {
	name string
	draw func(rng *rand.Rand) logQuery
}

// logQuery is what a browser asks /event-log for: filters, and the row the page starts after.
type logQuery struct {
	filter eventlogviews.Filter
	after  string
}

// values is the query as the page's form and its Older link write it.
func (q logQuery) values() url.Values {
	v := url.Values{}
	for key, value := range map[string]string{"q": q.filter.Text, "request": q.filter.Request, "backend": q.filter.Backend,
		"status": q.filter.Status, "user": q.filter.User, "workspace": q.filter.Workspace, "after": q.after} {
		if value != "" {
			v.Set(key, value)
		}
	}
	return v
}

func measureEventLog(ctx context.Context, cfg config, rep *report) (err error) {
	sizes := eventLogSizesFor(cfg)
	db, err := createBenchDatabase(ctx, cfg.adminURL)
	if err != nil {
		return err
	}
	defer func() { err = joinErr(err, db.drop()) }()
	env, err := openBenchEnv(ctx, db, seedWriters+4)
	if err != nil {
		return err
	}
	defer env.close()

	start := time.Now()
	world, err := seedEventLog(ctx, env, sizes.requests)
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	seeded := time.Since(start)
	events := world.events.Load()
	fmt.Fprintf(os.Stderr, "generated %d job requests and %d jobs (%d events) in %s\n", len(world.requests), world.jobs.Load(), events, seeded.Round(time.Second))
	rep.add(row{section: sectionEventLog, measurement: fmt.Sprintf("generate %s job requests, %s jobs as events (%d writers, %d requests an append)",
		thousands(int64(len(world.requests))), thousands(world.jobs.Load()), seedWriters, requestsPerAppend), writers: seedWriters,
		value: float64(events) / seeded.Seconds(), unit: "events/s"})

	if err := rebuildEventLogReadModels(ctx, env, world, rep); err != nil {
		return err
	}
	server, err := startServer(ctx, db.url, env.secretKey)
	if err != nil {
		return err
	}
	defer server.stop()
	clients := make([]*http.Client, eventLogClients)
	for i := range clients {
		if clients[i], err = server.login(ctx, world.users[i%len(world.users)].id); err != nil {
			return err
		}
	}
	load := &eventLogLoad{server: server, clients: clients, world: world, sizes: sizes, profile: cfg.serverCPUProfile}
	if err := load.measure(ctx, env, rep); err != nil {
		return err
	}
	// The live rows come last and on their own: when they cannot run, the rows above still print.
	if err := load.measureLive(ctx, env, rep); err != nil {
		if ctx.Err() != nil {
			return err
		}
		rep.add(row{section: sectionEventLog, measurement: "live updates: the measurement could not run (see the note)", writers: livePages,
			value: 1, unit: "errors", goal: exactlyZero()})
		rep.note("live updates: " + err.Error())
	}
	return nil
}

// rebuildEventLogReadModels builds every read model the server keeps from the generated log, as a server
// does when it starts on a log its read models have not seen (Runner.Prepare, the rebuild path), checks the
// event log's tables hold every request and job, seals the log, and analyses the tables as autovacuum would
// soon after.
func rebuildEventLogReadModels(ctx context.Context, env *benchEnv, world *eventLogWorld, rep *report) error {
	env.settle(ctx)
	registry, err := env.events()
	if err != nil {
		return err
	}
	runner := projections.NewRunner(env.pool, env.store, registry, env.logger,
		append(append(identityproj.Projectors(), workspaces.Projectors()...), eventlogviews.Projectors()...)...)
	fmt.Fprintf(os.Stderr, "rebuilding the read models from the generated log\n")
	start := time.Now()
	if err := runner.Prepare(ctx); err != nil {
		return fmt.Errorf("rebuild the read models: %w", err)
	}
	elapsed := time.Since(start)
	var events, requests, jobs int64
	err = env.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM public.events), (SELECT count(*) FROM eventlog_requests),
		(SELECT count(*) FROM eventlog_jobs)`).Scan(&events, &requests, &jobs)
	if err != nil {
		return err
	}
	if requests != int64(len(world.requests)) || jobs != world.jobs.Load() {
		return fmt.Errorf("the rebuilt event log holds %d requests and %d jobs, want %d and %d", requests, jobs, len(world.requests), world.jobs.Load())
	}
	fmt.Fprintf(os.Stderr, "rebuilt in %s (%.0f events/s)\n", elapsed.Round(time.Second), float64(events)/elapsed.Seconds())
	rep.add(row{section: sectionEventLog, measurement: fmt.Sprintf("rebuild of every read model (Runner.Prepare) from the %s events", thousands(events)),
		writers: 1, value: float64(events) / elapsed.Seconds(), unit: "events/s"})
	// A running server keeps the log sealed as it grows; left unsealed, the server's sealer would chain the
	// million events while the pages are measured.
	start = time.Now()
	if _, err := newBenchSealer(env).Seal(ctx); err != nil {
		return fmt.Errorf("seal the generated log: %w", err)
	}
	fmt.Fprintf(os.Stderr, "sealed the log in %s\n", time.Since(start).Round(time.Second))
	_, err = env.pool.Exec(ctx, `VACUUM (ANALYZE)`)
	return err
}

// eventLogLoad is the server, its logged-in browsers and the world they browse.
type eventLogLoad struct {
	server  *serverProcess
	clients []*http.Client
	world   *eventLogWorld
	sizes   eventLogSizes
	// liveNames are the workspace and requester of each job request the live updates change.
	liveNames map[string]liveNames
	// profile, when set, is where the server's CPU profile of the filtered pages goes.
	profile string
}

func (l *eventLogLoad) filters(deep, deepTPP []string) []pageFilter {
	w := l.world
	pick := func(rng *rand.Rand, xs []string) string { return xs[rng.IntN(len(xs))] }
	backend := func(rng *rand.Rand) string { return w.backends[rng.IntN(len(w.backends))].slug }
	user := func(rng *rand.Rand) string { return w.users[rng.IntN(len(w.users))].login }
	workspace := func(rng *rand.Rand) string { return w.workspaces[rng.IntN(len(w.workspaces))].name }
	status := func(rng *rand.Rand) string { return pick(rng, eventlogviews.Statuses) }
	depth := fmt.Sprintf("pages %d–%d", l.sizes.deep*9/10, l.sizes.deep)
	type f = eventlogviews.Filter
	return []pageFilter{
		{"no filter (first page)", func(*rand.Rand) logQuery { return logQuery{} }},
		{"text: an action", func(rng *rand.Rand) logQuery { return logQuery{filter: f{Text: pick(rng, w.actions)}} }},
		{"text: a job identifier", func(rng *rand.Rand) logQuery { return logQuery{filter: f{Text: pick(rng, w.jobIDs)}} }},
		{"job request id", func(rng *rand.Rand) logQuery { return logQuery{filter: f{Request: pick(rng, w.requests)}} }},
		{"backend", func(rng *rand.Rand) logQuery { return logQuery{filter: f{Backend: backend(rng)}} }},
		{"status", func(rng *rand.Rand) logQuery { return logQuery{filter: f{Status: status(rng)}} }},
		{"user", func(rng *rand.Rand) logQuery { return logQuery{filter: f{User: user(rng)}} }},
		{"workspace", func(rng *rand.Rand) logQuery { return logQuery{filter: f{Workspace: workspace(rng)}} }},
		{"combined: backend + status + user", func(rng *rand.Rand) logQuery {
			return logQuery{filter: f{Backend: backend(rng), Status: status(rng), User: user(rng)}}
		}},
		{"combined: workspace + status + action", func(rng *rand.Rand) logQuery {
			return logQuery{filter: f{Workspace: workspace(rng), Status: status(rng), Text: pick(rng, w.actions)}}
		}},
		{"deep page: no filter, " + depth, func(rng *rand.Rand) logQuery { return logQuery{after: pick(rng, deep)} }},
		{"deep page: backend tpp, " + depth, func(rng *rand.Rand) logQuery {
			return logQuery{filter: f{Backend: "tpp"}, after: pick(rng, deepTPP)}
		}},
	}
}

func (l *eventLogLoad) measure(ctx context.Context, env *benchEnv, rep *report) error {
	deep, walk, err := l.walk(ctx, url.Values{})
	if err != nil {
		return err
	}
	deepTPP, _, err := l.walk(ctx, url.Values{"backend": {"tpp"}})
	if err != nil {
		return err
	}
	slices.Sort(walk)
	rep.add(row{section: sectionEventLog, measurement: fmt.Sprintf("GET /event-log, following Older %s pages deep, 1 client: p99 (p50 %.1f ms)",
		thousands(int64(l.sizes.deep)), ms(percentile(walk, 0.5))), writers: 1, value: ms(percentile(walk, 0.99)), unit: "ms", goal: below(50, "ms")})

	filters := l.filters(deep, deepTPP)
	// One unmeasured round of every filter first, so no filter pays for the first reads of the tables.
	for _, f := range filters {
		if _, err := l.run(ctx, f, 2*eventLogClients, 0); err != nil {
			return err
		}
	}
	profiled := make(chan error, 1)
	if l.profile != "" {
		go func() { profiled <- l.server.profileCPU(ctx, l.profile) }()
	} else {
		profiled <- nil
	}
	cpuBefore, errCPU := l.server.cpu()
	start := time.Now()
	var slowest filterResult
	for _, f := range filters {
		r, err := l.run(ctx, f, l.sizes.samples, eventLogThink)
		if err != nil {
			return err
		}
		p50, p99 := ms(percentile(r.latency, 0.5)), ms(percentile(r.latency, 0.99))
		fmt.Fprintf(os.Stderr, "event log, %s: p50 %.1f ms, p99 %.1f ms, max %.1f ms, %d empty of %d, %d failures\n",
			f.name, p50, p99, ms(r.slowest), r.empty, len(r.latency), len(r.failures))
		for _, e := range r.failures[:min(len(r.failures), 3)] {
			fmt.Fprintln(os.Stderr, "  failure:", e)
		}
		rep.add(row{section: sectionEventLog, measurement: fmt.Sprintf("GET /event-log, %s, %d clients: p99 (p50 %.1f ms)", f.name, eventLogClients, p50),
			writers: eventLogClients, value: p99, unit: "ms", goal: below(50, "ms")})
		if len(r.failures) > 0 {
			rep.add(row{section: sectionEventLog, measurement: "GET /event-log, " + f.name + ": failed pages", writers: eventLogClients,
				value: float64(len(r.failures)), unit: "pages", goal: exactlyZero()})
		}
		if percentile(r.latency, 0.99) > percentile(slowest.latency, 0.99) {
			slowest = r
		}
	}
	elapsed := time.Since(start)
	cpuAfter, errCPU2 := l.server.cpu()
	if err := errors.Join(errCPU, errCPU2, <-profiled); err != nil {
		return err
	}
	rep.add(row{section: sectionEventLog, measurement: fmt.Sprintf("server CPU during the filtered pages (%d clients)", eventLogClients),
		writers: eventLogClients, value: 100 * (cpuAfter - cpuBefore).Seconds() / elapsed.Seconds(), unit: "% of a core"})

	saturated, err := l.run(ctx, filters[0], l.sizes.samples, 0)
	if err != nil {
		return err
	}
	rate := float64(len(saturated.latency)) / saturated.took.Seconds()
	rep.add(row{section: sectionEventLog, measurement: fmt.Sprintf("GET /event-log, no filter, %d clients without pause: p99 (p50 %.1f ms, %.0f pages/s)",
		eventLogClients, ms(percentile(saturated.latency, 0.5)), rate), writers: eventLogClients, value: ms(percentile(saturated.latency, 0.99)), unit: "ms"})

	if err := l.reportMemory(rep, "after the filtered pages"); err != nil {
		return err
	}
	return l.explainSlowest(ctx, env, slowest, rep)
}

// reportMemory adds the server's resident set now and its peak so far, against the 150 MB target.
func (l *eventLogLoad) reportMemory(rep *report, when string) error {
	rss, peak, err := l.server.memory()
	if err != nil {
		return err
	}
	rep.add(row{section: sectionEventLog, measurement: fmt.Sprintf("server RSS peak (VmHWM of the jobserver process) %s; RSS then %.0f MB", when, rss),
		writers: eventLogClients, value: peak, unit: "MB", goal: below(150, "MB")})
	return nil
}

// explainSlowest prints the plans of the statements behind the slowest page of the slowest filter, run
// again with EXPLAIN (ANALYZE, BUFFERS), the slowest statement's in full.
func (l *eventLogLoad) explainSlowest(ctx context.Context, env *benchEnv, r filterResult, rep *report) error {
	var after *eventlogviews.Cursor
	if r.query.after != "" {
		c, err := eventlogviews.ParseCursor(r.query.after)
		if err != nil {
			return err
		}
		after = &c
	}
	plans, err := eventlogviews.NewQueries(env.pool).ExplainLog(ctx, r.query.filter, after, nil, eventlogpages.PageSize)
	if err != nil {
		return fmt.Errorf("explain: %w", err)
	}
	slowestAt, slowestTime := 0, -1.0
	var times []string
	for i, p := range plans {
		t := executionTime(p)
		times = append(times, fmt.Sprintf("%.2f ms", t))
		if t > slowestTime {
			slowestAt, slowestTime = i, t
		}
	}
	fmt.Fprintf(os.Stderr, "\nthe slowest filter was %q (p99 %.1f ms); its slowest page was /event-log?%s (%.1f ms).\n"+
		"Its statements, run again: %s. The slowest:\n%s\n\n", r.name, ms(percentile(r.latency, 0.99)), r.query.values().Encode(),
		ms(r.slowest), strings.Join(times, ", "), plans[slowestAt])
	if slowestAt != 0 {
		fmt.Fprintf(os.Stderr, "The page's requests:\n%s\n\n", plans[0])
	}
	rep.note(fmt.Sprintf("event log: the slowest filter was %q; EXPLAIN (ANALYZE, BUFFERS) of its slowest page's statements (requests, then the "+
		"menus of the backends, users and workspaces in one statement): %s; the slowest's plan is printed on stderr", r.name, strings.Join(times, ", ")))
	return nil
}

var executionTimeLine = regexp.MustCompile(`Execution Time: ([0-9.]+) ms`)

// executionTime is the execution time an EXPLAIN ANALYZE reports, in milliseconds.
func executionTime(plan string) float64 {
	m := executionTimeLine.FindStringSubmatch(plan)
	if m == nil {
		return 0
	}
	t, _ := strconv.ParseFloat(m[1], 64)
	return t
}

var olderLink = regexp.MustCompile(`<a href="([^"]+)" rel="next">Older</a>`)

// walk follows Older from the first page of the log with filter q, sizes.deep pages, one page at a time as
// one reader would, and returns the cursors of the last tenth of the pages and the time of every page.
func (l *eventLogLoad) walk(ctx context.Context, q url.Values) (cursors []string, took []time.Duration, err error) {
	address := l.server.url + "/event-log?" + q.Encode()
	for page := 1; page <= l.sizes.deep; page++ {
		body, d, err := get(ctx, l.clients[0], address)
		if err != nil {
			return nil, nil, err
		}
		took = append(took, d)
		m := olderLink.FindSubmatch(body)
		if m == nil {
			return nil, nil, fmt.Errorf("page %d of %s has no Older link: -eventlog-requests is too small for %d pages", page, address, l.sizes.deep)
		}
		address = l.server.url + html.UnescapeString(string(m[1]))
		if page >= l.sizes.deep*9/10 {
			u, err := url.Parse(address)
			if err != nil {
				return nil, nil, err
			}
			cursors = append(cursors, u.Query().Get("after"))
		}
	}
	return cursors, took, nil
}

// eventLogThink is the longest pause of a browser between two pages: each pauses a random time up to it
// after every page, so 50 browsers ask for about 100 pages a second between them.
const eventLogThink = time.Second

// filterResult is what a filter's run measured.
type filterResult struct {
	name     string
	latency  []time.Duration // sorted
	took     time.Duration
	empty    int      // pages that matched nothing
	query    logQuery // the slowest page's
	slowest  time.Duration
	failures []error
}

// run sends samples page loads of filter f from every client, each with a fresh draw of the filter's
// values; each client pauses up to think (a uniform draw) before each page, its first included, so that the
// clients arrive as independent browsers do rather than all in the same millisecond (which queues 50 pages
// behind the server's four database connections and puts that one burst in the p99), or asks at once and
// again when think is 0 (a closed loop: the most load 50 browsers can make).
func (l *eventLogLoad) run(ctx context.Context, f pageFilter, samples int, think time.Duration) (filterResult, error) {
	r := filterResult{name: f.name}
	var mu sync.Mutex
	var claimed atomic.Int64
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	for i, c := range l.clients {
		rng := rand.New(rand.NewPCG(uint64(i), uint64(len(f.name))))
		g.Go(func() error {
			for claimed.Add(1) <= int64(samples) {
				if think > 0 {
					select {
					case <-gctx.Done():
						return gctx.Err()
					case <-time.After(time.Duration(rng.Int64N(int64(think)))):
					}
				}
				q := f.draw(rng)
				body, d, err := get(gctx, c, l.server.url+"/event-log?"+q.values().Encode())
				if gctx.Err() != nil {
					return gctx.Err()
				}
				mu.Lock()
				switch {
				case err != nil:
					r.failures = append(r.failures, err)
				default:
					r.latency = append(r.latency, d)
					if !bytes.Contains(body, []byte(`<tbody>`)) {
						r.empty++
					}
					if d > r.slowest {
						r.slowest, r.query = d, q
					}
				}
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return r, err
	}
	r.took = time.Since(start)
	if len(r.latency) == 0 {
		return r, errors.Join(append([]error{fmt.Errorf("every page of %s failed", f.name)}, r.failures...)...)
	}
	slices.Sort(r.latency)
	return r, nil
}
