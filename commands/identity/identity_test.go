package identity_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
)

func TestTheFirstLoginRegistersTheUserAndLaterLoginsRecordOnlyChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	login := identity.SignInWithGitHub{GitHubID: 583231, Login: "octocat", Name: "The Octocat", Email: "octocat@example.org", AvatarURL: "https://avatars.example.org/1"}

	first, err := s.SignInWithGitHub.Handle(ctx, login)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Registered || first.UserID == "" || first.Position.IsZero() {
		t.Fatalf("first login: %+v", first)
	}
	if got := s.eventTypes(t); !slices.Equal(got, []string{"UserRegistered", "GitHubAccountLinked"}) {
		t.Fatalf("events after the first login: %v", got)
	}
	if actor := s.events(t)[0].Metadata.Actor; actor != "user:"+first.UserID {
		t.Fatalf("registration recorded with actor %q", actor)
	}

	again, err := s.SignInWithGitHub.Handle(ctx, login)
	if err != nil {
		t.Fatal(err)
	}
	if again.UserID != first.UserID || again.Registered || !again.Position.IsZero() {
		t.Fatalf("second login without changes: %+v", again)
	}
	if n := len(s.events(t)); n != 2 {
		t.Fatalf("a login without changes appended events: %d events", n)
	}

	login.Name, login.Email = "Mona Octocat", "mona@example.org"
	changed, err := s.SignInWithGitHub.Handle(ctx, login)
	if err != nil {
		t.Fatal(err)
	}
	if changed.UserID != first.UserID || changed.Registered || changed.Position.IsZero() {
		t.Fatalf("login with a new name: %+v", changed)
	}
	if got := s.eventTypes(t); !slices.Equal(got, []string{"UserRegistered", "GitHubAccountLinked", "UserProfileUpdated"}) {
		t.Fatalf("events: %v", got)
	}
	var u domain.User
	if _, err := s.log.Load(ctx, domain.UserStream(first.UserID), &u); err != nil {
		t.Fatal(err)
	}
	if u.Name() != "Mona Octocat" || u.Email() != "mona@example.org" {
		t.Fatalf("name %q, email %q", u.Name(), u.Email())
	}
}

func TestALoginWithABadProfileIsRefused(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	_, err := s.SignInWithGitHub.Handle(context.Background(), identity.SignInWithGitHub{Login: "nobody"})
	wantKind(t, err, domain.KindInvalid, "github_id")
	if n := len(s.events(t)); n != 0 {
		t.Fatalf("%d events", n)
	}
}

