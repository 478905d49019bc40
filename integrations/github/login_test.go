package github_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/integrations/github"
	"github.com/mediciasafely/jobserver/internal/githubfake"
)

const callback = "https://jobs.example/login/github/callback"

func newLogin(t *testing.T, fake *githubfake.Server) *github.Login {
	t.Helper()
	login, err := github.NewLogin(github.Config{
		ClientID: fake.ClientID, ClientSecret: fake.ClientSecret, WebURL: fake.URL, APIURL: fake.APIURL(), RedirectURL: callback,
	})
	if err != nil {
		t.Fatal(err)
	}
	return login
}

// authorize does what the user's browser does: open the URL the login sends it to, sign in on GitHub's
// form as account and press Authorize. It returns the code GitHub hands back, after checking the state.
func authorize(t *testing.T, login *github.Login, account string) string {
	t.Helper()
	start, err := url.Parse(login.AuthCodeURL("state-1"))
	if err != nil {
		t.Fatal(err)
	}
	form := start.Query()
	form.Set("login", account)
	form.Set("authorize", "1")
	start.RawQuery = ""
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.PostForm(start.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || !strings.HasPrefix(back.String(), callback+"?") {
		t.Fatalf("authorize as %s: status %d, location %q", account, resp.StatusCode, resp.Header.Get("Location"))
	}
	if back.Query().Get("state") != "state-1" {
		t.Fatalf("state came back as %q", back.Query().Get("state"))
	}
	return back.Query().Get("code")
}

func TestAuthCodeURLAsksForTheEmailScopeAndComesBackToTheCallback(t *testing.T) {
	t.Parallel()
	fake := githubfake.New(t)
	u, err := url.Parse(newLogin(t, fake).AuthCodeURL("abc"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if got := u.Scheme + "://" + u.Host + u.Path; got != fake.URL+"/login/oauth/authorize" {
		t.Errorf("authorize endpoint %s", got)
	}
	if q.Get("client_id") != fake.ClientID || q.Get("redirect_uri") != callback || q.Get("state") != "abc" || q.Get("scope") != "user:email" {
		t.Errorf("query %v", q)
	}
	if strings.Contains(u.String(), fake.ClientSecret) {
		t.Error("the client secret is in the browser's URL")
	}
}

func TestExchangeReturnsThePublicProfile(t *testing.T) {
	t.Parallel()
	fake := githubfake.New(t)
	fake.AddUser(githubfake.User{
		ID: 42, Login: "ada", Name: "Ada Lovelace", Email: "ada@example.org", AvatarURL: "https://avatars.example/ada",
		Emails: []githubfake.Email{{Address: "ada@example.org", Primary: true, Verified: true}},
	})
	login := newLogin(t, fake)
	profile, err := login.Exchange(context.Background(), authorize(t, login, "ada"))
	if err != nil {
		t.Fatal(err)
	}
	want := domain.GitHubProfile{ID: 42, Login: "ada", Name: "Ada Lovelace", Email: "ada@example.org", AvatarURL: "https://avatars.example/ada"}
	if profile != want {
		t.Errorf("profile %+v, want %+v", profile, want)
	}
	if n := fake.Requests(githubfake.EndpointUserEmails); n != 0 {
		t.Errorf("listed e-mail addresses %d times for a profile with a public one", n)
	}
}

func TestExchangeFindsThePrimaryVerifiedEmailOfAPrivateProfile(t *testing.T) {
	t.Parallel()
	fake := githubfake.New(t)
	fake.AddUser(githubfake.User{ID: 7, Login: "grace", Emails: []githubfake.Email{
		{Address: "unverified@example.org", Verified: false},
		{Address: "grace@example.org", Primary: true, Verified: true},
	}})
	fake.AddUser(githubfake.User{ID: 8, Login: "linus", Emails: []githubfake.Email{
		{Address: "linus@example.org", Primary: true, Verified: false},
	}})
	login := newLogin(t, fake)

	grace, err := login.Exchange(context.Background(), authorize(t, login, "grace"))
	if err != nil {
		t.Fatal(err)
	}
	if grace.Email != "grace@example.org" || grace.Name != "" || grace.ID != 7 {
		t.Errorf("grace: %+v", grace)
	}
	linus, err := login.Exchange(context.Background(), authorize(t, login, "linus"))
	if err != nil {
		t.Fatal(err)
	}
	if linus.Email != "" {
		t.Errorf("linus's unverified primary address was taken: %+v", linus)
	}
	if n := fake.Requests(githubfake.EndpointUserEmails); n != 2 {
		t.Errorf("listed e-mail addresses %d times, want 2", n)
	}
}

func TestExchangeRefusesABadCode(t *testing.T) {
	t.Parallel()
	fake := githubfake.New(t)
	fake.AddUser(githubfake.User{ID: 42, Login: "ada"})
	login := newLogin(t, fake)
	code := authorize(t, login, "ada")
	if _, err := login.Exchange(context.Background(), code); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{code, "made-up"} {
		_, err := login.Exchange(context.Background(), bad)
		if err == nil || !strings.Contains(err.Error(), "exchange the login code") || !strings.Contains(err.Error(), "bad_verification_code") {
			t.Errorf("code %q: error %v", bad, err)
		}
		if err != nil && strings.Contains(err.Error(), fake.ClientSecret) {
			t.Errorf("the error shows the client secret: %v", err)
		}
	}
	if n := fake.Requests(githubfake.EndpointUser); n != 1 {
		t.Errorf("read the profile %d times, want only for the good code", n)
	}
}

func TestExchangeFailsWhenGitHubIsDown(t *testing.T) {
	t.Parallel()
	fake := githubfake.New(t)
	login := newLogin(t, fake)
	fake.Close()
	_, err := login.Exchange(context.Background(), "any")
	if err == nil || !strings.Contains(err.Error(), "exchange the login code") {
		t.Errorf("error %v", err)
	}
}

// gitHubWithBrokenAPI issues a token and then answers the API with api.
func gitHubWithBrokenAPI(t *testing.T, token string, api http.HandlerFunc) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"` + token + `","token_type":"bearer","scope":"user:email"}`))
	})
	mux.HandleFunc("/api/v3/", api)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func loginTo(t *testing.T, srv *httptest.Server, timeout time.Duration) *github.Login {
	t.Helper()
	login, err := github.NewLogin(github.Config{
		ClientID: "id", ClientSecret: "secret", WebURL: srv.URL, APIURL: srv.URL + "/api/v3", RedirectURL: callback, Timeout: timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	return login
}

func TestExchangeFailsWhenTheAPIFails(t *testing.T) {
	t.Parallel()
	const token = "gho_do_not_show_me"
	srv := gitHubWithBrokenAPI(t, token, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"message":"Service Unavailable"}`))
	})
	_, err := loginTo(t, srv, 0).Exchange(context.Background(), "code")
	if err == nil || !strings.Contains(err.Error(), "read the profile") || !strings.Contains(err.Error(), "503") {
		t.Fatalf("error %v", err)
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("the error shows the token: %v", err)
	}
}

