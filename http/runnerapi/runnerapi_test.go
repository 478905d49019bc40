package runnerapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mediciasafely/jobserver/commands"
	identitycmd "github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/commands/runners"
	wscmd "github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/http/runnerapi"
	"github.com/mediciasafely/jobserver/http/server"
	"github.com/mediciasafely/jobserver/internal/githubfake"
	"github.com/mediciasafely/jobserver/internal/pgtest"
	"github.com/mediciasafely/jobserver/projections"
	"github.com/mediciasafely/jobserver/projections/workspaces"
)

type gitHub struct{}

func (gitHub) TokenLogin(context.Context, string) (string, error)              { return "alice", nil }
func (gitHub) Repository(_ context.Context, _, repoURL string) (string, error) { return repoURL, nil }
func (gitHub) BranchHead(context.Context, string, string, string) (string, error) {
	return "9e9b68563d90707f3903dec925526ca4601a4e26", nil
}
func (gitHub) File(context.Context, string, string, string, string) ([]byte, error) {
	return []byte(githubfake.DemoFiles()["project.yaml"]), nil
}

type world struct {
	url, token, otherToken string
	requestID, backendID   string
	pool                   *pgxpool.Pool
	kit                    commands.Kit
	ws                     *wscmd.Commands
	alice                  commands.Actor
	store                  *pgstore.Store
}

// setup is a backend (tpp, and another, emis), Alice (alice@uni.example), a Project Developer of Test Project
// in Test Org and a member of tpp, her workspace test-ws and her job request on tpp (notify asks for e-mail on
// its jobs' completion), the workspaces read model following the log, and the runner API on a test server.
func setup(t *testing.T, notify bool) world {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	store := pgstore.New(pool)
	t.Cleanup(store.Close)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	kit := commands.Kit{Log: commands.NewEventLog(store, domain.Events, time.Now), Logger: logger}
	id := identitycmd.New(kit)
	ring, err := commands.NewKeyring([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	ws := wscmd.New(kit, gitHub{}, ring)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	cli := commands.CLIActor
	alice, err := id.SignInWithGitHub.Handle(ctx, identitycmd.SignInWithGitHub{GitHubID: 1, Login: "alice", Name: "Alice",
		Email: "alice@uni.example"})
	must(err)
	org, err := id.CreateOrg.Handle(ctx, identitycmd.CreateOrg{Actor: cli, Name: "Test Org"})
	must(err)
	project, err := id.CreateProject.Handle(ctx, identitycmd.CreateProject{Actor: cli, Name: "Test Project", OrgID: org.ID})
	must(err)
	_, err = id.AddProjectMember.Handle(ctx, identitycmd.AddProjectMember{Actor: cli, ProjectID: project.ID, UserID: alice.UserID,
		Roles: []domain.Role{domain.ProjectDeveloper}})
	must(err)
	backend, err := id.CreateBackend.Handle(ctx, identitycmd.CreateBackend{Actor: cli, Slug: "tpp", Name: "TPP"})
	must(err)
	other, err := id.CreateBackend.Handle(ctx, identitycmd.CreateBackend{Actor: cli, Slug: "emis", Name: "EMIS"})
	must(err)
	_, err = id.AddBackendMember.Handle(ctx, identitycmd.AddBackendMember{Actor: cli, BackendID: backend.BackendID, UserID: alice.UserID})
	must(err)
	as := commands.UserActor(alice.UserID)
	_, err = ws.SaveGitHubToken.Handle(ctx, wscmd.SaveGitHubToken{Actor: as, Token: "ghp_x"})
	must(err)
	created, err := ws.CreateWorkspace.Handle(ctx, wscmd.CreateWorkspace{Actor: as, ProjectID: project.ID, Name: "test-ws",
		RepoURL: "https://github.com/opensafely/test-study", Branch: "main"})
	must(err)
	requested, err := ws.RequestJobs.Handle(ctx, wscmd.RequestJobs{Actor: as, WorkspaceID: created.WorkspaceID,
		BackendID: backend.BackendID, SHA: "9e9b68563d90707f3903dec925526ca4601a4e26", Actions: []string{"describe_cohort"},
		WillNotify: notify})
	must(err)

	runner := projections.NewRunner(pool, store, domain.Events, logger, workspaces.Projectors()...)
	must(runner.Prepare(ctx))
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = runner.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })
	must(runner.WaitFor(ctx, requested.Position, workspaces.WorkspacesProjector))

	views := workspaces.NewQueries(pool)
	api := runnerapi.Routes(runnerapi.Options{Logger: logger, Views: views, BodyLimit: 64 << 10,
		Runners: runners.New(kit),
		Authenticate: func(ctx context.Context, token string) (string, bool, error) {
			return identitycmd.BackendForToken(ctx, store, token)
		}})
	srv := httptest.NewServer(server.New(server.Options{Logger: logger, Pool: pool, API: api}))
	t.Cleanup(srv.Close)
	return world{url: srv.URL, token: backend.Token, otherToken: other.Token, requestID: requested.JobRequestID, backendID: backend.BackendID, ws: ws,
		alice: as, store: store, pool: pool, kit: kit}
}