func TestConcurrentFirstLoginsOfOneGitHubAccountRegisterOneUser(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	const logins = 16
	ids := make([]string, logins)
	errs := make([]error, logins)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range logins {
		wg.Go(func() {
			<-start
			out, err := s.SignInWithGitHub.Handle(context.Background(), identity.SignInWithGitHub{GitHubID: 7, Login: "twin"})
			ids[i], errs[i] = out.UserID, err
		})
	}
	close(start)
	wg.Wait()
	for i := range logins {
		if errs[i] != nil {
			t.Fatalf("login %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("login %d signed in as %s, login 0 as %s", i, ids[i], ids[0])
		}
	}
	registered := 0
	for _, typ := range s.eventTypes(t) {
		if typ == "UserRegistered" {
			registered++
		}
	}
	if registered != 1 {
		t.Fatalf("%d users registered, want 1", registered)
	}
}

func TestConcurrentOrgsWithOneSlugCreateExactlyOne(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	const creators = 16
	errs := make([]error, creators)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range creators {
		wg.Go(func() {
			<-start
			_, errs[i] = s.CreateOrg.Handle(context.Background(), identity.CreateOrg{Actor: commands.CLIActor, Name: "Acme", Slug: "acme"})
		})
	}
	close(start)
	wg.Wait()
	succeeded := 0
	for _, err := range errs {
		if err == nil {
			succeeded++
			continue
		}
		wantKind(t, err, domain.KindConflict, "slug")
	}
	if succeeded != 1 {
		t.Fatalf("%d creations succeeded, want 1", succeeded)
	}
	if got := s.eventTypes(t); !slices.Equal(got, []string{"OrgCreated", "SlugReserved"}) {
		t.Fatalf("events: %v", got)
	}
}

func TestConcurrentProjectsWithOneNameCreateExactlyOne(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	const creators = 16
	errs := make([]error, creators)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range creators {
		wg.Go(func() {
			<-start
			// Different slugs, one name in different cases.
			name := "My Study"
			if i%2 == 1 {
				name = "MY STUDY"
			}
			_, errs[i] = s.CreateProject.Handle(context.Background(), identity.CreateProject{
				Actor: commands.CLIActor, Name: name, Slug: "study-" + string(rune('a'+i)),
			})
		})
	}
	close(start)
	wg.Wait()
	succeeded := 0
	for _, err := range errs {
		if err == nil {
			succeeded++
			continue
		}
		wantKind(t, err, domain.KindConflict, "name")
	}
	if succeeded != 1 {
		t.Fatalf("%d creations succeeded, want 1", succeeded)
	}
}

func TestReservedWordsCannotBeOrgSlugs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	for _, word := range domain.ReservedSlugs {
		_, err := s.CreateOrg.Handle(ctx, identity.CreateOrg{Actor: commands.CLIActor, Name: "Some Org", Slug: word})
		wantKind(t, err, domain.KindInvalid, "slug")
	}
	_, err := s.CreateOrg.Handle(ctx, identity.CreateOrg{Actor: commands.CLIActor, Name: "Settings"})
	wantKind(t, err, domain.KindInvalid, "slug")
	if n := len(s.events(t)); n != 0 {
		t.Fatalf("%d events", n)
	}
	org, err := s.CreateOrg.Handle(ctx, identity.CreateOrg{Actor: commands.CLIActor, Name: "MediciaAIOrg2"})
	if err != nil || org.Slug != "mediciaaiorg2" {
		t.Fatalf("%+v, %v", org, err)
	}
}

func TestTheRunnerTokenIsShownOnceAndStoredHashed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	b, err := s.CreateBackend.Handle(ctx, identity.CreateBackend{Actor: commands.CLIActor, Slug: "rcdemo2", Name: "RC Demo 2"})
	if err != nil {
		t.Fatal(err)
	}
	if raw, err := hex.DecodeString(b.Token); err != nil || len(raw) != 32 {
		t.Fatalf("token %q is not 32 bytes of hex", b.Token)
	}
	sum := sha256.Sum256([]byte(b.Token))
	hash := hex.EncodeToString(sum[:])
	if v, found, _ := s.store.Secret(ctx, "runner-token/"+hash); !found || string(v) != b.BackendID {
		t.Fatalf("runner-token/<hash> = %q, %v; want the backend id", v, found)
	}
	if v, found, _ := s.store.Secret(ctx, "backend-runner-token/"+b.BackendID); !found || string(v) != hash {
		t.Fatalf("backend-runner-token/<id> = %q, %v; want the hash", v, found)
	}
	if id, found, err := identity.BackendForToken(ctx, s.store, b.Token); err != nil || !found || id != b.BackendID {
		t.Fatalf("BackendForToken = %q, %v, %v", id, found, err)
	}
	for _, bad := range []string{"", "not-a-token", hash, strings.ToUpper(b.Token)} {
		if _, found, _ := identity.BackendForToken(ctx, s.store, bad); found {
			t.Fatalf("BackendForToken(%q) found a backend", bad)
		}
	}
	assertNoEventContains(t, s, b.Token, hash)
}

