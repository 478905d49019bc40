package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"html"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/commands/runners"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/http/runnerapi"
	"github.com/mediciasafely/jobserver/http/server"
	eventlogviews "github.com/mediciasafely/jobserver/projections/eventlog"
	wsviews "github.com/mediciasafely/jobserver/projections/workspaces"
)

// requestJobs requests an action in the workspace at ws through Run Jobs as the browser b, and returns the
// job request's id once the event log shows it.
func requestJobs(t *testing.T, e *env, b *browser, ws, action, backend string) string {
	t.Helper()
	form := runJobsForm(t, b.get(ws+"/run-jobs/"))
	b.post(ws+"/run-jobs/", with(form, "form", "submit", "action", action, "backend", backend)).
		expect(http.StatusOK, "Requested actions have been scheduled to run.")
	name := ws[strings.LastIndex(ws, "/")+1:]
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		log, err := eventlogviews.NewQueries(e.pool).Log(t.Context(), eventlogviews.Filter{Workspace: name, Text: action}, nil, nil, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(log.Requests) > 0 {
			return log.Requests[0].ID
		}
	}
	t.Fatalf("the event log does not show the request of %s in %s", action, ws)
	return ""
}

// fakeRunner is a backend's runner talking to the real runner API, served by a second server on the same
// database with an event store of its own, as another jobserver process would be: what it appends reaches
// this test's server through Postgres.
type fakeRunner struct {
	t     *testing.T
	url   string
	token string
}

func (e *env) fakeRunner(backendID string) fakeRunner {
	e.t.Helper()
	ctx := context.Background()
	rotated, err := e.cmds.RotateRunnerToken.Handle(ctx, identity.RotateRunnerToken{Actor: commands.CLIActor, BackendID: backendID})
	e.must(rotated.Result, err)
	store := pgstore.New(e.pool)
	e.t.Cleanup(store.Close)
	logger := slog.New(slog.DiscardHandler)
	kit := commands.Kit{Log: commands.NewEventLog(store, domain.Events, time.Now), Logger: logger}
	api := runnerapi.Routes(runnerapi.Options{Logger: logger, Views: wsviews.NewQueries(e.pool), Runners: runners.New(kit),
		Authenticate: func(ctx context.Context, token string) (string, bool, error) {
			return identity.BackendForToken(ctx, store, token)
		}})
	srv := httptest.NewServer(server.New(server.Options{Logger: logger, Pool: e.pool, API: api}))
	e.t.Cleanup(srv.Close)
	return fakeRunner{t: e.t, url: srv.URL, token: rotated.Token}
}

// report posts the state of one job of the request, as job-runner's sync does.
func (f fakeRunner) report(requestID, jobID, action, status, code, message string) {
	f.t.Helper()
	now := time.Now().UTC().Format(time.RFC3339)
	job := map[string]any{"identifier": jobID, "job_request_id": requestID, "action": action,
		"run_command": "ehrql:v1 generate-dataset analysis/dataset_definition.py", "status": status, "status_code": code,
		"status_message": message, "created_at": now, "updated_at": now, "started_at": now, "completed_at": nil,
		"trace_context": map[string]any{}, "metrics": map[string]any{}, "requires_db": true}
	if status == domain.JobSucceeded || status == domain.JobFailed {
		job["completed_at"] = now
	}
	body, err := json.Marshal([]any{job})
	if err != nil {
		f.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, f.url+runnerapi.JobsPath, strings.NewReader(string(body)))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Authorization", f.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("POST %s: status %d", runnerapi.JobsPath, resp.StatusCode)
	}
}

// sse is one event of a stream.
type sse struct{ event, data string }

// stream is a live page's stream of Server-Sent Events, read as a browser's EventSource reads it.
type stream struct {
	t      *testing.T
	resp   *http.Response
	events chan sse
	cancel context.CancelFunc
}

var liveAttr = regexp.MustCompile(`data-live="([^"]+)"`)

// liveStream is the address of the stream a page's live part listens to.
func liveStream(p *page) string {
	p.t.Helper()
	m := liveAttr.FindStringSubmatch(p.body)
	if m == nil {
		p.t.Fatalf("%s has no live part\n%s", p.url, excerpt(p.body))
	}
	return html.UnescapeString(m[1])
}

