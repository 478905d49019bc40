// Package githubfake is a local stand-in for GitHub in tests and in the offline demo: the OAuth web flow
// (the authorize page and the token endpoint) and the REST endpoints the server reads (the token's user,
// repositories, branches and file contents), speaking GitHub's own protocol over HTTP on 127.0.0.1, so the
// real OAuth and GitHub clients run against it without any network.
//
// The REST API sits under /api/v3/, as on GitHub Enterprise Server, so one server answers both the web
// and the API: point the OAuth endpoints at URL and the API client at APIURL().
//
// Users get tokens by logging in (the OAuth flow) or from AddToken (a personal access token).
// Repositories are added with AddRepository and filled with Push; AddDemoRepository adds one holding a
// realistic study. Switches make the API fail as GitHub does: RevokeToken (401), DeleteRepository and
// private repositories (404), DeleteBranch (404), RequireSSO (403), RateLimitUntil (403 with
// X-RateLimit-Remaining: 0), SecondaryRateLimitFor (429 with Retry-After), FailWith (5xx), Delay (slow
// answers) and Close (down).
package githubfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The endpoints the fake answers, as Requests names them.
const (
	EndpointAuthorizePage   = "GET /login/oauth/authorize"
	EndpointAuthorizeSubmit = "POST /login/oauth/authorize"
	EndpointAccessToken     = "POST /login/oauth/access_token"
	EndpointUser            = "GET /api/v3/user"
	EndpointUserEmails      = "GET /api/v3/user/emails"
	EndpointRepository      = "GET /api/v3/repos/{owner}/{repo}"
	EndpointBranch          = "GET /api/v3/repos/{owner}/{repo}/branches/{branch...}"
	EndpointContents        = "GET /api/v3/repos/{owner}/{repo}/contents/{path...}"
)

// appName is the OAuth app the authorize page asks the user to trust.
const appName = "MediciaSAFELY"

// codeLifetime is how long an authorization code may be exchanged, as on GitHub.
const codeLifetime = 10 * time.Minute

// Email is one of a user's e-mail addresses, as GET /user/emails lists them.
type Email struct {
	Address  string
	Primary  bool
	Verified bool
}

// User is a GitHub account. Email is the public e-mail address of the profile; "" shows as null, as for
// the many users who keep theirs private.
type User struct {
	ID        int64
	Login     string
	Name      string
	Email     string
	AvatarURL string
	Emails    []Email
}

// Server is a fake GitHub for one test, closed when the test ends.
type Server struct {
	// URL is the web address (https://github.com on the real thing), without a trailing slash.
	URL string
	// ClientID and ClientSecret are the credentials of the one OAuth app registered here.
	ClientID     string
	ClientSecret string

	srv *httptest.Server

	mu       sync.Mutex
	users    map[int64]User // by GitHub id
	codes    map[string]grant
	tokens   map[string]grant
	requests map[string]int         // by endpoint
	repos    map[string]*repository // by lower-case full name: GitHub's names ignore case
	nextID   int64                  // of repositories
	rates    map[int64]*rateWindow  // by user: GitHub's limit is the account's
	failures failures
}

// grant is what an authorization code, and then the access token it was exchanged for, stands for.
type grant struct {
	userID      int64
	clientID    string
	redirectURI string
	scopes      []string
	expires     time.Time // of a code; tokens do not expire
}

// New starts a fake GitHub with one OAuth app, no users and no repositories, closed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := Start()
	t.Cleanup(s.srv.Close)
	return s
}

// Start starts a fake GitHub on 127.0.0.1 outside a test (the offline demo); the caller closes it.
func Start() *Server {
	s, _ := StartAt("127.0.0.1:0") // a free port on loopback is always there
	return s
}

