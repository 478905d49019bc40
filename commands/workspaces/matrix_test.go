package workspaces_test

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/internal/rolematrix"
)

// actorToken is the GitHub token of the matrix's actor, passed as a one-time token (the command line
// has no saved token, and no user has one here).
const actorToken = "ghp_actorActorActorActorActorActor0003"

// matrixWorld is an installation built by the command line: a project with a workspace, made by target
// (a Project Developer of it, a member of the backend), a job request target made there, another project,
// and the actor whose roles the setup chooses, a member of the backend, with a GitHub token.
type matrixWorld struct {
	*server
	actor        commands.Actor
	projectID    string
	backendID    string
	workspaceID  string
	jobRequestID string
}

func newMatrixWorld(t *testing.T, who rolematrix.Setup) matrixWorld {
	t.Helper()
	ctx := context.Background()
	cli := commands.CLIActor
	w := matrixWorld{server: newServer(t)}
	w.fake.AddToken(devGitHubID, actorToken)
	actorID := w.signIn(t, 1, "actor")
	target := w.signIn(t, 2, "target")
	targetActor := commands.UserActor(target)

	w.backendID = must(w.id.CreateBackend.Handle(ctx, identity.CreateBackend{Actor: cli, Slug: "tpp", Name: "TPP"}))(t).BackendID
	w.projectID = must(w.id.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "BP Study"}))(t).ID
	otherProjectID := must(w.id.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "Other Study"}))(t).ID
	for _, user := range []string{target, actorID} {
		must(w.id.AddBackendMember.Handle(ctx, identity.AddBackendMember{Actor: cli, BackendID: w.backendID, UserID: user}))(t)
	}
	must(w.id.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: w.projectID, UserID: target, Roles: []domain.Role{domain.ProjectDeveloper}}))(t)
	w.workspaceID = must(w.CreateWorkspace.Handle(ctx, workspaces.CreateWorkspace{
		Actor: targetActor, ProjectID: w.projectID, Name: "bp-main", RepoURL: w.repoURL, Branch: "main", Token: devToken,
	}))(t).WorkspaceID
	w.jobRequestID = must(w.RequestJobs.Handle(ctx, workspaces.RequestJobs{
		Actor: targetActor, WorkspaceID: w.workspaceID, BackendID: w.backendID, SHA: w.demoSHA, Actions: []string{"report"}, Token: devToken,
	}))(t).JobRequestID

	switch {
	case who.CLI:
		w.actor = cli
		return w
	case who.Anonymous:
		w.actor = commands.Anonymous
		return w
	case who.Global != "":
		must(w.id.GrantGlobalRole.Handle(ctx, identity.GrantGlobalRole{Actor: cli, UserID: actorID, Role: who.Global}))(t)
	case who.Project != "":
		must(w.id.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: w.projectID, UserID: actorID, Roles: []domain.Role{who.Project}}))(t)
	case who.Other != "":
		must(w.id.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: otherProjectID, UserID: actorID, Roles: []domain.Role{who.Other}}))(t)
	}
	w.actor = commands.UserActor(actorID)
	return w
}

// matrixRunners run each use of the workspaces slice in rolematrix.Uses through its command, as w.actor.
func matrixRunners() map[string]func(ctx context.Context, w matrixWorld) error {
	return map[string]func(ctx context.Context, w matrixWorld) error{
		"CreateWorkspace": func(ctx context.Context, w matrixWorld) error {
			_, err := w.CreateWorkspace.Handle(ctx, workspaces.CreateWorkspace{
				Actor: w.actor, ProjectID: w.projectID, Name: "bp-develop", RepoURL: w.repoURL, Branch: "main", Token: actorToken,
			})
			return err
		},
		"ArchiveWorkspace": func(ctx context.Context, w matrixWorld) error {
			_, err := w.ArchiveWorkspace.Handle(ctx, workspaces.ArchiveWorkspace{Actor: w.actor, WorkspaceID: w.workspaceID, Archived: true})
			return err
		},
		"SetWorkspaceNotifications": func(ctx context.Context, w matrixWorld) error {
			_, err := w.SetNotifications.Handle(ctx, workspaces.SetNotifications{Actor: w.actor, WorkspaceID: w.workspaceID, Notify: true})
			return err
		},
		"RequestJobs": func(ctx context.Context, w matrixWorld) error {
			_, err := w.RequestJobs.Handle(ctx, workspaces.RequestJobs{
				Actor: w.actor, WorkspaceID: w.workspaceID, BackendID: w.backendID, SHA: w.demoSHA, Actions: []string{"describe_cohort"}, Token: actorToken,
			})
			return err
		},
		"CancelJobs of someone else's request": func(ctx context.Context, w matrixWorld) error {
			_, err := w.CancelJobs.Handle(ctx, workspaces.CancelJobs{Actor: w.actor, JobRequestID: w.jobRequestID})
			return err
		},
	}
}

// TestRoleMatrix runs every use of the workspaces slice as every kind of actor: a Project Developer of the
// project (or a global one) creates, archives and configures workspaces, runs jobs and cancels others'
// jobs; nobody else may, and a refusal appends nothing.
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	rolematrix.CheckCommands(t, rolematrix.Workspaces, matrixRunners(), newMatrixWorld,
		func(t *testing.T, w matrixWorld) int { return len(w.events(t)) })
}

// TestTheRoleMatrixHasARunnerForEveryUse: each use of the slice in the shared table runs through a
// command here.
func TestTheRoleMatrixHasARunnerForEveryUse(t *testing.T) {
	t.Parallel()
	rolematrix.CheckRunners(t, rolematrix.Workspaces, slices.Collect(maps.Keys(matrixRunners())), nil)
}
