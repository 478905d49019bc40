package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mediciasafely/jobserver/commands"
	identitycmd "github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/commands/runners"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/http/runnerapi"
	"github.com/mediciasafely/jobserver/http/server"
	"github.com/mediciasafely/jobserver/internal/runnerwire"
	"github.com/mediciasafely/jobserver/projections"
	identityproj "github.com/mediciasafely/jobserver/projections/identity"
	"github.com/mediciasafely/jobserver/projections/workspaces"
)

// The runner API measurements: what one backend's runner costs the server when it reports its jobs, and
// what a fleet of runners polling costs it. They drive the real HTTP handler (http/runnerapi inside
// http/server) on a loopback httptest server, on a database of their own holding backends created by
// commands/identity and job requests appended as domain events, with the identity and workspaces
// projectors live.
const (
	// jobsPerRequest jobs make up each job request; a POST of postJobs jobs covers postJobs/jobsPerRequest
	// requests, each its own stream and so its own decision and append.
	jobsPerRequest = 10
	postJobs       = 1000
	// pollBackends runners poll every pollEvery with pollActiveJobs active jobs each.
	pollBackends   = 20
	pollActiveJobs = 200
	pollEvery      = 2 * time.Second
)

// runnerFlagsHeader is what a job-runner sends with every call; the same values each time append nothing.
const runnerFlagsHeader = `{"paused":{"v":null,"ts":"2026-12-01T09:00:00.000000Z"},"mode":{"v":null,"ts":"2026-12-01T09:00:00.000000Z"}}`

// runnerAPISizes are the sample counts and the polling length of one run.
type runnerAPISizes struct {
	unchangedPosts, changedPosts int
	pollDuration                 time.Duration
}

func runnerAPISizesFor(cfg config) runnerAPISizes {
	if cfg.quickRunnerAPI {
		return runnerAPISizes{unchangedPosts: 40, changedPosts: 20, pollDuration: cfg.pollDuration}
	}
	return runnerAPISizes{unchangedPosts: 200, changedPosts: 100, pollDuration: cfg.pollDuration}
}

// runnerBackend is one backend and the jobs its runner reports.
type runnerBackend struct {
	id, slug, token string
	requests        []string
	jobs            []runnerwire.Job
}

// runnerAPIWorld is the server and its data.
type runnerAPIWorld struct {
	env    *benchEnv
	url    string
	client *http.Client
	post   *runnerBackend
	pollrs []*runnerBackend
}

func measureRunnerAPI(ctx context.Context, cfg config, rep *report) (err error) {
	sizes := runnerAPISizesFor(cfg)
	db, err := createBenchDatabase(ctx, cfg.adminURL)
	if err != nil {
		return err
	}
	defer func() { err = joinErr(err, db.drop()) }()
	env, err := openBenchEnv(ctx, db, pollBackends*2+8)
	if err != nil {
		return err
	}
	defer env.close()

	log := commands.NewEventLog(env.store, domain.Events, time.Now)
	kit := commands.Kit{Log: log, Logger: env.logger}
	w := &runnerAPIWorld{env: env}
	last, err := w.seed(ctx, identitycmd.New(kit), log)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	runner := projections.NewRunner(env.pool, env.store, domain.Events, env.logger,
		append(identityproj.Projectors(), workspaces.Projectors()...)...)
	if err := runner.Prepare(ctx); err != nil {
		return fmt.Errorf("prepare projectors: %w", err)
	}
	live := startLive(ctx, runner)
	defer live.stop()
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	err = runner.WaitFor(waitCtx, last)
	cancel()
	if err != nil {
		return fmt.Errorf("projectors catching up: %w", err)
	}

	api := runnerapi.Routes(runnerapi.Options{Logger: env.logger, Views: workspaces.NewQueries(env.pool),
		Runners: runners.New(kit),
		Authenticate: func(ctx context.Context, token string) (string, bool, error) {
			return identitycmd.BackendForToken(ctx, env.store, token)
		}})
	srv := httptest.NewUnstartedServer(server.New(server.Options{Logger: env.logger, Pool: env.pool, API: api}))
	srv.Listener.Close()
	if srv.Listener, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return err
	}
	srv.Start()
	defer srv.Close()
	w.url = srv.URL
	w.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: pollBackends * 2}}

	if err := w.measurePosts(ctx, sizes, rep); err != nil {
		return err
	}
	if err := w.measurePolling(ctx, sizes, rep); err != nil {
		return fmt.Errorf("polling: %w", err)
	}
	return live.stopped()
}

