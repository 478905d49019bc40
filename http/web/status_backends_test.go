package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/commands/runners"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/runnerapi"
	"github.com/mediciasafely/jobserver/http/server"
)

// TestStatusShowsEachBackendsRunnerQueueAndFlags: a runner polls and reports through the runner API, and
// /status shows its backend's last contact, queue and flags to the backend's members (every backend to
// admins, nothing of it to others); the uptime monitors' pages answer without a login.
func TestStatusShowsEachBackendsRunnerQueueAndFlags(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := setUpWorkspaces(e)
	w.saveToken()
	r := e.runnerAPI()
	tpp := e.backendWithToken("tpp", "TPP", w.developer)
	ws := w.workspace("statusws")
	dev := w.as(w.developer)

	// Before any contact: never seen, no warning; the monitor's page answers 200 with the time of now.
	dev.get("/status").expect(http.StatusOK, "TPP", "<code>tpp</code>", "never").lacks("Warning")
	before := time.Now().Add(-time.Second)
	monitor := e.browser()
	p := monitor.get("/status/tpp/").expect(http.StatusOK)
	if seen, err := time.Parse(time.RFC3339Nano, p.body); err != nil || seen.Before(before) {
		t.Errorf("/status/tpp/ of a backend never seen: %q (%v), want the time of now", p.body, err)
	}
	monitor.get("/status/tpp/db-availability/").expect(http.StatusOK, "DB maintenance mode off")
	monitor.get("/status/nosuchbackend/").expect(http.StatusNotFound)

	// Three job requests on tpp, as Devon asks on the Run Jobs page.
	form := runJobsForm(t, dev.get(ws+"/run-jobs/"))
	for _, action := range []string{"generate_dataset", "describe_cohort", "generate_measures"} {
		dev.post(ws+"/run-jobs/", with(form, "form", "submit", "action", action, "backend", tpp.id)).
			expect(http.StatusOK, "Requested actions have been scheduled to run.")
	}

	// The runner last called ten minutes ago, paused and in DB maintenance: it lists the requests and
	// reports four jobs of one of them (three pending, one running).
	r.setClock(time.Now().Add(-10 * time.Minute).Truncate(time.Second))
	flags := `{"paused":{"v":"true","ts":"2026-11-24T19:05:14.705266Z"},"mode":{"v":"db-maintenance","ts":"2026-11-24T19:05:14.706535Z"}}`
	ids := r.jobRequests(tpp.token, flags)
	if len(ids) != 3 {
		t.Fatalf("the runner lists %v, want three requests", ids)
	}
	r.postJobs(tpp.token, flags, ids[0], "running", "pending", "pending", "pending")

	// Stale: the warning, in words and an icon, and the monitor's 503 with the last contact.
	row := eventuallyRow(t, dev, "tpp", "<td>3</td><td>1</td><td>2</td>")
	for _, want := range []string{"Warning: not seen for 5 minutes or more", `aria-hidden="true">⚠</span>`, "Paused",
		"DB maintenance since", `datetime="2026-11-24T19:05:14Z"`, "10 minutes ago"} {
		if !strings.Contains(row, want) {
			t.Errorf("the status of tpp lacks %q:\n%s", want, row)
		}
	}
	p = monitor.get("/status/tpp/").expect(http.StatusServiceUnavailable)
	if want := r.now().UTC().Format(time.RFC3339Nano); p.body != want {
		t.Errorf("/status/tpp/ = %q, want %q", p.body, want)
	}
	monitor.get("/status/tpp/db-availability/").expect(http.StatusServiceUnavailable,
		"DB maintenance mode on (since 2026-11-24T19:05:14.706535Z)")

	// The runner calls again now, unpaused and out of maintenance; one job finishes.
	r.setClock(time.Now())
	ids = r.jobRequests(tpp.token, `{"paused":{"v":null,"ts":"2026-11-24T20:00:00Z"},"mode":{"v":null,"ts":"2026-11-24T20:00:00Z"}}`)
	if len(ids) != 3 {
		t.Fatalf("the runner lists %v, want three requests", ids)
	}
	r.postJobs(tpp.token, "", ids[0], "succeeded", "pending", "pending", "pending")
	row = eventuallyRow(t, dev, "tpp", "<td>3</td><td>0</td><td>2</td>")
	if strings.Contains(row, "Warning") || strings.Contains(row, "Paused") || strings.Contains(row, "DB maintenance") {
		t.Errorf("tpp is still shown stale, paused or in maintenance:\n%s", row)
	}
	monitor.get("/status/tpp/").expect(http.StatusOK, r.now().UTC().Format("2006-01-02T15:04"))
	monitor.get("/status/tpp/db-availability/").expect(http.StatusOK, "DB maintenance mode off")

	// Someone who is not a member does not see it; an admin sees every backend, as no member of it.
	w.as(w.outsider).get("/status").expect(http.StatusOK).lacks("<code>tpp</code>", "<code>rcdemo2</code>")
	admin := w.as(e.user("ada", domain.CoreDeveloper))
	admin.get("/status").expect(http.StatusOK, "Every secure backend", "<code>tpp</code>", "<code>rcdemo2</code>", "not a member")
}

