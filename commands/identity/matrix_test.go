package identity_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/internal/rolematrix"
)

// world is a small installation built by the command line: a backend, an organisation, a project ("this
// project") and another project, a global Output Checker who is a member of the backend, the organisation
// and this project (target), a user who is a member of nothing (newcomer), and the actor whose roles a test
// chooses.
type world struct {
	server
	actor          commands.Actor
	self           string // the user whose own e-mail "own address" changes
	target         string
	newcomer       string
	backendID      string
	orgID          string
	projectID      string
	otherProjectID string
}

func newWorld(t *testing.T, who rolematrix.Setup) world {
	t.Helper()
	ctx := context.Background()
	cli := commands.CLIActor
	w := world{server: newServer(t)}
	actorID := w.signIn(t, 1, "actor")
	w.target = w.signIn(t, 2, "target")
	w.newcomer = w.signIn(t, 3, "newcomer")

	w.backendID = ok(t)(w.CreateBackend.Handle(ctx, identity.CreateBackend{Actor: cli, Slug: "rcdemo2", Name: "RC Demo 2"})).(identity.NewBackend).BackendID
	ok(t)(w.AddBackendMember.Handle(ctx, identity.AddBackendMember{Actor: cli, BackendID: w.backendID, UserID: w.target}))
	w.orgID = created(t)(w.CreateOrg.Handle(ctx, identity.CreateOrg{Actor: cli, Name: "MediciaAIOrg2"}))
	ok(t)(w.AddOrgMember.Handle(ctx, identity.AddOrgMember{Actor: cli, OrgID: w.orgID, UserID: w.target}))
	w.projectID = created(t)(w.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "MyStudy"}))
	w.otherProjectID = created(t)(w.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "Other Study", OrgID: w.orgID}))
	ok(t)(w.AddProjectMember.Handle(ctx, identity.AddProjectMember{
		Actor: cli, ProjectID: w.projectID, UserID: w.target, Roles: []domain.Role{domain.ProjectDeveloper},
	}))
	ok(t)(w.GrantGlobalRole.Handle(ctx, identity.GrantGlobalRole{Actor: cli, UserID: w.target, Role: domain.OutputChecker}))

	switch {
	case who.CLI:
		w.actor, w.self = cli, w.target
		return w
	case who.Anonymous:
		w.actor = commands.Anonymous
		return w
	case who.Global != "":
		ok(t)(w.GrantGlobalRole.Handle(ctx, identity.GrantGlobalRole{Actor: cli, UserID: actorID, Role: who.Global}))
	case who.Project != "":
		ok(t)(w.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: w.projectID, UserID: actorID, Roles: []domain.Role{who.Project}}))
	case who.Other != "":
		ok(t)(w.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: w.otherProjectID, UserID: actorID, Roles: []domain.Role{who.Other}}))
	}
	w.actor, w.self = commands.UserActor(actorID), actorID
	return w
}

