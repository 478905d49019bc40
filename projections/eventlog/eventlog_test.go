package eventlog_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/internal/pgtest"
	"github.com/mediciasafely/jobserver/projections"
	"github.com/mediciasafely/jobserver/projections/eventlog"
)

func TestTheEventLogDerivesARequestsStatusAndTimesFromItsJobsAndRebuildsAlike(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	store := pgstore.New(pool)
	t.Cleanup(store.Close)
	log := commands.NewEventLog(store, domain.Events, time.Now)
	var last eventstore.Position
	appendTo := func(stream string, events ...domain.Event) {
		t.Helper()
		res, err := log.Append(ctx, commands.CLIActor, []commands.Write{{Stream: stream, Expected: eventstore.Any, Events: events}})
		if err != nil {
			t.Fatal(err)
		}
		if last.Less(res.Position) {
			last = res.Position
		}
	}

	const org, project, workspace, backend, request = "org1", "project1", "workspace1", "backend1", "request1"
	appendTo(domain.OrgStream(org), domain.OrgCreated{OrgID: org, Slug: "medicia", Name: "Medicia AI"})
	appendTo(domain.BackendStream(backend), domain.BackendCreated{BackendID: backend, Slug: "rcdemo2", Name: "RC Demo 2"})
	appendTo(domain.ProjectStream(project), domain.ProjectCreated{ProjectID: project, Slug: "mystudy", Name: "My Study", OrgID: org})
	appendTo(domain.WorkspaceStream(workspace), domain.WorkspaceCreated{WorkspaceID: workspace, ProjectID: project, Name: "study1",
		RepoURL: "https://github.com/MediciaAI/TestTeam", Branch: "main", CreatedBy: "user1"})
	appendTo(domain.JobRequestStream(request), domain.JobRequested{JobRequestID: request, WorkspaceID: workspace, ProjectID: project,
		BackendID: backend, SHA: "0123456789abcdef", RequestedActions: []string{"generate_dataset", "report"},
		ProjectDefinition: "version: '4.0'", RequestedBy: "user1"})

	created := time.Date(2026, 11, 24, 19, 0, 0, 0, time.UTC)
	started := created.Add(time.Minute)
	started2 := started.Add(30 * time.Second)
	done := started.Add(90 * time.Second)
	done2 := started2.Add(2 * time.Minute)
	job := func(id, action, status string, updated time.Time, start, end *time.Time) domain.JobStatusChanged {
		return domain.JobStatusChanged{JobRequestID: request, JobID: id, Action: action, RunCommand: action + " --run",
			Status: status, StatusCode: status, CreatedAt: created, UpdatedAt: &updated, StartedAt: start, CompletedAt: end,
			Finished:     domain.IsTerminalJobStatus(status),
			TraceContext: map[string]any{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
	}
	appendTo(domain.JobRequestStream(request),
		job("job1", "generate_dataset", domain.JobRunning, started, &started, nil),
		job("job2", "report", domain.JobPending, created, nil, nil))

	runner := projections.NewRunner(pool, store, domain.Events, slog.New(slog.NewTextHandler(io.Discard, nil)), eventlog.Projectors()...)
	q := eventlog.NewQueries(pool)
	prepare := func() {
		t.Helper()
		pgtest.WaitVisible(t, store, last)
		if err := runner.Prepare(ctx); err != nil {
			t.Fatal(err)
		}
	}
	prepare()

	r, jobs, err := q.Jobs(ctx, request)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != domain.JobRunning || !r.Active || r.NumJobs != 2 || len(jobs) != 2 {
		t.Fatalf("while running: %+v with %d jobs", r, len(jobs))
	}
	if r.StartedAt == nil || !r.StartedAt.Equal(started) || r.CompletedAt != nil {
		t.Errorf("while running: started %v, completed %v", r.StartedAt, r.CompletedAt)
	}
	if jobs[0].ID != "job1" || jobs[0].TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" || jobs[0].Finished() {
		t.Errorf("running job: %+v", jobs[0])
	}
	if got := jobs[0].Runtime(started.Add(10 * time.Second)); got != 10*time.Second {
		t.Errorf("running job's runtime so far: %v", got)
	}
	if r.Workspace != "study1" || r.Project != "My Study" || r.OrgSlug != "medicia" || r.Backend != "RC Demo 2" {
		t.Errorf("names: %+v", r)
	}

	// Both jobs finish: the request has succeeded, started with its first job and completed with its last.
	appendTo(domain.JobRequestStream(request),
		job("job1", "generate_dataset", domain.JobSucceeded, done, &started, &done),
		job("job2", "report", domain.JobRunning, started2, &started2, nil))
	appendTo(domain.JobRequestStream(request), job("job2", "report", domain.JobSucceeded, done2, &started2, &done2))
	prepare()

	page, err := q.Request(ctx, "medicia", "mystudy", "study1", request, "")
	if err != nil {
		t.Fatal(err)
	}
	r = page.Request
	if r.Status != domain.JobSucceeded || r.Active || !r.Finished() || r.NumJobs != 2 || len(page.Jobs) != 2 {
		t.Fatalf("finished: %+v with %d jobs", r, len(page.Jobs))
	}
	if r.StartedAt == nil || !r.StartedAt.Equal(started) || r.CompletedAt == nil || !r.CompletedAt.Equal(done2) ||
		r.LastUpdate == nil || !r.LastUpdate.Equal(done2) {
		t.Errorf("finished: started %v, completed %v, last update %v", r.StartedAt, r.CompletedAt, r.LastUpdate)
	}
	if got := page.Runtime(); got != 90*time.Second+2*time.Minute {
		t.Errorf("runtime: %v", got)
	}
	if got := page.Jobs[0].Runtime(time.Now()); page.Jobs[0].ID != "job1" || got != 90*time.Second {
		t.Errorf("first job's runtime: %s %v", page.Jobs[0].ID, got)
	}
	if c := page.Counts(); c[domain.JobSucceeded] != 2 || len(c) != 1 {
		t.Errorf("counts: %v", c)
	}
	if page.ProjectDefinition != "version: '4.0'" {
		t.Errorf("project definition: %q", page.ProjectDefinition)
	}
	logPage, err := q.Log(ctx, eventlog.Filter{Status: domain.JobSucceeded, Workspace: "Study1"}, nil, nil, 25)
	if err != nil || len(logPage.Requests) != 1 || logPage.Requests[0].ID != request {
		t.Errorf("log filtered by status and workspace: %+v %v", logPage.Requests, err)
	}

	for _, p := range runner.Projectors() {
		diffs, err := runner.Verify(ctx, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(diffs) != 0 {
			t.Errorf("%s: the rebuild differs from the live tables: %+v", p.Name(), diffs)
		}
	}
}

func TestTheLogsUserMenuListsOnlyThePeopleWhoRequestedJobsAndItsPlansCanBeRead(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	store := pgstore.New(pool)
	t.Cleanup(store.Close)
	log := commands.NewEventLog(store, domain.Events, time.Now)
	var writes []commands.Write
	add := func(stream string, e domain.Event) {
		writes = append(writes, commands.Write{Stream: stream, Expected: eventstore.NoStream, Events: []domain.Event{e}})
	}
	add(domain.UserStream("user1"), domain.UserRegistered{UserID: "user1", Profile: domain.NewPersonal("user1", domain.GitHubProfile{ID: 1, Login: "ada", Name: "Ada Lovelace"})})
	add(domain.UserStream("user2"), domain.UserRegistered{UserID: "user2", Profile: domain.NewPersonal("user2", domain.GitHubProfile{ID: 2, Login: "bob"})})
	add(domain.JobRequestStream("request1"), domain.JobRequested{JobRequestID: "request1", WorkspaceID: "workspace1",
		ProjectID: "project1", BackendID: "backend1", SHA: "0123456789abcdef", RequestedActions: []string{"report"}, RequestedBy: "user1"})
	res, err := log.Append(ctx, commands.CLIActor, writes)
	if err != nil {
		t.Fatal(err)
	}
	pgtest.WaitVisible(t, store, res.Position)
	if err := projections.NewRunner(pool, store, domain.Events, slog.New(slog.NewTextHandler(io.Discard, nil)),
		eventlog.Projectors()...).Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	q := eventlog.NewQueries(pool)

	menus, err := q.Menus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []eventlog.Option{{Value: "ada", Label: "Ada Lovelace"}}; !slices.Equal(menus.Users, want) {
		t.Errorf("user menu %v, want %v (bob has requested nothing)", menus.Users, want)
	}
	plans, err := q.ExplainLog(ctx, eventlog.Filter{User: "ada", Status: domain.JobPending}, nil, nil, 25)
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) != 2 {
		t.Fatalf("%d plans, want one for the requests and one for the menus", len(plans))
	}
	for _, p := range plans {
		if !strings.Contains(p, "Execution Time") || !strings.Contains(p, "Buffers") {
			t.Errorf("not an EXPLAIN (ANALYZE, BUFFERS):\n%s", p)
		}
	}
}
