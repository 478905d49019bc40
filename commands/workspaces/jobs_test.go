package workspaces_test

import (
	"context"
	"regexp"
	"slices"
	"testing"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/internal/githubfake"
)

// withAction is the demo study with one more action.
func withAction(name string) map[string]string {
	files := githubfake.DemoFiles()
	files["project.yaml"] += "\n  " + name + ":\n    run: python:v2 analysis/" + name + ".py\n    needs: [report]\n    outputs:\n      moderately_sensitive:\n        extra: output/" + name + ".csv\n"
	return files
}

func TestRunJobsReadsProjectYamlAtTheBranchHead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)

	file := must(w.ReadProjectFile(ctx, w.dev, w.workspaceID, devToken))(t)
	if file.SHA != w.demoSHA || file.Project == nil || len(file.Problems) != 0 || file.Text != githubfake.DemoFiles()["project.yaml"] {
		t.Fatalf("read %+v", file)
	}
	head := w.fake.Push(demoRepo, "main", "Add extra", withAction("extra"))
	file = must(w.ReadProjectFile(ctx, w.dev, w.workspaceID, devToken))(t)
	if file.SHA != head || !slices.Contains(file.Project.ActionNames(), "extra") {
		t.Fatalf("after a push, read at %s with actions %v; want %s with extra", file.SHA, file.Project.ActionNames(), head)
	}
}

func TestABrokenProjectYamlGivesItsProblemsWithActionAndLine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	head := w.fake.Push(demoRepo, "main", "Break it", map[string]string{
		"project.yaml": "version: '4.0'\nactions:\n  analyse:\n    run: python:v2 analysis/a.py\n    needs: [missing]\n    outputs:\n      moderately_sensitive:\n        table: output/t.csv\n",
	})
	file := must(w.ReadProjectFile(ctx, w.dev, w.workspaceID, devToken))(t)
	if file.SHA != head || file.Project != nil || len(file.Problems) == 0 {
		t.Fatalf("read %+v", file)
	}
	p := file.Problems[0]
	if p.Action != "analyse" || p.Line == 0 || p.Message == "" {
		t.Fatalf("problem %+v, want one on action analyse with a line", p)
	}

	// Submitting that commit is refused on the server too.
	_, err := w.RequestJobs.Handle(ctx, workspaces.RequestJobs{Actor: w.dev, WorkspaceID: w.workspaceID, BackendID: w.backendID, SHA: head, Actions: []string{"analyse"}, Token: devToken})
	wantField(t, err, domain.KindInvalid, "project_yaml", "problems")
}

func TestReadingProjectYamlExplainsWhatIsMissing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)

	w.fake.Push(demoRepo, "main", "Remove project.yaml", map[string]string{"README.md": "nothing to run\n"})
	_, err := w.ReadProjectFile(ctx, w.dev, w.workspaceID, devToken)
	wantField(t, err, domain.KindInvalid, "project_yaml", "no project.yaml")

	w.fake.DeleteBranch(demoRepo, "main")
	_, err = w.ReadProjectFile(ctx, w.dev, w.workspaceID, devToken)
	wantField(t, err, domain.KindInvalid, "branch", "no branch of this name")

	_, err = w.ReadProjectFile(ctx, w.dev, w.workspaceID, "")
	wantField(t, err, domain.KindInvalid, "token", "needs a GitHub personal access token")

	w.fake.RevokeToken(devToken)
	_, err = w.ReadProjectFile(ctx, w.dev, w.workspaceID, devToken)
	wantField(t, err, domain.KindInvalid, "token", "GitHub refused the token")

	_, err = w.ReadProjectFile(ctx, w.dev, "no-such-workspace", devToken)
	wantField(t, err, domain.KindNotFound, "")
}

func TestWhoMayNotRunJobsIsRefusedBeforeAnyCallReachesGitHub(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	calls, before := w.githubCalls(), len(w.events(t))
	for _, actor := range []commands.Actor{w.collab, commands.Anonymous} {
		_, err := w.ReadProjectFile(ctx, actor, w.workspaceID, devToken)
		wantField(t, err, domain.KindForbidden, "")
		_, err = w.RequestJobs.Handle(ctx, workspaces.RequestJobs{Actor: actor, WorkspaceID: w.workspaceID, BackendID: w.backendID, SHA: w.demoSHA, Actions: []string{"report"}, Token: devToken})
		wantField(t, err, domain.KindForbidden, "")
	}

	// An archived workspace runs nothing, for anyone.
	must(w.ArchiveWorkspace.Handle(ctx, workspaces.ArchiveWorkspace{Actor: w.dev, WorkspaceID: w.workspaceID, Archived: true}))(t)
	before++
	_, err := w.ReadProjectFile(ctx, w.dev, w.workspaceID, devToken)
	wantField(t, err, domain.KindForbidden, "")
	_, err = w.RequestJobs.Handle(ctx, workspaces.RequestJobs{Actor: w.dev, WorkspaceID: w.workspaceID, BackendID: w.backendID, SHA: w.demoSHA, Actions: []string{"report"}, Token: devToken})
	wantField(t, err, domain.KindForbidden, "")
	if err.Error() != "This workspace is archived, so it cannot run jobs. Unarchive it first." {
		t.Fatalf("archived: %v", err)
	}
	if n := w.githubCalls() - calls; n != 0 {
		t.Fatalf("%d calls reached GitHub", n)
	}
	if after := len(w.events(t)); after != before {
		t.Fatalf("%d events appended", after-before)
	}
}