// call sends a request as the real client does and returns the status and decoded JSON body.
func call(t *testing.T, method, url, token string, headers map[string]string, body string) (int, any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "\x00" {
		req.Header.Set("Authorization", token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: Content-Type %q", method, url, ct)
	}
	var v any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Errorf("%s %s: body is not JSON: %v", method, url, err)
	}
	return resp.StatusCode, v
}

func (w world) streamTypes(t *testing.T) []string {
	events, err := w.store.ReadStream(context.Background(), domain.JobRequestStream(w.requestID))
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range events {
		types = append(types, e.Type)
	}
	return types
}

func jobsBody(requestID, status1, code1 string) string {
	return `[
 {"identifier": "rfzajqkfrp766yxc", "job_request_id": "` + requestID + `", "action": "generate_dataset",
  "run_command": "ehrql:v1 generate-dataset analysis/dataset_definition.py --output output/dataset.csv.gz",
  "status": "` + status1 + `", "status_code": "` + code1 + `", "status_message": "Created",
  "created_at": "2026-11-24T19:04:38Z", "updated_at": "2026-11-24T19:04:38Z",
  "started_at": null, "completed_at": null,
  "trace_context": {"traceparent": "00-c4eb9fa80fdfb7ffd6fd46b96783ab1b-9bd8baaad76c3fcb-01"},
  "metrics": {}, "requires_db": 1},
 {"identifier": "itq647utyj25vrhv", "job_request_id": "` + requestID + `", "action": "describe_cohort",
  "run_command": "python:v2 analysis/analyse.py", "status": "pending", "status_code": "created",
  "status_message": "Created", "created_at": "2026-11-24T19:04:38.000+00:00", "updated_at": "2026-11-24T20:04:38+01:00",
  "started_at": null, "completed_at": null, "trace_context": {"traceparent": "00-d63c-a4e1-01"},
  "metrics": {}, "requires_db": false},
 {"identifier": "tvknwnbmx3zilrca", "job_request_id": "badbadbadbadbad2", "action": "__error__",
  "run_command": null, "status": "failed", "status_code": "internal_error",
  "status_message": "GithubValidationError: Could not find commit on branch 'main': 0000000000000000000000000000000000000000",
  "created_at": "2026-11-24T19:04:38Z", "updated_at": "2026-11-24T19:04:38Z",
  "started_at": "2026-11-24T19:04:38Z", "completed_at": "2026-11-24T19:04:38Z",
  "trace_context": {"traceparent": "00-5d61-6ce4-01"}, "metrics": {}, "requires_db": null}
]`
}

