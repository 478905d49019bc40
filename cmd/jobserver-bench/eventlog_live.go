package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"html"
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

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/http/runnerapi"
	"github.com/mediciasafely/jobserver/internal/runnerwire"
	eventlogviews "github.com/mediciasafely/jobserver/projections/eventlog"
)

// The live updates measurement: livePages event log pages open in browsers (each holding the page's stream
// of Server-Sent Events, and re-fetching its results and the one job request whose jobs it has expanded at
// every "changed", as static/live.js and htmx do), while the backends' runners post liveChangesPerSecond
// job changes a second through POST /api/v2/jobs/. Each change is a running job's new status message;
// a change is visible when a page's re-fetched jobs show that message or a later one, and its latency runs
// from the POST's answer (the append has committed by then) to that re-fetch's answer.
const (
	livePages            = 200
	liveRequests         = 20 // the job requests that change, the newest of the log
	liveJobsPerRequest   = 5
	liveChangesPerSecond = 100
	liveTick             = 100 * time.Millisecond
	// liveSettle is how long the pages have to show a report: the first (not measured), once they are
	// open, and the last, after the posts end. It is long so that a lost notice fails it and a loaded
	// machine or a large log does not; the time the pages took is reported.
	liveSettle = 2 * time.Minute
)

// liveJob is a job a runner reports, with the step its status message is at.
type liveJob struct {
	runnerwire.Job
	backend *seedBackend
	step    int
}

// liveChanges records when each step of each job was posted, and what the pages saw.
type liveChanges struct {
	mu      sync.Mutex
	posted  map[string][]time.Time // job id → answer time of the POST of each step (index step-1)
	latency []time.Duration
	// refetches is how long each page's fetch of its parts at a notice took: of the latency, what the
	// page's own fetch accounts for (a notice that comes while the page fetches waits for it too).
	refetches []time.Duration
	fetches   atomic.Int64
	notices   atomic.Int64
	failures  []error
}

func (c *liveChanges) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failures = append(c.failures, err)
}

// seen records that a page shows job at step, having shown it at step from before: the steps between are
// visible (or superseded) now.
func (c *liveChanges) seen(job string, from, to int, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for step := from + 1; step <= to; step++ {
		var d time.Duration
		if p := c.posted[job]; step-1 < len(p) && !p[step-1].IsZero() {
			d = max(at.Sub(p[step-1]), 0)
		}
		c.latency = append(c.latency, d)
	}
}