// seed creates an org, a project, a user, the backends (through commands/identity, which gives each its
// token) and, as domain events appended with the CLI actor, a workspace per backend and its job requests.
// It returns the position of the last event.
func (w *runnerAPIWorld) seed(ctx context.Context, id *identitycmd.Commands, log *commands.EventLog) (eventstore.Position, error) {
	cli := commands.CLIActor
	user, err := id.SignInWithGitHub.Handle(ctx, identitycmd.SignInWithGitHub{GitHubID: 4242, Login: "bench-researcher", Name: "Bench Researcher"})
	if err != nil {
		return eventstore.Position{}, err
	}
	org, err := id.CreateOrg.Handle(ctx, identitycmd.CreateOrg{Actor: cli, Name: "Bench Org"})
	if err != nil {
		return eventstore.Position{}, err
	}
	project, err := id.CreateProject.Handle(ctx, identitycmd.CreateProject{Actor: cli, Name: "Bench Project", OrgID: org.ID})
	if err != nil {
		return eventstore.Position{}, err
	}
	last := project.Position
	newBackend := func(slug string, jobs int) (*runnerBackend, error) {
		b, err := id.CreateBackend.Handle(ctx, identitycmd.CreateBackend{Actor: cli, Slug: slug, Name: "Bench " + slug})
		if err != nil {
			return nil, fmt.Errorf("backend %s: %w", slug, err)
		}
		rb := &runnerBackend{id: b.BackendID, slug: slug, token: b.Token}
		workspaceID := domain.NewID(time.Now())
		writes := []commands.Write{{Stream: domain.WorkspaceStream(workspaceID), Expected: eventstore.NoStream, Events: []domain.Event{
			domain.WorkspaceCreated{WorkspaceID: workspaceID, ProjectID: project.ID, Name: "bench-" + slug,
				RepoURL: "https://github.com/opensafely/bench-study", Branch: "main", CreatedBy: user.UserID},
		}}}
		for range jobs / jobsPerRequest {
			reqID := domain.NewID(time.Now())
			rb.requests = append(rb.requests, reqID)
			actions := make([]string, jobsPerRequest)
			for i := range actions {
				actions[i] = "action_" + strconv.Itoa(i)
			}
			writes = append(writes, commands.Write{Stream: domain.JobRequestStream(reqID), Expected: eventstore.NoStream, Events: []domain.Event{
				domain.JobRequested{JobRequestID: reqID, WorkspaceID: workspaceID, ProjectID: project.ID, BackendID: b.BackendID,
					SHA: "9e9b68563d90707f3903dec925526ca4601a4e26", RequestedActions: actions, RequestedBy: user.UserID,
					DatabaseName: "default", CodelistsOK: true},
			}})
			for i := range jobsPerRequest {
				rb.jobs = append(rb.jobs, newRunnerJob(reqID, actions[i]))
			}
		}
		res, err := log.Append(ctx, cli, writes)
		if err != nil {
			return nil, fmt.Errorf("job requests of %s: %w", slug, err)
		}
		last = res.Position
		return rb, nil
	}
	if w.post, err = newBackend("bench-post", postJobs); err != nil {
		return last, err
	}
	for i := range pollBackends {
		b, err := newBackend(fmt.Sprintf("bench-poll-%02d", i), pollActiveJobs)
		if err != nil {
			return last, err
		}
		w.pollrs = append(w.pollrs, b)
	}
	return last, nil
}

func newRunnerJob(requestID, action string) runnerwire.Job {
	created := "2026-12-01T09:00:00Z"
	return runnerwire.Job{Identifier: domain.NewID(time.Now()), JobRequestID: requestID, JobState: runnerwire.JobState{Action: action,
		RunCommand: "ehrql:v1 generate-dataset analysis/dataset_definition.py --output output/" + action + ".csv.gz",
		Status:     "pending", StatusCode: "created", StatusMessage: "Created", CreatedAt: created, UpdatedAt: created,
		TraceContext: map[string]any{"traceparent": "00-c4eb9fa80fdfb7ffd6fd46b96783ab1b-9bd8baaad76c3fcb-01"},
		Metrics:      map[string]any{}, RequiresDB: true}}
}

