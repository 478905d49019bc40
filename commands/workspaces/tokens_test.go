package workspaces_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/domain"
)

func TestATokenGitHubRefusesIsNotSaved(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	user := commands.UserActor(s.signIn(t, 1, "dev"))
	before := len(s.events(t))

	_, err := s.SaveGitHubToken.Handle(ctx, workspaces.SaveGitHubToken{Actor: user, Token: "ghp_notAToken"})
	wantField(t, err, domain.KindInvalid, "token", "GitHub refused the token")
	s.fake.RevokeToken(devToken)
	_, err = s.SaveGitHubToken.Handle(ctx, workspaces.SaveGitHubToken{Actor: user, Token: devToken})
	wantField(t, err, domain.KindInvalid, "token", "GitHub refused the token")
	_, err = s.SaveGitHubToken.Handle(ctx, workspaces.SaveGitHubToken{Actor: user, Token: "ghp_pasted\r\nTwice"})
	wantField(t, err, domain.KindInvalid, "token", "GitHub refused the token")
	_, err = s.SaveGitHubToken.Handle(ctx, workspaces.SaveGitHubToken{Actor: user, Token: "  "})
	wantField(t, err, domain.KindInvalid, "token")

	if after := len(s.events(t)); after != before {
		t.Fatalf("%d events appended for refused tokens", after-before)
	}
	if _, ok, _ := s.store.Secret(ctx, domain.GitHubTokenSecretKey(user.ActorID())); ok {
		t.Fatal("a refused token was stored")
	}
}

func TestGitHubUnreachableWhileSavingSaysToTryAgain(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	user := commands.UserActor(s.signIn(t, 1, "dev"))
	s.fake.Close()
	_, err := s.SaveGitHubToken.Handle(context.Background(), workspaces.SaveGitHubToken{Actor: user, Token: devToken})
	wantField(t, err, domain.KindInvalid, "token", "not answering", "try again")
}

func TestASavedTokenIsSealedAndNeverInAnEventOrALogLine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	userID := s.signIn(t, 1, "dev")
	user := commands.UserActor(userID)

	res := must(s.SaveGitHubToken.Handle(ctx, workspaces.SaveGitHubToken{Actor: user, Token: "  " + devToken + "\n"}))(t)
	if res.Events != 1 {
		t.Fatalf("saving appended %d events, want 1", res.Events)
	}
	key := domain.GitHubTokenSecretKey(userID)
	sealed, ok, err := s.store.Secret(ctx, key)
	if err != nil || !ok {
		t.Fatalf("no sealed token stored: %v", err)
	}
	if bytes.Contains(sealed, []byte(devToken)) {
		t.Fatal("the secrets table holds the token in the clear")
	}
	opened, err := s.keyring.Open(sealed, []byte(key))
	if err != nil || string(opened) != devToken {
		t.Fatalf("the sealed token opens to %q, %v; want the token, trimmed", opened, err)
	}
	if _, err := s.keyring.Open(sealed, []byte(domain.GitHubTokenSecretKey("someone-else"))); err == nil {
		t.Fatal("the sealed token opens under another user's key")
	}
	saved := eventsOf[domain.GitHubTokenSaved](t, s)
	if len(saved) != 1 || saved[0].UserID != userID || len(saved[0].Fingerprint) != 16 {
		t.Fatalf("GitHubTokenSaved events: %+v", saved)
	}

	// The same token again changes nothing.
	if res := must(s.SaveGitHubToken.Handle(ctx, workspaces.SaveGitHubToken{Actor: user, Token: devToken}))(t); res.Changed() {
		t.Fatal("saving the same token again appended events")
	}

	// Use the saved token: a project, a workspace, file reads and a job request, a failing call or two.
	projectID := createProjectWithDeveloper(t, s, userID)
	created := must(s.CreateWorkspace.Handle(ctx, workspaces.CreateWorkspace{Actor: user, ProjectID: projectID, Name: "uses-saved-token", RepoURL: s.repoURL, Branch: "main"}))(t)
	file := must(s.ReadProjectFile(ctx, user, created.WorkspaceID, ""))(t)
	if file.SHA != s.demoSHA {
		t.Fatalf("read at %s, want the head %s", file.SHA, s.demoSHA)
	}
	_, err = s.CreateWorkspace.Handle(ctx, workspaces.CreateWorkspace{Actor: user, ProjectID: projectID, Name: "no-branch", RepoURL: s.repoURL, Branch: "nope"})
	wantField(t, err, domain.KindInvalid, "branch")
	_, err = s.SaveGitHubToken.Handle(ctx, workspaces.SaveGitHubToken{Actor: user, Token: collabToken + "x"})
	wantField(t, err, domain.KindInvalid, "token")
	_, _ = s.CreateWorkspace.Handle(ctx, workspaces.CreateWorkspace{Actor: commands.CLIActor, ProjectID: projectID, Name: "one-time", RepoURL: s.repoURL, Branch: "main", Token: collabToken})

	for _, e := range s.events(t) {
		for _, text := range []string{string(e.Data), e.Metadata.Actor, e.Metadata.CorrelationID, e.Metadata.CausationID} {
			for _, token := range []string{devToken, collabToken} {
				if strings.Contains(text, token) {
					t.Fatalf("event %s holds a token: %s", e.Type, text)
				}
			}
		}
	}
	logs := s.logs.String()
	if !strings.Contains(logs, `"command":"SaveGitHubToken"`) || !strings.Contains(logs, `"command":"CreateWorkspace"`) {
		t.Fatalf("the decorators logged nothing: %s", logs)
	}
	for _, token := range []string{devToken, collabToken} {
		if strings.Contains(logs, token) {
			t.Fatalf("a log line holds a token:\n%s", logs)
		}
	}
}