func (l *eventLogLoad) measureLive(ctx context.Context, env *benchEnv, rep *report) error {
	jobs, err := l.createLiveRequests(ctx, env)
	if err != nil {
		return fmt.Errorf("live requests: %w", err)
	}
	api := &runnerAPIWorld{url: l.server.url, client: &http.Client{Timeout: 30 * time.Second}}
	changes := &liveChanges{posted: map[string][]time.Time{}}
	if err := l.postLive(ctx, api, jobs, nil, changes); err != nil { // the runners' first report: every job running, step 0
		return err
	}
	if err := l.awaitShown(ctx, jobs[len(jobs)-1].JobRequestID); err != nil {
		return err
	}
	pages, err := l.openLivePages(ctx, jobs)
	if err != nil {
		return err
	}
	defer pages.close()
	fmt.Fprintf(os.Stderr, "live: %d of the %d pages opened before the read model had all %d jobs of their request (they show them at a notice)\n",
		pages.short(), livePages, liveJobsPerRequest)
	for _, p := range pages.pages {
		go p.follow(pages.ctx, changes)
	}
	if err := pages.wait(ctx, jobs, 0, liveSettle); err != nil {
		return fmt.Errorf("the pages do not show the first report: %w", err)
	}

	cpuBefore, err := l.server.cpu()
	if err != nil {
		return err
	}
	delaysBefore, err := l.server.projectionDelays(ctx, eventlogviews.EventLogProjector)
	if err != nil {
		return err
	}
	start := time.Now()
	posts, changed, err := l.reportLive(ctx, api, jobs, changes, l.sizes.live)
	if err != nil {
		return err
	}
	posting := time.Since(start)
	lastStep := 0
	for _, j := range jobs {
		lastStep = max(lastStep, j.step)
	}
	settling := time.Now()
	settleErr := pages.wait(ctx, jobs, -1, liveSettle)
	settled := time.Since(settling)
	cpuAfter, err := l.server.cpu()
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	pages.close()
	delaysAfter, err := l.server.projectionDelays(ctx, eventlogviews.EventLogProjector)
	if err != nil {
		return err
	}

	changes.mu.Lock()
	latency, refetches := slices.Clone(changes.latency), slices.Clone(changes.refetches)
	failures := slices.Clone(changes.failures)
	changes.mu.Unlock()
	slices.Sort(latency)
	slices.Sort(refetches)
	slices.Sort(posts)
	rate := float64(changed) / posting.Seconds()
	p50, p99 := ms(percentile(latency, 0.5)), ms(percentile(latency, 0.99))
	fetches := changes.fetches.Load()
	fmt.Fprintf(os.Stderr, "live: %d changes in %s (%.0f/s, last step %d), POST p50 %.1f p99 %.1f ms; %d page-changes seen, p50 %.1f p99 %.1f ms, max %.1f ms; "+
		"%d notices, %d fetches (%.0f/s), a page's re-fetch p50 %.1f p99 %.1f ms; server CPU %.0f%% of a core; %d failures; the last change shown in every page %s after the posts (%v)\n",
		changed, posting.Round(time.Millisecond), rate, lastStep, ms(percentile(posts, 0.5)), ms(percentile(posts, 0.99)), len(latency), p50, p99,
		ms(percentile(latency, 1)), changes.notices.Load(), fetches, float64(fetches)/elapsed.Seconds(),
		ms(percentile(refetches, 0.5)), ms(percentile(refetches, 0.99)), 100*(cpuAfter-cpuBefore).Seconds()/elapsed.Seconds(),
		len(failures), settled.Round(time.Millisecond), settleErr)
	for _, e := range failures[:min(len(failures), 3)] {
		fmt.Fprintln(os.Stderr, "  live failure:", e)
	}
	what := fmt.Sprintf("live updates, %d open event log pages, %.0f job changes/s posted", livePages, rate)
	rep.add(row{section: sectionEventLog, measurement: fmt.Sprintf("%s: POST's answer → change shown in a page, p99 (p50 %.0f ms, %d page-changes)", what, p50, len(latency)),
		writers: livePages, value: p99, unit: "ms", goal: below(1000, "ms")})
	missed := 0.0
	if settleErr != nil {
		missed = 1
	}
	rep.add(row{section: sectionEventLog, measurement: fmt.Sprintf("%s: pages not showing the last change %s after it (every page showed it after %s)", what, liveSettle, settled.Round(time.Millisecond)),
		writers: livePages, value: missed, unit: "runs", goal: exactlyZero()})
	rep.add(row{section: sectionEventLog, measurement: fmt.Sprintf("%s: of which the event log's projector, from an event's recording to its applying: p99 at most (p50 at most %.0f ms)",
		what, 1000*delayQuantile(delaysBefore, delaysAfter, 0.5)), writers: livePages, value: 1000 * delayQuantile(delaysBefore, delaysAfter, 0.99), unit: "ms"})
	rep.add(row{section: sectionEventLog, measurement: fmt.Sprintf("%s: server CPU (%.0f page fetches/s, a page's re-fetch p50 %.0f ms, POST p99 %.0f ms)", what,
		float64(fetches)/elapsed.Seconds(), ms(percentile(refetches, 0.5)), ms(percentile(posts, 0.99))),
		writers: livePages, value: 100 * (cpuAfter - cpuBefore).Seconds() / elapsed.Seconds(), unit: "% of a core"})
	if len(failures) > 0 {
		rep.add(row{section: sectionEventLog, measurement: what + ": failed fetches and streams", writers: livePages, value: float64(len(failures)), unit: "errors", goal: exactlyZero()})
	}
	rep.note(fmt.Sprintf("live updates: %d pages (a quarter each on the log's first page unfiltered, by backend, by workspace and by user, each showing one of "+
		"the %d newest job requests with its jobs expanded) each hold /event-log/live and fetch their results and their expanded jobs again at every "+
		"\"changed\"; the runners of the requests' three backends post at once, each in rounds at most every %s and each once its last POST is answered, "+
		"%d running jobs' new status messages a second in all (fewer when rounds are slow: the rate is what was posted); latency is from the "+
		"POST's answer to the fetch that shows the message (or a later one); CPU is the jobserver process's (/proc/<pid>/stat), not Postgres's or the clients'",
		livePages, liveRequests, liveTick, liveChangesPerSecond))
	return l.reportMemory(rep, "after the live updates")
}

