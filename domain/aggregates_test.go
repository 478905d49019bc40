package domain_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mediciasafely/jobserver/domain"
)

type folder interface{ Apply(domain.Event) }

func fold[A folder](agg A, events ...domain.Event) A {
	for _, e := range events {
		agg.Apply(e)
	}
	return agg
}

// operator decides as the operator's command line: with every permission.
var operator = domain.Actor{Can: domain.AllPermissionsSet(), Operator: true}

var ada = domain.GitHubProfile{ID: 42, Login: "ada", Name: "Ada Lovelace", Email: "ada@example.org", AvatarURL: "https://avatars.example.org/42"}

func registeredAda(t *testing.T) *domain.User {
	t.Helper()
	e, err := domain.RegisterUser("u1", ada)
	if err != nil {
		t.Fatal(err)
	}
	return fold(&domain.User{}, e)
}

func TestRegisterUserValidatesTheGitHubProfile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edit  func(*domain.GitHubProfile)
		field string
	}{
		{"a profile without a GitHub id", func(p *domain.GitHubProfile) { p.ID = 0 }, "github_id"},
		{"a profile without a login", func(p *domain.GitHubProfile) { p.Login = " " }, "login"},
		{"a login with a space", func(p *domain.GitHubProfile) { p.Login = "ada l" }, "login"},
		{"a bad e-mail address", func(p *domain.GitHubProfile) { p.Email = "not-an-address" }, "email"},
		{"an avatar that is not a web address", func(p *domain.GitHubProfile) { p.AvatarURL = "javascript:alert(1)" }, "avatar_url"},
		{"no name and no e-mail are fine", func(p *domain.GitHubProfile) { p.Name, p.Email, p.AvatarURL = "", "", "" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := ada
			tt.edit(&p)
			_, err := domain.RegisterUser("u1", p)
			if tt.field == "" && err != nil {
				t.Fatalf("err = %v, want ok", err)
			}
			if tt.field != "" && fieldOf(err, tt.field) == "" {
				t.Fatalf("err = %v, want Invalid on %s", err, tt.field)
			}
		})
	}
}

func TestALaterLoginUpdatesTheProfileOnlyWhenItChanged(t *testing.T) {
	t.Parallel()
	u := registeredAda(t)
	if events, err := u.UpdateProfile(ada); err != nil || len(events) != 0 {
		t.Fatalf("same profile: events %v, err %v; want none", events, err)
	}
	padded := ada
	padded.Name = "  Ada   Lovelace "
	if events, err := u.UpdateProfile(padded); err != nil || len(events) != 0 {
		t.Fatalf("same profile with extra spaces: events %v, err %v; want none", events, err)
	}
	changed := ada
	changed.Email = "ada@newmail.example.org"
	events, err := u.UpdateProfile(changed)
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.Event{domain.UserProfileUpdated{UserID: "u1", Profile: domain.NewPersonal("u1",
		domain.GitHubProfile{ID: ada.ID, Login: "ada", Name: "Ada Lovelace", Email: "ada@newmail.example.org", AvatarURL: ada.AvatarURL})}}
	if !reflect.DeepEqual(events, want) {
		t.Fatalf("events = %#v, want %#v", events, want)
	}
	fold(u, events...)
	if u.Email() != "ada@newmail.example.org" || u.NotificationEmail() != "ada@newmail.example.org" {
		t.Fatalf("email %q, notification email %q", u.Email(), u.NotificationEmail())
	}
	other := ada
	other.ID = 43
	if _, err := u.UpdateProfile(other); domain.KindOf(err) != domain.KindInvalid {
		t.Fatalf("another GitHub account: err = %v, want Invalid", err)
	}
	if _, err := (&domain.User{}).UpdateProfile(ada); domain.KindOf(err) != domain.KindNotFound {
		t.Fatalf("unregistered user: err = %v, want NotFound", err)
	}
}

func TestNotificationEmailOverridesTheGitHubAddress(t *testing.T) {
	t.Parallel()
	u := registeredAda(t)
	if _, err := u.ChangeNotificationEmail(domain.Actor{UserID: "u1"}, "nope"); fieldOf(err, "email") == "" {
		t.Fatalf("bad address: err = %v, want Invalid on email", err)
	}
	events, err := u.ChangeNotificationEmail(domain.Actor{UserID: "u1"}, " ada@work.example.org ")
	if err != nil || len(events) != 1 {
		t.Fatalf("events %v, err %v", events, err)
	}
	fold(u, events...)
	if u.NotificationEmail() != "ada@work.example.org" || u.Email() != "ada@example.org" {
		t.Fatalf("notification %q, github %q", u.NotificationEmail(), u.Email())
	}
	if events, err := u.ChangeNotificationEmail(domain.Actor{UserID: "u1"}, "ada@work.example.org"); err != nil || len(events) != 0 {
		t.Fatalf("same address again: events %v, err %v; want none", events, err)
	}
}

