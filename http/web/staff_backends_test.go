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
	b.get("/staff/backends").expect(http.StatusOK, "<h1>Backends</h1>", "No backends yet.", "Create a backend",
		`<form method="post" action="/staff/backends"`)

	p := b.post("/staff/backends", url.Values{"name": {"The Phoenix Partnership"}, "slug": {"tpp"}}).
		expect(http.StatusOK, "Backend tpp created", "Copy this token now: it will not be shown again", "The runner token of tpp",
			// The Copy button works through copy.js, loaded as a file (the Content-Security-Policy forbids inline
			// script); it is hidden until the script shows it, so without JavaScript the token is plain selectable text.
			`<script src="/static/copy.js?v=`, `data-copy="runner-token" hidden>Copy</button>`, `readonly`).
		lacks("onclick", "<script>")
	token := p.runnerToken()
	backend, err := e.queries.BackendBySlug(context.Background(), "tpp")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.backendOfToken(token); got != backend.ID {
		t.Fatalf("the token shown lets a runner in as %q, want backend %s", got, backend.ID)
	}
	if p.url.Path != "/staff/backends/"+backend.ID {
		t.Fatalf("the creation ended at %s, want the backend's page", p.url.Path)
	}

	// Shown once: a reload of the page, and the list, show it no more.
	b.get("/staff/backends/"+backend.ID).expect(http.StatusOK, "<h1>Backend tpp</h1>", "The Phoenix Partnership", "Rotate token",
		`<a href="/staff">Staff area</a>`, `<a href="/staff/backends">Backends</a>`, `<span aria-current="page">tpp</span>`).
		lacks(token, "Copy this token now", "copy.js")
	b.get("/staff/backends").expect(http.StatusOK, `href="/staff/backends/`+backend.ID+`"`, "The Phoenix Partnership").lacks(token)
	if got := e.backendOfToken(token); got != backend.ID {
		t.Fatal("a reload changed the token")
	}

	// Only a fingerprint is kept: no event and no log line carries the token.
	if e.eventsMention(token) {
		t.Error("an event carries the runner token")
	}
	if strings.Contains(e.logs.String(), token) {
		t.Error("the log carries the runner token")
	}

	// A slug is a backend's alone; the refused form is shown again at its page's own address.
	b.post("/staff/backends", url.Values{"name": {"Another"}, "slug": {"tpp"}}).at("/staff/backends").
		expect(http.StatusUnprocessableEntity, "The slug “tpp” is already taken", `id="slug-error"`, `value="Another"`).
		lacks("Copy this token now")
}

func TestAdminRotatesARunnerTokenAfterConfirmingAndTheOldOneStopsWorking(t *testing.T) {
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
	page := "/staff/backends/" + backend.ID

	// The backend's page links to the page that asks first; asking changes nothing.
	b.get(page).expect(http.StatusOK, `href="`+page+`/rotate-token">Rotate token</a>`).lacks(`type="checkbox"`)
	b.get(page+"/rotate-token").expect(http.StatusOK, "Rotate the runner token of backend tpp?",
		"The current token stops working at once: the runner of tpp cannot fetch jobs",
		`<form method="post" action="`+page+`/rotate-token"`, "Rotate the token of tpp</button>", `href="`+page+`">Cancel</a>`).
		lacks("Copy this token now")
	if e.backendOfToken(oldToken) != backend.ID {
		t.Fatal("the page that asks rotated the token")
	}

	p := b.post(page+"/rotate-token", nil).at(page).
		expect(http.StatusOK, "Runner token rotated: the old token no longer works", "The new runner token of tpp",
			"Copy this token now: it will not be shown again", `data-copy="runner-token"`)
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
	b.get(page).expect(http.StatusOK, "Backend tpp").lacks(newToken, oldToken, "Copy this token now")
	if got := e.backendOfToken(newToken); got != backend.ID {
		t.Errorf("a reload after the rotation changed the token again")
	}
	if e.eventsMention(newToken) || e.eventsMention(oldToken) {
		t.Error("an event carries a runner token")
	}

	b.get("/staff/backends/no-such-backend/rotate-token").expect(http.StatusNotFound)
	b.post("/staff/backends/no-such-backend/rotate-token", nil).expect(http.StatusNotFound)
}

func TestAdminAddsABackendMemberAndRemovesThemAfterConfirming(t *testing.T) {
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
	b.get(page).expect(http.StatusOK, "No members yet.", "Add a member", `<form class="card" method="post" action="`+page+`"`)

	// The add-member form posts to the backend's own page, where a refusal is shown again.
	b.post(page, url.Values{"login": {"nobody"}}).at(page).
		expect(http.StatusUnprocessableEntity, "Nobody with the GitHub login \u201cnobody\u201d has logged in", `id="login-error"`, `value="nobody"`)

	b.post(page, url.Values{"login": {"@Bob"}}).at(page).
		expect(http.StatusOK, "Bob Tester added to backend tpp", `href="/staff/users/`+bob+`"`,
			`href="`+page+`/members/`+bob+`/remove">Remove<span`)
	if mine, _ := e.queries.BackendsOfUser(context.Background(), bob); len(mine) != 1 || mine[0].Slug != "tpp" {
		t.Fatalf("bob's backends = %v, want tpp", mine)
	}
	b.get("/staff/backends").expect(http.StatusOK, `<td class="numeric">1</td>`)

	// Remove asks first, saying what happens; asking removes nobody.
	remove := page + "/members/" + bob + "/remove"
	b.get(remove).expect(http.StatusOK, "Remove Bob Tester from backend tpp?",
		"Bob Tester no longer sees this backend on their status page and can no longer run jobs on it.",
		`<form method="post" action="`+remove+`"`, "Remove Bob Tester from backend tpp</button>")
	if mine, _ := e.queries.BackendsOfUser(context.Background(), bob); len(mine) != 1 {
		t.Fatal("the page that asks removed the member")
	}
	b.post(remove, nil).at(page).
		expect(http.StatusOK, "Bob Tester removed from backend tpp", "No members yet.").
		lacks(`href="/staff/users/` + bob + `"`)
	if mine, _ := e.queries.BackendsOfUser(context.Background(), bob); len(mine) != 0 {
		t.Fatalf("bob is still a member of %v", mine)
	}
	b.get(remove).expect(http.StatusNotFound, "This user is not a member of the backend.")
	b.post(remove, nil).expect(http.StatusNotFound, "This user is not a member of the backend.")

	b.get("/staff/backends/no-such-backend").expect(http.StatusNotFound)
}
