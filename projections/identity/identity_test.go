package identity_test

import (
	"slices"
	"testing"

	"github.com/mediciasafely/jobserver/commands"
	identitycmd "github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
)

// TestIdentityReadModelsFollowTheCommands runs the admin's steps of the guide through the commands and reads
// the result back through the queries the pages use.
func TestIdentityReadModelsFollowTheCommands(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id, track := w.id, w.track

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

	w.catchUp()
	q := w.q

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
	w.verify()
}

// TestAProfileChangeReachesEveryMemberList: a member who changes their name and picture on GitHub shows
// the new ones, at their next login, on the pages of their project, organisation and backend, and on
// their home page, all of which join the one row of users that is the person; a rebuild equals the live
// tables.
func TestAProfileChangeReachesEveryMemberList(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id, track, catchUp := w.id, w.track, w.catchUp
	signIn := func(login, name string) string {
		t.Helper()
		s, err := id.SignInWithGitHub.Handle(ctx, identitycmd.SignInWithGitHub{GitHubID: int64(len(login)) * 1000, Login: login, Name: name,
			Email: login + "@example.org", AvatarURL: "https://avatars.example/" + name})
		track(s.Result, err)
		return s.UserID
	}
	cora := signIn("cora", "Cora Tester")
	ada := signIn("ada", "Ada Admin")
	track(id.GrantGlobalRole.Handle(ctx, identitycmd.GrantGlobalRole{Actor: cli, UserID: ada, Role: domain.CoreDeveloper}))
	org, err := id.CreateOrg.Handle(ctx, identitycmd.CreateOrg{Actor: cli, Name: "MediciaAIOrg2"})
	track(org.Result, err)
	track(id.AddOrgMember.Handle(ctx, identitycmd.AddOrgMember{Actor: cli, OrgID: org.ID, UserID: cora}))
	backend, err := id.CreateBackend.Handle(ctx, identitycmd.CreateBackend{Actor: cli, Slug: "tpp", Name: "TPP"})
	track(backend.Result, err)
	track(id.AddBackendMember.Handle(ctx, identitycmd.AddBackendMember{Actor: cli, BackendID: backend.BackendID, UserID: cora}))
	project, err := id.CreateProject.Handle(ctx, identitycmd.CreateProject{Actor: cli, Name: "MyStudy", OrgID: org.ID})
	track(project.Result, err)
	track(id.AddProjectMember.Handle(ctx, identitycmd.AddProjectMember{Actor: cli, ProjectID: project.ID, UserID: cora,
		Roles: []domain.Role{domain.ProjectCoordinator}}))
	catchUp()
	q := w.q

	page, err := q.ProjectPage(ctx, "MediciaAIOrg2", "MYSTUDY", cora)
	if err != nil || page.Project.Name != "MyStudy" || page.Project.OrgName != "MediciaAIOrg2" || len(page.Members) != 1 ||
		page.Members[0].DisplayName() != "Cora Tester" {
		t.Fatalf("project page = %+v, %v", page, err)
	}
	if !page.Viewer.Has(domain.ProjectMembershipEdit) || page.Viewer.Has(domain.ProjectMembershipAdd) {
		t.Errorf("the coordinator may %v", page.Viewer.List())
	}
	if admin, _ := q.ProjectPage(ctx, "mediciaaiorg2", "mystudy", ada); !admin.Viewer.Has(domain.ProjectMembershipAdd) {
		t.Errorf("the admin may %v", admin.Viewer.List())
	}
	if nobody, _ := q.ProjectPage(ctx, "mediciaaiorg2", "mystudy", ""); len(nobody.Viewer.List()) != 0 {
		t.Errorf("nobody may %v", nobody.Viewer.List())
	}
	if _, err := q.ProjectPage(ctx, "elsewhere", "mystudy", cora); domain.KindOf(err) != domain.KindNotFound {
		t.Errorf("a project in another organisation: %v", err)
	}
	if m, err := q.ProjectMemberPage(ctx, "mediciaaiorg2", "mystudy", ada, cora); err != nil || m.IsMember || m.Project.ID != project.ID {
		t.Errorf("a non-member's page = %+v, %v", m, err)
	}

	// Cora changes her name and picture on GitHub and logs in again.
	signIn("cora", "Cora Smith")
	catchUp()

	member, err := q.ProjectMemberPage(ctx, "mediciaaiorg2", "mystudy", cora, ada)
	if err != nil || !member.IsMember || member.Member.DisplayName() != "Cora Smith" ||
		member.Member.AvatarURL != "https://avatars.example/Cora Smith" || len(member.Member.Roles) != 1 {
		t.Errorf("member page = %+v, %v", member, err)
	}
	if page, _ := q.ProjectPage(ctx, "mediciaaiorg2", "mystudy", cora); len(page.Members) != 1 || page.Members[0].Name != "Cora Smith" {
		t.Errorf("project members = %+v", page.Members)
	}
	if members, _ := q.OrgMembers(ctx, org.ID); len(members) != 1 || members[0].Name != "Cora Smith" {
		t.Errorf("organisation members = %+v", members)
	}
	if members, _ := q.BackendMembers(ctx, backend.BackendID); len(members) != 1 || members[0].Name != "Cora Smith" {
		t.Errorf("backend members = %+v", members)
	}
	if members, _ := q.ProjectMembers(ctx, project.ID); len(members) != 1 || members[0].User.Name != "Cora Smith" {
		t.Errorf("project members = %+v", members)
	}

	home, err := q.HomePage(ctx, cora)
	if err != nil || len(home.Memberships) != 1 || home.Memberships[0].Project.OrgSlug != "mediciaaiorg2" ||
		len(home.Orgs) != 1 || home.Orgs[0].Name != "MediciaAIOrg2" {
		t.Errorf("home page = %+v, %v", home, err)
	}
	orgPage, err := q.OrgPage(ctx, "MediciaAIOrg2")
	if err != nil || orgPage.Org.ID != org.ID || len(orgPage.Projects) != 1 || orgPage.Projects[0].Members != 1 {
		t.Errorf("organisation page = %+v, %v", orgPage, err)
	}
	if _, err := q.OrgPage(ctx, "nowhere"); domain.KindOf(err) != domain.KindNotFound {
		t.Errorf("a missing organisation: %v", err)
	}

	track(id.RemoveOrgMember.Handle(ctx, identitycmd.RemoveOrgMember{Actor: cli, OrgID: org.ID, UserID: cora}))
	catchUp()
	if home, _ := q.HomePage(ctx, cora); len(home.Orgs) != 0 {
		t.Errorf("orgs after leaving = %+v", home.Orgs)
	}
	w.verify()
}
