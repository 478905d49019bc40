package web_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

var runnerTokenField = regexp.MustCompile(`id="runner-token"[^>]*value="([0-9a-f]{64})"`)

// runnerToken is the token a page shows in its "Copy this token now" box.
func (p *page) runnerToken() string {
	p.t.Helper()
	m := runnerTokenField.FindStringSubmatch(p.body)
	if m == nil {
		p.t.Fatalf("%s: no runner token on the page\n%s", p.url, excerpt(p.body))
	}
	return m[1]
}

// backendOfToken is the backend a runner presenting token is let in as, or "".
func (e *env) backendOfToken(token string) string {
	e.t.Helper()
	id, ok, err := identity.BackendForToken(context.Background(), e.store, token)
	if err != nil {
		e.t.Fatal(err)
	}
	if !ok {
		return ""
	}
	return id
}

// eventsMention reports whether any stored event's data or metadata contains text.
func (e *env) eventsMention(text string) bool {
	e.t.Helper()
	var after eventstore.Position
	for {
		batch, err := e.store.ReadAll(context.Background(), after, 500)
		if err != nil {
			e.t.Fatal(err)
		}
		if len(batch) == 0 {
			return false
		}
		for _, ev := range batch {
			meta := ev.Metadata.Actor + ev.Metadata.CorrelationID + ev.Metadata.CausationID
			if bytes.Contains(ev.Data, []byte(text)) || strings.Contains(meta, text) {
				return true
			}
			after = ev.Position
		}
	}
}

func TestAdminCreatesABackendAndSeesItsRunnerTokenOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.user("ada", domain.CoreDeveloper)
	b := e.browser()
	b.loginAs(admin)

	b.get("/staff").expect(http.StatusOK, "<h1>Staff area</h1>", `href="/staff/backends"`)
	b.get("/staff/backends").expect(http.StatusOK, "<h1>Backends</h1>", "No backends yet.", "Create a backend")

	p := b.post("/staff/backends", url.Values{"name": {"The Phoenix Partnership"}, "slug": {"tpp"}}).
		expect(http.StatusOK, "Backend tpp created", "Copy this token now: it will not be shown again", "The runner token of tpp")
	token := p.runnerToken()
	backend, err := e.queries.BackendBySlug(context.Background(), "tpp")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.backendOfToken(token); got != backend.ID {
		t.Fatalf("the token shown lets a runner in as %q, want backend %s", got, backend.ID)
	}

	// Shown once: neither the backend's page nor the list shows it again.
	b.get("/staff/backends/"+backend.ID).expect(http.StatusOK, "<h1>Backend tpp</h1>", "The Phoenix Partnership", "Rotate token",
		`<a href="/staff">Staff area</a>`, `<a href="/staff/backends">Backends</a>`, `<span aria-current="page">tpp</span>`).
		lacks(token, "Copy this token now")
	b.get("/staff/backends").expect(http.StatusOK, `href="/staff/backends/`+backend.ID+`"`, "The Phoenix Partnership").lacks(token)

	// Only a fingerprint is kept: no event and no log line carries the token.
	if e.eventsMention(token) {
		t.Error("an event carries the runner token")
	}
	if strings.Contains(e.logs.String(), token) {
		t.Error("the log carries the runner token")
	}

	// A slug is a backend's alone.
	b.post("/staff/backends", url.Values{"name": {"Another"}, "slug": {"tpp"}}).
		expect(http.StatusUnprocessableEntity, "The slug “tpp” is already taken", `id="slug-error"`, `value="Another"`).
		lacks("Copy this token now")
}