// createLiveRequests appends liveRequests job requests, newest of all, on the backends in turn, each in a
// workspace of its own and requested by a member of its project, and returns their jobs as the runners
// will report them.
func (l *eventLogLoad) createLiveRequests(ctx context.Context, env *benchEnv) ([]*liveJob, error) {
	events, err := env.events()
	if err != nil {
		return nil, err
	}
	log := commands.NewEventLog(env.store, events, time.Now)
	var writes []commands.Write
	var jobs []*liveJob
	l.liveNames = map[string]liveNames{}
	for i := range liveRequests {
		ws := &l.world.workspaces[(i*37)%len(l.world.workspaces)]
		backend := &l.world.backends[i%3] // the busiest three
		reqID := domain.NewJobRequestID()
		requester := l.world.users[ws.members[i%len(ws.members)]]
		l.liveNames[reqID] = liveNames{workspace: ws.name, user: requester.login}
		actions := ws.actions[:liveJobsPerRequest]
		writes = append(writes, commands.Write{Stream: domain.JobRequestStream(reqID), Expected: eventstore.NoStream,
			Events: []domain.Event{domain.JobRequested{JobRequestID: reqID, WorkspaceID: ws.id, ProjectID: ws.projectID,
				BackendID: backend.id, SHA: fmt.Sprintf("%040x", i+1), RequestedActions: []string{"run_all"},
				ProjectDefinition: ws.definition, RequestedBy: requester.id,
				DatabaseName: "default", CodelistsOK: true}}})
		for _, action := range actions {
			j := &liveJob{Job: newRunnerJob(reqID, action), backend: backend}
			j.Identifier = domain.NewJobRequestID()
			started := time.Now().UTC().Format(time.RFC3339)
			j.Status, j.StatusCode, j.StatusMessage, j.StartedAt = "running", "executing", "Executing job on the backend, step 0", &started
			jobs = append(jobs, j)
		}
	}
	if _, err := log.Append(ctx, commands.CLIActor, writes); err != nil {
		return nil, err
	}
	return jobs, nil
}

// reportLive runs the runners of the backends of jobs for d, and returns how long their POSTs took and how
// many changes they posted.
func (l *eventLogLoad) reportLive(ctx context.Context, api *runnerAPIWorld, jobs []*liveJob, changes *liveChanges, d time.Duration) (
	posts []time.Duration, changed int, err error) {
	runners := liveReporters(jobs)
	until := time.Now().Add(d)
	var g errgroup.Group
	for _, r := range runners {
		g.Go(func() error { return r.run(ctx, l, api, jobs, changes, until) })
	}
	if err := g.Wait(); err != nil {
		return nil, 0, err
	}
	for _, r := range runners {
		posts = append(posts, r.posts...)
		changed += r.changed
	}
	return posts, changed, nil
}

// liveReporter is the runner of one backend: round after round, each once its last POST is answered (as
// job-runner's sync loop waits for its own), it changes the jobs due and posts them. The three backends'
// runners post at the same time, as runners on different backends do.
type liveReporter struct {
	jobs    []*liveJob // its backend's, in the order they change
	posts   []time.Duration
	changed int
}

// liveReporters are the runners of the backends of jobs.
func liveReporters(jobs []*liveJob) []*liveReporter {
	var runners []*liveReporter
	of := map[string]*liveReporter{}
	for _, j := range jobs {
		r := of[j.backend.id]
		if r == nil {
			r = &liveReporter{}
			of[j.backend.id] = r
			runners = append(runners, r)
		}
		r.jobs = append(r.jobs, j)
	}
	return runners
}

// run posts the runner's share of liveChangesPerSecond until until. A round changes the jobs due since the
// last, each at most once, so that every step a page may show was posted: a round slower than a second
// posts fewer changes than were due, and the rate reported is what was posted.
func (r *liveReporter) run(ctx context.Context, l *eventLogLoad, api *runnerAPIWorld, all []*liveJob, changes *liveChanges, until time.Time) error {
	perSecond := float64(liveChangesPerSecond*len(r.jobs)) / float64(len(all))
	ticker := time.NewTicker(liveTick)
	defer ticker.Stop()
	due, next, last := 0.0, 0, time.Now()
	for time.Now().Before(until) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
		now := time.Now()
		due += perSecond * now.Sub(last).Seconds()
		last = now
		n := min(int(due), len(r.jobs))
		due -= float64(int(due))
		if n == 0 {
			continue
		}
		batch := make([]*liveJob, n)
		for i := range batch {
			j := r.jobs[(next+i)%len(r.jobs)]
			j.step++
			j.Status, j.StatusCode = "running", "executing"
			j.StatusMessage = "Executing job on the backend, step " + strconv.Itoa(j.step)
			j.UpdatedAt = now.UTC().Format(time.RFC3339Nano)
			batch[i] = j
		}
		next += n
		t0 := time.Now()
		if err := l.postLive(ctx, api, all, batch, changes); err != nil {
			return err
		}
		r.posts = append(r.posts, time.Since(t0))
		r.changed += n
	}
	return nil
}