func TestRotatingTheRunnerTokenInvalidatesTheOldOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	b, err := s.CreateBackend.Handle(ctx, identity.CreateBackend{Actor: commands.CLIActor, Slug: "rcdemo2", Name: "RC Demo 2"})
	if err != nil {
		t.Fatal(err)
	}
	tokens := []string{b.Token}
	for range 2 {
		rotated, err := s.RotateRunnerToken.Handle(ctx, identity.RotateRunnerToken{Actor: commands.CLIActor, BackendID: b.BackendID})
		if err != nil {
			t.Fatal(err)
		}
		if rotated.Position.IsZero() || slices.Contains(tokens, rotated.Token) {
			t.Fatalf("rotation: %+v", rotated)
		}
		tokens = append(tokens, rotated.Token)
	}
	for i, token := range tokens {
		id, found, err := identity.BackendForToken(ctx, s.store, token)
		if err != nil {
			t.Fatal(err)
		}
		if current := i == len(tokens)-1; found != current || (current && id != b.BackendID) {
			t.Fatalf("token %d: found %v (%q), want found only for the current token", i, found, id)
		}
	}
	if got := s.eventTypes(t); !slices.Equal(got, []string{"BackendCreated", "SlugReserved", "RunnerTokenRotated", "RunnerTokenRotated"}) {
		t.Fatalf("events: %v", got)
	}
	assertNoEventContains(t, s, tokens...)

	_, err = s.RotateRunnerToken.Handle(ctx, identity.RotateRunnerToken{Actor: commands.CLIActor, BackendID: "nope"})
	wantKind(t, err, domain.KindNotFound, "")
}

// assertNoEventContains scans the data and metadata of every stored event for the secrets.
func assertNoEventContains(t *testing.T, s server, secrets ...string) {
	t.Helper()
	for _, e := range s.events(t) {
		meta := e.Metadata.Actor + e.Metadata.CorrelationID + e.Metadata.CausationID
		for _, secret := range secrets {
			if bytes.Contains(e.Data, []byte(secret)) || strings.Contains(meta, secret) || strings.Contains(e.Stream, secret) {
				t.Fatalf("event %s %s contains a secret: %s", e.Stream, e.Type, e.Data)
			}
		}
	}
}

func TestBackendSlugsAreUnique(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	ok(t)(s.CreateBackend.Handle(ctx, identity.CreateBackend{Actor: commands.CLIActor, Slug: "tpp", Name: "TPP"}))
	_, err := s.CreateBackend.Handle(ctx, identity.CreateBackend{Actor: commands.CLIActor, Slug: "tpp", Name: "Another"})
	wantKind(t, err, domain.KindConflict, "slug")
	_, err = s.CreateBackend.Handle(ctx, identity.CreateBackend{Actor: commands.CLIActor, Slug: "Not A Slug", Name: "X"})
	wantKind(t, err, domain.KindInvalid, "slug")
}

func TestTheCommandLineBootstrapsTheFirstAdmin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	admin := s.signIn(t, 1, "admin")
	admin1 := commands.UserActor(admin)

	_, err := s.CreateBackend.Handle(ctx, identity.CreateBackend{Actor: admin1, Slug: "tpp", Name: "TPP"})
	wantKind(t, err, domain.KindForbidden, "")

	role, err := domain.ParseRole("Core Developer")
	if err != nil {
		t.Fatal(err)
	}
	granted := ok(t)(s.GrantGlobalRole.Handle(ctx, identity.GrantGlobalRole{Actor: commands.CLIActor, UserID: admin, Role: role})).(commands.Result)
	if granted.Position.IsZero() {
		t.Fatal("the grant appended nothing")
	}
	events := s.events(t)
	grant, listed := events[len(events)-2], events[len(events)-1]
	if grant.Type != "GlobalRoleGranted" || grant.Metadata.Actor != "cli" || listed.Type != "AdminRosterJoined" {
		t.Fatalf("last events %s by %q, %s", grant.Type, grant.Metadata.Actor, listed.Type)
	}
	ok(t)(s.CreateBackend.Handle(ctx, identity.CreateBackend{Actor: admin1, Slug: "tpp", Name: "TPP"}))
}

func TestGrantingARoleAlreadyHeldChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	user := s.signIn(t, 1, "ada")
	for _, r := range domain.AllRoles() {
		ok(t)(s.GrantGlobalRole.Handle(ctx, identity.GrantGlobalRole{Actor: commands.CLIActor, UserID: user, Role: r}))
	}
	before := len(s.events(t))
	for _, r := range domain.AllRoles() {
		res, err := s.GrantGlobalRole.Handle(ctx, identity.GrantGlobalRole{Actor: commands.CLIActor, UserID: user, Role: r})
		if err != nil || !res.Position.IsZero() {
			t.Fatalf("granting %s again: %+v, %v", r, res, err)
		}
	}
	if after := len(s.events(t)); after != before {
		t.Fatalf("%d events appended by no-op grants", after-before)
	}
	var u domain.User
	if _, err := s.log.Load(ctx, domain.UserStream(user), &u); err != nil || !slices.Equal(u.GlobalRoles(), domain.AllRoles()) {
		t.Fatalf("roles %v, %v; want all ten", u.GlobalRoles(), err)
	}
	_, err := s.GrantGlobalRole.Handle(ctx, identity.GrantGlobalRole{Actor: commands.CLIActor, UserID: user, Role: "wizard"})
	wantKind(t, err, domain.KindInvalid, "roles")
}

func TestReferencedUsersMustExist(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	cli := commands.CLIActor
	b := ok(t)(s.CreateBackend.Handle(ctx, identity.CreateBackend{Actor: cli, Slug: "tpp", Name: "TPP"})).(identity.NewBackend)
	org := created(t)(s.CreateOrg.Handle(ctx, identity.CreateOrg{Actor: cli, Name: "Acme"}))
	project := created(t)(s.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "My Study"}))
	ghost := "01J0NOSUCHUSER000000000000"
	for name, run := range map[string]func() error{
		"GrantGlobalRole": func() error {
			_, err := s.GrantGlobalRole.Handle(ctx, identity.GrantGlobalRole{Actor: cli, UserID: ghost, Role: domain.CoreDeveloper})
			return err
		},
		"AddBackendMember": func() error {
			_, err := s.AddBackendMember.Handle(ctx, identity.AddBackendMember{Actor: cli, BackendID: b.BackendID, UserID: ghost})
			return err
		},
		"AddOrgMember": func() error {
			_, err := s.AddOrgMember.Handle(ctx, identity.AddOrgMember{Actor: cli, OrgID: org, UserID: ghost})
			return err
		},
		"AddProjectMember": func() error {
			_, err := s.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: project, UserID: ghost})
			return err
		},
		"ChangeNotificationEmail": func() error {
			_, err := s.ChangeNotificationEmail.Handle(ctx, identity.ChangeNotificationEmail{Actor: cli, UserID: ghost, Email: "a@example.org"})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			wantKind(t, run(), domain.KindNotFound, "")
		})
	}
}

func TestOnlyTheThreeProjectRolesCanBeGivenOnAProject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	cli := commands.CLIActor
	user := s.signIn(t, 1, "ada")
	project := created(t)(s.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "My Study"}))
	for _, r := range domain.AllRoles() {
		_, err := s.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: project, UserID: user, Roles: []domain.Role{r}})
		if r.ProjectScoped() {
			if err != nil {
				t.Fatalf("%s: %v", r, err)
			}
			ok(t)(s.RemoveProjectMember.Handle(ctx, identity.RemoveProjectMember{Actor: cli, ProjectID: project, UserID: user}))
			continue
		}
		wantKind(t, err, domain.KindInvalid, "roles")
	}
	ok(t)(s.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: project, UserID: user}))
	_, err := s.ChangeProjectMemberRoles.Handle(ctx, identity.ChangeProjectMemberRoles{
		Actor: cli, ProjectID: project, UserID: user, Roles: []domain.Role{domain.ProjectDeveloper, domain.OutputPublisher},
	})
	wantKind(t, err, domain.KindInvalid, "roles")
}