// StartAt is Start on a given address, so that `make run`'s demo finds its fake at the same address
// after a restart (the demo workspace stores the repository's address).
func StartAt(addr string) (*Server, error) {
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{
		ClientID:     "Iv1." + randomHex(8),
		ClientSecret: randomHex(20),
		users:        map[int64]User{},
		codes:        map[string]grant{},
		tokens:       map[string]grant{},
		requests:     map[string]int{},
		repos:        map[string]*repository{},
		rates:        map[int64]*rateWindow{},
	}
	mux := http.NewServeMux()
	s.handle(mux, EndpointAuthorizePage, s.authorizePage)
	s.handle(mux, EndpointAuthorizeSubmit, s.authorizeSubmit)
	s.handle(mux, EndpointAccessToken, s.accessToken)
	s.handle(mux, EndpointUser, s.authenticated(s.user))
	s.handle(mux, EndpointUserEmails, s.authenticated(s.userEmails))
	s.handle(mux, EndpointRepository, s.authenticated(s.repository))
	s.handle(mux, EndpointBranch, s.authenticated(s.branch))
	s.handle(mux, EndpointContents, s.authenticated(s.contents))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			writeJSON(w, http.StatusNotFound, apiError("Not Found"))
			return
		}
		http.NotFound(w, r)
	})
	s.srv = httptest.NewUnstartedServer(mux)
	s.srv.Listener.Close()
	s.srv.Listener = listener
	s.srv.Start()
	s.URL = s.srv.URL
	return s, nil
}

// APIURL is the base of the REST API, with the trailing slash go-github wants.
func (s *Server) APIURL() string { return s.URL + "/api/v3/" }

// Close stops the server, as if GitHub were down: every later request fails to connect.
func (s *Server) Close() { s.srv.Close() }

// AddUser creates a GitHub account, or replaces the one with the same ID (a user who changed their
// profile on GitHub). Tokens already issued for the account see the new profile.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u.Emails = slices.Clone(u.Emails)
	s.users[u.ID] = u
}

// Requests is how many requests an endpoint (one of the Endpoint constants) has answered.
func (s *Server) Requests(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[endpoint]
}

// handle routes an endpoint and counts its requests.
func (s *Server) handle(mux *http.ServeMux, endpoint string, h http.HandlerFunc) {
	mux.HandleFunc(endpoint, func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests[endpoint]++
		s.mu.Unlock()
		h(w, r)
	})
}