// postLive posts, for each backend with a job in batch (every backend when batch is nil), the state of all
// its live jobs, as its runner does each round, and records when each changed job's step was answered.
func (l *eventLogLoad) postLive(ctx context.Context, api *runnerAPIWorld, jobs, batch []*liveJob, changes *liveChanges) error {
	for _, b := range l.world.backends {
		if batch != nil && !slices.ContainsFunc(batch, func(j *liveJob) bool { return j.backend.id == b.id }) {
			continue
		}
		var report []runnerwire.Job
		for _, j := range jobs {
			if j.backend.id == b.id {
				report = append(report, j.Job)
			}
		}
		if len(report) == 0 {
			continue
		}
		body, err := json.Marshal(report)
		if err != nil {
			return err
		}
		if err := api.call(ctx, http.MethodPost, runnerapi.JobsPath, b.token, body); err != nil {
			return err
		}
		answered := time.Now()
		changes.mu.Lock()
		for _, j := range batch {
			if j.backend.id == b.id {
				p := changes.posted[j.Identifier]
				for len(p) < j.step {
					p = append(p, time.Time{})
				}
				p[j.step-1] = answered
				changes.posted[j.Identifier] = p
			}
		}
		changes.mu.Unlock()
	}
	return nil
}

// livePage is one open event log page: its address, its stream, and the job request whose jobs it shows.
type livePage struct {
	client  *http.Client
	server  string
	address string // the page, which htmx fetches again
	stream  *http.Response
	request string
	mu      sync.Mutex
	steps   map[string]int // job id → the step the page shows
}

type livePageSet struct {
	pages  []*livePage
	ctx    context.Context
	cancel context.CancelFunc
}

func (s *livePageSet) close() {
	s.cancel()
	for _, p := range s.pages {
		if p.stream != nil {
			p.stream.Body.Close()
		}
	}
}

// short is the number of pages showing fewer jobs than their request has.
func (s *livePageSet) short() int {
	n := 0
	for _, p := range s.pages {
		p.mu.Lock()
		if len(p.steps) < liveJobsPerRequest {
			n++
		}
		p.mu.Unlock()
	}
	return n
}

var liveStreamAttr = regexp.MustCompile(`data-live="([^"]+)"`)

// openLivePages opens the pages: each loads its page, opens the stream the page names and expands the jobs
// of the request it watches.
func (l *eventLogLoad) openLivePages(ctx context.Context, jobs []*liveJob) (*livePageSet, error) {
	transport := &http.Transport{MaxIdleConnsPerHost: 2 * livePages}
	set := &livePageSet{}
	set.ctx, set.cancel = context.WithCancel(ctx)
	requests := map[string]bool{}
	var order []*liveJob
	for _, j := range jobs {
		if !requests[j.JobRequestID] {
			requests[j.JobRequestID] = true
			order = append(order, j)
		}
	}
	// Not errgroup.WithContext: its context ends when Wait returns, and the streams must outlive it.
	var g errgroup.Group
	g.SetLimit(16)
	set.pages = make([]*livePage, livePages)
	for i := range livePages {
		j := order[i%len(order)]
		q := url.Values{}
		switch i % 4 {
		case 1:
			q.Set("backend", j.backend.slug)
		case 2:
			q.Set("workspace", l.liveNames[j.JobRequestID].workspace)
		case 3:
			q.Set("user", l.liveNames[j.JobRequestID].user)
		}
		p := &livePage{client: &http.Client{Jar: l.clients[i%len(l.clients)].Jar, Transport: transport}, server: l.server.url,
			address: "/event-log?" + q.Encode(), request: j.JobRequestID, steps: map[string]int{}}
		set.pages[i] = p
		g.Go(func() error { return p.open(set.ctx) })
	}
	if err := g.Wait(); err != nil {
		set.close()
		return nil, err
	}
	return set, nil
}

