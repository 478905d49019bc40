package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/internal/githubfake"
	"github.com/mediciasafely/jobserver/projections"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// demoPerson is one of the demo's people, with a made-up GitHub account.
type demoPerson struct {
	gitHubID     int64
	login, name  string
	globalRoles  []domain.Role
	projectRoles []domain.Role // on the demo project; none for someone outside it
}

// demoPeople are the users of the development login. Their GitHub ids are far beyond any real account's,
// so a real login on a development server never signs in as one of them.
var demoPeople = []demoPerson{
	{gitHubID: 9_000_000_001, login: "demo-admin", name: "Demo Admin", globalRoles: []domain.Role{domain.CoreDeveloper}},
	{gitHubID: 9_000_000_002, login: "demo-coordinator", name: "Demo Coordinator",
		projectRoles: []domain.Role{domain.ProjectCoordinator, domain.ProjectDeveloper}},
	{gitHubID: 9_000_000_003, login: "demo-researcher", name: "Demo Researcher", projectRoles: []domain.Role{domain.ProjectDeveloper}},
	{gitHubID: 9_000_000_004, login: "demo-collaborator", name: "Demo Collaborator", projectRoles: []domain.Role{domain.ProjectCollaborator}},
	// The output checker of the demo backend: the demo's released outputs are released on her behalf, and
	// she may delete them.
	{gitHubID: 9_000_000_005, login: demoChecker, name: "Demo Output Checker", globalRoles: []domain.Role{domain.OutputChecker}},
}

const (
	demoOrgName     = "MediciaAIOrg2"
	demoBackendSlug = "rcdemo2"
	demoBackendName = "RC Demo 2"
	demoProjectName = "MyStudy"
)

// loadDemoData gives an empty development server something to click through: the demo people, an
// organisation with all of them, a backend for the researchers and a project in the organisation. It goes
// through the commands like anyone else, as the command line, so the demo is events like any other; a
// log that already has events is left alone.
func loadDemoData(ctx context.Context, logger *slog.Logger, store eventstore.Store, cmds *identity.Commands, projected projections.Waiter) error {
	// A stream reads at once; the global log shows an event only once every older transaction on the
	// server has ended, so it alone could look empty right after the demo was loaded.
	seeded, err := store.ReadStream(ctx, domain.AdminRosterStream)
	if err != nil {
		return fmt.Errorf("demo data: read the event log: %w", err)
	}
	existing, err := store.ReadAll(ctx, eventstore.Position{}, 1)
	if err != nil {
		return fmt.Errorf("demo data: read the event log: %w", err)
	}
	if len(seeded) > 0 || len(existing) > 0 {
		logger.DebugContext(ctx, "demo data not loaded: the event log is not empty")
		return nil
	}

	d := demoLoader{cmds: cmds}
	if err := d.load(ctx); err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := projected.WaitFor(waitCtx, d.last); err != nil {
		return fmt.Errorf("demo data: wait for the read models: %w", err)
	}
	logger.InfoContext(ctx, "demo data loaded", slog.Int("users", len(demoPeople)), slog.String("org", demoOrgName),
		slog.String("backend", demoBackendSlug), slog.String("project", demoProjectName))
	return nil
}

// demoLoader runs the commands of the demo and remembers where the last event landed.
type demoLoader struct {
	cmds *identity.Commands
	last eventstore.Position
}

// step records where an append landed, or says which step failed.
func (d *demoLoader) step(what string, res commands.Result, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if res.Changed() {
		d.last = res.Position
	}
	return nil
}

func (d *demoLoader) load(ctx context.Context) error {
	cli := commands.CLIActor
	ids := make(map[string]string, len(demoPeople)) // user id by login
	for _, p := range demoPeople {
		// Registration is the person's own first login, as it would be through GitHub.
		signed, err := d.cmds.SignInWithGitHub.Handle(ctx, identity.SignInWithGitHub{
			GitHubID: p.gitHubID, Login: p.login, Name: p.name, Email: p.login + "@example.org",
		})
		if err = d.step("register "+p.login, signed.Result, err); err != nil {
			return err
		}
		ids[p.login] = signed.UserID
		for _, role := range p.globalRoles {
			res, err := d.cmds.GrantGlobalRole.Handle(ctx, identity.GrantGlobalRole{Actor: cli, UserID: signed.UserID, Role: role})
			if err = d.step("grant "+role.DisplayName()+" to "+p.login, res, err); err != nil {
				return err
			}
		}
	}

	org, err := d.cmds.CreateOrg.Handle(ctx, identity.CreateOrg{Actor: cli, Name: demoOrgName})
	if err = d.step("create the organisation", org.Result, err); err != nil {
		return err
	}
	// The runner token is dropped: the demo has no runner, and printing it would put a secret in the log.
	// Rotating the token gives a new one when a runner is to connect.
	backend, err := d.cmds.CreateBackend.Handle(ctx, identity.CreateBackend{Actor: cli, Slug: demoBackendSlug, Name: demoBackendName})
	if err = d.step("create the backend", backend.Result, err); err != nil {
		return err
	}
	project, err := d.cmds.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: demoProjectName, OrgID: org.ID})
	if err = d.step("create the project", project.Result, err); err != nil {
		return err
	}

	for _, p := range demoPeople {
		userID := ids[p.login]
		res, err := d.cmds.AddOrgMember.Handle(ctx, identity.AddOrgMember{Actor: cli, OrgID: org.ID, UserID: userID})
		if err = d.step("add "+p.login+" to the organisation", res, err); err != nil {
			return err
		}
		// The project's researchers run their jobs on the demo backend; its output checker releases files from it.
		if len(p.projectRoles) == 0 && !slices.Contains(p.globalRoles, domain.OutputChecker) {
			continue
		}
		res, err = d.cmds.AddBackendMember.Handle(ctx, identity.AddBackendMember{Actor: cli, BackendID: backend.BackendID, UserID: userID})
		if err = d.step("add "+p.login+" to the backend", res, err); err != nil {
			return err
		}
		if len(p.projectRoles) == 0 {
			continue
		}
		res, err = d.cmds.AddProjectMember.Handle(ctx, identity.AddProjectMember{
			Actor: cli, ProjectID: project.ID, UserID: userID, Roles: p.projectRoles,
		})
		if err = d.step("add "+p.login+" to the project", res, err); err != nil {
			return err
		}
	}
	return nil
}