func TestGlobalRolesAreGrantedOnceAndRevoked(t *testing.T) {
	t.Parallel()
	for _, r := range domain.AllRoles() {
		t.Run(string(r), func(t *testing.T) {
			t.Parallel()
			u := registeredAda(t)
			roster := &domain.AdminRoster{}
			events, listed, err := u.GrantGlobalRole(operator, roster, r)
			if err != nil || len(events) != 1 {
				t.Fatalf("grant: events %v, err %v", events, err)
			}
			if (r == domain.CoreDeveloper) != (len(listed) == 1) {
				t.Fatalf("grant of %s put %v on the admin roster", r, listed)
			}
			fold(u, events...)
			fold(roster, listed...)
			if !u.HasGlobalRole(r) || !slices.Equal(u.GlobalRoles(), []domain.Role{r}) {
				t.Fatalf("roles = %v", u.GlobalRoles())
			}
			if events, listed, err := u.GrantGlobalRole(operator, roster, r); err != nil || len(events)+len(listed) != 0 {
				t.Fatalf("granting a held role again: events %v %v, err %v; want none", events, listed, err)
			}
			if r == domain.CoreDeveloper {
				_, _, err := u.RevokeGlobalRole(operator, roster, r)
				wantRefusal(t, err, "last Core Developer")
				fold(roster, domain.AdminRosterJoined{UserID: "u2"}) // a second admin
			}
			events, _, err = u.RevokeGlobalRole(operator, roster, r)
			if err != nil || len(events) != 1 {
				t.Fatalf("revoke: events %v, err %v", events, err)
			}
			fold(u, events...)
			if u.HasGlobalRole(r) {
				t.Fatal("role still held")
			}
			if events, _, err := u.RevokeGlobalRole(operator, roster, r); err != nil || len(events) != 0 {
				t.Fatalf("revoking a role not held: events %v, err %v; want none", events, err)
			}
		})
	}
	u := registeredAda(t)
	if _, _, err := u.GrantGlobalRole(operator, &domain.AdminRoster{}, "wizard"); fieldOf(err, "roles") == "" {
		t.Fatalf("unknown role: err = %v, want Invalid on roles", err)
	}
}

func TestSettingGlobalRolesGrantsAndRevokesInOneDecision(t *testing.T) {
	t.Parallel()
	u := registeredAda(t)
	roster := &domain.AdminRoster{}
	events, _, err := u.SetGlobalRoles(operator, roster, []domain.Role{domain.OutputChecker, domain.TechnicalReviewer})
	if err != nil || len(events) != 2 {
		t.Fatalf("events %v, err %v", events, err)
	}
	fold(u, events...)
	events, _, err = u.SetGlobalRoles(operator, roster, []domain.Role{domain.TechnicalReviewer, domain.GovernanceReviewer})
	want := []domain.Event{
		domain.GlobalRoleGranted{UserID: "u1", Role: domain.GovernanceReviewer},
		domain.GlobalRoleRevoked{UserID: "u1", Role: domain.OutputChecker},
	}
	if err != nil || !reflect.DeepEqual(events, want) {
		t.Fatalf("events %v, err %v; want %v", events, err, want)
	}
	if _, _, err := u.SetGlobalRoles(domain.Actor{UserID: "u9", Can: domain.PermissionSet{}}, roster, nil); domain.KindOf(err) != domain.KindForbidden {
		t.Fatalf("a user without user_manage: err = %v, want Forbidden", err)
	}
}

func TestOnlyTheUserChangesTheirOwnNotificationAddress(t *testing.T) {
	t.Parallel()
	u := registeredAda(t)
	_, err := u.ChangeNotificationEmail(domain.Actor{UserID: "u2", Can: domain.AllPermissionsSet()}, "x@example.org")
	wantRefusal(t, err, "your own e-mail address")
	if _, err := u.ChangeNotificationEmail(operator, "x@example.org"); err != nil {
		t.Fatalf("the command line: %v", err)
	}
}

