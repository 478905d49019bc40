package web_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/commands"
	appcmds "github.com/mediciasafely/jobserver/commands/applications"
	"github.com/mediciasafely/jobserver/commands/identity"
	releasecmds "github.com/mediciasafely/jobserver/commands/releases"
	"github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/http/releaseapi"
	"github.com/mediciasafely/jobserver/http/server"
	"github.com/mediciasafely/jobserver/http/web"
	"github.com/mediciasafely/jobserver/integrations/blobs"
	"github.com/mediciasafely/jobserver/integrations/github"
	"github.com/mediciasafely/jobserver/internal/githubfake"
	"github.com/mediciasafely/jobserver/internal/pgtest"
	"github.com/mediciasafely/jobserver/projections"
	appviews "github.com/mediciasafely/jobserver/projections/applications"
	auditviews "github.com/mediciasafely/jobserver/projections/auditview"
	eventlogviews "github.com/mediciasafely/jobserver/projections/eventlog"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
	"github.com/mediciasafely/jobserver/projections/live"
	releaseviews "github.com/mediciasafely/jobserver/projections/releases"
	wsviews "github.com/mediciasafely/jobserver/projections/workspaces"
)

// env is the whole service started against its own database: the event store, the projectors following
// it live, the commands, and the HTTP server. Tests drive it through HTTP, as a browser would.
type env struct {
	t       *testing.T
	pool    *pgxpool.Pool
	store   *pgstore.Store
	runner  *projections.Runner
	queries *identityviews.Queries
	cmds    *identity.Commands
	server  *httptest.Server
	logs    *strings.Builder
	// gh is the GitHub that workspaces read repositories from (a fake of the test's own), ws the
	// workspaces commands on it and wsViews their read models.
	gh      *githubfake.Server
	ws      *workspaces.Commands
	wsViews *wsviews.Queries
	// releases are the commands of released outputs, their bytes in blobs, a directory of the test's own.
	releases *releasecmds.Commands
	blobs    *blobs.Dir
	// apps are the commands of study applications.
	apps *appcmds.Commands
	// hub tells the live pages of the projectors' commits; app is the pages the server serves.
	hub *live.Hub
	app *web.App
}

type envOptions struct {
	production bool
	github     web.GitHubLogin
	baseURL    string
	// newGitHub, when set, builds the GitHub login once the server's address (and so its callback) is known.
	newGitHub func(baseURL string) web.GitHubLogin
	// logEverything keeps every log line, down to debug, in env.logs (warnings and errors otherwise).
	logEverything bool
	// gitHub, when set, is the GitHub workspaces read repositories from (env.gh), instead of one of its own.
	gitHub *githubfake.Server
	// now, when set, is the clock sessions age by.
	now func() time.Time
}

// inProduction runs the server as production does: no development login.
func inProduction(o *envOptions) { o.production = true }

// withClock ages sessions by the given clock.
func withClock(now func() time.Time) func(*envOptions) {
	return func(o *envOptions) { o.now = now }
}

// withGitHub logs in through the given GitHub.
func withGitHub(g web.GitHubLogin) func(*envOptions) {
	return func(o *envOptions) { o.github = g }
}