func TestExchangeRequiresTheNumericID(t *testing.T) {
	t.Parallel()
	srv := gitHubWithBrokenAPI(t, "gho_x", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"login":"ada","email":"ada@example.org"}`))
	})
	_, err := loginTo(t, srv, 0).Exchange(context.Background(), "code")
	if err == nil || !strings.Contains(err.Error(), "no id") {
		t.Errorf("error %v", err)
	}
}

func TestExchangeGivesUpOnASlowGitHub(t *testing.T) {
	t.Parallel()
	stalled := make(chan struct{})
	srv := gitHubWithBrokenAPI(t, "gho_x", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stalled:
		}
	})
	// Unblock the handler before the server's Close, which waits for it.
	t.Cleanup(func() { close(stalled) })
	start := time.Now()
	_, err := loginTo(t, srv, 200*time.Millisecond).Exchange(context.Background(), "code")
	var timeout interface{ Timeout() bool }
	if err == nil || !errors.As(err, &timeout) || !timeout.Timeout() {
		t.Fatalf("error %v, want a timeout", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("gave up after %s", elapsed)
	}
}

func TestNewLoginRefusesAnIncompleteConfiguration(t *testing.T) {
	t.Parallel()
	good := github.Config{ClientID: "id", ClientSecret: "secret", WebURL: "https://github.com", APIURL: "https://api.github.com/", RedirectURL: callback}
	if _, err := github.NewLogin(good); err != nil {
		t.Fatalf("good configuration: %v", err)
	}
	for name, change := range map[string]func(*github.Config){
		"no secret":           func(c *github.Config) { c.ClientSecret = "" },
		"relative web URL":    func(c *github.Config) { c.WebURL = "github.com" },
		"no API URL":          func(c *github.Config) { c.APIURL = "" },
		"relative redirect":   func(c *github.Config) { c.RedirectURL = "/login/github/callback" },
		"not an http API URL": func(c *github.Config) { c.APIURL = "ftp://api.github.com/" },
	} {
		c := good
		change(&c)
		if _, err := github.NewLogin(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
