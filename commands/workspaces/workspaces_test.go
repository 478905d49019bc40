package workspaces_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/internal/githubfake"
)

func TestADeveloperCreatesAWorkspaceCheckedOnGitHub(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	userID := s.signIn(t, 1, "dev")
	projectID := createProjectWithDeveloper(t, s, userID)

	// The address as typed: another case, .git and a trailing slash; GitHub's own spelling is kept.
	typed := strings.Replace(s.repoURL, "opensafely/bp-study", "OpenSAFELY/BP-Study.git/", 1)
	created := must(s.CreateWorkspace.Handle(ctx, workspaces.CreateWorkspace{
		Actor: commands.UserActor(userID), ProjectID: projectID, Name: " BP_Study-2024 ", RepoURL: typed, Branch: "main", Token: devToken,
	}))(t)
	if created.Name != "bp_study-2024" || created.WorkspaceID == "" || created.Events != 2 {
		t.Fatalf("created %+v", created)
	}
	got := eventsOf[domain.WorkspaceCreated](t, s)
	want := domain.WorkspaceCreated{
		WorkspaceID: created.WorkspaceID, ProjectID: projectID, Name: "bp_study-2024", RepoURL: s.repoURL, Branch: "main",
		CreatedBy: userID,
	}
	if len(got) != 1 || fmt.Sprint(got[0]) != fmt.Sprint(want) {
		t.Fatalf("WorkspaceCreated = %+v, want %+v", got, want)
	}
	reserved := eventsOf[domain.NameReserved](t, s)
	if len(reserved) == 0 || reserved[len(reserved)-1].OwnerID != created.WorkspaceID || reserved[len(reserved)-1].Kind != domain.ReservedForWorkspace {
		t.Fatalf("name reservations: %+v", reserved)
	}
}

// TestEveryGitHubFailureIsExplainedOnItsField: each way the repository and branch check fails gives its
// own message on the form field it concerns, and creates nothing.
func TestEveryGitHubFailureIsExplainedOnItsField(t *testing.T) {
	t.Parallel()
	rateReset := time.Now().Add(30 * time.Minute)
	cases := []struct {
		name    string
		break_  func(s *server)
		token   string
		repo    string
		branch  string
		field   string
		message []string
	}{
		{name: "no token", token: "-", field: "token", message: []string{"needs a GitHub personal access token"}},
		{name: "a bad token", token: "ghp_wrong", field: "token", message: []string{"GitHub refused the token", "expired"}},
		{name: "a token with a line break in it", token: "ghp_abc\ndef", field: "token", message: []string{"GitHub refused the token"}},
		{name: "a revoked token", break_: func(s *server) { s.fake.RevokeToken(devToken) }, field: "token", message: []string{"GitHub refused the token"}},
		{name: "an address not on GitHub", repo: "https://gitlab.com/opensafely/bp-study", field: "repo", message: []string{"https://github.com/owner/repository"}},
		{name: "not an address", repo: "bp-study", field: "repo", message: []string{"address on GitHub"}},
		{name: "no such repository", repo: "/opensafely/nothing-here", field: "repo", message: []string{"no repository at this address"}},
		{name: "a deleted repository", break_: func(s *server) { s.fake.DeleteRepository(demoRepo) }, field: "repo", message: []string{"no repository at this address"}},
		{name: "a private repository the token cannot see", break_: func(s *server) {
			s.fake.AddRepository(githubfake.Repository{Owner: "opensafely", Name: "bp-study", Private: true})
		}, field: "repo", message: []string{"no repository at this address", "token may read"}},
		{name: "an organisation requiring SSO", break_: func(s *server) { s.fake.RequireSSO("opensafely") }, field: "repo", message: []string{"single sign-on"}},
		{name: "no such branch", branch: "nope", field: "branch", message: []string{"no branch of this name"}},
		{name: "a deleted branch", break_: func(s *server) { s.fake.DeleteBranch(demoRepo, "main") }, field: "branch", message: []string{"no branch of this name"}},
		{name: "the rate limit", break_: func(s *server) { s.fake.RateLimitUntil(rateReset) }, field: "repo",
			message: []string{"slow down", "after " + rateReset.Add(time.Second-1).UTC().Format("15:04") + " UTC", "in 30 minutes"}},
		{name: "the secondary rate limit", break_: func(s *server) { s.fake.SecondaryRateLimitFor(5 * time.Minute) }, field: "repo",
			message: []string{"slow down", "in 5 minutes"}},
		{name: "a short secondary rate limit", break_: func(s *server) { s.fake.SecondaryRateLimitFor(20 * time.Second) }, field: "repo",
			message: []string{"slow down", "in a minute"}},
		{name: "GitHub down", break_: func(s *server) { s.fake.Close() }, field: "repo", message: []string{"not answering", "try again"}},
		{name: "GitHub failing", break_: func(s *server) { s.fake.FailWith(http.StatusBadGateway) }, field: "repo", message: []string{"failed to answer", "try again"}},
		{name: "GitHub erring", break_: func(s *server) { s.fake.FailWith(http.StatusInternalServerError) }, field: "repo", message: []string{"failed to answer"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := newServer(t)
			userID := s.signIn(t, 1, "dev")
			projectID := createProjectWithDeveloper(t, s, userID)
			cmd := workspaces.CreateWorkspace{Actor: commands.UserActor(userID), ProjectID: projectID, Name: "study", RepoURL: s.repoURL, Branch: "main", Token: devToken}
			switch {
			case c.token == "-":
				cmd.Token = ""
			case c.token != "":
				cmd.Token = c.token
			}
			switch {
			case strings.HasPrefix(c.repo, "/"):
				cmd.RepoURL = s.fake.URL + c.repo
			case c.repo != "":
				cmd.RepoURL = c.repo
			}
			if c.branch != "" {
				cmd.Branch = c.branch
			}
			if c.break_ != nil {
				c.break_(s)
			}
			before := len(s.events(t))
			_, err := s.CreateWorkspace.Handle(ctx, cmd)
			wantField(t, err, domain.KindInvalid, c.field, c.message...)
			if after := len(s.events(t)); after != before {
				t.Fatalf("%d events appended", after-before)
			}
		})
	}
}