// wantRefusal fails unless err is a refusal whose message contains words.
func wantRefusal(t *testing.T, err error, words string) {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) || de.Kind != domain.KindForbidden || !strings.Contains(de.Message, words) {
		t.Fatalf("err = %v, want a refusal saying %q", err, words)
	}
}

func newProject(t *testing.T) *domain.Project {
	t.Helper()
	e, err := domain.CreateProject(operator, "p1", "My Study", "", "")
	if err != nil {
		t.Fatal(err)
	}
	return fold(&domain.Project{}, e)
}

func TestProjectMemberRules(t *testing.T) {
	t.Parallel()
	dev := []domain.Role{domain.ProjectDeveloper}
	coord := []domain.Role{domain.ProjectCoordinator}
	tests := []struct {
		name   string
		setup  []domain.Event
		decide func(*domain.Project) ([]domain.Event, error)
		want   []domain.Event
		kind   domain.Kind
		field  string
	}{
		{
			name: "a new member gets project roles, sorted",
			decide: func(p *domain.Project) ([]domain.Event, error) {
				return p.AddMember(operator, "u2", []domain.Role{"project_developer", "project_collaborator"})
			},
			want: []domain.Event{domain.ProjectMemberAdded{ProjectID: "p1", UserID: "u2", Roles: []domain.Role{domain.ProjectCollaborator, domain.ProjectDeveloper}}},
		},
		{
			name:   "a member without roles is allowed",
			decide: func(p *domain.Project) ([]domain.Event, error) { return p.AddMember(operator, "u2", nil) },
			want:   []domain.Event{domain.ProjectMemberAdded{ProjectID: "p1", UserID: "u2", Roles: []domain.Role{}}},
		},
		{
			name: "a global-only role cannot be given on a project",
			decide: func(p *domain.Project) ([]domain.Event, error) {
				return p.AddMember(operator, "u2", []domain.Role{domain.OutputChecker})
			},
			kind: domain.KindInvalid, field: "roles",
		},
		{
			name:   "adding a member again with the same roles changes nothing",
			setup:  []domain.Event{domain.ProjectMemberAdded{ProjectID: "p1", UserID: "u2", Roles: dev}},
			decide: func(p *domain.Project) ([]domain.Event, error) { return p.AddMember(operator, "u2", dev) },
		},
		{
			name:   "adding a member again with other roles is a conflict",
			setup:  []domain.Event{domain.ProjectMemberAdded{ProjectID: "p1", UserID: "u2", Roles: dev}},
			decide: func(p *domain.Project) ([]domain.Event, error) { return p.AddMember(operator, "u2", coord) },
			kind:   domain.KindConflict, field: "user_id",
		},
		{
			name:   "the roles of an existing member change",
			setup:  []domain.Event{domain.ProjectMemberAdded{ProjectID: "p1", UserID: "u2", Roles: dev}},
			decide: func(p *domain.Project) ([]domain.Event, error) { return p.ChangeMemberRoles(operator, "u2", coord) },
			want:   []domain.Event{domain.ProjectMemberRolesChanged{ProjectID: "p1", UserID: "u2", Roles: coord}},
		},
		{
			name:   "changing to the roles held changes nothing",
			setup:  []domain.Event{domain.ProjectMemberAdded{ProjectID: "p1", UserID: "u2", Roles: dev}},
			decide: func(p *domain.Project) ([]domain.Event, error) { return p.ChangeMemberRoles(operator, "u2", dev) },
		},
		{
			name:   "the roles of a non-member cannot change",
			decide: func(p *domain.Project) ([]domain.Event, error) { return p.ChangeMemberRoles(operator, "u2", dev) },
			kind:   domain.KindNotFound,
		},
		{
			name:  "a member cannot get a global-only role on the project",
			setup: []domain.Event{domain.ProjectMemberAdded{ProjectID: "p1", UserID: "u2", Roles: dev}},
			decide: func(p *domain.Project) ([]domain.Event, error) {
				return p.ChangeMemberRoles(operator, "u2", []domain.Role{domain.CoreDeveloper})
			},
			kind: domain.KindInvalid, field: "roles",
		},
		{
			name:   "a member is removed",
			setup:  []domain.Event{domain.ProjectMemberAdded{ProjectID: "p1", UserID: "u2", Roles: dev}},
			decide: func(p *domain.Project) ([]domain.Event, error) { return p.RemoveMember(operator, "u2") },
			want:   []domain.Event{domain.ProjectMemberRemoved{ProjectID: "p1", UserID: "u2"}},
		},
		{
			name:   "a non-member cannot be removed",
			decide: func(p *domain.Project) ([]domain.Event, error) { return p.RemoveMember(operator, "u2") },
			kind:   domain.KindNotFound,
		},
		{
			name: "a removed member can be added back",
			setup: []domain.Event{
				domain.ProjectMemberAdded{ProjectID: "p1", UserID: "u2", Roles: dev},
				domain.ProjectMemberRemoved{ProjectID: "p1", UserID: "u2"},
			},
			decide: func(p *domain.Project) ([]domain.Event, error) { return p.AddMember(operator, "u2", coord) },
			want:   []domain.Event{domain.ProjectMemberAdded{ProjectID: "p1", UserID: "u2", Roles: coord}},
		},
		{
			name:   "a project goes into an organisation",
			decide: func(p *domain.Project) ([]domain.Event, error) { return p.AddToOrg(operator, "o1") },
			want:   []domain.Event{domain.ProjectAddedToOrg{ProjectID: "p1", OrgID: "o1"}},
		},
		{
			name:   "a project already in the organisation stays",
			setup:  []domain.Event{domain.ProjectAddedToOrg{ProjectID: "p1", OrgID: "o1"}},
			decide: func(p *domain.Project) ([]domain.Event, error) { return p.AddToOrg(operator, "o1") },
		},
		{
			name:   "a project belongs to at most one organisation",
			setup:  []domain.Event{domain.ProjectAddedToOrg{ProjectID: "p1", OrgID: "o1"}},
			decide: func(p *domain.Project) ([]domain.Event, error) { return p.AddToOrg(operator, "o2") },
			kind:   domain.KindConflict, field: "org_id",
		},
		{
			name:   "a project is renamed",
			decide: func(p *domain.Project) ([]domain.Event, error) { return p.Rename(operator, "  Our   Study ") },
			want:   []domain.Event{domain.ProjectRenamed{ProjectID: "p1", Name: "Our Study"}},
		},
		{
			name:   "renaming to the same name changes nothing",
			decide: func(p *domain.Project) ([]domain.Event, error) { return p.Rename(operator, "My Study") },
		},
		{
			name:   "a project needs a name",
			decide: func(p *domain.Project) ([]domain.Event, error) { return p.Rename(operator, " ") },
			kind:   domain.KindInvalid, field: "name",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := fold(newProject(t), tt.setup...)
			events, err := tt.decide(p)
			if tt.kind != 0 {
				if domain.KindOf(err) != tt.kind || (tt.field != "" && fieldOf(err, tt.field) == "") {
					t.Fatalf("err = %v, want kind %d on field %q", err, tt.kind, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(events, tt.want) {
				t.Fatalf("events = %#v, want %#v", events, tt.want)
			}
		})
	}
}

func TestProjectFoldsMembersAndOrg(t *testing.T) {
	t.Parallel()
	p := fold(newProject(t),
		domain.ProjectMemberAdded{ProjectID: "p1", UserID: "u2", Roles: []domain.Role{domain.ProjectDeveloper}},
		domain.ProjectMemberAdded{ProjectID: "p1", UserID: "u3", Roles: []domain.Role{}},
		domain.ProjectMemberRolesChanged{ProjectID: "p1", UserID: "u3", Roles: []domain.Role{domain.ProjectCoordinator}},
		domain.ProjectMemberRemoved{ProjectID: "p1", UserID: "u2"},
		domain.ProjectAddedToOrg{ProjectID: "p1", OrgID: "o1"},
		domain.ProjectRenamed{ProjectID: "p1", Name: "Our Study"},
	)
	if got := p.Members(); !slices.Equal(got, []string{"u3"}) {
		t.Fatalf("members = %v", got)
	}
	if roles, ok := p.MemberRoles("u3"); !ok || !slices.Equal(roles, []domain.Role{domain.ProjectCoordinator}) {
		t.Fatalf("roles of u3 = %v, %v", roles, ok)
	}
	if p.OrgID() != "o1" || p.Name() != "Our Study" || p.Slug() != "my-study" {
		t.Fatalf("org %q, name %q, slug %q", p.OrgID(), p.Name(), p.Slug())
	}
}

func TestBackendAndOrgMembership(t *testing.T) {
	t.Parallel()
	created, err := domain.CreateBackend(operator, "b1", "", "RC Demo 2")
	if err != nil || created.Slug != "rc-demo-2" {
		t.Fatalf("%+v, %v", created, err)
	}
	if _, err := domain.CreateBackend(operator, "b1", "Bad Slug", "x"); fieldOf(err, "slug") == "" {
		t.Fatalf("bad slug: err = %v", err)
	}
	if _, err := domain.CreateBackend(operator, "b1", "status", "Status"); err != nil {
		t.Fatalf("backend slugs are not checked against reserved words: %v", err)
	}
	b := fold(&domain.Backend{}, created)
	events, err := b.AddMember(operator, "u1")
	if err != nil || len(events) != 1 {
		t.Fatalf("add: %v, %v", events, err)
	}
	fold(b, events...)
	if events, err := b.AddMember(operator, "u1"); err != nil || len(events) != 0 {
		t.Fatalf("adding a member again: %v, %v; want nothing", events, err)
	}
	if _, err := b.RemoveMember(operator, "u2"); domain.KindOf(err) != domain.KindNotFound {
		t.Fatalf("removing a non-member: %v", err)
	}
	if events, err := b.RotateRunnerToken(operator); err != nil || !reflect.DeepEqual(events, []domain.Event{domain.RunnerTokenRotated{BackendID: "b1"}}) {
		t.Fatalf("rotate: %v, %v", events, err)
	}
	if _, err := (&domain.Backend{}).RotateRunnerToken(operator); domain.KindOf(err) != domain.KindNotFound {
		t.Fatalf("rotating a missing backend: %v", err)
	}

	oc, err := domain.CreateOrg(operator, "o1", "MediciaAIOrg2", "")
	if err != nil {
		t.Fatal(err)
	}
	o := fold(&domain.Org{}, oc, domain.OrgMemberAdded{OrgID: "o1", UserID: "u1"})
	if !o.IsMember("u1") {
		t.Fatal("u1 is not a member")
	}
	events, err = o.RemoveMember(operator, "u1")
	if err != nil || len(events) != 1 {
		t.Fatalf("remove: %v, %v", events, err)
	}
	if fold(o, events...).IsMember("u1") {
		t.Fatal("u1 is still a member")
	}
	if _, err := (&domain.Org{}).AddMember(operator, "u1"); domain.KindOf(err) != domain.KindNotFound {
		t.Fatalf("adding to a missing org: %v", err)
	}
}

func TestReservations(t *testing.T) {
	t.Parallel()
	var r domain.Reservation
	events, err := r.ReserveSlug("slug", domain.ReservedForOrg, "acme", "o1")
	if err != nil || len(events) != 1 {
		t.Fatalf("%v, %v", events, err)
	}
	fold(&r, events...)
	if _, err := r.ReserveSlug("slug", domain.ReservedForOrg, "acme", "o2"); domain.KindOf(err) != domain.KindConflict || fieldOf(err, "slug") == "" {
		t.Fatalf("a taken slug: err = %v, want Conflict on slug", err)
	}
	if events, err := r.ReserveSlug("slug", domain.ReservedForOrg, "acme", "o1"); err != nil || len(events) != 0 {
		t.Fatalf("the owner reserving again: %v, %v", events, err)
	}

	var n domain.Reservation
	fold(&n, domain.NameReserved{Kind: domain.ReservedForProject, Name: "My Study", OwnerID: "p1"})
	if _, err := n.ReserveName("name", domain.ReservedForProject, "MY STUDY", "p2"); fieldOf(err, "name") == "" {
		t.Fatalf("a taken name: err = %v, want Conflict on name", err)
	}
	if events := n.ReleaseName(domain.ReservedForProject, "My Study", "p2"); len(events) != 0 {
		t.Fatalf("only the owner releases: %v", events)
	}
	fold(&n, n.ReleaseName(domain.ReservedForProject, "My Study", "p1")...)
	if n.Held() {
		t.Fatal("still held after release")
	}
	if events, err := n.ReserveName("name", domain.ReservedForProject, "My Study", "p2"); err != nil || len(events) != 1 {
		t.Fatalf("a released name can be taken: %v, %v", events, err)
	}

	var g domain.Reservation
	fold(&g, domain.GitHubAccountLinked{UserID: domain.NewPersonal("githubuser-x", "u1")})
	if g.Owner() != "u1" {
		t.Fatalf("owner = %q", g.Owner())
	}
	if _, err := g.LinkGitHubAccount("githubuser-x", "u2"); domain.KindOf(err) != domain.KindConflict {
		t.Fatalf("linking a linked account: %v", err)
	}
}