// open opens the stream at path (on the server at base, or the test's own) with the browser's cookies.
func (b *browser) open(path string, base ...string) *stream {
	b.t.Helper()
	root := b.env.server.URL
	if len(base) > 0 {
		root = base[0]
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, root+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	client := &http.Client{Jar: b.client.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		b.t.Fatal(err)
	}
	s := &stream{t: b.t, resp: resp, events: make(chan sse, 64), cancel: cancel}
	b.t.Cleanup(s.close)
	go func() {
		defer close(s.events)
		lines := bufio.NewScanner(resp.Body)
		var ev sse
		for lines.Scan() {
			line := lines.Text()
			switch {
			case line == "":
				if ev.event != "" {
					s.events <- ev
				}
				ev = sse{}
			case strings.HasPrefix(line, "event: "):
				ev.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return s
}

func (s *stream) close() {
	s.cancel()
	s.resp.Body.Close()
}

// next is the stream's next event within d; ok is false when none came.
func (s *stream) next(d time.Duration) (sse, bool) {
	select {
	case ev, ok := <-s.events:
		return ev, ok
	case <-time.After(d):
		return sse{}, false
	}
}

// quiet reads the events that come within d (a notice of what happened before the stream opened, say).
func (s *stream) quiet(d time.Duration) {
	for {
		if _, ok := s.next(d); !ok {
			return
		}
	}
}

// expectChange fails unless a "changed" event naming the request (or everything) comes within d of since.
func (s *stream) expectChange(what, requestID string, since time.Time, d time.Duration) {
	s.t.Helper()
	for {
		ev, ok := s.next(time.Until(since.Add(d)))
		if !ok {
			s.t.Fatalf("%s: no notice of the change to %s within %s", what, requestID, d)
		}
		if ev.event == "changed" && (ev.data == "*" || strings.Contains(" "+ev.data+" ", " "+requestID+" ")) {
			return
		}
	}
}

// expectNothing fails if any event comes within d.
func (s *stream) expectNothing(what string, d time.Duration) {
	s.t.Helper()
	if ev, ok := s.next(d); ok {
		s.t.Fatalf("%s was told %q %q, about a change it does not show", what, ev.event, ev.data)
	}
}

// TestOpenPagesHearWithinASecondWhenARunnerReportsAJob: a runner's post, through the runner API of another
// server on the same database, reaches every open page that shows the request within a second: the event
// log (unfiltered, and filtered by its workspace), the job request's page, the workspace's logs and the
// latest requests on the home page of a member of its project. Pages that do not show it hear nothing: the
// log filtered to another workspace, and the latest requests of someone in none of its projects.
func TestOpenPagesHearWithinASecondWhenARunnerReportsAJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := setUpWorkspaces(e)
	w.saveToken()
	ws := w.workspace("livews")
	w.workspace("quietws")
	dev := w.as(w.developer)
	id := requestJobs(t, e, dev, ws, "generate_dataset", w.backend)
	runner := e.fakeRunner(w.backend)

	c := w.as(w.collaborator)
	streams := map[string]*stream{
		"the event log":                  c.open(liveStream(c.get("/event-log").expect(http.StatusOK, id))),
		"the event log of its workspace": c.open(liveStream(c.get("/event-log?workspace=livews&status=pending"))),
		"the job request's page":         c.open(liveStream(c.get(ws+"/"+id).expect(http.StatusOK, "pending"))),
		"the workspace's logs":           dev.open(liveStream(dev.get(ws+"/logs").expect(http.StatusOK, "generate_dataset"))),
		"a member's latest requests":     dev.open(liveStream(dev.get("/event-log/latest").expect(http.StatusOK, "generate_dataset"))),
	}
	silent := map[string]*stream{
		"the event log of another workspace": c.open(liveStream(c.get("/event-log?workspace=quietws"))),
		"an outsider's latest requests":      w.as(w.outsider).open(liveStream(w.as(w.outsider).get("/event-log/latest"))),
	}
	for _, s := range streams {
		s.quiet(300 * time.Millisecond)
	}
	for _, s := range silent {
		s.quiet(300 * time.Millisecond)
	}

	runner.report(id, "livejob00000001", "generate_dataset", domain.JobRunning, "executing", "Running")
	posted := time.Now()
	for what, s := range streams {
		s.expectChange(what, id, posted, time.Second)
	}
	t.Logf("every open page heard of the runner's post within %s", time.Since(posted).Round(time.Millisecond))
	for what, s := range silent {
		s.expectNothing(what, 500*time.Millisecond)
	}
	// What the page fetches on the notice shows the change.
	c.get(ws+"/"+id).expect(http.StatusOK, "running", "executing")
}

// TestAPageOpenedBeforeAChangeHearsOfItWhenItsStreamOpensLater: the stream names the position the page was
// read at, so a change committed between the page and its stream is not lost.
func TestAPageOpenedBeforeAChangeHearsOfItWhenItsStreamOpensLater(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := setUpWorkspaces(e)
	w.saveToken()
	ws := w.workspace("latecomer")
	dev := w.as(w.developer)
	id := requestJobs(t, e, dev, ws, "generate_dataset", w.backend)
	streamURL := liveStream(dev.get(ws + "/" + id))
	reportJob(e, w.backend, domain.JobReport{JobID: "latejob000000001", JobRequestID: id, Action: "generate_dataset",
		RunCommand: "ehrql:v1 generate-dataset", Status: domain.JobRunning, StatusCode: "executing", CreatedAt: time.Now()})
	// Whether the hub has heard of the commit when the stream opens (it is told at once) or not yet (it is
	// told with the hub's next read), the page hears of it.
	dev.open(streamURL).expectChange("the job request's page", id, time.Now(), time.Second)
}

// TestAnonymousVisitorsAreSentToLogInInsteadOfAStream: the streams are the pages', behind the same login.
func TestAnonymousVisitorsAreSentToLogInInsteadOfAStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	anonymous := e.browser()
	for _, path := range []string{"/event-log/live", "/event-log/latest/live", "/event-log/somerequest/live", "/o/p/ws/logs/live"} {
		s := anonymous.open(path)
		if s.resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(s.resp.Header.Get("Location"), "/login?next=") {
			t.Errorf("%s: status %d to %q, want 303 to the login", path, s.resp.StatusCode, s.resp.Header.Get("Location"))
		}
		if ct := s.resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/event-stream") {
			t.Errorf("%s: an anonymous visitor got a stream", path)
		}
	}
}

// TestAStreamIsReleasedWhenItsClientGoesAway: an open stream holds one subscription, which a disconnect
// frees; the stream says it must not be stored or buffered.
func TestAStreamIsReleasedWhenItsClientGoesAway(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada := e.user("ada")
	b := e.browser()
	b.loginAs(ada)
	s := b.open("/event-log/live")
	for header, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no"} {
		if got := s.resp.Header.Get(header); got != want {
			t.Errorf("%s: %q, want %q", header, got, want)
		}
	}
	waitOpen := func(want int) {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Second); e.hub.Open() != want; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d open subscriptions, want %d", e.hub.Open(), want)
			}
		}
	}
	waitOpen(1)
	others := []*stream{b.open("/event-log/latest/live"), b.open("/event-log/live?status=running")}
	waitOpen(3)
	s.close()
	waitOpen(2)
	for _, o := range others {
		o.close()
	}
	waitOpen(0)
}