var jobRequestID = regexp.MustCompile(`^[a-z2-7]{16}$`)

func TestRequestJobsRecordsTheCommitItsActionsAndItsProjectYaml(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	first := must(w.ReadProjectFile(ctx, w.dev, w.workspaceID, devToken))(t)
	// The branch moves on between the Run Jobs page and its Submit: the request runs the commit shown.
	head := w.fake.Push(demoRepo, "main", "Add extra", withAction("extra"))

	r := must(w.RequestJobs.Handle(ctx, workspaces.RequestJobs{
		Actor: w.dev, WorkspaceID: w.workspaceID, BackendID: w.backendID, SHA: first.SHA,
		Actions: []string{"describe_cohort", "model_prescribing"}, ForceRunDependencies: true, WillNotify: true, Token: devToken,
	}))(t)
	if !jobRequestID.MatchString(r.JobRequestID) || r.Events != 1 {
		t.Fatalf("requested %+v", r)
	}
	got := eventsOf[domain.JobRequested](t, w.server)
	want := domain.JobRequested{
		JobRequestID: r.JobRequestID, WorkspaceID: w.workspaceID, ProjectID: w.projectID, BackendID: w.backendID, SHA: w.demoSHA,
		RequestedActions: []string{"describe_cohort", "model_prescribing"}, ForceRunDependencies: true, WillNotify: true,
		ProjectDefinition: first.Text, RequestedBy: w.devID, DatabaseName: "default", CodelistsOK: true,
	}
	if len(got) != 1 || !equalRequests(got[0], want) {
		t.Fatalf("JobRequested = %+v\nwant %+v", got, want)
	}

	// The actions are checked against the file at that commit, not at the head.
	_, err := w.RequestJobs.Handle(ctx, workspaces.RequestJobs{Actor: w.dev, WorkspaceID: w.workspaceID, BackendID: w.backendID, SHA: first.SHA, Actions: []string{"extra"}, Token: devToken})
	wantField(t, err, domain.KindInvalid, "actions", "no action “extra”")
	must(w.RequestJobs.Handle(ctx, workspaces.RequestJobs{Actor: w.dev, WorkspaceID: w.workspaceID, BackendID: w.backendID, SHA: head, Actions: []string{"extra"}, Token: devToken}))(t)
	must(w.RequestJobs.Handle(ctx, workspaces.RequestJobs{Actor: w.dev, WorkspaceID: w.workspaceID, BackendID: w.backendID, SHA: head, Actions: []string{"run_all"}, Token: devToken}))(t)
	if got := eventsOf[domain.JobRequested](t, w.server); len(got) != 3 || got[1].SHA != head || got[1].ProjectDefinition != withAction("extra")["project.yaml"] {
		t.Fatalf("requests: %+v", got)
	}
}

func equalRequests(a, b domain.JobRequested) bool {
	return slices.Equal(a.RequestedActions, b.RequestedActions) && func() bool {
		a.RequestedActions, b.RequestedActions = nil, nil
		return a.JobRequestID == b.JobRequestID && a.WorkspaceID == b.WorkspaceID && a.ProjectID == b.ProjectID &&
			a.BackendID == b.BackendID && a.SHA == b.SHA && a.ForceRunDependencies == b.ForceRunDependencies &&
			a.WillNotify == b.WillNotify && a.ProjectDefinition == b.ProjectDefinition && a.RequestedBy == b.RequestedBy &&
			a.DatabaseName == b.DatabaseName && a.CodelistsOK == b.CodelistsOK
	}()
}

func TestRequestJobsValidatesEveryFieldAgainOnTheServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	base := workspaces.RequestJobs{Actor: w.dev, WorkspaceID: w.workspaceID, BackendID: w.backendID, SHA: w.demoSHA, Actions: []string{"report"}, Token: devToken}
	cases := []struct {
		name    string
		change  func(*workspaces.RequestJobs)
		field   string
		message string
	}{
		{"no actions", func(c *workspaces.RequestJobs) { c.Actions = nil }, "actions", "at least one"},
		{"an unknown action", func(c *workspaces.RequestJobs) { c.Actions = []string{"report", "rm_rf"} }, "actions", "no action “rm_rf”"},
		{"no backend", func(c *workspaces.RequestJobs) { c.BackendID = "" }, "backend", "choose a backend"},
		{"a backend the user is not on", func(c *workspaces.RequestJobs) { c.BackendID = w.otherBackendID }, "backend", "not a member"},
		{"a backend that does not exist", func(c *workspaces.RequestJobs) { c.BackendID = "no-such-backend" }, "backend", "not a member"},
		{"a developer who is not on the backend", func(c *workspaces.RequestJobs) { c.Actor = w.outsider }, "backend", "not a member"},
		{"no commit", func(c *workspaces.RequestJobs) { c.SHA = "" }, "sha", "reload the page"},
		{"a branch name for a commit", func(c *workspaces.RequestJobs) { c.SHA = "main" }, "sha", "reload the page"},
		{"a commit GitHub does not have", func(c *workspaces.RequestJobs) { c.SHA = "0123456789abcdef0123456789abcdef01234567" }, "sha", "reload the page"},
		{"no token", func(c *workspaces.RequestJobs) { c.Token = "" }, "token", "personal access token"},
	}
	for _, c := range cases {
		cmd := base
		c.change(&cmd)
		before := len(w.events(t))
		_, err := w.RequestJobs.Handle(ctx, cmd)
		if domain.KindOf(err) != domain.KindInvalid {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		wantField(t, err, domain.KindInvalid, c.field, c.message)
		if after := len(w.events(t)); after != before {
			t.Fatalf("%s: %d events appended", c.name, after-before)
		}
	}
}

