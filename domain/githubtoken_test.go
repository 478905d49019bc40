package domain_test

import (
	"testing"

	"github.com/mediciasafely/jobserver/domain"
)

func TestOnlyTheUserSavesAndClearsTheirGitHubToken(t *testing.T) {
	t.Parallel()
	u := registeredAda(t)
	self := domain.Actor{UserID: "u1", Can: domain.PermissionSet{}}
	for _, by := range []domain.Actor{operator, {UserID: "u2", Can: domain.AllPermissionsSet()}, {}} {
		_, err := u.SaveGitHubToken(by, "ghp_x", "aaaaaaaa")
		wantRefusal(t, err, "your own GitHub token")
		_, err = u.ClearGitHubToken(by)
		wantRefusal(t, err, "your own GitHub token")
	}
	if _, err := u.SaveGitHubToken(self, "  ", "aaaaaaaa"); fieldOf(err, "token") == "" {
		t.Fatalf("an empty token: %v", err)
	}

	// Nothing to clear yet.
	if events, err := u.ClearGitHubToken(self); err != nil || len(events) != 0 {
		t.Fatalf("clear with no token: %v, %v", events, err)
	}
	events, err := u.SaveGitHubToken(self, "ghp_secret", "aaaaaaaa")
	if err != nil || len(events) != 1 || events[0] != (domain.GitHubTokenSaved{UserID: "u1", Fingerprint: "aaaaaaaa"}) {
		t.Fatalf("save: %v, %v", events, err)
	}
	fold(u, events...)
	if u.GitHubTokenFingerprint() != "aaaaaaaa" {
		t.Fatalf("fingerprint %q", u.GitHubTokenFingerprint())
	}
	if again, err := u.SaveGitHubToken(self, "ghp_secret", "aaaaaaaa"); err != nil || len(again) != 0 {
		t.Fatalf("the same token again: %v, %v", again, err)
	}
	if other, err := u.SaveGitHubToken(self, "ghp_other", "bbbbbbbb"); err != nil || len(other) != 1 {
		t.Fatalf("another token: %v, %v", other, err)
	}
	events, err = u.ClearGitHubToken(self)
	if err != nil || len(events) != 1 || events[0] != (domain.GitHubTokenCleared{UserID: "u1"}) {
		t.Fatalf("clear: %v, %v", events, err)
	}
	fold(u, events...)
	if u.GitHubTokenFingerprint() != "" {
		t.Fatal("a cleared token keeps its fingerprint")
	}
	if _, err := (&domain.User{}).SaveGitHubToken(domain.Actor{UserID: ""}, "ghp_x", "aaaaaaaa"); domain.KindOf(err) != domain.KindForbidden {
		t.Fatalf("no user: %v", err)
	}
	if domain.GitHubTokenSecretKey("u1") == domain.GitHubTokenSecretKey("u2") {
		t.Fatal("two users share a secret key")
	}
}
