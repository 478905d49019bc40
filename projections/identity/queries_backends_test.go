package identity_test

import (
	"testing"
	"time"

	identitycmd "github.com/mediciasafely/jobserver/commands/identity"
)

// TestStatusPageReadsTheBackendsOfOneUserWithWhenTheyJoined: the status page lists only the backends the
// user is a member of, and since when.
func TestStatusPageReadsTheBackendsOfOneUserWithWhenTheyJoined(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id, track := w.id, w.track
	signIn := func(githubID int64, login string) string {
		t.Helper()
		s, err := id.SignInWithGitHub.Handle(ctx, identitycmd.SignInWithGitHub{GitHubID: githubID, Login: login, Email: login + "@example.org"})
		track(s.Result, err)
		return s.UserID
	}
	newBackend := func(slug string) string {
		t.Helper()
		b, err := id.CreateBackend.Handle(ctx, identitycmd.CreateBackend{Actor: cli, Slug: slug, Name: slug + " backend"})
		track(b.Result, err)
		return b.BackendID
	}
	ada, bob := signIn(201, "ada"), signIn(202, "bob")
	tpp, emis, other := newBackend("tpp"), newBackend("emis"), newBackend("other")
	before := time.Now().Add(-time.Minute)
	for _, b := range []string{tpp, emis} {
		track(id.AddBackendMember.Handle(ctx, identitycmd.AddBackendMember{Actor: cli, BackendID: b, UserID: ada}))
	}
	track(id.AddBackendMember.Handle(ctx, identitycmd.AddBackendMember{Actor: cli, BackendID: other, UserID: bob}))
	track(id.AddBackendMember.Handle(ctx, identitycmd.AddBackendMember{Actor: cli, BackendID: tpp, UserID: bob}))

	w.catchUp()
	q := w.q

	got, err := q.BackendMembershipsOfUser(ctx, ada)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Backend.Slug != "emis" || got[1].Backend.Slug != "tpp" {
		t.Fatalf("ada's backends = %+v", got)
	}
	if got[1].Backend.Name != "tpp backend" || got[1].Backend.Members != 2 {
		t.Errorf("tpp = %+v, want its name and 2 members", got[1].Backend)
	}
	for _, m := range got {
		if m.AddedAt.Before(before) || m.AddedAt.After(time.Now().Add(time.Minute)) {
			t.Errorf("%s: added at %v", m.Backend.Slug, m.AddedAt)
		}
	}
	if none, err := q.BackendMembershipsOfUser(ctx, "nobody"); err != nil || len(none) != 0 {
		t.Errorf("a stranger's backends = %+v, %v", none, err)
	}
}