func TestAProjectRoleAppliesToThatProjectOnlyAndAGlobalGrantToAll(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	cli := commands.CLIActor
	local, global := s.signIn(t, 1, "local"), s.signIn(t, 2, "global")
	a := created(t)(s.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "Study A"}))
	b := created(t)(s.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "Study B"}))
	ok(t)(s.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: a, UserID: local, Roles: []domain.Role{domain.ProjectDeveloper}}))
	ok(t)(s.GrantGlobalRole.Handle(ctx, identity.GrantGlobalRole{Actor: cli, UserID: global, Role: domain.ProjectDeveloper}))
	future := created(t)(s.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "Study C"}))

	tests := []struct {
		user, project string
		want          bool
	}{
		{local, a, true}, {local, b, false}, {local, future, false}, {local, "", false},
		{global, a, true}, {global, b, true}, {global, future, true}, {global, "", true},
		{"", a, false},
	}
	// can is what a decision on the project's state sees the actor may do.
	can := func(actor commands.Actor, perm domain.Permission, projectID string) bool {
		var state any
		if projectID != "" {
			p, _, err := commands.LoadAggregate[domain.Project](ctx, s.log, domain.ProjectStream(projectID))
			if err != nil {
				t.Fatal(err)
			}
			state = p
		}
		by, err := actor.On(ctx, s.log, state)
		if err != nil {
			t.Fatal(err)
		}
		return by.Can.Has(perm)
	}
	for _, tt := range tests {
		actor := commands.Anonymous
		if tt.user != "" {
			actor = commands.UserActor(tt.user)
		}
		if got := can(actor, domain.JobRun, tt.project); got != tt.want {
			t.Errorf("user %q on project %q: can run jobs = %v; want %v", tt.user, tt.project, got, tt.want)
		}
	}
	if !can(cli, domain.SnapshotPublish, a) {
		t.Error("the command line can do everything")
	}
}

func TestUsersChangeOnlyTheirOwnNotificationEmail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	ada := s.signIn(t, 1, "ada")
	bob := s.signIn(t, 2, "bob")
	_, err := s.ChangeNotificationEmail.Handle(ctx, identity.ChangeNotificationEmail{Actor: commands.UserActor(ada), UserID: ada, Email: "not an address"})
	wantKind(t, err, domain.KindInvalid, "email")
	_, err = s.ChangeNotificationEmail.Handle(ctx, identity.ChangeNotificationEmail{Actor: commands.UserActor(bob), UserID: ada, Email: "evil@example.org"})
	wantKind(t, err, domain.KindForbidden, "")
	ok(t)(s.ChangeNotificationEmail.Handle(ctx, identity.ChangeNotificationEmail{Actor: commands.UserActor(ada), UserID: ada, Email: "ada@work.example.org"}))
	res, err := s.ChangeNotificationEmail.Handle(ctx, identity.ChangeNotificationEmail{Actor: commands.UserActor(ada), UserID: ada, Email: "ada@work.example.org"})
	if err != nil || !res.Position.IsZero() {
		t.Fatalf("the same address again: %+v, %v", res, err)
	}
	var u domain.User
	if _, err := s.log.Load(ctx, domain.UserStream(ada), &u); err != nil {
		t.Fatal(err)
	}
	if u.NotificationEmail() != "ada@work.example.org" {
		t.Fatalf("notification email %q", u.NotificationEmail())
	}
}