// runners run each use of rolematrix.Uses through its command, as w.actor against w.
func runners() map[string]func(ctx context.Context, w world) error {
	return map[string]func(ctx context.Context, w world) error{
		"ChangeNotificationEmail of their own address": func(ctx context.Context, w world) error {
			_, err := w.ChangeNotificationEmail.Handle(ctx, identity.ChangeNotificationEmail{Actor: w.actor, UserID: w.self, Email: "me@work.example.org"})
			return err
		},
		"ChangeNotificationEmail of someone else": func(ctx context.Context, w world) error {
			_, err := w.ChangeNotificationEmail.Handle(ctx, identity.ChangeNotificationEmail{Actor: w.actor, UserID: w.newcomer, Email: "them@work.example.org"})
			return err
		},
		"SetGlobalRoles": func(ctx context.Context, w world) error {
			_, err := w.SetGlobalRoles.Handle(ctx, identity.SetGlobalRoles{Actor: w.actor, UserID: w.target, Roles: []domain.Role{domain.TechnicalReviewer}})
			return err
		},
		"GrantGlobalRole": func(ctx context.Context, w world) error {
			_, err := w.GrantGlobalRole.Handle(ctx, identity.GrantGlobalRole{Actor: w.actor, UserID: w.newcomer, Role: domain.OutputChecker})
			return err
		},
		"RevokeGlobalRole": func(ctx context.Context, w world) error {
			_, err := w.RevokeGlobalRole.Handle(ctx, identity.RevokeGlobalRole{Actor: w.actor, UserID: w.target, Role: domain.OutputChecker})
			return err
		},
		"ForgetUser": func(ctx context.Context, w world) error {
			_, err := w.ForgetUser.Handle(ctx, identity.ForgetUser{Actor: w.actor, UserID: w.newcomer})
			return err
		},
		"CreateBackend": func(ctx context.Context, w world) error {
			_, err := w.CreateBackend.Handle(ctx, identity.CreateBackend{Actor: w.actor, Slug: "tpp", Name: "TPP"})
			return err
		},
		"RotateRunnerToken": func(ctx context.Context, w world) error {
			_, err := w.RotateRunnerToken.Handle(ctx, identity.RotateRunnerToken{Actor: w.actor, BackendID: w.backendID})
			return err
		},
		"AddBackendMember": func(ctx context.Context, w world) error {
			_, err := w.AddBackendMember.Handle(ctx, identity.AddBackendMember{Actor: w.actor, BackendID: w.backendID, UserID: w.newcomer})
			return err
		},
		"RemoveBackendMember": func(ctx context.Context, w world) error {
			_, err := w.RemoveBackendMember.Handle(ctx, identity.RemoveBackendMember{Actor: w.actor, BackendID: w.backendID, UserID: w.target})
			return err
		},
		"CreateOrg": func(ctx context.Context, w world) error {
			_, err := w.CreateOrg.Handle(ctx, identity.CreateOrg{Actor: w.actor, Name: "Another Org"})
			return err
		},
		"AddOrgMember": func(ctx context.Context, w world) error {
			_, err := w.AddOrgMember.Handle(ctx, identity.AddOrgMember{Actor: w.actor, OrgID: w.orgID, UserID: w.newcomer})
			return err
		},
		"RemoveOrgMember": func(ctx context.Context, w world) error {
			_, err := w.RemoveOrgMember.Handle(ctx, identity.RemoveOrgMember{Actor: w.actor, OrgID: w.orgID, UserID: w.target})
			return err
		},
		"CreateProject": func(ctx context.Context, w world) error {
			_, err := w.CreateProject.Handle(ctx, identity.CreateProject{Actor: w.actor, Name: "New Study", OrgID: w.orgID})
			return err
		},
		"AddProjectToOrg": func(ctx context.Context, w world) error {
			_, err := w.AddProjectToOrg.Handle(ctx, identity.AddProjectToOrg{Actor: w.actor, ProjectID: w.projectID, OrgID: w.orgID})
			return err
		},
		"AddProjectMember": func(ctx context.Context, w world) error {
			_, err := w.AddProjectMember.Handle(ctx, identity.AddProjectMember{
				Actor: w.actor, ProjectID: w.projectID, UserID: w.newcomer, Roles: []domain.Role{domain.ProjectCollaborator},
			})
			return err
		},
		"ChangeProjectMemberRoles": func(ctx context.Context, w world) error {
			_, err := w.ChangeProjectMemberRoles.Handle(ctx, identity.ChangeProjectMemberRoles{
				Actor: w.actor, ProjectID: w.projectID, UserID: w.target, Roles: []domain.Role{domain.ProjectCollaborator},
			})
			return err
		},
		"RemoveProjectMember": func(ctx context.Context, w world) error {
			_, err := w.RemoveProjectMember.Handle(ctx, identity.RemoveProjectMember{Actor: w.actor, ProjectID: w.projectID, UserID: w.target})
			return err
		},
		"RenameProject": func(ctx context.Context, w world) error {
			_, err := w.RenameProject.Handle(ctx, identity.RenameProject{Actor: w.actor, ProjectID: w.projectID, Name: "Our Study"})
			return err
		},
	}
}

// TestRoleMatrix runs every command as every kind of actor and checks it is allowed or Forbidden exactly as
// spec/roles.md says: admins (Core Developers) create backends, organisations and projects, grant roles and
// add project members; a Project Coordinator of a project (or a global one) changes members' roles, removes
// members and renames the project, but a coordinator of another project may not; everyone signed in changes
// only their own notification address; an anonymous visitor may do nothing.
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	rolematrix.CheckCommands(t, rolematrix.Identity, runners(), newWorld,
		func(t *testing.T, w world) int { return len(w.events(t)) })
}

// TestTheRoleMatrixHasARunnerForEveryUse: each use of the shared table runs through a command here.
func TestTheRoleMatrixHasARunnerForEveryUse(t *testing.T) {
	t.Parallel()
	rolematrix.CheckRunners(t, rolematrix.Identity, slices.Collect(maps.Keys(runners())), nil)
	if n := len(rolematrix.Setups()); n != 19 {
		t.Fatalf("%d role setups, want 19 (CLI, anonymous, none, 10 global, 3 on this project, 3 on another)", n)
	}
}

func TestCoordinatorCanChangeRolesButNotAddMembers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, rolematrix.Setup{Key: "project:project_coordinator", Project: domain.ProjectCoordinator})

	_, err := w.AddProjectMember.Handle(ctx, identity.AddProjectMember{
		Actor: w.actor, ProjectID: w.projectID, UserID: w.newcomer, Roles: []domain.Role{domain.ProjectDeveloper},
	})
	wantKind(t, err, domain.KindForbidden, "")

	ok(t)(w.ChangeProjectMemberRoles.Handle(ctx, identity.ChangeProjectMemberRoles{
		Actor: w.actor, ProjectID: w.projectID, UserID: w.target, Roles: []domain.Role{domain.ProjectCollaborator, domain.ProjectDeveloper},
	}))
	ok(t)(w.RenameProject.Handle(ctx, identity.RenameProject{Actor: w.actor, ProjectID: w.projectID, Name: "Our Study"}))
	ok(t)(w.RemoveProjectMember.Handle(ctx, identity.RemoveProjectMember{Actor: w.actor, ProjectID: w.projectID, UserID: w.target}))

	_, err = w.RenameProject.Handle(ctx, identity.RenameProject{Actor: w.actor, ProjectID: w.otherProjectID, Name: "Hijacked"})
	wantKind(t, err, domain.KindForbidden, "")

	types := strings.Join(w.eventTypes(t), " ")
	if !strings.HasSuffix(types, "ProjectMemberRolesChanged ProjectRenamed NameReserved NameReleased ProjectMemberRemoved") {
		t.Fatalf("events: %s", types)
	}
}
