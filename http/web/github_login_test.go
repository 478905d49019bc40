package web_test

import (
	"bytes"
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/http/web"
	"github.com/mediciasafely/jobserver/integrations/github"
	"github.com/mediciasafely/jobserver/internal/githubfake"
)

// withFakeGitHub logs in through the real GitHub client talking to fake, with the OAuth callback on the
// test's server.
func withFakeGitHub(t *testing.T, fake *githubfake.Server) func(*envOptions) {
	return func(o *envOptions) {
		o.newGitHub = func(baseURL string) web.GitHubLogin {
			login, err := github.NewLogin(github.Config{
				ClientID: fake.ClientID, ClientSecret: fake.ClientSecret, WebURL: fake.URL, APIURL: fake.APIURL(),
				RedirectURL: baseURL + "/login/github/callback",
			})
			if err != nil {
				t.Fatal(err)
			}
			return login
		}
	}
}

// newGitHubEnv is the server with a fake GitHub on which Ada has an account with a private e-mail address.
func newGitHubEnv(t *testing.T) (*env, *githubfake.Server) {
	fake := githubfake.New(t)
	fake.AddUser(adaOnGitHub)
	return newEnv(t, withFakeGitHub(t, fake)), fake
}

var adaOnGitHub = githubfake.User{
	ID: 4242, Login: "ada", Name: "Ada Lovelace", AvatarURL: "https://avatars.example/ada",
	Emails: []githubfake.Email{{Address: "ada@example.org", Primary: true, Verified: true}},
}