func newEnv(t *testing.T, options ...func(*envOptions)) *env {
	t.Helper()
	var o envOptions
	for _, opt := range options {
		opt(&o)
	}
	e := &env{t: t, pool: pgtest.NewPool(t), logs: &strings.Builder{}}
	level := slog.LevelWarn
	if o.logEverything {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: e.logs}, &slog.HandlerOptions{Level: level}))
	e.store = pgstore.New(e.pool)
	t.Cleanup(e.store.Close)
	kit := commands.Kit{Log: commands.NewEventLog(e.store, domain.Events, time.Now), Logger: logger}
	e.cmds = identity.New(kit)
	e.queries = identityviews.NewQueries(e.pool)
	e.gh = o.gitHub
	if e.gh == nil {
		e.gh = githubfake.New(t)
	}
	repos, err := github.NewRepos(github.Config{WebURL: e.gh.URL, APIURL: e.gh.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	ring, err := commands.NewKeyring([]byte(testSecretKey))
	if err != nil {
		t.Fatal(err)
	}
	e.ws = workspaces.New(kit, github.ForWorkspaces{Repos: repos}, ring)
	e.wsViews = wsviews.NewQueries(e.pool)
	if e.blobs, err = blobs.NewDir(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	e.releases = releasecmds.New(kit, blobs.ForReleases{Store: e.blobs}, 0)
	e.apps = appcmds.New(kit)
	e.runner = projections.NewRunner(e.pool, e.store, domain.Events, logger,
		slices.Concat(identityviews.Projectors(), wsviews.Projectors(), eventlogviews.Projectors(), appviews.Projectors(), releaseviews.Projectors(),
			auditviews.Projectors())...)
	ctx, cancel := context.WithCancel(context.Background())
	if err := e.runner.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	done, hubDone := make(chan struct{}), make(chan struct{})
	go func() { _ = e.runner.Run(ctx); close(done) }()
	e.hub = live.NewHub(e.pool, e.store, domain.Events, logger, e.runner.Projectors()...)
	go func() { _ = e.hub.Run(ctx); close(hubDone) }()
	t.Cleanup(func() { cancel(); <-done; <-hubDone })

	e.server = httptest.NewUnstartedServer(nil)
	baseURL := o.baseURL
	if baseURL == "" {
		baseURL = "http://" + e.server.Listener.Addr().String()
	}
	if o.newGitHub != nil {
		o.github = o.newGitHub(baseURL)
	}
	app, err := web.NewApp(web.Deps{
		Logger: logger, Pool: e.pool, Queries: e.queries, Projected: e.runner, Identity: e.cmds,
		Workspaces: e.ws, WorkspaceViews: e.wsViews,
		Releases: e.releases, ReleaseViews: releaseviews.NewQueries(e.pool), ReleaseBlobs: blobs.ForReleases{Store: e.blobs},
		Applications: e.apps, ApplicationViews: appviews.NewQueries(e.pool),
		GitHub: o.github, BaseURL: baseURL, SecretKey: []byte(testSecretKey),
		Development: !o.production, Live: e.hub, TimeTravel: projections.NewTimeTravel(e.runner, 2), Now: o.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.app = app
	e.server.Config.Handler = server.New(server.Options{Logger: logger, Pool: e.pool, Renderer: app.Renderer(), Pages: app.Routes,
		// The release API's POST endpoints share their paths with the GET endpoints the pages serve.
		API: releaseapi.Routes(releaseapi.Options{Logger: logger, Users: e.queries, Releases: e.releases, BaseURL: baseURL,
			Authenticate: func(ctx context.Context, token string) (string, bool, error) {
				return identity.BackendForToken(ctx, e.store, token)
			}})})
	e.server.Start()
	t.Cleanup(e.server.Close)
	return e
}

// testSecretKey signs the test server's CSRF cookies and seals its GitHub tokens.
const testSecretKey = "0123456789abcdef0123456789abcdef"

// lockedWriter lets concurrent requests log into one builder.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// sync waits until the read models show what an append wrote.
func (e *env) sync(res commands.Result) {
	e.t.Helper()
	if !res.Changed() {
		return
	}
	// Generous: tests run in parallel, and at a load of 15 four of them once waited more than 10 s.
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	if err := e.runner.WaitFor(ctx, res.Position); err != nil {
		e.t.Fatal(err)
	}
}

// must fails the test on an error and syncs the read models with the append.
func (e *env) must(res commands.Result, err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
	e.sync(res)
}

var nextGitHubID atomic.Int64

// user registers a GitHub user (as their first login would) with the given global roles and returns its id.
func (e *env) user(login string, globalRoles ...domain.Role) string {
	e.t.Helper()
	ctx := context.Background()
	signed, err := e.cmds.SignInWithGitHub.Handle(ctx, identity.SignInWithGitHub{
		GitHubID: 1000 + nextGitHubID.Add(1), Login: login, Name: strings.ToUpper(login[:1]) + login[1:] + " Tester",
		Email: login + "@example.org", AvatarURL: "https://avatars.example.org/" + login,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.sync(signed.Result)
	for _, role := range globalRoles {
		e.must(e.cmds.GrantGlobalRole.Handle(ctx, identity.GrantGlobalRole{Actor: commands.CLIActor, UserID: signed.UserID, Role: role}))
	}
	return signed.UserID
}

// browser is one person's browser: its own cookies, following redirects like a browser does.
type browser struct {
	t      *testing.T
	env    *env
	client *http.Client
	csrf   string
}

func (e *env) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browser{t: e.t, env: e, client: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// page is a response as the browser ended up with it, after redirects.
type page struct {
	t      *testing.T
	status int
	body   string
	url    *url.URL
}

var csrfField = regexp.MustCompile(`name="gorilla\.csrf\.Token" value="([^"]+)"`)

func (b *browser) do(req *http.Request) *page {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	if m := csrfField.FindSubmatch(body); m != nil {
		b.csrf = html.UnescapeString(string(m[1]))
	}
	return &page{t: b.t, status: resp.StatusCode, body: string(body), url: resp.Request.URL}
}

func (b *browser) get(path string) *page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.env.server.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post submits a form the way the page's own form would, with the CSRF token of the last page seen.
func (b *browser) post(path string, form url.Values) *page {
	b.t.Helper()
	if b.csrf == "" {
		b.get("/login")
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set("gorilla.csrf.Token", b.csrf)
	return b.postRaw(path, form)
}

// postRaw submits a form exactly as given, without adding a CSRF token.
func (b *browser) postRaw(path string, form url.Values) *page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.env.server.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// loginAs logs the browser in as a registered user through the development login.
func (b *browser) loginAs(userID string) {
	b.t.Helper()
	b.get("/login")
	p := b.post("/login/dev", url.Values{"user": {userID}})
	if !strings.Contains(p.body, `class="user-login"`) || !strings.Contains(p.body, "Welcome,") {
		b.t.Fatalf("development login as %s: %d at %s", userID, p.status, p.url)
	}
}

// expect fails unless the page has the status and contains every text.
func (p *page) expect(status int, texts ...string) *page {
	p.t.Helper()
	if p.status != status {
		p.t.Fatalf("%s: status %d, want %d\n%s", p.url, p.status, status, excerpt(p.body))
	}
	for _, text := range texts {
		if !strings.Contains(p.body, text) {
			p.t.Fatalf("%s: page does not contain %q\n%s", p.url, text, excerpt(p.body))
		}
	}
	return p
}

// lacks fails if the page contains any of the texts.
func (p *page) lacks(texts ...string) *page {
	p.t.Helper()
	for _, text := range texts {
		if strings.Contains(p.body, text) {
			p.t.Fatalf("%s: page contains %q\n%s", p.url, text, excerpt(p.body))
		}
	}
	return p
}

// at fails unless the browser ended up at path.
func (p *page) at(path string) *page {
	p.t.Helper()
	if p.url.Path != path {
		p.t.Fatalf("ended at %s, want %s", p.url.Path, path)
	}
	return p
}

// excerpt is the main part of a page, for failure messages.
func excerpt(body string) string {
	if i := strings.Index(body, `<main`); i >= 0 {
		body = body[i:]
	}
	if len(body) > 3000 {
		body = body[:3000] + "…"
	}
	return body
}

func TestDevelopmentLoginLogsInAndLogoutLogsOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada := e.user("ada")
	b := e.browser()
	b.get("/login").expect(http.StatusOK, "Development login", "ada (Ada Tester)")
	b.loginAs(ada)
	b.get("/login?next=/status").at("/status")
	b.post("/logout", nil).expect(http.StatusOK, "You have logged out.").lacks(`class="user-login"`)
}

func TestDevelopmentLoginIsRefusedInProduction(t *testing.T) {
	t.Parallel()
	e := newEnv(t, inProduction)
	ada := e.user("ada")
	b := e.browser()
	b.get("/login").expect(http.StatusOK, "Log in with GitHub").lacks("Development login", "ada (Ada Tester)")
	b.post("/login/dev", url.Values{"user": {ada}}).expect(http.StatusNotFound)
	b.get("/").lacks(`class="user-login"`)
}

func TestFormsWithoutTheCSRFTokenAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada := e.user("ada")
	b := e.browser()
	b.get("/login")
	b.postRaw("/login/dev", url.Values{"user": {ada}}).expect(http.StatusForbidden, "This form has expired")
	b.postRaw("/login/dev", url.Values{"user": {ada}, "gorilla.csrf.Token": {"forged"}}).expect(http.StatusForbidden)
	b.get("/").lacks(`class="user-login"`)
	if !strings.Contains(e.logs.String(), "form refused by CSRF protection") {
		t.Error("the refusal was not logged")
	}
}

func TestFormsPostedFromAnotherSiteAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada := e.user("ada")
	b := e.browser()
	b.get("/login")
	form := url.Values{"user": {ada}, "gorilla.csrf.Token": {b.csrf}}
	req, _ := http.NewRequest(http.MethodPost, e.server.URL+"/login/dev", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	b.do(req).expect(http.StatusForbidden)
}

func TestLoginNextNeverLeavesTheSite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada := e.user("ada")
	for _, next := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"} {
		b := e.browser()
		b.get("/login")
		p := b.post("/login/dev", url.Values{"user": {ada}, "next": {next}})
		if p.url.Host != strings.TrimPrefix(e.server.URL, "http://") || p.url.Path != "/" {
			t.Errorf("next=%q led to %s", next, p.url)
		}
	}
	b := e.browser()
	b.get("/login")
	b.post("/login/dev", url.Values{"user": {ada}, "next": {"/status?x=1"}}).at("/status")
}

// A form token known before the login (planted by someone who saw the login page) is worthless after it.
func TestTheCSRFTokenIsRenewedAtLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada := e.user("ada")
	b := e.browser()
	b.get("/login")
	planted := b.csrf
	b.loginAs(ada)
	b.postRaw("/settings", url.Values{"email": {"x@example.org"}, "gorilla.csrf.Token": {planted}}).
		expect(http.StatusForbidden, "This form has expired")
	b.post("/settings", url.Values{"email": {"ada@example.org"}}).at("/settings").expect(http.StatusOK, "Settings saved")
}

// withAllLogs keeps every log line of the server, down to debug, in env.logs: for tests that a secret never
// reaches the log.
func withAllLogs(o *envOptions) { o.logEverything = true }

// gitHubAccount gives a person an account on the test's GitHub, with the same login, and a personal access
// token for it, which it returns.
func (e *env) gitHubAccount(login string) string {
	e.t.Helper()
	id := 50_000 + nextGitHubID.Add(1)
	e.gh.AddUser(githubfake.User{ID: id, Login: login, Name: login})
	token := "ghp_" + login + "Token" + strings.Repeat("x", 20) + fmt.Sprint(id)
	e.gh.AddToken(id, token, "repo")
	return token
}