// running sets every job to running with a status message and updated_at of step: a change the server
// must record for every job, which keeps the requests active.
func running(jobs []runnerwire.Job, step int) {
	started := "2026-12-01T09:01:00Z"
	updated := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(step) * time.Second).Format(time.RFC3339)
	for i := range jobs {
		jobs[i].Status, jobs[i].StatusCode = "running", "executing"
		jobs[i].StatusMessage = "Executing job on the backend, step " + strconv.Itoa(step)
		jobs[i].UpdatedAt, jobs[i].StartedAt = updated, &started
	}
}

// call sends one request as job-runner does and fails on anything but 200.
func (w *runnerAPIWorld) call(ctx context.Context, method, path, token string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, method, w.url+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", token)
	req.Header.Set("Flags", runnerFlagsHeader)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	return nil
}

func (w *runnerAPIWorld) postJobs(ctx context.Context, b *runnerBackend) (time.Duration, error) {
	body, err := json.Marshal(b.jobs)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	err = w.call(ctx, http.MethodPost, runnerapi.JobsPath, b.token, body)
	return time.Since(start), err
}

func (w *runnerAPIWorld) eventCount(ctx context.Context) (int64, error) {
	var n int64
	err := w.env.pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n)
	return n, err
}

// measurePosts times POSTs of postJobs jobs by one backend: unchanged (the runner repeating what it said),
// then all changed, alternating with the raw ceiling of one INSERT of as many rows.
func (w *runnerAPIWorld) measurePosts(ctx context.Context, sizes runnerAPISizes, rep *report) error {
	b := w.post
	// The first report creates every job; the second is the first unchanged one, which warms the kit's
	// folded states (a server that has just started folds each stream once).
	for range 2 {
		if _, err := w.postJobs(ctx, b); err != nil {
			return fmt.Errorf("first reports: %w", err)
		}
	}
	w.env.settle(ctx)
	before, err := w.eventCount(ctx)
	if err != nil {
		return err
	}
	var unchanged []time.Duration
	for range sizes.unchangedPosts {
		d, err := w.postJobs(ctx, b)
		if err != nil {
			return fmt.Errorf("unchanged POST: %w", err)
		}
		unchanged = append(unchanged, d)
	}
	after, err := w.eventCount(ctx)
	if err != nil {
		return err
	}
	appended := after - before

	w.env.settle(ctx)
	var changed, raw []time.Duration
	for i := range sizes.changedPosts {
		running(b.jobs, i)
		d, err := w.postJobs(ctx, b)
		if err != nil {
			return fmt.Errorf("changed POST: %w", err)
		}
		changed = append(changed, d)
		r, err := w.rawInsert(ctx, b, i)
		if err != nil {
			return fmt.Errorf("raw insert: %w", err)
		}
		raw = append(raw, r)
	}
	afterChanged, err := w.eventCount(ctx)
	if err != nil {
		return err
	}
	if want := int64(sizes.changedPosts * postJobs); afterChanged-after != want {
		return fmt.Errorf("the changed POSTs appended %d events, want %d", afterChanged-after, want)
	}
	slices.Sort(unchanged)
	slices.Sort(changed)
	slices.Sort(raw)
	uP50, uP99 := ms(percentile(unchanged, 0.5)), ms(percentile(unchanged, 0.99))
	cP50, cP99 := ms(percentile(changed, 0.5)), ms(percentile(changed, 0.99))
	rP50, rP99 := ms(percentile(raw, 0.5)), ms(percentile(raw, 0.99))
	fmt.Fprintf(os.Stderr, "runner API POST of %d jobs: unchanged p50 %.1f p99 %.1f ms (%d events); changed p50 %.1f p99 %.1f ms; raw %d-row INSERT p50 %.1f p99 %.1f ms\n",
		postJobs, uP50, uP99, appended, cP50, cP99, postJobs, rP50, rP99)

	what := fmt.Sprintf("POST /api/v2/jobs/, %s jobs (%d requests × %d)", thousands(postJobs), postJobs/jobsPerRequest, jobsPerRequest)
	rep.add(row{section: sectionRunnerAPI, measurement: what + ", unchanged, p50", writers: 1, value: uP50, unit: "ms"})
	rep.add(row{section: sectionRunnerAPI, measurement: what + ", unchanged, p99", writers: 1, value: uP99, unit: "ms", goal: below(50, "ms")})
	rep.add(row{section: sectionRunnerAPI, measurement: what + ", unchanged: events appended", writers: 1,
		value: float64(appended), unit: "events", goal: exactlyZero()})
	rep.add(row{section: sectionRunnerAPI, measurement: what + ", all changed, p50 (raw: one 1,000-row INSERT, p50)", writers: 1,
		value: cP50, unit: "ms", raw: rP50})
	rep.add(row{section: sectionRunnerAPI, measurement: what + ", all changed, p99 (raw: one 1,000-row INSERT, p99)", writers: 1,
		value: cP99, unit: "ms", raw: rP99, goal: below(150, "ms")})
	rep.note(fmt.Sprintf("runner API POSTs: the real handler (http/server + http/runnerapi) on 127.0.0.1, one backend reporting %s jobs "+
		"in %d job requests (each request is its own stream, decided on its own; what changed in all of them is one append and commit); %d unchanged "+
		"POSTs, then %d with every job changed (running, new status_message and updated_at), each followed by the raw ceiling: one "+
		"autocommitted INSERT of %s rows of the same JobStatusChanged payloads into raw_inserts (shaped like events)", thousands(postJobs), postJobs/jobsPerRequest,
		sizes.unchangedPosts, sizes.changedPosts, thousands(postJobs)))
	return nil
}