// awaitShown waits until the first page of the event log shows the request: the requests were appended
// through the command side, and the event log's projector takes them in a moment later (longer on a
// loaded machine).
func (l *eventLogLoad) awaitShown(ctx context.Context, requestID string) error {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		body, _, err := get(ctx, l.clients[0], l.server.url+"/event-log")
		if err != nil {
			return err
		}
		if strings.Contains(string(body), `id="request-`+requestID+`"`) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the event log does not show the job request %s after 5 minutes", requestID)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// liveNames are what the filters of the pages showing a live request name.
type liveNames struct{ workspace, user string }

func (p *livePage) open(ctx context.Context) error {
	body, _, err := get(ctx, p.client, p.server+p.address)
	if err != nil {
		return err
	}
	if !strings.Contains(string(body), `id="request-`+p.request+`"`) {
		return fmt.Errorf("%s does not show the job request %s", p.address, p.request)
	}
	m := liveStreamAttr.FindSubmatch(body)
	if m == nil {
		return fmt.Errorf("%s names no live stream", p.address)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.server+html.UnescapeString(string(m[1])), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	if p.stream, err = p.client.Do(req); err != nil {
		return err
	}
	if p.stream.StatusCode != http.StatusOK {
		return fmt.Errorf("live stream of %s: %d", p.address, p.stream.StatusCode)
	}
	return p.refetch(ctx, nil)
}

var liveJobRow = regexp.MustCompile(`(?s)/([a-z0-9]{16})">[^<]*</a></th>.*?step (\d+)</td></tr>`)

// refetch fetches the page's results and its expanded jobs again, as htmx does at a notice, and records
// the steps the jobs show.
func (p *livePage) refetch(ctx context.Context, changes *liveChanges) error {
	started := time.Now()
	if _, _, err := getFragment(ctx, p.client, p.server+p.address, "log-results"); err != nil {
		return err
	}
	body, _, err := getFragment(ctx, p.client, p.server+"/event-log/"+p.request+"/jobs", "")
	if err != nil {
		return err
	}
	at := time.Now()
	if changes != nil {
		changes.fetches.Add(2)
		changes.mu.Lock()
		changes.refetches = append(changes.refetches, at.Sub(started))
		changes.mu.Unlock()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range liveJobRow.FindAllSubmatch(body, -1) {
		job := string(m[1])
		step, _ := strconv.Atoi(string(m[2]))
		// A job the page did not show before is recorded whatever its step: a page that opened before the
		// read model had its request's jobs first shows them, at step 0, at a notice.
		shown, ok := p.steps[job]
		if ok && step <= shown {
			continue
		}
		if changes != nil && step > shown {
			changes.seen(job, shown, step, at)
		}
		p.steps[job] = step
	}
	return nil
}

// getFragment fetches a page as htmx does, which says so in its headers, with the id of the element it
// swaps (target; "" when that element has none, as the cell a request's jobs go into).
func getFragment(ctx context.Context, c *http.Client, address, target string) ([]byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, address, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("HX-Request", "true")
	if target != "" {
		req.Header.Set("HX-Target", target)
	}
	return do(c, req)
}

// follow reads the page's stream and fetches the page again at every "changed", until the stream ends.
func (p *livePage) follow(ctx context.Context, changes *liveChanges) {
	r := bufio.NewReader(p.stream.Body)
	event := ""
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if ctx.Err() == nil {
				changes.fail(fmt.Errorf("stream of %s ended: %w", p.address, err))
			}
			return
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(line, "event:"):
			event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
		case line == "" && event != "":
			changes.notices.Add(1)
			if err := p.refetch(ctx, changes); err != nil && ctx.Err() == nil {
				changes.fail(err)
			}
			event = ""
		}
	}
}

// wait waits until every page shows every job it watches at the job's current step (step -1), or at step.
func (s *livePageSet) wait(ctx context.Context, jobs []*liveJob, step int, within time.Duration) error {
	want := map[string]int{}
	for _, j := range jobs {
		want[j.Identifier] = j.step
		if step >= 0 {
			want[j.Identifier] = step
		}
	}
	deadline := time.Now().Add(within)
	for {
		behind := 0
		pagesBehind := map[string]int{} // by the filter the page has
		for _, p := range s.pages {
			p.mu.Lock()
			was := behind
			for _, j := range jobs {
				if j.JobRequestID == p.request && p.steps[j.Identifier] < want[j.Identifier] {
					behind++
				}
			}
			shown := len(p.steps)
			p.mu.Unlock()
			if step == 0 && shown < liveJobsPerRequest {
				behind++
			}
			if behind > was {
				filter, _, _ := strings.Cut(strings.TrimPrefix(p.address, "/event-log?"), "=")
				pagesBehind[cmp.Or(filter, "none")]++
			}
		}
		if behind == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d jobs of the pages are not shown at their last step %s after it was posted (pages behind by filter: %v)",
				behind, within, pagesBehind)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
