package identity_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
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

// roleSetup is who acts: the command line, an anonymous visitor, or a user with at most one role held
// globally, on this project, or on another project.
type roleSetup struct {
	key     string
	cli     bool
	anon    bool
	global  domain.Role
	project domain.Role
	other   domain.Role
}

func (r roleSetup) String() string {
	switch {
	case r.cli:
		return "the command line"
	case r.anon:
		return "an anonymous visitor"
	case r.global != "":
		return "a global " + r.global.DisplayName()
	case r.project != "":
		return "a " + r.project.DisplayName() + " of this project"
	case r.other != "":
		return "a " + r.other.DisplayName() + " of another project"
	}
	return "a user without roles"
}

func roleSetups() []roleSetup {
	setups := []roleSetup{{key: "cli", cli: true}, {key: "anonymous", anon: true}, {key: "none"}}
	for _, r := range domain.AllRoles() {
		setups = append(setups, roleSetup{key: "global:" + string(r), global: r})
	}
	for _, r := range domain.ProjectRoles() {
		setups = append(setups, roleSetup{key: "project:" + string(r), project: r})
	}
	for _, r := range domain.ProjectRoles() {
		setups = append(setups, roleSetup{key: "other:" + string(r), other: r})
	}
	return setups
}

func newWorld(t *testing.T, who roleSetup) world {
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
	case who.cli:
		w.actor, w.self = cli, w.target
		return w
	case who.anon:
		w.actor = commands.Anonymous
		return w
	case who.global != "":
		ok(t)(w.GrantGlobalRole.Handle(ctx, identity.GrantGlobalRole{Actor: cli, UserID: actorID, Role: who.global}))
	case who.project != "":
		ok(t)(w.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: w.projectID, UserID: actorID, Roles: []domain.Role{who.project}}))
	case who.other != "":
		ok(t)(w.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: w.otherProjectID, UserID: actorID, Roles: []domain.Role{who.other}}))
	}
	w.actor, w.self = commands.UserActor(actorID), actorID
	return w
}

// use is one command of the matrix, run by w.actor against w.
type use struct {
	name    string
	run     func(ctx context.Context, w world) error
	allowed []string // role setup keys that may run it; everyone else is Forbidden
}

// admins may do what needs a Core Developer's permission.
var admins = []string{"cli", "global:core_developer"}

// coordinators of the project, global ones, and admins may change members and settings.
var coordinators = []string{"cli", "global:core_developer", "global:project_coordinator", "project:project_coordinator"}

func everyoneSignedIn() []string {
	var keys []string
	for _, s := range roleSetups() {
		if !s.anon {
			keys = append(keys, s.key)
		}
	}
	return keys
}