func TestWorkspaceNamesFollowTheRulesBeforeGitHubIsAsked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	calls := w.githubCalls()
	for name, message := range map[string]string{
		"":                         "Please enter a name",
		"bp study":                 "only letters, digits",
		"bp/study":                 "only letters, digits",
		"étude":                    "only letters, digits",
		"Settings":                 "one of the project's pages",
		strings.Repeat("a", 101):   "at most 100",
		"BP-MAIN":                  "already taken",
		w.workspaceName + "\u200b": "only letters, digits",
	} {
		_, err := w.CreateWorkspace.Handle(ctx, workspaces.CreateWorkspace{Actor: w.dev, ProjectID: w.projectID, Name: name, RepoURL: w.repoURL, Branch: "main", Token: devToken})
		if message == "already taken" {
			wantField(t, err, domain.KindConflict, "name", message)
			continue
		}
		wantField(t, err, domain.KindInvalid, "name", message)
	}
	if w.githubCalls() != calls {
		// Only the taken name needs GitHub's answer before its reservation is read.
		t.Logf("%d calls to GitHub for names refused", w.githubCalls()-calls)
	}
}

func TestOfConcurrentCreationsOfOneNameExactlyOneWins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	userID := s.signIn(t, 1, "dev")
	projectID := createProjectWithDeveloper(t, s, userID)
	otherProjectID := createProjectWithDeveloper(t, s, userID)

	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			project := projectID
			if i%2 == 1 {
				project = otherProjectID // the name is unique on the whole server, not per project
			}
			name := "Contested"
			if i%3 == 0 {
				name = "contested"
			}
			_, errs[i] = s.CreateWorkspace.Handle(ctx, workspaces.CreateWorkspace{
				Actor: commands.UserActor(userID), ProjectID: project, Name: name, RepoURL: s.repoURL, Branch: "main", Token: devToken,
			})
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		wantField(t, err, domain.KindConflict, "name", "already taken")
	}
	if won != 1 {
		t.Fatalf("%d creations won, want exactly 1: %v", won, errs)
	}
	if got := len(eventsOf[domain.WorkspaceCreated](t, s)); got != 1 {
		t.Fatalf("%d workspaces created", got)
	}
}

