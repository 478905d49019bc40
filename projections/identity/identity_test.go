package identity_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	identitycmd "github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/projections"
	"github.com/mediciasafely/jobserver/projections/identity"
)

// TestIdentityReadModelsFollowTheCommands runs the admin's steps of the guide through the commands and reads
// the result back through the queries the pages use.
func TestIdentityReadModelsFollowTheCommands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	log := commands.NewEventLog(f.store, domain.Events, time.Now)
	id := identitycmd.New(commands.Kit{Log: log})
	cli := commands.CLIActor
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

	alice, err := id.SignInWithGitHub.Handle(ctx, identitycmd.SignInWithGitHub{GitHubID: 101, Login: "alice", Name: "Alice Smith", Email: "alice@example.org", AvatarURL: "https://avatars.example/a"})
	if err != nil {
		t.Fatal(err)
	}
	track(alice.Result, nil)
	bob, err := id.SignInWithGitHub.Handle(ctx, identitycmd.SignInWithGitHub{GitHubID: 102, Login: "bob", Email: "bob@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	track(bob.Result, nil)
	track(id.GrantGlobalRole.Handle(ctx, identitycmd.GrantGlobalRole{Actor: cli, UserID: alice.UserID, Role: domain.CoreDeveloper}))
	track(id.ChangeNotificationEmail.Handle(ctx, identitycmd.ChangeNotificationEmail{Actor: commands.UserActor(bob.UserID), UserID: bob.UserID, Email: "bob@lab.example"}))

	backend, err := id.CreateBackend.Handle(ctx, identitycmd.CreateBackend{Actor: cli, Slug: "rcdemo2", Name: "RC Demo 2"})
	if err != nil {
		t.Fatal(err)
	}
	track(backend.Result, nil)
	track(id.AddBackendMember.Handle(ctx, identitycmd.AddBackendMember{Actor: cli, BackendID: backend.BackendID, UserID: bob.UserID}))
	org, err := id.CreateOrg.Handle(ctx, identitycmd.CreateOrg{Actor: cli, Name: "MediciaAIOrg2"})
	if err != nil {
		t.Fatal(err)
	}
	track(org.Result, nil)
	track(id.AddOrgMember.Handle(ctx, identitycmd.AddOrgMember{Actor: cli, OrgID: org.ID, UserID: bob.UserID}))
	project, err := id.CreateProject.Handle(ctx, identitycmd.CreateProject{Actor: cli, Name: "MyStudy"})
	if err != nil {
		t.Fatal(err)
	}
	track(project.Result, nil)
	track(id.AddProjectToOrg.Handle(ctx, identitycmd.AddProjectToOrg{Actor: cli, ProjectID: project.ID, OrgID: org.ID}))
	track(id.AddProjectMember.Handle(ctx, identitycmd.AddProjectMember{Actor: cli, ProjectID: project.ID, UserID: bob.UserID,
		Roles: []domain.Role{domain.ProjectDeveloper, domain.ProjectCoordinator}}))
	track(id.RenameProject.Handle(ctx, identitycmd.RenameProject{Actor: commands.UserActor(bob.UserID), ProjectID: project.ID, Name: "My Study"}))

	r := projections.NewRunner(f.pool, f.store, domain.Events, slog.New(slog.NewTextHandler(io.Discard, nil)), identity.Projectors()...)
	f.waitVisible(t, last)
	if err := r.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	q := identity.NewQueries(f.pool)

	a, err := q.UserByLogin(ctx, "ALICE")
	if err != nil || a.ID != alice.UserID || a.DisplayName() != "Alice Smith" || !slices.Equal(a.GlobalRoles, []domain.Role{domain.CoreDeveloper}) {
		t.Errorf("alice = %+v, %v", a, err)
	}
	b, err := q.User(ctx, bob.UserID)
	if err != nil || b.DisplayName() != "bob" || b.NotifyAddress() != "bob@lab.example" {
		t.Errorf("bob = %+v, %v", b, err)
	}
	if _, err := q.User(ctx, "nobody"); domain.KindOf(err) != domain.KindNotFound {
		t.Errorf("missing user: err = %v", err)
	}
	if found, _ := q.Users(ctx, "smi", 10); len(found) != 1 || found[0].Login != "alice" {
		t.Errorf("search 'smi' = %+v", found)
	}
	if found, _ := q.Users(ctx, "%", 10); len(found) != 0 {
		t.Errorf("search '%%' matched %d users; the wildcard must match itself only", len(found))
	}

	backends, _ := q.BackendsOfUser(ctx, bob.UserID)
	if len(backends) != 1 || backends[0].Slug != "rcdemo2" || backends[0].Members != 1 {
		t.Errorf("bob's backends = %+v", backends)
	}
	o, err := q.OrgBySlug(ctx, "mediciaaiorg2")
	if err != nil || o.Projects != 1 || o.Members != 1 {
		t.Errorf("org = %+v, %v", o, err)
	}
	p, err := q.ProjectInOrg(ctx, "MediciaAIOrg2", "MyStudy")
	if err != nil || p.Name != "My Study" || p.OrgSlug != "mediciaaiorg2" {
		t.Errorf("project = %+v, %v", p, err)
	}
	members, _ := q.ProjectMembers(ctx, project.ID)
	if len(members) != 1 || members[0].User.Login != "bob" || len(members[0].Roles) != 2 {
		t.Errorf("members = %+v", members)
	}
	perms, _ := q.Permissions(ctx, bob.UserID, project.ID)
	if !perms.Has(domain.WorkspaceCreate) || !perms.Has(domain.ProjectMembershipEdit) || perms.Has(domain.ProjectMembershipAdd) {
		t.Errorf("bob's permissions on his project = %v", perms.List())
	}
	if perms, _ := q.Permissions(ctx, bob.UserID, ""); perms.Has(domain.WorkspaceCreate) {
		t.Error("a project role leaked outside its project")
	}
	for _, p := range r.Projectors() {
		f.mustVerifyEqual(t, r, p)
	}
}