// eventuallyRow reads /status until the backend's row, without white space between tags, contains want
// (the projector follows the runner's reports a moment later), and returns the row.
func eventuallyRow(t *testing.T, b *browser, slug, want string) string {
	t.Helper()
	rowOf := regexp.MustCompile(`(?s)<tr id="backend-` + regexp.QuoteMeta(slug) + `">.*?</tr>`)
	space := regexp.MustCompile(`>\s+<`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		p := b.get("/status").expect(http.StatusOK)
		row := space.ReplaceAllString(rowOf.FindString(p.body), "><")
		if strings.Contains(row, want) {
			return row
		}
		if time.Now().After(deadline) {
			t.Fatalf("the status of %s never showed %q:\n%s", slug, want, row)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// backendToken is a backend and its runner's token.
type backendToken struct{ id, token string }

// backendWithToken creates a backend with the members and returns it with its runner's token.
func (e *env) backendWithToken(slug, name string, members ...string) backendToken {
	e.t.Helper()
	ctx := context.Background()
	created, err := e.cmds.CreateBackend.Handle(ctx, identity.CreateBackend{Actor: commands.CLIActor, Slug: slug, Name: name})
	e.must(created.Result, err)
	for _, m := range members {
		e.must(e.cmds.AddBackendMember.Handle(ctx, identity.AddBackendMember{Actor: commands.CLIActor, BackendID: created.BackendID, UserID: m}))
	}
	return backendToken{id: created.BackendID, token: created.Token}
}

// runnerClient is a backend's runner calling the runner API (mounted by runnerAPI) at the time of its clock.
type runnerClient struct {
	t   *testing.T
	url string
	mu  sync.Mutex
	at  time.Time
}

func (r *runnerClient) setClock(at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.at = at
}

func (r *runnerClient) now() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.at.IsZero() {
		return time.Now()
	}
	return r.at
}

func (r *runnerClient) call(method, path, token, flags, body string) []byte {
	r.t.Helper()
	req, err := http.NewRequest(method, r.url+path, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Authorization", token)
	if flags != "" {
		req.Header.Set("Flags", flags)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		r.t.Fatalf("%s %s: %d %s %v", method, path, resp.StatusCode, out, err)
	}
	return out
}

// jobRequests is the runner's GET of its backend's active job requests, with its Flags header: their ids.
func (r *runnerClient) jobRequests(token, flags string) []string {
	r.t.Helper()
	var page struct {
		Results []struct {
			Identifier string `json:"identifier"`
		} `json:"results"`
	}
	if err := json.Unmarshal(r.call(http.MethodGet, "/api/v2/job-requests/", token, flags, ""), &page); err != nil {
		r.t.Fatal(err)
	}
	var ids []string
	for _, jr := range page.Results {
		ids = append(ids, jr.Identifier)
	}
	return ids
}

// postJobs is the runner's POST of the jobs of one request, one job a status, in the order given.
func (r *runnerClient) postJobs(token, flags, requestID string, statuses ...string) {
	r.t.Helper()
	var jobs []map[string]any
	for i, s := range statuses {
		var completed any
		if domain.IsTerminalJobStatus(s) {
			completed = "2026-11-24T19:10:00Z"
		}
		jobs = append(jobs, map[string]any{
			"identifier": fmt.Sprintf("%s%02d", requestID[:14], i), "job_request_id": requestID,
			"action": fmt.Sprintf("action_%d", i), "run_command": "python:v2 analysis/a.py", "status": s, "status_code": s,
			"status_message": s, "created_at": "2026-11-24T19:04:38Z", "updated_at": "2026-11-24T19:04:38Z",
			"started_at": nil, "completed_at": completed, "trace_context": map[string]any{}, "metrics": map[string]any{},
			"requires_db": false,
		})
	}
	body, err := json.Marshal(jobs)
	if err != nil {
		r.t.Fatal(err)
	}
	r.call(http.MethodPost, "/api/v2/jobs/", token, flags, string(body))
}

// runnerAPI mounts the runner API on the env's event store and read models, on a server of its own (as
// production serves it beside the pages), and returns a runner calling it at the time of its clock.
func (e *env) runnerAPI() *runnerClient {
	e.t.Helper()
	r := &runnerClient{t: e.t}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	kit := commands.Kit{Log: commands.NewEventLog(e.store, domain.Events, time.Now), Logger: logger}
	api := runnerapi.Routes(runnerapi.Options{Logger: logger, Views: e.wsViews, Runners: runners.New(kit),
		Authenticate: func(ctx context.Context, token string) (string, bool, error) {
			return identity.BackendForToken(ctx, e.store, token)
		},
		Now: r.now})
	srv := httptest.NewServer(server.New(server.Options{Logger: logger, Pool: e.pool, API: api}))
	e.t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}