// The demo's GitHub: when no GitHub OAuth app is configured, a development server reads repositories from
// a local fake GitHub (internal/githubfake) holding the demo study, so steps 7 to 9 of the guide work
// offline.
const (
	demoRepoOwner     = "medicia-demo"
	demoRepoName      = "antibiotics"
	demoWorkspaceName = "antibiotics-demo"
	// demoGitHubAddr is where `make run` serves its local GitHub.
	demoGitHubAddr = "127.0.0.1:8079"
	// demoGitHubToken is the demo researcher's token on the fake GitHub, and nowhere else.
	demoGitHubToken = "ghp_demoResearcherTokenOnTheLocalFakeGitHub"
	demoResearcher  = "demo-researcher"
)

// seedDemoGitHub gives the fake GitHub, which forgets everything when the server stops, the demo people,
// the demo repository and the demo researcher's token, on every start. It returns the repository's address
// and the commit at the head of its main branch.
func seedDemoGitHub(fake *githubfake.Server) (repoURL, head string) {
	for _, p := range demoPeople {
		fake.AddUser(githubfake.User{ID: p.gitHubID, Login: p.login, Name: p.name,
			Emails: []githubfake.Email{{Address: p.login + "@example.org", Primary: true, Verified: true}}})
		if p.login == demoResearcher {
			fake.AddToken(p.gitHubID, demoGitHubToken, "repo")
		}
	}
	head = fake.AddDemoRepository(demoRepoOwner, demoRepoName)
	return fake.URL + "/" + demoRepoOwner + "/" + demoRepoName, head
}

// loadDemoWorkspace saves the demo researcher's GitHub token (through SaveGitHubToken, checked with the fake
// GitHub like any other) and creates a workspace on the demo repository in the demo project, once: a log
// that already has the workspace's name, or lacks the demo people, is left alone. It returns the id of the
// workspace it created, "" when it created none.
func loadDemoWorkspace(ctx context.Context, logger *slog.Logger, store eventstore.Store, queries *identityviews.Queries,
	ws *workspaces.Commands, repoURL string, projected projections.Waiter) (string, error) {
	reserved, err := store.ReadStream(ctx, domain.WorkspaceNameStream(demoWorkspaceName))
	if err != nil {
		return "", fmt.Errorf("demo workspace: read the event log: %w", err)
	}
	if len(reserved) > 0 {
		return "", nil
	}
	researcher, err := queries.UserByLogin(ctx, demoResearcher)
	if domain.KindOf(err) == domain.KindNotFound {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("demo workspace: %w", err)
	}
	project, err := queries.ProjectInOrg(ctx, domain.SlugFromName(demoOrgName), domain.SlugFromName(demoProjectName))
	if domain.KindOf(err) == domain.KindNotFound {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("demo workspace: %w", err)
	}
	actor := commands.UserActor(researcher.ID)
	saved, err := ws.SaveGitHubToken.Handle(ctx, workspaces.SaveGitHubToken{Actor: actor, Token: demoGitHubToken})
	if err != nil {
		return "", fmt.Errorf("demo workspace: save the demo researcher's GitHub token: %w", err)
	}
	created, err := ws.CreateWorkspace.Handle(ctx, workspaces.CreateWorkspace{Actor: actor, ProjectID: project.ID,
		Name: demoWorkspaceName, RepoURL: repoURL, Branch: "main"})
	if err != nil {
		return "", fmt.Errorf("demo workspace: create %s: %w", demoWorkspaceName, err)
	}
	last := saved.Position
	if created.Changed() {
		last = created.Position
	}
	if err := waitForDemo(ctx, projected, last); err != nil {
		return "", fmt.Errorf("demo workspace: %w", err)
	}
	logger.InfoContext(ctx, "demo workspace created", slog.String("workspace", demoWorkspaceName),
		slog.String("repository", repoURL), slog.String("by", demoResearcher))
	return created.WorkspaceID, nil
}

// waitForDemo waits until the read models show what the demo appended up to last.
func waitForDemo(ctx context.Context, projected projections.Waiter, last eventstore.Position) error {
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := projected.WaitFor(waitCtx, last); err != nil {
		return fmt.Errorf("wait for the read models: %w", err)
	}
	return nil
}
