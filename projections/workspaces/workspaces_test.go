package workspaces_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	identitycmd "github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/commands/runners"
	wscmd "github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/internal/githubfake"
	"github.com/mediciasafely/jobserver/internal/pgtest"
	"github.com/mediciasafely/jobserver/projections"
	"github.com/mediciasafely/jobserver/projections/workspaces"
)

// gitHub answers the workspaces commands as GitHub would for the demo study at one commit.
type gitHub struct{}

func (gitHub) TokenLogin(context.Context, string) (string, error) { return "devon", nil }
func (gitHub) Repository(_ context.Context, _, repoURL string) (string, error) {
	return repoURL, nil
}
func (gitHub) BranchHead(context.Context, string, string, string) (string, error) {
	return "0123456789abcdef0123456789abcdef01234567", nil
}
func (gitHub) File(context.Context, string, string, string, string) ([]byte, error) {
	return []byte(githubfake.DemoFiles()["project.yaml"]), nil
}

func TestTheWorkspacesReadModelShowsWorkspacesAndRequestsAndRebuildsAlike(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	store := pgstore.New(pool)
	t.Cleanup(store.Close)
	kit := commands.Kit{Log: commands.NewEventLog(store, domain.Events, time.Now)}
	id := identitycmd.New(kit)
	ring, err := commands.NewKeyring([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	ws := wscmd.New(kit, gitHub{}, ring)
	var last eventstore.Position
	track := func(res commands.Result, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if last.Less(res.Position) {
			last = res.Position
		}
	}
	cli := commands.CLIActor
	devon, err := id.SignInWithGitHub.Handle(ctx, identitycmd.SignInWithGitHub{GitHubID: 1, Login: "devon", Name: "Devon Tester"})
	track(devon.Result, err)
	org, err := id.CreateOrg.Handle(ctx, identitycmd.CreateOrg{Actor: cli, Name: "MediciaAIOrg2"})
	track(org.Result, err)
	project, err := id.CreateProject.Handle(ctx, identitycmd.CreateProject{Actor: cli, Name: "MyStudy", OrgID: org.ID})
	track(project.Result, err)
	track(id.AddProjectMember.Handle(ctx, identitycmd.AddProjectMember{Actor: cli, ProjectID: project.ID, UserID: devon.UserID,
		Roles: []domain.Role{domain.ProjectDeveloper}}))
	backend, err := id.CreateBackend.Handle(ctx, identitycmd.CreateBackend{Actor: cli, Slug: "rcdemo2", Name: "RC Demo 2"})
	track(backend.Result, err)
	track(id.AddBackendMember.Handle(ctx, identitycmd.AddBackendMember{Actor: cli, BackendID: backend.BackendID, UserID: devon.UserID}))

	as := commands.UserActor(devon.UserID)
	track(ws.SaveGitHubToken.Handle(ctx, wscmd.SaveGitHubToken{Actor: as, Token: "ghp_x"}))
	created, err := ws.CreateWorkspace.Handle(ctx, wscmd.CreateWorkspace{Actor: as, ProjectID: project.ID, Name: "Study1",
		RepoURL: "https://github.com/MediciaAI/TestTeam", Branch: "main"})
	track(created.Result, err)
	track(ws.SetNotifications.Handle(ctx, wscmd.SetNotifications{Actor: as, WorkspaceID: created.WorkspaceID, Notify: false}))
	requested, err := ws.RequestJobs.Handle(ctx, wscmd.RequestJobs{Actor: as, WorkspaceID: created.WorkspaceID,
		BackendID: backend.BackendID, SHA: "0123456789abcdef0123456789abcdef01234567", Actions: []string{"report", "describe_cohort"}})
	track(requested.Result, err)
	track(ws.CancelJobs.Handle(ctx, wscmd.CancelJobs{Actor: as, JobRequestID: requested.JobRequestID, Action: "report"}))
	started := time.Date(2026, 11, 24, 19, 4, 38, 0, time.UTC)
	reported, err := runners.New(kit).RecordJobStatuses.Handle(ctx, runners.RecordJobStatuses{BackendID: backend.BackendID,
		Jobs: []domain.JobReport{
			{JobID: "j2", JobRequestID: requested.JobRequestID, Action: "describe_cohort", Status: "running", StatusCode: "executing",
				CreatedAt: started, StartedAt: &started, Metrics: map[string]any{"cpu_mean": 1.5}},
			{JobID: "j1", JobRequestID: requested.JobRequestID, Action: "generate_dataset", Status: "succeeded", StatusCode: "succeeded",
				StatusMessage: "Completed successfully", CreatedAt: started, CompletedAt: &started},
			{JobID: "j0", JobRequestID: requested.JobRequestID, Action: "gone", Status: "pending", CreatedAt: started},
		}})
	track(reported.Result, err)
	reported, err = runners.New(kit).RecordJobStatuses.Handle(ctx, runners.RecordJobStatuses{BackendID: backend.BackendID,
		Jobs: []domain.JobReport{
			{JobID: "j2", JobRequestID: requested.JobRequestID, Action: "describe_cohort", Status: "running", StatusCode: "executing",
				CreatedAt: started, StartedAt: &started, Metrics: map[string]any{"cpu_mean": 1.5}},
			{JobID: "j1", JobRequestID: requested.JobRequestID, Action: "generate_dataset", Status: "succeeded", StatusCode: "succeeded",
				StatusMessage: "Completed successfully", CreatedAt: started, CompletedAt: &started},
		}})
	track(reported.Result, err)
	track(ws.ArchiveWorkspace.Handle(ctx, wscmd.ArchiveWorkspace{Actor: as, WorkspaceID: created.WorkspaceID, Archived: true}))
	track(id.RenameProject.Handle(ctx, identitycmd.RenameProject{Actor: cli, ProjectID: project.ID, Name: "My Study"}))

	pgtest.WaitVisible(t, store, last)
	runner := projections.NewRunner(pool, store, domain.Events, slog.New(slog.NewTextHandler(io.Discard, nil)), workspaces.Projectors()...)
	if err := runner.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	q := workspaces.NewQueries(pool)

	list, err := q.ProjectWorkspaces(ctx, project.ID)
	if err != nil || len(list.Workspaces) != 1 || len(list.Repos) != 1 || list.Repos[0].Workspaces[0] != "study1" {
		t.Fatalf("project's workspaces: %+v, %v", list, err)
	}
	logs, err := q.LogsPage(ctx, "MediciaAIOrg2", "mystudy", "STUDY1", devon.UserID)
	if err != nil {
		t.Fatal(err)
	}
	w := logs.Workspace
	if w.Name != "study1" || !w.Archived || w.Notify || w.CreatedByName != "Devon Tester" || logs.Project.Name != "My Study" ||
		!logs.Viewer.Has(domain.JobRun) {
		t.Errorf("workspace: %+v in %+v, viewer %v", w, logs.Project, logs.Viewer)
	}
	if len(logs.JobRequests) != 1 {
		t.Fatalf("job requests: %+v", logs.JobRequests)
	}
	j := logs.JobRequests[0]
	if len(j.Jobs) != 2 || j.Jobs[0].Action != "describe_cohort" || j.Jobs[1].Status != "succeeded" {
		t.Errorf("jobs: %+v", j.Jobs)
	}
	active, count, err := q.ActiveJobRequests(ctx, backend.BackendID, 100, 0)
	if err != nil || count != 1 || len(active) != 1 {
		t.Fatalf("active job requests: %+v %d %v", active, count, err)
	}
	if a := active[0]; a.ID != requested.JobRequestID || a.BackendSlug != "rcdemo2" || a.CreatedBy != "devon" ||
		a.WorkspaceName != "study1" || a.WorkspaceCreatedBy != "devon" || a.WorkspaceBranch != "main" || a.ProjectSlug != "mystudy" ||
		len(a.OrgSlugs) != 1 || a.DatabaseName != "default" || !a.CodelistsOK || len(a.CancelledActions) != 1 {
		t.Errorf("active job request: %+v", a)
	}
	if none, count, err := q.ActiveJobRequests(ctx, "nobody", 100, 0); err != nil || count != 0 || len(none) != 0 {
		t.Errorf("another backend's: %+v %d %v", none, count, err)
	}
	if j.BackendName != "RC Demo 2" || j.RequestedByName != "Devon Tester" || j.Status != "running" ||
		len(j.CancelledActions) != 1 || j.CancelledActions[0] != "report" || j.AllCancelled() || !j.MayCancel(logs.WorkspacePage) {
		t.Errorf("job request: %+v", j)
	}
	if fp, err := q.GitHubTokenFingerprint(ctx, devon.UserID); err != nil || fp == "" {
		t.Errorf("token fingerprint %q, %v", fp, err)
	}
	if _, err := q.WorkspacePage(ctx, "mediciaaiorg2", "mystudy", "nope", ""); domain.KindOf(err) != domain.KindNotFound {
		t.Errorf("a missing workspace: %v", err)
	}

	for _, p := range runner.Projectors() {
		diffs, err := runner.Verify(ctx, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range diffs {
			t.Errorf("%s.%s %s: %s", d.Projector, d.Table, d.Side, d.Row)
		}
	}
}