// authorizeForm is the page GitHub shows a browser sent to authorise an app: here the sign-in and the
// authorisation are one form, since the fake has no passwords.
var authorizeForm = template.Must(template.New("authorize").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Authorize application</title>
  <style>
    body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; background: #f6f8fa; }
    main { max-width: 26rem; margin: 3rem auto; padding: 1.5rem; background: #fff; border: 1px solid #d0d7de; border-radius: 6px; }
    .flash-error { background: #ffebe9; border: 1px solid #ff818266; padding: .75rem; border-radius: 6px; }
    label, input { display: block; width: 100%; margin: .5rem 0; }
    .btn-primary { background: #1f883d; color: #fff; border: 1px solid #1a7f37; border-radius: 6px; padding: .4rem 1rem; font-weight: 600; }
  </style>
</head>
<body>
<main>
  <h1>Authorize {{.AppName}}</h1>
  <p><strong>{{.AppName}}</strong> wants to access your GitHub account.</p>
  <ul>
    {{- range .Scopes}}
    <li>{{.}}</li>
    {{- else}}
    <li>Public information (read-only)</li>
    {{- end}}
  </ul>
  {{- with .Error}}
  <div class="flash-error" role="alert">{{.}}</div>
  {{- end}}
  <form method="post" action="/login/oauth/authorize">
    {{- range $name, $value := .Params}}
    <input type="hidden" name="{{$name}}" value="{{$value}}">
    {{- end}}
    <label for="login_field">Username or email address</label>
    <input type="text" name="login" id="login_field" value="{{.Login}}" autocapitalize="off" autocomplete="username" autofocus>
    <button type="submit" name="authorize" value="1" class="btn-primary">Authorize {{.AppName}}</button>
    <button type="submit" name="deny" value="1">Cancel</button>
  </form>
  <p>Authorizing will redirect to {{.RedirectURI}}</p>
</main>
</body>
</html>
`))

// authorizeParams are the query parameters of the authorize URL that the form carries back.
var authorizeParams = []string{"client_id", "redirect_uri", "state", "scope", "response_type"}

type authorizeView struct {
	AppName     string
	Scopes      []string
	Params      map[string]string
	Login       string
	Error       string
	RedirectURI string
}

func (s *Server) authorizePage(w http.ResponseWriter, r *http.Request) {
	if !s.knownClient(w, r) {
		return
	}
	s.showAuthorizeForm(w, r, http.StatusOK, "", "")
}

func (s *Server) showAuthorizeForm(w http.ResponseWriter, r *http.Request, status int, login, message string) {
	v := authorizeView{
		AppName: appName, Scopes: scopes(r.FormValue("scope")), Params: map[string]string{},
		Login: login, Error: message, RedirectURI: r.FormValue("redirect_uri"),
	}
	for _, name := range authorizeParams {
		if value := r.FormValue(name); value != "" {
			v.Params[name] = value
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = authorizeForm.Execute(w, v)
}

// knownClient answers 404, as GitHub does, unless the request names the registered app.
func (s *Server) knownClient(w http.ResponseWriter, r *http.Request) bool {
	if r.FormValue("client_id") != s.ClientID {
		http.NotFound(w, r)
		return false
	}
	return true
}

func (s *Server) authorizeSubmit(w http.ResponseWriter, r *http.Request) {
	if !s.knownClient(w, r) {
		return
	}
	redirectURI, err := url.Parse(r.FormValue("redirect_uri"))
	if err != nil || !redirectURI.IsAbs() {
		http.Error(w, "The redirect_uri is missing or not an absolute URL.", http.StatusBadRequest)
		return
	}
	back := redirectURI.Query()
	if state := r.FormValue("state"); state != "" {
		back.Set("state", state)
	}
	if r.FormValue("deny") != "" {
		back.Set("error", "access_denied")
		back.Set("error_description", "The user has denied your application access.")
		back.Set("error_uri", "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied")
		redirectURI.RawQuery = back.Encode()
		http.Redirect(w, r, redirectURI.String(), http.StatusFound)
		return
	}
	login := strings.TrimSpace(r.FormValue("login"))
	user, ok := s.userBySignIn(login)
	if !ok {
		s.showAuthorizeForm(w, r, http.StatusOK, login, "Incorrect username or email address.")
		return
	}
	code := randomHex(10)
	s.mu.Lock()
	s.codes[code] = grant{
		userID: user.ID, clientID: s.ClientID, redirectURI: r.FormValue("redirect_uri"),
		scopes: scopes(r.FormValue("scope")), expires: time.Now().Add(codeLifetime),
	}
	s.mu.Unlock()
	back.Set("code", code)
	redirectURI.RawQuery = back.Encode()
	http.Redirect(w, r, redirectURI.String(), http.StatusFound)
}

// userBySignIn finds the account a person signs in as: by login or by any of its e-mail addresses,
// ignoring case.
func (s *Server) userBySignIn(name string) (User, bool) {
	if name == "" {
		return User{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if strings.EqualFold(u.Login, name) || (u.Email != "" && strings.EqualFold(u.Email, name)) {
			return u, true
		}
		for _, e := range u.Emails {
			if strings.EqualFold(e.Address, name) {
				return u, true
			}
		}
	}
	return User{}, false
}

// accessToken trades a code for a token. Like GitHub it answers 200 even for a refusal, with an "error"
// field, in JSON when asked for and form-encoded otherwise; the client may authenticate with form fields
// or HTTP Basic.
func (s *Server) accessToken(w http.ResponseWriter, r *http.Request) {
	clientID, clientSecret, basic := r.BasicAuth()
	if !basic {
		clientID, clientSecret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	answer := func(fields map[string]string) {
		if strings.Contains(r.Header.Get("Accept"), "application/json") {
			writeJSON(w, http.StatusOK, fields)
			return
		}
		values := url.Values{}
		for k, v := range fields {
			values.Set(k, v)
		}
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		_, _ = w.Write([]byte(values.Encode()))
	}
	refuse := func(code, description string) {
		answer(map[string]string{
			"error": code, "error_description": description,
			"error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#" + strings.ReplaceAll(code, "_", "-"),
		})
	}
	if clientID != s.ClientID || clientSecret != s.ClientSecret {
		refuse("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.")
		return
	}
	code := r.PostFormValue("code")
	s.mu.Lock()
	g, ok := s.codes[code]
	delete(s.codes, code) // a code works once, even when this exchange fails
	s.mu.Unlock()
	if !ok || g.clientID != clientID || time.Now().After(g.expires) {
		refuse("bad_verification_code", "The code passed is incorrect or expired.")
		return
	}
	if uri := r.PostFormValue("redirect_uri"); uri != "" && uri != g.redirectURI {
		refuse("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.")
		return
	}
	token := "gho_" + randomHex(18)
	s.mu.Lock()
	s.tokens[token] = g
	s.mu.Unlock()
	answer(map[string]string{"access_token": token, "token_type": "bearer", "scope": strings.Join(g.scopes, ",")})
}

// authenticated serves an API endpoint to a request carrying a token this server issued, as
// "Authorization: Bearer <token>" or the older "Authorization: token <token>", after the failures the
// server was switched to: a delay, a server error, then (once the token is known) a rate limit.
func (s *Server) authenticated(h func(http.ResponseWriter, *http.Request, User, grant)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.beforeAuthentication(w, r) {
			return
		}
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		s.mu.Lock()
		g, ok := s.tokens[strings.TrimSpace(token)]
		u, exists := s.users[g.userID]
		s.mu.Unlock()
		if !ok || !exists || (!strings.EqualFold(scheme, "bearer") && !strings.EqualFold(scheme, "token")) {
			writeJSON(w, http.StatusUnauthorized, apiError("Bad credentials"))
			return
		}
		if !s.withinRateLimit(w, u) {
			return
		}
		w.Header().Set("X-OAuth-Scopes", strings.Join(g.scopes, ", "))
		h(w, r, u, g)
	}
}

func (s *Server) user(w http.ResponseWriter, _ *http.Request, u User, _ grant) {
	writeJSON(w, http.StatusOK, map[string]any{
		"id": u.ID, "login": u.Login, "name": nullable(u.Name), "email": nullable(u.Email),
		"avatar_url": u.AvatarURL, "html_url": "https://github.com/" + u.Login, "type": "User", "site_admin": false,
	})
}

// userEmails lists the user's addresses; like GitHub it answers 404 to a token without the user:email
// (or user) scope.
func (s *Server) userEmails(w http.ResponseWriter, _ *http.Request, u User, g grant) {
	if !slices.Contains(g.scopes, "user:email") && !slices.Contains(g.scopes, "user") {
		w.Header().Set("X-Accepted-OAuth-Scopes", "user, user:email")
		writeJSON(w, http.StatusNotFound, apiError("Not Found"))
		return
	}
	emails := make([]map[string]any, 0, len(u.Emails))
	for _, e := range u.Emails {
		// GitHub gives the primary address's visibility and null for the others.
		var visibility any
		if e.Primary {
			visibility = "private"
			if strings.EqualFold(e.Address, u.Email) {
				visibility = "public"
			}
		}
		emails = append(emails, map[string]any{
			"email": e.Address, "primary": e.Primary, "verified": e.Verified, "visibility": visibility,
		})
	}
	writeJSON(w, http.StatusOK, emails)
}

// scopes splits a requested scope list; GitHub accepts commas or spaces between scopes.
func scopes(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

func apiError(message string) map[string]string {
	return apiErrorDocumented(message, "https://docs.github.com/rest")
}

func apiErrorDocumented(message, documentation string) map[string]string {
	return map[string]string{"message": message, "documentation_url": documentation}
}

// nullable turns "" into JSON null, as GitHub sends missing profile fields.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