func TestAdminRotatesARunnerTokenAndTheOldOneStopsWorking(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.user("ada", domain.CoreDeveloper)
	b := e.browser()
	b.loginAs(admin)
	oldToken := b.post("/staff/backends", url.Values{"name": {"TPP"}, "slug": {"tpp"}}).expect(http.StatusOK).runnerToken()
	backend, err := e.queries.BackendBySlug(context.Background(), "tpp")
	if err != nil {
		t.Fatal(err)
	}

	// Rotating needs the admin to confirm that the runner is cut off.
	b.post("/staff/backends/"+backend.ID+"/rotate-token", nil).
		expect(http.StatusUnprocessableEntity, "Tick the box to confirm that the current token may stop working.").
		lacks("Copy this token now")
	if e.backendOfToken(oldToken) != backend.ID {
		t.Fatal("a rotation that was not confirmed changed the token")
	}

	p := b.post("/staff/backends/"+backend.ID+"/rotate-token", url.Values{"confirm": {"yes"}}).
		expect(http.StatusOK, "Runner token rotated: the old token no longer works", "The new runner token of tpp",
			"Copy this token now: it will not be shown again")
	newToken := p.runnerToken()
	if newToken == oldToken {
		t.Fatal("the rotation showed the old token")
	}
	if got := e.backendOfToken(oldToken); got != "" {
		t.Errorf("the old token still lets a runner in as %s", got)
	}
	if got := e.backendOfToken(newToken); got != backend.ID {
		t.Errorf("the new token lets a runner in as %q, want %s", got, backend.ID)
	}
	// The token was shown on the page the redirect led to; a reload of that page shows it no more and does
	// not rotate again.
	if p.url.Path != "/staff/backends/"+backend.ID {
		t.Fatalf("the rotation ended at %s, want the backend's page", p.url.Path)
	}
	b.get("/staff/backends/"+backend.ID).expect(http.StatusOK, "Backend tpp").lacks(newToken, oldToken, "Copy this token now")
	if got := e.backendOfToken(newToken); got != backend.ID {
		t.Errorf("a reload after the rotation changed the token again")
	}
	if e.eventsMention(newToken) || e.eventsMention(oldToken) {
		t.Error("an event carries a runner token")
	}

	b.post("/staff/backends/no-such-backend/rotate-token", url.Values{"confirm": {"yes"}}).expect(http.StatusNotFound)
}

func TestAdminAddsAndRemovesBackendMembers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.user("ada", domain.CoreDeveloper)
	bob := e.user("bob")
	b := e.browser()
	b.loginAs(admin)
	b.post("/staff/backends", url.Values{"name": {"TPP"}, "slug": {"tpp"}}).expect(http.StatusOK)
	backend, err := e.queries.BackendBySlug(context.Background(), "tpp")
	if err != nil {
		t.Fatal(err)
	}
	page := "/staff/backends/" + backend.ID
	b.get(page).expect(http.StatusOK, "No members yet.", "Add a member")

	b.post(page+"/members", url.Values{"login": {"nobody"}}).
		expect(http.StatusUnprocessableEntity, "Nobody with the GitHub login \u201cnobody\u201d has logged in", `id="login-error"`, `value="nobody"`)

	b.post(page+"/members", url.Values{"login": {"@Bob"}}).at(page).
		expect(http.StatusOK, "Bob Tester added to backend tpp", `href="/staff/users/`+bob+`"`, "Remove<span")
	if mine, _ := e.queries.BackendsOfUser(context.Background(), bob); len(mine) != 1 || mine[0].Slug != "tpp" {
		t.Fatalf("bob's backends = %v, want tpp", mine)
	}
	b.get("/staff/backends").expect(http.StatusOK, `<td class="numeric">1</td>`)

	b.post(page+"/members/"+bob+"/remove", nil).at(page).
		expect(http.StatusOK, "Bob Tester removed from backend tpp", "No members yet.").
		lacks(`href="/staff/users/` + bob + `"`)
	if mine, _ := e.queries.BackendsOfUser(context.Background(), bob); len(mine) != 0 {
		t.Fatalf("bob is still a member of %v", mine)
	}
	b.post(page+"/members/"+bob+"/remove", nil).expect(http.StatusNotFound, "This user is not a member of the backend.")

	b.get("/staff/backends/no-such-backend").expect(http.StatusNotFound)
}