func TestProjectNamesAreUniqueAndARenameKeepsTheSlug(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	cli := commands.CLIActor
	mine, err := s.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "My Study"})
	if err != nil || mine.Slug != "my-study" {
		t.Fatalf("%+v, %v", mine, err)
	}
	other := created(t)(s.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "Other Study"}))

	_, err = s.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "MY STUDY", Slug: "another"})
	wantKind(t, err, domain.KindConflict, "name")
	_, err = s.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "Fresh", Slug: "my-study"})
	wantKind(t, err, domain.KindConflict, "slug")
	_, err = s.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "my study"})
	wantKind(t, err, domain.KindConflict, "name")
	wantKind(t, err, domain.KindConflict, "slug")
	_, err = s.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "Status"})
	wantKind(t, err, domain.KindInvalid, "slug")

	_, err = s.RenameProject.Handle(ctx, identity.RenameProject{Actor: cli, ProjectID: mine.ID, Name: "other study"})
	wantKind(t, err, domain.KindConflict, "name")
	// A change of case keeps the reservation.
	ok(t)(s.RenameProject.Handle(ctx, identity.RenameProject{Actor: cli, ProjectID: mine.ID, Name: "My STUDY"}))
	ok(t)(s.RenameProject.Handle(ctx, identity.RenameProject{Actor: cli, ProjectID: mine.ID, Name: "Our Study"}))
	res, err := s.RenameProject.Handle(ctx, identity.RenameProject{Actor: cli, ProjectID: mine.ID, Name: "Our Study"})
	if err != nil || !res.Position.IsZero() {
		t.Fatalf("renaming to the same name: %+v, %v", res, err)
	}
	_, err = s.RenameProject.Handle(ctx, identity.RenameProject{Actor: cli, ProjectID: other, Name: "our study"})
	wantKind(t, err, domain.KindConflict, "name")

	var p domain.Project
	if _, err := s.log.Load(ctx, domain.ProjectStream(mine.ID), &p); err != nil {
		t.Fatal(err)
	}
	if p.Name() != "Our Study" || p.Slug() != "my-study" {
		t.Fatalf("name %q, slug %q", p.Name(), p.Slug())
	}
	// The old name is free again; the old slug is not.
	ok(t)(s.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "My Study", Slug: "my-study-2"}))
}

func TestAProjectIsAddedToOneExistingOrganisation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	cli := commands.CLIActor
	acme := created(t)(s.CreateOrg.Handle(ctx, identity.CreateOrg{Actor: cli, Name: "Acme"}))
	globex := created(t)(s.CreateOrg.Handle(ctx, identity.CreateOrg{Actor: cli, Name: "Globex"}))
	project := created(t)(s.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "From An Application"}))

	_, err := s.AddProjectToOrg.Handle(ctx, identity.AddProjectToOrg{Actor: cli, ProjectID: project, OrgID: "nope"})
	wantKind(t, err, domain.KindNotFound, "")
	_, err = s.AddProjectToOrg.Handle(ctx, identity.AddProjectToOrg{Actor: cli, ProjectID: "nope", OrgID: acme})
	wantKind(t, err, domain.KindNotFound, "")
	ok(t)(s.AddProjectToOrg.Handle(ctx, identity.AddProjectToOrg{Actor: cli, ProjectID: project, OrgID: acme}))
	res, err := s.AddProjectToOrg.Handle(ctx, identity.AddProjectToOrg{Actor: cli, ProjectID: project, OrgID: acme})
	if err != nil || !res.Position.IsZero() {
		t.Fatalf("adding to the same org again: %+v, %v", res, err)
	}
	_, err = s.AddProjectToOrg.Handle(ctx, identity.AddProjectToOrg{Actor: cli, ProjectID: project, OrgID: globex})
	wantKind(t, err, domain.KindConflict, "org_id")

	_, err = s.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "Orphan", OrgID: "nope"})
	wantKind(t, err, domain.KindNotFound, "")
	inOrg := created(t)(s.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "Born In Acme", OrgID: acme}))
	var p domain.Project
	if _, err := s.log.Load(ctx, domain.ProjectStream(inOrg), &p); err != nil || p.OrgID() != acme {
		t.Fatalf("org %q, %v", p.OrgID(), err)
	}
}