func TestCancellingJobs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	id := w.request(t, "describe_cohort", "model_prescribing")
	cancel := func(actor commands.Actor, action string) (commands.Result, error) {
		return w.CancelJobs.Handle(ctx, workspaces.CancelJobs{Actor: actor, JobRequestID: id, Action: action})
	}

	_, err := cancel(w.collab, "")
	wantField(t, err, domain.KindForbidden, "")
	_, err = cancel(commands.Anonymous, "describe_cohort")
	wantField(t, err, domain.KindForbidden, "")

	// The requester cancels one job; another developer of the project the rest; repeats change nothing.
	if res := must(cancel(w.dev, "describe_cohort"))(t); res.Events != 1 {
		t.Fatalf("cancelling one job appended %d events", res.Events)
	}
	if res := must(cancel(w.dev, "describe_cohort"))(t); res.Changed() {
		t.Fatal("cancelling a cancelled job again appended events")
	}
	if res := must(cancel(w.outsider, ""))(t); res.Events != 1 {
		t.Fatalf("cancelling the request appended %d events", res.Events)
	}
	if res := must(cancel(w.dev, ""))(t); res.Changed() {
		t.Fatal("cancelling a cancelled request again appended events")
	}
	got := eventsOf[domain.JobActionsCancelled](t, w.server)
	if len(got) != 2 || !slices.Contains(got[0].Actions, "describe_cohort") || got[0].CancelledBy != w.devID ||
		slices.Contains(got[1].Actions, "describe_cohort") || !slices.Contains(got[1].Actions, "model_prescribing") || got[1].CancelledBy != w.outsiderID {
		t.Fatalf("cancellations: %+v", got)
	}

	_, err = w.CancelJobs.Handle(ctx, workspaces.CancelJobs{Actor: commands.CLIActor, JobRequestID: "nosuchrequest234"})
	wantField(t, err, domain.KindNotFound, "")
}

func TestTheRequesterMayCancelWithoutJobCancel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	id := w.request(t, "report")
	// The requester is no longer a developer of the project: their own request stays theirs to cancel.
	must(w.id.ChangeProjectMemberRoles.Handle(ctx, identityChange(w, w.devID, domain.ProjectCollaborator)))(t)
	if res := must(w.CancelJobs.Handle(ctx, workspaces.CancelJobs{Actor: w.dev, JobRequestID: id}))(t); res.Events != 1 {
		t.Fatalf("appended %d events", res.Events)
	}
}

// TestCancellingARequestCancelsEveryJobItMayRun: runners name jobs by action, so cancelling run_all, or a
// request whose actions need others, names each action that may have a job; an action the request does
// not run is not found.
func TestCancellingARequestCancelsEveryJobItMayRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	all := w.request(t, "run_all")
	one := w.request(t, "model_prescribing")

	_, err := w.CancelJobs.Handle(ctx, workspaces.CancelJobs{Actor: w.dev, JobRequestID: one, Action: "report"})
	wantField(t, err, domain.KindNotFound, "")
	must(w.CancelJobs.Handle(ctx, workspaces.CancelJobs{Actor: w.dev, JobRequestID: one, Action: "generate_dataset"}))(t)
	must(w.CancelJobs.Handle(ctx, workspaces.CancelJobs{Actor: w.dev, JobRequestID: all}))(t)
	must(w.CancelJobs.Handle(ctx, workspaces.CancelJobs{Actor: w.dev, JobRequestID: one}))(t)

	got := eventsOf[domain.JobActionsCancelled](t, w.server)
	want := [][]string{
		{"generate_dataset"},
		{"generate_dataset", "generate_measures", "describe_cohort", "model_prescribing", "report"},
		{"model_prescribing"},
	}
	if len(got) != len(want) {
		t.Fatalf("cancellations: %+v", got)
	}
	for i := range want {
		if !slices.Equal(got[i].Actions, want[i]) {
			t.Errorf("cancellation %d: %v, want %v", i, got[i].Actions, want[i])
		}
	}
}