// TestAStreamOutlivesTheServersTimeouts: the server's read and write timeouts and its per-request deadline
// bound ordinary requests; a stream stays open past them and still hears of a change.
func TestAStreamOutlivesTheServersTimeouts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := setUpWorkspaces(e)
	w.saveToken()
	ws := w.workspace("patient")
	dev := w.as(w.developer)
	id := requestJobs(t, e, dev, ws, "generate_dataset", w.backend)

	const short = 300 * time.Millisecond
	logger := slog.New(slog.DiscardHandler)
	handler := server.New(server.Options{Logger: logger, Pool: e.pool, Renderer: e.app.Renderer(), Pages: e.app.Routes, RequestTimeout: short / 2})
	srv := server.NewHTTPServer(handler, server.Timeouts{ReadHeader: short, Read: short, Write: short, Idle: short}, logger)
	srv.RegisterOnShutdown(e.hub.Close)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- server.Serve(ctx, srv, l, time.Second) }()
	base := "http://" + l.Addr().String()

	// The session cookie of the test's server is good on this one: both are 127.0.0.1.
	s := dev.open(liveStream(dev.get("/event-log")), base)
	s.quiet(4 * short)
	reportJob(e, w.backend, domain.JobReport{JobID: "slowjob000000001", JobRequestID: id, Action: "generate_dataset",
		RunCommand: "ehrql:v1 generate-dataset", Status: domain.JobRunning, StatusCode: "executing", CreatedAt: time.Now()})
	s.expectChange("a stream open longer than the server's timeouts", id, time.Now(), 2*time.Second)

	// Shutting down ends the open stream at once, rather than after the grace.
	stopping := time.Now()
	stop()
	if err := <-served; err != nil {
		t.Errorf("the server did not shut down cleanly with a stream open: %v", err)
	}
	if _, open := s.next(time.Second); open {
		t.Error("the stream is still open after the server shut down")
	}
	if took := time.Since(stopping); took > 500*time.Millisecond {
		t.Errorf("the shutdown took %s with a stream open", took)
	}
}