var (
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	formAction  = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

// onGitHub fills in GitHub's authorize page as a person would: the login typed in, then the button named
// button ("authorize" or "deny") pressed. With follow false it stops at GitHub's answer, a redirect, and
// returns it instead of going there.
func (b *browser) onGitHub(p *page, login, button string, follow bool) (*page, *http.Response) {
	b.t.Helper()
	p.expect(http.StatusOK, "Username or email address", "Authorize MediciaSAFELY")
	action := formAction.FindStringSubmatch(p.body)
	if action == nil {
		b.t.Fatalf("no form on GitHub's page\n%s", p.body)
	}
	target, err := p.url.Parse(html.UnescapeString(action[1]))
	if err != nil {
		b.t.Fatal(err)
	}
	form := url.Values{"login": {login}, button: {"1"}}
	for _, m := range hiddenInput.FindAllStringSubmatch(p.body, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	req, err := http.NewRequest(http.MethodPost, target.String(), strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if follow {
		return b.do(req), nil
	}
	stop := &http.Client{Jar: b.client.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := stop.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	return nil, resp
}

// logInWithGitHub goes through the whole login as a person does, from the login page to the page after.
func (b *browser) logInWithGitHub(login, next string) *page {
	b.t.Helper()
	b.get("/login")
	form := url.Values{}
	if next != "" {
		form.Set("next", next)
	}
	p, _ := b.onGitHub(b.post("/login/github", form), login, "authorize", true)
	return p
}

// callbackOf returns the path and query of GitHub's redirect back to the server.
func callbackOf(t *testing.T, resp *http.Response) string {
	t.Helper()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || back.Path != "/login/github/callback" {
		t.Fatalf("GitHub answered %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return back.RequestURI()
}

// eventLog returns the whole event log.
func (e *env) eventLog() []eventstore.Event {
	e.t.Helper()
	events, err := e.store.ReadAll(context.Background(), eventstore.Position{}, 10_000)
	if err != nil {
		e.t.Fatal(err)
	}
	return events
}

// eventPayload decodes ev as the server does, opening its personal data with the keys the harness seals
// it with (this process's); the stored data itself must not hold personal in plaintext.
func eventPayload[E domain.Event](t *testing.T, ev eventstore.Event, plaintext ...string) E {
	t.Helper()
	for _, s := range plaintext {
		if bytes.Contains(ev.Data, []byte(s)) {
			t.Errorf("%s holds %q in plaintext: %s", ev.Type, s, ev.Data)
		}
	}
	payload, err := domain.Events.WithKeys(eventstore.Process()).Decode(ev.Type, ev.SchemaVersion, ev.Data)
	if err != nil {
		t.Fatal(err)
	}
	return payload.(E)
}

func eventsOfType(events []eventstore.Event, typ string) []eventstore.Event {
	var out []eventstore.Event
	for _, ev := range events {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

func TestLoggingInWithGitHubRegistersTheUserAndShowsTheirAvatar(t *testing.T) {
	t.Parallel()
	e, fake := newGitHubEnv(t)
	b := e.browser()

	b.get("/settings").at("/login").lacks(`class="user-login"`)
	consent := b.post("/login/github", url.Values{"next": {"/settings"}})
	if !strings.HasPrefix(consent.url.String(), fake.URL+"/login/oauth/authorize?") {
		t.Fatalf("the login went to %s, not to GitHub", consent.url)
	}
	p, _ := b.onGitHub(consent, "ada", "authorize", true)
	p.at("/settings").expect(http.StatusOK,
		`<img class="avatar" src="https://avatars.example/ada"`, `<span class="user-login">ada</span>`,
		"Welcome, Ada Lovelace.",
		// The profile's e-mail address is private: the primary verified one is used.
		`value="ada@example.org"`)

	registered := eventsOfType(e.eventLog(), "UserRegistered")
	if len(registered) != 1 {
		t.Fatalf("%d UserRegistered events, want 1", len(registered))
	}
	got := eventPayload[domain.UserRegistered](t, registered[0], "Ada Lovelace", "ada@example.org").Profile.Value()
	if got.Login != "ada" || got.Name != "Ada Lovelace" || !strings.HasPrefix(registered[0].Metadata.Actor, "user:") {
		t.Errorf("UserRegistered %+v by %q", got, registered[0].Metadata.Actor)
	}
	if n := fake.Requests(githubfake.EndpointAccessToken); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

func TestALaterLoginRecordsOnlyAChangedProfile(t *testing.T) {
	t.Parallel()
	e, fake := newGitHubEnv(t)
	b := e.browser()
	b.logInWithGitHub("ada", "").expect(http.StatusOK, "Welcome, Ada Lovelace.")
	b.post("/logout", nil)

	renamed := adaOnGitHub
	renamed.Name = "Ada King"
	fake.AddUser(renamed)
	b.logInWithGitHub("ada", "/settings").at("/settings").expect(http.StatusOK, "Welcome, Ada King.", "<dd>Ada King</dd>")
	updated := eventsOfType(e.eventLog(), "UserProfileUpdated")
	if len(updated) != 1 || eventPayload[domain.UserProfileUpdated](t, updated[0], "Ada King").Profile.Value().Name != "Ada King" {
		t.Fatalf("%d UserProfileUpdated events, want 1 with the new name", len(updated))
	}
	b.post("/logout", nil)

	before := len(e.eventLog())
	b.logInWithGitHub("ada", "/settings").expect(http.StatusOK, "Welcome, Ada King.")
	if after := len(e.eventLog()); after != before {
		t.Errorf("a login with the same profile appended %d event(s)", after-before)
	}
	if n := len(eventsOfType(e.eventLog(), "UserRegistered")); n != 1 {
		t.Errorf("%d registrations for one account", n)
	}
}

func TestACallbackThatWasNotStartedHereIsRefused(t *testing.T) {
	t.Parallel()
	e, fake := newGitHubEnv(t)
	const refusal = "This login link has expired or was not started here."

	// A state that is not the one this browser's login started with.
	b := e.browser()
	b.get("/login")
	b.post("/login/github", nil)
	b.get("/login/github/callback?code=stolen&state=forged").expect(http.StatusBadRequest, refusal)

	// The callback of a finished login, used again by the same browser and by another one.
	b = e.browser()
	b.get("/login")
	_, resp := b.onGitHub(b.post("/login/github", nil), "ada", "authorize", false)
	callback := callbackOf(t, resp)
	b.get(callback).expect(http.StatusOK, "Welcome, Ada Lovelace.")
	b.get(callback).expect(http.StatusBadRequest, refusal)
	e.browser().get(callback).expect(http.StatusBadRequest, refusal).lacks(`class="user-login"`)

	if n := fake.Requests(githubfake.EndpointAccessToken); n != 1 {
		t.Errorf("%d codes exchanged, want only the good one", n)
	}
}

func TestGitHubLoginReturnsToNextOnlyOnThisSite(t *testing.T) {
	t.Parallel()
	e, _ := newGitHubEnv(t)
	host := strings.TrimPrefix(e.server.URL, "http://")
	e.browser().logInWithGitHub("ada", "/settings?tab=email").at("/settings").expect(http.StatusOK, "Welcome, Ada Lovelace.")
	for _, next := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example"} {
		p := e.browser().logInWithGitHub("ada", next)
		if p.url.Host != host || p.url.Path != "/" {
			t.Errorf("next=%q led to %s", next, p.url)
		}
	}
}

func TestDenyingOnGitHubReturnsToTheLoginPage(t *testing.T) {
	t.Parallel()
	e, fake := newGitHubEnv(t)
	b := e.browser()
	b.get("/login")
	p, _ := b.onGitHub(b.post("/login/github", nil), "", "deny", true)
	p.at("/login").expect(http.StatusOK, "GitHub did not log you in", "refused or cancelled").lacks(`class="user-login"`)
	if n := fake.Requests(githubfake.EndpointAccessToken); n != 0 {
		t.Errorf("%d token requests after a refusal", n)
	}
	if n := len(eventsOfType(e.eventLog(), "UserRegistered")); n != 0 {
		t.Errorf("%d users registered", n)
	}
}

func TestGitHubDownDuringLoginShowsAnErrorAndLogsNoSecret(t *testing.T) {
	t.Parallel()
	e, fake := newGitHubEnv(t)
	b := e.browser()
	b.get("/login")
	_, resp := b.onGitHub(b.post("/login/github", nil), "ada", "authorize", false)
	callback := callbackOf(t, resp)
	fake.Close()
	b.get(callback).expect(http.StatusBadGateway, "GitHub could not confirm who you are").lacks(`class="user-login"`)

	logs := e.logs.String()
	if !strings.Contains(logs, "GitHub login failed") {
		t.Errorf("the failure was not logged:\n%s", logs)
	}
	code, _ := url.ParseQuery(strings.SplitN(callback, "?", 2)[1])
	for _, secret := range []string{fake.ClientSecret, code.Get("code")} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log shows a secret:\n%s", logs)
		}
	}
}

func TestGitHubLoginWithoutAnOAuthAppSaysSo(t *testing.T) {
	t.Parallel()
	b := newEnv(t).browser()
	b.get("/login")
	b.post("/login/github", url.Values{"next": {"/settings"}}).at("/login").
		expect(http.StatusOK, "GitHub login is not configured on this server; use the development login below.", "Development login")

	b = newEnv(t, inProduction).browser()
	b.get("/login")
	b.post("/login/github", nil).at("/login").
		expect(http.StatusOK, "GitHub login is not configured on this server.").lacks("development login below")
}