func TestMembershipsOfBackendsAndOrganisations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	cli := commands.CLIActor
	user := s.signIn(t, 1, "ada")
	b := ok(t)(s.CreateBackend.Handle(ctx, identity.CreateBackend{Actor: cli, Slug: "tpp", Name: "TPP"})).(identity.NewBackend)
	org := created(t)(s.CreateOrg.Handle(ctx, identity.CreateOrg{Actor: cli, Name: "Acme"}))

	ok(t)(s.AddBackendMember.Handle(ctx, identity.AddBackendMember{Actor: cli, BackendID: b.BackendID, UserID: user}))
	res := ok(t)(s.AddBackendMember.Handle(ctx, identity.AddBackendMember{Actor: cli, BackendID: b.BackendID, UserID: user})).(commands.Result)
	if !res.Position.IsZero() {
		t.Fatal("adding a backend member twice appended an event")
	}
	ok(t)(s.RemoveBackendMember.Handle(ctx, identity.RemoveBackendMember{Actor: cli, BackendID: b.BackendID, UserID: user}))
	_, err := s.RemoveBackendMember.Handle(ctx, identity.RemoveBackendMember{Actor: cli, BackendID: b.BackendID, UserID: user})
	wantKind(t, err, domain.KindNotFound, "")
	_, err = s.AddBackendMember.Handle(ctx, identity.AddBackendMember{Actor: cli, BackendID: "nope", UserID: user})
	wantKind(t, err, domain.KindNotFound, "")

	ok(t)(s.AddOrgMember.Handle(ctx, identity.AddOrgMember{Actor: cli, OrgID: org, UserID: user}))
	ok(t)(s.RemoveOrgMember.Handle(ctx, identity.RemoveOrgMember{Actor: cli, OrgID: org, UserID: user}))
	_, err = s.RemoveOrgMember.Handle(ctx, identity.RemoveOrgMember{Actor: cli, OrgID: org, UserID: user})
	wantKind(t, err, domain.KindNotFound, "")

	if got := s.eventTypes(t); !slices.Equal(got[len(got)-4:], []string{"BackendMemberAdded", "BackendMemberRemoved", "OrgMemberAdded", "OrgMemberRemoved"}) {
		t.Fatalf("events: %v", got)
	}
}

func TestProjectMembersAreAddedOnceAndMustExistToChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	cli := commands.CLIActor
	user := s.signIn(t, 1, "ada")
	stranger := s.signIn(t, 2, "bob")
	project := created(t)(s.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "My Study"}))
	dev := []domain.Role{domain.ProjectDeveloper}
	ok(t)(s.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: project, UserID: user, Roles: dev}))
	_, err := s.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: project, UserID: user, Roles: []domain.Role{domain.ProjectCoordinator}})
	wantKind(t, err, domain.KindConflict, "user_id")
	_, err = s.ChangeProjectMemberRoles.Handle(ctx, identity.ChangeProjectMemberRoles{Actor: cli, ProjectID: project, UserID: stranger, Roles: dev})
	wantKind(t, err, domain.KindNotFound, "")
	_, err = s.RemoveProjectMember.Handle(ctx, identity.RemoveProjectMember{Actor: cli, ProjectID: project, UserID: stranger})
	wantKind(t, err, domain.KindNotFound, "")
	_, err = s.ChangeProjectMemberRoles.Handle(ctx, identity.ChangeProjectMemberRoles{Actor: cli, ProjectID: "nope", UserID: user, Roles: dev})
	wantKind(t, err, domain.KindNotFound, "")
	res, err := s.ChangeProjectMemberRoles.Handle(ctx, identity.ChangeProjectMemberRoles{Actor: cli, ProjectID: project, UserID: user, Roles: dev})
	if err != nil || !res.Position.IsZero() {
		t.Fatalf("changing to the roles held: %+v, %v", res, err)
	}
}
