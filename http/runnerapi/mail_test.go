package runnerapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	identitycmd "github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/commands/notifications"
	"github.com/mediciasafely/jobserver/commands/runners"
	wscmd "github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/http/runnerapi"
	"github.com/mediciasafely/jobserver/http/server"
	"github.com/mediciasafely/jobserver/integrations/mail"
	"github.com/mediciasafely/jobserver/internal/pgtest"
	"github.com/mediciasafely/jobserver/internal/smtpfake"
	"github.com/mediciasafely/jobserver/projections"
	"github.com/mediciasafely/jobserver/projections/workspaces"
)

// TestAJobTheRunnerReportsFinishedIsMailedOnce: the whole path of the e-mail on a job's completion, as
// the server wires it. A researcher asks to be notified; the backend's runner reports, through POST
// /api/v2/jobs/, the job running and then succeeded; the mail reactor sends one mail over SMTP, linking to
// the job's page. The runner repeating its identical report, and the server restarting the reactor, send
// no second one.
func TestAJobTheRunnerReportsFinishedIsMailedOnce(t *testing.T) {
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

	// Ada, with an address, in a project of an organisation, and a member of the backend tpp.
	cli := commands.CLIActor
	ada, err := id.SignInWithGitHub.Handle(ctx, identitycmd.SignInWithGitHub{GitHubID: 7, Login: "ada", Name: "Ada",
		Email: "ada@uni.example"})
	must(err)
	org, err := id.CreateOrg.Handle(ctx, identitycmd.CreateOrg{Actor: cli, Name: "University of X"})
	must(err)
	project, err := id.CreateProject.Handle(ctx, identitycmd.CreateProject{Actor: cli, Name: "Project 2", OrgID: org.ID})
	must(err)
	_, err = id.AddProjectMember.Handle(ctx, identitycmd.AddProjectMember{Actor: cli, ProjectID: project.ID, UserID: ada.UserID,
		Roles: []domain.Role{domain.ProjectDeveloper}})
	must(err)
	backend, err := id.CreateBackend.Handle(ctx, identitycmd.CreateBackend{Actor: cli, Slug: "tpp", Name: "TPP"})
	must(err)
	_, err = id.AddBackendMember.Handle(ctx, identitycmd.AddBackendMember{Actor: cli, BackendID: backend.BackendID, UserID: ada.UserID})
	must(err)
	as := commands.UserActor(ada.UserID)
	_, err = ws.SaveGitHubToken.Handle(ctx, wscmd.SaveGitHubToken{Actor: as, Token: "ghp_x"})
	must(err)
	created, err := ws.CreateWorkspace.Handle(ctx, wscmd.CreateWorkspace{Actor: as, ProjectID: project.ID, Name: "project2workspace",
		RepoURL: "https://github.com/opensafely/test-study", Branch: "main"})
	must(err)
	requested, err := ws.RequestJobs.Handle(ctx, wscmd.RequestJobs{Actor: as, WorkspaceID: created.WorkspaceID,
		BackendID: backend.BackendID, SHA: "9e9b68563d90707f3903dec925526ca4601a4e26", Actions: []string{"describe_cohort"},
		WillNotify: true})
	must(err)

	// The server: the read models, the runner API, and the mail reactor on an SMTP server.
	runner := projections.NewRunner(pool, store, domain.Events, logger, workspaces.Projectors()...)
	must(runner.Prepare(ctx))
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = runner.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })
	must(runner.WaitFor(ctx, requested.Position, workspaces.WorkspacesProjector))
	api := runnerapi.Routes(runnerapi.Options{Logger: logger, Views: workspaces.NewQueries(pool),
		Runners: runners.New(kit),
		Authenticate: func(ctx context.Context, token string) (string, bool, error) {
			return identitycmd.BackendForToken(ctx, store, token)
		}})
	srv := httptest.NewServer(server.New(server.Options{Logger: logger, Pool: pool, API: api}))
	t.Cleanup(srv.Close)

	const baseURL = "https://jobs.example.org"
	smtp := smtpfake.Start(t)
	mailer, err := mail.NewSMTP(mail.Config{URL: smtp.URL(), From: mail.DefaultFrom(baseURL), Timeout: 5 * time.Second})
	must(err)
	notifier := notifications.New(kit, mailer, baseURL)
	newReactors := func() *projections.Reactors {
		return projections.NewReactors(pool, store, domain.Events, logger,
			projections.ReactorOptions{InitialBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Standby: 50 * time.Millisecond},
			projections.DefineReactor(notifications.ReactorName, notifications.Handles(), func(ctx context.Context, e projections.Event) error {
				return notifier.React(ctx, e.Payload, e.ID.String())
			}))
	}
	startReactors := func() (*projections.Reactors, func()) {
		t.Helper()
		r := newReactors()
		must(r.Prepare(ctx))
		rctx, stop := context.WithCancel(ctx)
		stopped := make(chan struct{})
		go func() { _ = r.Run(rctx); close(stopped) }()
		once := func() { stop(); <-stopped }
		t.Cleanup(once)
		return r, once
	}
	_, stop := startReactors()

	post := func(body string) {
		t.Helper()
		if status, got := call(t, "POST", srv.URL+runnerapi.JobsPath, backend.Token, nil, body); status != 200 {
			t.Fatalf("POST: %d %v", status, got)
		}
	}
	job := func(status, code, completed string) string {
		return `[{"identifier": "rfzajqkfrp766yxc", "job_request_id": "` + requested.JobRequestID + `", "action": "describe_cohort",
			"run_command": "python:v2 analysis/analyse.py", "status": "` + status + `", "status_code": "` + code + `",
			"status_message": "Completed successfully", "created_at": "2026-11-24T19:04:38Z", "updated_at": "2026-11-24T19:09:38Z",
			"started_at": "2026-11-24T19:05:00Z", "completed_at": ` + completed + `, "trace_context": {}, "metrics": {},
			"requires_db": false}]`
	}
	post(job("running", "executing", "null"))
	finished := job("succeeded", "succeeded", `"2026-11-24T19:09:38Z"`)
	post(finished)

	mails := smtp.WaitFor(t, 1, 15*time.Second)
	m := mails[0]
	if len(m.To) != 1 || m.To[0] != "ada@uni.example" ||
		m.Header.Get("Subject") != "Job describe_cohort succeeded in workspace project2workspace" {
		t.Errorf("mail to %q, subject %q", m.To, m.Header.Get("Subject"))
	}
	link := baseURL + "/university-of-x/project-2/project2workspace/" + requested.JobRequestID + "/rfzajqkfrp766yxc"
	if !strings.Contains(m.Body, link) || !strings.Contains(m.Body, "Completed successfully") {
		t.Errorf("the mail lacks the link to the job's page %s or its message:\n%s", link, m.Body)
	}

	// The runner repeats its report, identical; the server restarts the reactor; the runner repeats it
	// again. Then a report with another job, not finished: once the reactor is past it, it has seen
	// everything before it.
	post(finished)
	stop()
	r2, _ := startReactors()
	post(finished)
	other := strings.Replace(strings.Replace(job("pending", "created", "null"), "rfzajqkfrp766yxc", "itq647utyj25vrhv", 1),
		`"describe_cohort"`, `"generate_dataset"`, 1)
	post(strings.TrimSuffix(finished, "]") + "," + strings.TrimPrefix(other, "["))
	last, err := store.ReadStream(ctx, domain.JobRequestStream(requested.JobRequestID))
	must(err)
	if got := len(last); got != 4 {
		t.Errorf("the request's stream has %d events, want 4 (requested, running, succeeded, the other job)", got)
	}
	end := last[len(last)-1].Position
	deadline := time.Now().Add(15 * time.Second)
	for {
		at, err := r2.Checkpoint(ctx, notifications.ReactorName)
		must(err)
		if !at.Less(end) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted reactor did not reach %s (at %s)", end, at)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(smtp.Mails()); n != 1 {
		t.Fatalf("%d mails after repeated reports and a restart, want 1", n)
	}
}