// exactlyZero is the target of a count that must be nothing.
func exactlyZero() *goal {
	return &goal{text: "= 0", met: func(r row) bool { return r.value == 0 }}
}

// rawInsertJobsSQL writes many rows in one autocommitted statement, the least a store could do to record
// a report of that many changes.
const rawInsertJobsSQL = `INSERT INTO public.raw_inserts (event_id, stream_id, stream_version, event_type, schema_version, data, metadata)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::int[], $6::jsonb[], $7::jsonb[])`

// rawInsert writes the JobStatusChanged events of the backend's jobs (as of step) in one statement and
// returns how long it took; building the rows is not timed.
func (w *runnerAPIWorld) rawInsert(ctx context.Context, b *runnerBackend, step int) (time.Duration, error) {
	n := len(b.jobs)
	ids, streams, types, datas, metas := make([][16]byte, n), make([]string, n), make([]string, n), make([][]byte, n), make([][]byte, n)
	versions, schemas := make([]int64, n), make([]int32, n)
	meta, _ := json.Marshal(eventstore.Metadata{Actor: commands.RunnerActor(b.id).String()})
	for i, j := range b.jobs {
		updated, _ := time.Parse(time.RFC3339, j.UpdatedAt)
		data, err := json.Marshal(domain.JobStatusChanged{JobRequestID: j.JobRequestID, JobID: j.Identifier, Action: j.Action,
			RunCommand: j.RunCommand, Status: j.Status, StatusCode: j.StatusCode, StatusMessage: j.StatusMessage,
			CreatedAt: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), UpdatedAt: &updated, TraceContext: j.TraceContext, Metrics: j.Metrics})
		if err != nil {
			return 0, err
		}
		ids[i], streams[i], types[i], datas[i], metas[i] = [16]byte(domain.NewULID(time.Now())), "rawjobrequest-"+j.JobRequestID, "JobStatusChanged", data, meta
		versions[i], schemas[i] = int64(step*n+i+1), 1
	}
	start := time.Now()
	_, err := w.env.pool.Exec(ctx, rawInsertJobsSQL, ids, streams, versions, types, schemas, datas, metas)
	return time.Since(start), err
}