func TestTheRealClientsTraffic(t *testing.T) {
	w := setup(t, false)
	flags := map[string]string{"Flags": `{"paused":{"v":"true","ts":"2026-11-24T19:05:14.705266Z"},"mode":{"v":null,"ts":"2026-11-24T19:05:14.706535Z"}}`}

	// 1. The runner polls: the new request, with every field it needs.
	status, body := call(t, "GET", w.url+runnerapi.JobRequestsPath+"?backend=tpp", w.token, flags, "")
	if status != 200 {
		t.Fatalf("GET: %d %v", status, body)
	}
	page := body.(map[string]any)
	results := page["results"].([]any)
	if page["count"].(float64) != 1 || page["next"] != nil || page["previous"] != nil || len(results) != 1 {
		t.Fatalf("page: %v", page)
	}
	jr := results[0].(map[string]any)
	for _, k := range []string{"backend", "sha", "identifier", "force_run_dependencies", "requested_actions", "cancelled_actions",
		"created_by", "created_at", "workspace", "database_name", "project", "orgs", "codelists_ok"} {
		if v, ok := jr[k]; !ok || v == nil {
			t.Errorf("job request field %s: %v", k, v)
		}
	}
	wsj := jr["workspace"].(map[string]any)
	if jr["identifier"] != w.requestID || jr["backend"] != "tpp" || jr["created_by"] != "alice" || jr["database_name"] != "default" ||
		wsj["name"] != "test-ws" || wsj["branch"] != "main" || wsj["repo"] != "https://github.com/opensafely/test-study" {
		t.Errorf("job request: %v", jr)
	}

	// 2. It posts its jobs (one of an unknown request, an __error__ job), four times over.
	for i := range 4 {
		status, body = call(t, "POST", w.url+runnerapi.JobsPath, w.token, flags, jobsBody(w.requestID, "pending", "created"))
		if status != 200 || body.(map[string]any)["status"] != "success" {
			t.Fatalf("POST %d: %d %v", i, status, body)
		}
	}
	want := "JobRequested JobStatusChanged JobStatusChanged"
	if got := strings.Join(w.streamTypes(t), " "); got != want {
		t.Errorf("after four identical POSTs: %s, want %s", got, want)
	}
	// The backend's own stream reads at once; the global log may still hide what others' transactions hold back.
	backendEvents := 0
	events, _ := w.store.ReadStream(context.Background(), domain.BackendStream(w.backendID))
	for _, e := range events {
		if e.Type == "BackendFlagChanged" {
			backendEvents++
		}
	}
	if backendEvents != 1 {
		t.Errorf("%d flag events, want 1 (paused=true; mode stays unset)", backendEvents)
	}

	// 3. The researcher cancels; the runner sees it in cancelled_actions.
	if _, err := w.ws.CancelJobs.Handle(context.Background(), wscmd.CancelJobs{Actor: w.alice, JobRequestID: w.requestID}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, body = call(t, "GET", w.url+runnerapi.JobRequestsPath, w.token, nil, "")
		results = body.(map[string]any)["results"].([]any)
		if len(results) == 1 && len(results[0].(map[string]any)["cancelled_actions"].([]any)) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cancellation not seen: %v", body)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// 4. One job fails, one succeeds: the request is done and leaves the list.
	done := strings.Replace(jobsBody(w.requestID, "succeeded", "succeeded"), `"status": "pending", "status_code": "created"`,
		`"status": "failed", "status_code": "cancelled_by_user"`, 1)
	if status, body = call(t, "POST", w.url+runnerapi.JobsPath, w.token, nil, done); status != 200 {
		t.Fatalf("POST done: %d %v", status, body)
	}
	// The read models follow the log a moment later; the runner's next GET, seconds later, no longer lists it.
	deadline = time.Now().Add(5 * time.Second)
	for {
		_, body = call(t, "GET", w.url+runnerapi.JobRequestsPath, w.token, nil, "")
		if n := body.(map[string]any)["count"].(float64); n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a finished request is still listed: %v", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	want += " JobActionsCancelled JobStatusChanged JobStatusChanged"
	if got := strings.Join(w.streamTypes(t), " "); got != want {
		t.Errorf("stream: %s, want %s", got, want)
	}

	// 5. Another backend's runner sees nothing of it and changes nothing.
	_, body = call(t, "GET", w.url+runnerapi.JobRequestsPath, w.otherToken, nil, "")
	if n := body.(map[string]any)["count"].(float64); n != 0 {
		t.Errorf("another backend sees: %v", body)
	}
	if status, _ = call(t, "POST", w.url+runnerapi.JobsPath, w.otherToken, nil, jobsBody(w.requestID, "running", "executing")); status != 200 {
		t.Errorf("another backend's POST: %d", status)
	}
	if got := strings.Join(w.streamTypes(t), " "); got != want {
		t.Errorf("another backend changed the stream: %s", got)
	}
}

func TestBadInputs(t *testing.T) {
	w := setup(t, false)
	jobs, requests := w.url+runnerapi.JobsPath, w.url+runnerapi.JobRequestsPath
	cases := []struct {
		name, method, url, token, body string
		status                         int
		contains                       string
	}{
		{"no token", "POST", jobs, "\x00", "[]", 403, "missing"},
		{"an empty token", "POST", jobs, "", "[]", 403, "empty"},
		{"a wrong token", "POST", jobs, "nope", "[]", 403, "Invalid token"},
		{"a wrong token on GET", "GET", requests, "nope", "", 403, "Invalid token"},
		{"GET jobs", "GET", jobs, w.token, "", 405, "not allowed"},
		{"PUT jobs", "PUT", jobs, w.token, "[]", 405, "not allowed"},
		{"POST job requests", "POST", requests, w.token, "[]", 405, "not allowed"},
		{"no trailing slash", "POST", strings.TrimSuffix(jobs, "/"), w.token, "[]", 404, ""},
		{"an object", "POST", jobs, w.token, `{"identifier": "x"}`, 400, "Expected a list"},
		{"no body", "POST", jobs, w.token, "", 400, "Expected a list"},
		{"not JSON", "POST", jobs, w.token, "[{", 400, "JSON parse error"},
		{"a bare item", "POST", jobs, w.token, `[{"action": "a"}]`, 400, "This field is required."},
		{"a string item", "POST", jobs, w.token, `["x"]`, 400, "Expected a dictionary"},
		{"a wrong type", "POST", jobs, w.token, strings.Replace(jobsBody(w.requestID, "pending", "created"), `"status": "pending"`, `"status": 3`, 1), 400, "Not a valid string."},
		{"a bad time", "POST", jobs, w.token, strings.Replace(jobsBody(w.requestID, "pending", "created"), `"created_at": "2026-11-24T19:04:38Z"`, `"created_at": "yesterday"`, 1), 400, "Datetime has wrong format"},
		{"too large", "POST", jobs, w.token, "[" + strings.Repeat(" ", 70<<10) + "]", 413, "larger than"},
		{"an empty list", "POST", jobs, w.token, "[]", 200, "success"},
	}
	for _, c := range cases {
		status, body := call(t, c.method, c.url, c.token, nil, c.body)
		text, _ := json.Marshal(body)
		if status != c.status || !strings.Contains(string(text), c.contains) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, status, text, c.status, c.contains)
		}
	}
	if got := strings.Join(w.streamTypes(t), " "); got != "JobRequested" {
		t.Errorf("bad inputs changed the stream: %s", got)
	}
}
