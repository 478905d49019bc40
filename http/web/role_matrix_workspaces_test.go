package web_test

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"testing"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/internal/rolematrix"
)

// wsMatrixWorld is what one use of the workspaces slice of the role matrix acts on, made afresh for every
// use: an organisation with this project and another one in it, a backend, the demo study in a repository
// on the test's GitHub, a developer of this project (a member of the backend) who created a workspace
// there, and, for the cancel use, a job request the developer made in it at the branch's head.
type wsMatrixWorld struct {
	n                                int
	project, projectURL, backend     string
	repoURL, developer, developerTok string
	workspace, workspaceURL, sha     string
	jobRequest                       string
}

// newWSMatrixWorld builds world n in e and gives actor the setup's project role, on this project or on the
// other one, and membership of the organisation and the backend. withJobRequest adds the developer's job
// request.
func newWSMatrixWorld(e *env, n int, actor string, who rolematrix.Setup, withJobRequest bool) wsMatrixWorld {
	e.t.Helper()
	ctx, cli := context.Background(), commands.CLIActor
	w := wsMatrixWorld{n: n}
	devLogin := fmt.Sprintf("developer%d", n)
	w.developer = e.user(devLogin)
	w.developerTok = e.gitHubAccount(devLogin)

	backend, err := e.cmds.CreateBackend.Handle(ctx, identity.CreateBackend{Actor: cli, Slug: fmt.Sprintf("backend%d", n), Name: fmt.Sprintf("Backend %d", n)})
	e.must(backend.Result, err)
	w.backend = backend.BackendID
	org, err := e.cmds.CreateOrg.Handle(ctx, identity.CreateOrg{Actor: cli, Name: fmt.Sprintf("Org %d", n)})
	e.must(org.Result, err)
	project, err := e.cmds.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: fmt.Sprintf("Study %d", n), OrgID: org.ID})
	e.must(project.Result, err)
	w.project, w.projectURL = project.ID, "/"+org.Slug+"/"+project.Slug
	other, err := e.cmds.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: fmt.Sprintf("Other Study %d", n), OrgID: org.ID})
	e.must(other.Result, err)
	e.must(e.cmds.AddOrgMember.Handle(ctx, identity.AddOrgMember{Actor: cli, OrgID: org.ID, UserID: w.developer}))
	e.must(e.cmds.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: w.project, UserID: w.developer, Roles: []domain.Role{domain.ProjectDeveloper}}))
	e.must(e.cmds.AddBackendMember.Handle(ctx, identity.AddBackendMember{Actor: cli, BackendID: w.backend, UserID: w.developer}))

	repo := fmt.Sprintf("Study%d", n)
	e.gh.AddDemoRepository("MediciaAI", repo)
	w.repoURL = e.gh.URL + "/MediciaAI/" + repo

	dev := commands.UserActor(w.developer)
	created, err := e.ws.CreateWorkspace.Handle(ctx, workspaces.CreateWorkspace{
		Actor: dev, ProjectID: w.project, Name: fmt.Sprintf("study%d-main", n), RepoURL: w.repoURL, Branch: "main", Token: w.developerTok})
	e.must(created.Result, err)
	w.workspace, w.workspaceURL = created.WorkspaceID, w.projectURL+"/"+created.Name
	file, err := e.ws.ReadProjectFile(ctx, dev, w.workspace, w.developerTok)
	if err != nil {
		e.t.Fatal(err)
	}
	w.sha = file.SHA
	if withJobRequest {
		requested, err := e.ws.RequestJobs.Handle(ctx, workspaces.RequestJobs{
			Actor: dev, WorkspaceID: w.workspace, BackendID: w.backend, SHA: w.sha, Actions: []string{"report"}, Token: w.developerTok})
		e.must(requested.Result, err)
		w.jobRequest = requested.JobRequestID
	}

	if actor == "" {
		return w
	}
	e.must(e.cmds.AddOrgMember.Handle(ctx, identity.AddOrgMember{Actor: cli, OrgID: org.ID, UserID: actor}))
	e.must(e.cmds.AddBackendMember.Handle(ctx, identity.AddBackendMember{Actor: cli, BackendID: w.backend, UserID: actor}))
	switch {
	case who.Project != "":
		e.must(e.cmds.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: w.project, UserID: actor, Roles: []domain.Role{who.Project}}))
	case who.Other != "":
		e.must(e.cmds.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: other.ID, UserID: actor, Roles: []domain.Role{who.Other}}))
	}
	return w
}

// wsPageRunners do each use of the workspaces slice the way the pages do it: what the page's form posts,
// or the confirmation page's button for what destroys.
func wsPageRunners() map[string]func(b *browser, w wsMatrixWorld) *page {
	return map[string]func(b *browser, w wsMatrixWorld) *page{
		"CreateWorkspace": func(b *browser, w wsMatrixWorld) *page {
			// The actor's saved token reads the repository: the form's one-time token is left empty.
			return b.post(w.projectURL+"/new-workspace/", url.Values{
				"name": {fmt.Sprintf("study%d-develop", w.n)}, "repo": {w.repoURL}, "branch": {"main"}, "token": {""}})
		},
		"ArchiveWorkspace": func(b *browser, w wsMatrixWorld) *page {
			return b.post(w.workspaceURL+"/archive", nil)
		},
		"SetWorkspaceNotifications": func(b *browser, w wsMatrixWorld) *page {
			return b.post(w.workspaceURL, url.Values{"form": {"notifications"}, "notify": {"on"}})
		},
		"RequestJobs": func(b *browser, w wsMatrixWorld) *page {
			return b.post(w.workspaceURL+"/run-jobs/", url.Values{
				"sha": {w.sha}, "action": {"describe_cohort"}, "backend": {w.backend}, "form": {"submit"}})
		},
		"CancelJobs of someone else's request": func(b *browser, w wsMatrixWorld) *page {
			return b.post(w.workspaceURL+"/logs/"+w.jobRequest+"/cancel", nil)
		},
	}
}

// cancelsSomeoneElses is the use whose world needs the developer's job request.
const cancelsSomeoneElses = "CancelJobs of someone else's request"

// TestWorkspacesRoleMatrixThroughThePages drives the workspaces slice of the role matrix's table through
// HTTP (see checkPagesMatrix); the actor's pages read GitHub with their saved token.
func TestWorkspacesRoleMatrixThroughThePages(t *testing.T) {
	t.Parallel()
	run := wsPageRunners()
	saveToken := func(e *env, actor string) {
		e.must(e.ws.SaveGitHubToken.Handle(context.Background(), workspaces.SaveGitHubToken{
			Actor: commands.UserActor(actor), Token: e.gitHubAccount("actor")}))
	}
	checkPagesMatrix(t, rolematrix.Workspaces, nil, saveToken, func(e *env, n int, actor string, who rolematrix.Setup, u rolematrix.Use) func(*browser) *page {
		w := newWSMatrixWorld(e, n, actor, who, u.Name == cancelsSomeoneElses)
		return func(b *browser) *page { return run[u.Name](b, w) }
	})
}

// TestTheWorkspacesRoleMatrixHasAPageRunnerForEveryUse: every use of the workspaces slice in the table has
// a page that does it here, and every runner here is a use of the table.
func TestTheWorkspacesRoleMatrixHasAPageRunnerForEveryUse(t *testing.T) {
	t.Parallel()
	rolematrix.CheckRunners(t, rolematrix.Workspaces, slices.Collect(maps.Keys(wsPageRunners())), nil)
}