// measurePolling runs pollBackends runners, each polling every pollEvery as job-runner's sync loop does
// (GET its active job requests, then POST the state of all its jobs, unchanged), for the polling length;
// it reports the round trips, the errors, the process's CPU and the events appended per minute.
func (w *runnerAPIWorld) measurePolling(ctx context.Context, sizes runnerAPISizes, rep *report) error {
	bodies := make([][]byte, len(w.pollrs))
	for i, b := range w.pollrs {
		if _, err := w.postJobs(ctx, b); err != nil { // creates the jobs: events, before the window
			return err
		}
		var err error
		if bodies[i], err = json.Marshal(b.jobs); err != nil {
			return err
		}
	}
	for _, b := range w.pollrs { // one unchanged report each warms the folded states
		if _, err := w.postJobs(ctx, b); err != nil {
			return err
		}
	}
	w.env.settle(ctx)
	before, err := w.eventCount(ctx)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var rounds []time.Duration
	var errs []error
	cpuBefore, start := processCPU(), time.Now()
	deadline := start.Add(sizes.pollDuration)
	g, gctx := errgroup.WithContext(ctx)
	for i, b := range w.pollrs {
		g.Go(func() error {
			offset := time.Duration(rand.Int64N(int64(pollEvery)))
			for next := start.Add(offset); next.Before(deadline); next = next.Add(pollEvery) {
				select {
				case <-gctx.Done():
					return gctx.Err()
				case <-time.After(time.Until(next)):
				}
				t0 := time.Now()
				err := w.call(gctx, http.MethodGet, runnerapi.JobRequestsPath+"?backend="+b.slug, b.token, nil)
				if err == nil {
					err = w.call(gctx, http.MethodPost, runnerapi.JobsPath, b.token, bodies[i])
				}
				d := time.Since(t0)
				mu.Lock()
				rounds = append(rounds, d)
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	elapsed := time.Since(start)
	cpu := processCPU() - cpuBefore
	after, err := w.eventCount(ctx)
	if err != nil {
		return err
	}
	active, err := w.activeJobRequests(ctx)
	if err != nil {
		return err
	}
	if want := pollBackends * pollActiveJobs / jobsPerRequest; active != want {
		errs = append(errs, fmt.Errorf("%d active job requests in the read model, want %d", active, want))
	}
	slices.Sort(rounds)
	perMinute := float64(after-before) / elapsed.Minutes()
	cpuShare := 100 * cpu.Seconds() / elapsed.Seconds()
	p50, p99 := ms(percentile(rounds, 0.5)), ms(percentile(rounds, 0.99))
	fmt.Fprintf(os.Stderr, "runner API polling: %d rounds in %s, p50 %.1f p99 %.1f ms, %d errors, process CPU %.1f%% of a core, %.0f events/min\n",
		len(rounds), elapsed.Round(time.Millisecond), p50, p99, len(errs), cpuShare, perMinute)
	for _, e := range errs[:min(len(errs), 5)] {
		fmt.Fprintln(os.Stderr, "  polling error:", e)
	}
	what := fmt.Sprintf("%d backends polling every %s, %d active jobs each", pollBackends, pollEvery, pollActiveJobs)
	rep.add(row{section: sectionRunnerAPI, measurement: what + ": poll (GET + POST) p50", writers: pollBackends, value: p50, unit: "ms"})
	rep.add(row{section: sectionRunnerAPI, measurement: what + ": poll (GET + POST) p99", writers: pollBackends, value: p99, unit: "ms"})
	rep.add(row{section: sectionRunnerAPI, measurement: what + ": errors", writers: pollBackends, value: float64(len(errs)), unit: "errors", goal: exactlyZero()})
	rep.add(row{section: sectionRunnerAPI, measurement: what + ": process CPU", writers: pollBackends, value: cpuShare, unit: "% of a core"})
	rep.add(row{section: sectionRunnerAPI, measurement: what + ": events appended", writers: pollBackends, value: perMinute, unit: "events/min"})
	rep.note(fmt.Sprintf("runner API polling: %d rounds over %s; process CPU is the bench process's user+system time (getrusage), "+
		"which holds the server and the %d simulated runners (their bodies are encoded once, so they add the HTTP client only), "+
		"not Postgres's", len(rounds), elapsed.Round(time.Second), pollBackends))
	return nil
}

func (w *runnerAPIWorld) activeJobRequests(ctx context.Context) (int, error) {
	var n int
	err := w.env.pool.QueryRow(ctx, `SELECT count(*) FROM workspace_job_requests j JOIN workspace_backends b ON b.id = j.backend_id
		WHERE j.active AND b.slug LIKE 'bench-poll-%'`).Scan(&n)
	return n, err
}

// processCPU is the user and system CPU time this process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