func TestAClearedTokenIsForgotten(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	userID := s.signIn(t, 1, "dev")
	user := commands.UserActor(userID)
	projectID := createProjectWithDeveloper(t, s, userID)
	must(s.SaveGitHubToken.Handle(ctx, workspaces.SaveGitHubToken{Actor: user, Token: devToken}))(t)

	res := must(s.ClearGitHubToken.Handle(ctx, workspaces.ClearGitHubToken{Actor: user}))(t)
	if res.Events != 1 || len(eventsOf[domain.GitHubTokenCleared](t, s)) != 1 {
		t.Fatalf("clearing appended %d events", res.Events)
	}
	if _, ok, _ := s.store.Secret(ctx, domain.GitHubTokenSecretKey(userID)); ok {
		t.Fatal("the sealed token is still stored")
	}
	if res := must(s.ClearGitHubToken.Handle(ctx, workspaces.ClearGitHubToken{Actor: user}))(t); res.Changed() {
		t.Fatal("clearing no token appended events")
	}
	_, err := s.CreateWorkspace.Handle(ctx, workspaces.CreateWorkspace{Actor: user, ProjectID: projectID, Name: "after-clear", RepoURL: s.repoURL, Branch: "main"})
	wantField(t, err, domain.KindInvalid, "token", "needs a GitHub personal access token")
}

func TestOnlyASignedInUserSavesATokenAndNothingReachesGitHubOtherwise(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	for _, actor := range []commands.Actor{commands.Anonymous, commands.CLIActor} {
		_, err := s.SaveGitHubToken.Handle(ctx, workspaces.SaveGitHubToken{Actor: actor, Token: devToken})
		wantField(t, err, domain.KindForbidden, "")
		_, err = s.ClearGitHubToken.Handle(ctx, workspaces.ClearGitHubToken{Actor: actor})
		wantField(t, err, domain.KindForbidden, "")
	}
	if n := s.githubCalls(); n != 0 {
		t.Fatalf("%d calls reached GitHub", n)
	}
	if n := len(s.events(t)); n != 0 {
		t.Fatalf("%d events appended", n)
	}
}

func TestAOneTimeTokenOpensOnlyForItsUserAndWorkspaceWithinFifteenMinutes(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	sealed := s.SealOneTimeToken("user-1", "ws-1", " "+devToken+" ")
	if strings.Contains(sealed, devToken) {
		t.Fatal("the sealed one-time token holds the token")
	}
	if token, err := s.OpenOneTimeToken(sealed, "user-1", "ws-1"); err != nil || token != devToken {
		t.Fatalf("open = %q, %v", token, err)
	}
	tampered := []byte(sealed)
	tampered[len(tampered)/2] ^= 'A' ^ 'B'
	for name, open := range map[string]func() (string, error){
		"another user":      func() (string, error) { return s.OpenOneTimeToken(sealed, "user-2", "ws-1") },
		"another workspace": func() (string, error) { return s.OpenOneTimeToken(sealed, "user-1", "ws-2") },
		"tampered":          func() (string, error) { return s.OpenOneTimeToken(string(tampered), "user-1", "ws-1") },
		"not base64":        func() (string, error) { return s.OpenOneTimeToken("!!!", "user-1", "ws-1") },
		"empty":             func() (string, error) { return s.OpenOneTimeToken("", "user-1", "ws-1") },
		"a saved token's seal": func() (string, error) {
			raw := s.keyring.Seal([]byte(devToken), []byte(domain.GitHubTokenSecretKey("user-1")))
			return s.OpenOneTimeToken(string(raw), "user-1", "ws-1")
		},
	} {
		token, err := open()
		if token != "" {
			t.Errorf("%s: opened to %q", name, token)
		}
		wantField(t, err, domain.KindInvalid, "token", "paste it again")
	}

	s.clock.Advance(workspaces.OneTimeTokenLifetime - time.Second)
	if _, err := s.OpenOneTimeToken(sealed, "user-1", "ws-1"); err != nil {
		t.Fatalf("just before expiry: %v", err)
	}
	s.clock.Advance(2 * time.Second)
	_, err := s.OpenOneTimeToken(sealed, "user-1", "ws-1")
	wantField(t, err, domain.KindInvalid, "token", "expired")
}