func uses() []use {
	return []use{
		{
			name: "ChangeNotificationEmail of their own address",
			run: func(ctx context.Context, w world) error {
				_, err := w.ChangeNotificationEmail.Handle(ctx, identity.ChangeNotificationEmail{Actor: w.actor, UserID: w.self, Email: "me@work.example.org"})
				return err
			},
			allowed: everyoneSignedIn(),
		},
		{
			name: "ChangeNotificationEmail of someone else",
			run: func(ctx context.Context, w world) error {
				_, err := w.ChangeNotificationEmail.Handle(ctx, identity.ChangeNotificationEmail{Actor: w.actor, UserID: w.newcomer, Email: "them@work.example.org"})
				return err
			},
			allowed: []string{"cli"},
		},
		{
			name: "GrantGlobalRole",
			run: func(ctx context.Context, w world) error {
				_, err := w.GrantGlobalRole.Handle(ctx, identity.GrantGlobalRole{Actor: w.actor, UserID: w.newcomer, Role: domain.OutputChecker})
				return err
			},
			allowed: admins,
		},
		{
			name: "RevokeGlobalRole",
			run: func(ctx context.Context, w world) error {
				_, err := w.RevokeGlobalRole.Handle(ctx, identity.RevokeGlobalRole{Actor: w.actor, UserID: w.target, Role: domain.OutputChecker})
				return err
			},
			allowed: admins,
		},
		{
			name: "CreateBackend",
			run: func(ctx context.Context, w world) error {
				_, err := w.CreateBackend.Handle(ctx, identity.CreateBackend{Actor: w.actor, Slug: "tpp", Name: "TPP"})
				return err
			},
			allowed: admins,
		},
		{
			name: "RotateRunnerToken",
			run: func(ctx context.Context, w world) error {
				_, err := w.RotateRunnerToken.Handle(ctx, identity.RotateRunnerToken{Actor: w.actor, BackendID: w.backendID})
				return err
			},
			allowed: admins,
		},
		{
			name: "AddBackendMember",
			run: func(ctx context.Context, w world) error {
				_, err := w.AddBackendMember.Handle(ctx, identity.AddBackendMember{Actor: w.actor, BackendID: w.backendID, UserID: w.newcomer})
				return err
			},
			allowed: admins,
		},
		{
			name: "RemoveBackendMember",
			run: func(ctx context.Context, w world) error {
				_, err := w.RemoveBackendMember.Handle(ctx, identity.RemoveBackendMember{Actor: w.actor, BackendID: w.backendID, UserID: w.target})
				return err
			},
			allowed: admins,
		},
		{
			name: "CreateOrg",
			run: func(ctx context.Context, w world) error {
				_, err := w.CreateOrg.Handle(ctx, identity.CreateOrg{Actor: w.actor, Name: "Another Org"})
				return err
			},
			allowed: admins,
		},
		{
			name: "AddOrgMember",
			run: func(ctx context.Context, w world) error {
				_, err := w.AddOrgMember.Handle(ctx, identity.AddOrgMember{Actor: w.actor, OrgID: w.orgID, UserID: w.newcomer})
				return err
			},
			allowed: admins,
		},
		{
			name: "RemoveOrgMember",
			run: func(ctx context.Context, w world) error {
				_, err := w.RemoveOrgMember.Handle(ctx, identity.RemoveOrgMember{Actor: w.actor, OrgID: w.orgID, UserID: w.target})
				return err
			},
			allowed: admins,
		},
		{
			name: "CreateProject",
			run: func(ctx context.Context, w world) error {
				_, err := w.CreateProject.Handle(ctx, identity.CreateProject{Actor: w.actor, Name: "New Study", OrgID: w.orgID})
				return err
			},
			allowed: admins,
		},
		{
			name: "AddProjectToOrg",
			run: func(ctx context.Context, w world) error {
				_, err := w.AddProjectToOrg.Handle(ctx, identity.AddProjectToOrg{Actor: w.actor, ProjectID: w.projectID, OrgID: w.orgID})
				return err
			},
			allowed: admins,
		},
		{
			name: "AddProjectMember",
			run: func(ctx context.Context, w world) error {
				_, err := w.AddProjectMember.Handle(ctx, identity.AddProjectMember{
					Actor: w.actor, ProjectID: w.projectID, UserID: w.newcomer, Roles: []domain.Role{domain.ProjectCollaborator},
				})
				return err
			},
			allowed: admins,
		},
		{
			name: "ChangeProjectMemberRoles",
			run: func(ctx context.Context, w world) error {
				_, err := w.ChangeProjectMemberRoles.Handle(ctx, identity.ChangeProjectMemberRoles{
					Actor: w.actor, ProjectID: w.projectID, UserID: w.target, Roles: []domain.Role{domain.ProjectCollaborator},
				})
				return err
			},
			allowed: coordinators,
		},
		{
			name: "RemoveProjectMember",
			run: func(ctx context.Context, w world) error {
				_, err := w.RemoveProjectMember.Handle(ctx, identity.RemoveProjectMember{Actor: w.actor, ProjectID: w.projectID, UserID: w.target})
				return err
			},
			allowed: coordinators,
		},
		{
			name: "RenameProject",
			run: func(ctx context.Context, w world) error {
				_, err := w.RenameProject.Handle(ctx, identity.RenameProject{Actor: w.actor, ProjectID: w.projectID, Name: "Our Study"})
				return err
			},
			allowed: coordinators,
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
	for _, u := range uses() {
		for _, who := range roleSetups() {
			allowed := false
			for _, k := range u.allowed {
				allowed = allowed || k == who.key
			}
			verdict := "may not"
			if allowed {
				verdict = "may"
			}
			t.Run(fmt.Sprintf("%s %s %s", who, verdict, u.name), func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, who)
				before := len(w.events(t))
				err := u.run(context.Background(), w)
				after := len(w.events(t))
				if allowed {
					if err != nil {
						t.Fatalf("want allowed, got %v", err)
					}
					if after == before {
						t.Fatalf("allowed, but no event was appended")
					}
					return
				}
				wantKind(t, err, domain.KindForbidden, "")
				if after != before {
					t.Fatalf("forbidden, but %d events were appended", after-before)
				}
			})
		}
	}
}

func TestRoleMatrixNamesOnlyKnownSetups(t *testing.T) {
	t.Parallel()
	known := map[string]bool{}
	for _, s := range roleSetups() {
		known[s.key] = true
	}
	for _, u := range uses() {
		for _, k := range u.allowed {
			if !known[k] {
				t.Errorf("%s: unknown role setup %q", u.name, k)
			}
		}
	}
	if n := len(roleSetups()); n != 19 {
		t.Fatalf("%d role setups, want 19 (CLI, anonymous, none, 10 global, 3 on this project, 3 on another)", n)
	}
}

func TestCoordinatorCanChangeRolesButNotAddMembers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, roleSetup{key: "project:project_coordinator", project: domain.ProjectCoordinator})

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