func TestWhoMayNotCreateIsRefusedBeforeAnyCallReachesGitHub(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	calls := w.githubCalls()
	for _, actor := range []commands.Actor{w.collab, commands.Anonymous, commands.UserActor(w.signIn(t, 9, "stranger"))} {
		_, err := w.CreateWorkspace.Handle(ctx, workspaces.CreateWorkspace{Actor: actor, ProjectID: w.projectID, Name: "sneaky", RepoURL: w.repoURL, Branch: "main", Token: devToken})
		wantField(t, err, domain.KindForbidden, "")
	}
	if n := w.githubCalls() - calls; n != 0 {
		t.Fatalf("%d calls reached GitHub for refused actors", n)
	}
	// signIn appended the stranger's events; the refused commands none.
	if got := eventsOf[domain.WorkspaceCreated](t, w.server); len(got) != 1 {
		t.Fatalf("%d workspaces", len(got))
	}
	_, err := w.CreateWorkspace.Handle(ctx, workspaces.CreateWorkspace{Actor: w.dev, ProjectID: "no-such-project", Name: "lost", RepoURL: w.repoURL, Branch: "main", Token: devToken})
	if err == nil {
		t.Fatal("created a workspace in a project that does not exist")
	}
}

func TestArchiveAndNotificationsChangeOnlyWhatDiffers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	steps := []struct {
		run     func() (commands.Result, error)
		changed bool
	}{
		{func() (commands.Result, error) {
			return w.ArchiveWorkspace.Handle(ctx, workspaces.ArchiveWorkspace{Actor: w.dev, WorkspaceID: w.workspaceID, Archived: false})
		}, false},
		{func() (commands.Result, error) {
			return w.ArchiveWorkspace.Handle(ctx, workspaces.ArchiveWorkspace{Actor: w.dev, WorkspaceID: w.workspaceID, Archived: true})
		}, true},
		{func() (commands.Result, error) {
			return w.ArchiveWorkspace.Handle(ctx, workspaces.ArchiveWorkspace{Actor: w.outsider, WorkspaceID: w.workspaceID, Archived: true})
		}, false},
		{func() (commands.Result, error) {
			return w.ArchiveWorkspace.Handle(ctx, workspaces.ArchiveWorkspace{Actor: w.dev, WorkspaceID: w.workspaceID, Archived: false})
		}, true},
		{func() (commands.Result, error) {
			return w.SetNotifications.Handle(ctx, workspaces.SetNotifications{Actor: w.dev, WorkspaceID: w.workspaceID, Notify: false})
		}, false},
		{func() (commands.Result, error) {
			return w.SetNotifications.Handle(ctx, workspaces.SetNotifications{Actor: w.dev, WorkspaceID: w.workspaceID, Notify: true})
		}, true},
	}
	for i, step := range steps {
		res, err := step.run()
		if err != nil || res.Changed() != step.changed {
			t.Fatalf("step %d: changed %v, %v; want changed %v", i, res.Changed(), err, step.changed)
		}
	}
	for _, err := range []error{
		second(w.ArchiveWorkspace.Handle(ctx, workspaces.ArchiveWorkspace{Actor: w.collab, WorkspaceID: w.workspaceID, Archived: true})),
		second(w.SetNotifications.Handle(ctx, workspaces.SetNotifications{Actor: w.collab, WorkspaceID: w.workspaceID, Notify: true})),
	} {
		wantField(t, err, domain.KindForbidden, "")
	}
	_, err := w.ArchiveWorkspace.Handle(ctx, workspaces.ArchiveWorkspace{Actor: commands.CLIActor, WorkspaceID: "no-such-workspace", Archived: true})
	wantField(t, err, domain.KindNotFound, "")
}

func second[R any](_ R, err error) error { return err }
