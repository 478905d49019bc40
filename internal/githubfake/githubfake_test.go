package githubfake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mediciasafely/jobserver/internal/githubfake"
)

const callback = "http://app.example/login/github/callback"

// noRedirects is a client that shows each redirect instead of following it.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func newFake(t *testing.T) *githubfake.Server {
	fake := githubfake.New(t)
	fake.AddUser(githubfake.User{
		ID: 583231, Login: "octocat", Name: "The Octocat", AvatarURL: "https://avatars.example/octocat",
		Emails: []githubfake.Email{
			{Address: "old@example.org", Verified: true},
			{Address: "octocat@example.org", Primary: true, Verified: true},
		},
	})
	return fake
}

func authorizeQuery(fake *githubfake.Server) url.Values {
	return url.Values{"client_id": {fake.ClientID}, "redirect_uri": {callback}, "state": {"xyz"}, "scope": {"user:email"}, "response_type": {"code"}}
}

func send(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func postForm(t *testing.T, target string, form url.Values, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return send(t, req)
}

func get(t *testing.T, target, authorization string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return send(t, req)
}

// authorize signs in as login on the authorize form and returns the redirect back to the app.
func authorize(t *testing.T, fake *githubfake.Server, login string) *url.URL {
	t.Helper()
	form := authorizeQuery(fake)
	form.Set("login", login)
	form.Set("authorize", "1")
	resp, body := postForm(t, fake.URL+"/login/oauth/authorize", form)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d\n%s", resp.StatusCode, body)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// exchange trades a code for a token the way GitHub's documentation shows, asking for JSON.
func exchange(t *testing.T, fake *githubfake.Server, code string) map[string]string {
	t.Helper()
	resp, body := postForm(t, fake.URL+"/login/oauth/access_token",
		url.Values{"client_id": {fake.ClientID}, "client_secret": {fake.ClientSecret}, "code": {code}, "redirect_uri": {callback}},
		"Accept", "application/json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("access_token: status %d", resp.StatusCode)
	}
	var out map[string]string
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("access_token: %v\n%s", err, body)
	}
	return out
}

func TestAuthorizePageAsksTheUserToAuthorizeTheApp(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	resp, body := get(t, fake.URL+"/login/oauth/authorize?"+authorizeQuery(fake).Encode(), "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, want := range []string{
		"Username or email address", `class="btn-primary">Authorize MediciaSAFELY</button>`,
		`name="state" value="xyz"`, `name="client_id" value="` + fake.ClientID + `"`, `name="deny"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q\n%s", want, body)
		}
	}
	if n := fake.Requests(githubfake.EndpointAuthorizePage); n != 1 {
		t.Errorf("counted %d requests of the authorize page, want 1", n)
	}
}

func TestAuthorizeForAnotherAppIsNotFound(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	q := authorizeQuery(fake)
	q.Set("client_id", "someone-else")
	if resp, _ := get(t, fake.URL+"/login/oauth/authorize?"+q.Encode(), ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET: status %d, want 404", resp.StatusCode)
	}
	q.Set("login", "octocat")
	if resp, _ := postForm(t, fake.URL+"/login/oauth/authorize", q); resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST: status %d, want 404", resp.StatusCode)
	}
}

func TestAnUnknownLoginShowsTheFormAgain(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	form := authorizeQuery(fake)
	form.Set("login", "nobody")
	form.Set("authorize", "1")
	resp, body := postForm(t, fake.URL+"/login/oauth/authorize", form)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Incorrect username") || !strings.Contains(body, `value="nobody"`) {
		t.Fatalf("status %d\n%s", resp.StatusCode, body)
	}
}

func TestTheUserSignsInByLoginOrEmailAndTheCodeBuysAToken(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	for _, name := range []string{"octocat", "OctoCat", "octocat@example.org"} {
		back := authorize(t, fake, name)
		if got := back.Scheme + "://" + back.Host + back.Path; got != callback {
			t.Fatalf("%s: redirected to %s", name, back)
		}
		if back.Query().Get("state") != "xyz" || back.Query().Get("code") == "" {
			t.Fatalf("%s: redirect lacks state or code: %s", name, back)
		}
		token := exchange(t, fake, back.Query().Get("code"))
		if token["access_token"] == "" || token["token_type"] != "bearer" || token["scope"] != "user:email" {
			t.Fatalf("%s: token response %v", name, token)
		}
	}
	if n := fake.Requests(githubfake.EndpointAccessToken); n != 3 {
		t.Errorf("counted %d token requests, want 3", n)
	}
}

func TestDenyingSendsAccessDeniedBack(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	form := authorizeQuery(fake)
	form.Set("deny", "1")
	resp, _ := postForm(t, fake.URL+"/login/oauth/authorize", form)
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	q := back.Query()
	if q.Get("error") != "access_denied" || q.Get("error_description") == "" || q.Get("state") != "xyz" || q.Has("code") {
		t.Errorf("redirect %s", back)
	}
}

func TestACodeWorksOnceAndOnlyWithTheAppsSecret(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	code := authorize(t, fake, "octocat").Query().Get("code")

	resp, body := postForm(t, fake.URL+"/login/oauth/access_token",
		url.Values{"client_id": {fake.ClientID}, "client_secret": {"wrong"}, "code": {code}}, "Accept", "application/json")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"error":"incorrect_client_credentials"`) {
		t.Errorf("wrong secret: %d %s", resp.StatusCode, body)
	}
	code = authorize(t, fake, "octocat").Query().Get("code")
	if token := exchange(t, fake, code); token["access_token"] == "" {
		t.Fatalf("first exchange: %v", token)
	}
	if again := exchange(t, fake, code); again["error"] != "bad_verification_code" || again["access_token"] != "" {
		t.Errorf("replayed code: %v", again)
	}
}

func TestTokenResponseIsFormEncodedUnlessJSONIsAsked(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	code := authorize(t, fake, "octocat").Query().Get("code")
	req, err := http.NewRequest(http.MethodPost, fake.URL+"/login/oauth/access_token", strings.NewReader(url.Values{"code": {code}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(fake.ClientID, fake.ClientSecret)
	resp, body := send(t, req)
	values, err := url.ParseQuery(body)
	if err != nil || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		t.Fatalf("content type %q, body %q", resp.Header.Get("Content-Type"), body)
	}
	if values.Get("access_token") == "" || values.Get("token_type") != "bearer" {
		t.Errorf("token response %v", values)
	}
}

func TestTheAPIServesTheTokensUser(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	token := exchange(t, fake, authorize(t, fake, "octocat").Query().Get("code"))["access_token"]

	for _, scheme := range []string{"Bearer ", "token "} {
		resp, body := get(t, fake.APIURL()+"user", scheme+token)
		var u map[string]any
		if err := json.Unmarshal([]byte(body), &u); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%sstatus %d: %s", scheme, resp.StatusCode, body)
		}
		if u["id"] != float64(583231) || u["login"] != "octocat" || u["name"] != "The Octocat" || u["email"] != nil ||
			u["avatar_url"] != "https://avatars.example/octocat" {
			t.Errorf("%suser %v", scheme, u)
		}
	}

	resp, body := get(t, fake.APIURL()+"user/emails", "Bearer "+token)
	var emails []map[string]any
	if err := json.Unmarshal([]byte(body), &emails); err != nil || resp.StatusCode != http.StatusOK || len(emails) != 2 {
		t.Fatalf("emails: status %d: %s", resp.StatusCode, body)
	}
	if emails[1]["email"] != "octocat@example.org" || emails[1]["primary"] != true || emails[1]["verified"] != true ||
		emails[1]["visibility"] != "private" || emails[0]["visibility"] != nil {
		t.Errorf("emails %v", emails)
	}
	if fake.Requests(githubfake.EndpointUser) != 2 || fake.Requests(githubfake.EndpointUserEmails) != 1 {
		t.Errorf("counted user %d, emails %d", fake.Requests(githubfake.EndpointUser), fake.Requests(githubfake.EndpointUserEmails))
	}
}

func TestTheAPIRefusesUnknownTokens(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	for _, authorization := range []string{"", "Bearer gho_forged", "Basic b2N0b2NhdA=="} {
		resp, body := get(t, fake.APIURL()+"user", authorization)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"message":"Bad credentials"`) {
			t.Errorf("%q: %d %s", authorization, resp.StatusCode, body)
		}
	}
}

func TestEmailsNeedTheUserEmailScope(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	form := authorizeQuery(fake)
	form.Set("scope", "read:org")
	form.Set("login", "octocat")
	form.Set("authorize", "1")
	resp, _ := postForm(t, fake.URL+"/login/oauth/authorize", form)
	back, _ := url.Parse(resp.Header.Get("Location"))
	token := exchange(t, fake, back.Query().Get("code"))
	if token["scope"] != "read:org" {
		t.Fatalf("token %v", token)
	}
	if resp, _ := get(t, fake.APIURL()+"user/emails", "Bearer "+token["access_token"]); resp.StatusCode != http.StatusNotFound {
		t.Errorf("status %d, want 404", resp.StatusCode)
	}
}

func TestAChangedProfileShowsOnTheNextRequest(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	token := exchange(t, fake, authorize(t, fake, "octocat").Query().Get("code"))["access_token"]
	fake.AddUser(githubfake.User{ID: 583231, Login: "octocat", Name: "Mona Lisa Octocat", Email: "mona@example.org"})
	_, body := get(t, fake.APIURL()+"user", "Bearer "+token)
	if !strings.Contains(body, `"name":"Mona Lisa Octocat"`) || !strings.Contains(body, `"email":"mona@example.org"`) {
		t.Errorf("user %s", body)
	}
}
