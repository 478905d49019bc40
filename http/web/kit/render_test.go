package kit

import (
	"bytes"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/mediciasafely/jobserver/http/web/static"
)

// fixedChrome is the chrome function of a server whose every request looks the same.
func fixedChrome(chrome Chrome) func(*http.Request) Chrome {
	return func(*http.Request) Chrome { return chrome }
}

func newTestRenderer(t *testing.T, chrome Chrome) *Renderer {
	t.Helper()
	// The pages of two slices, read from their folders, stand for every page.
	renderer, err := NewRenderer(fixedChrome(chrome), os.DirFS("../home/templates"), os.DirFS("../auth/templates"))
	if err != nil {
		t.Fatalf("NewRenderer: %v", err)
	}
	return renderer
}

// templatesWith is the real templates plus extra or replaced files, keyed by path under templates/.
func templatesWith(t *testing.T, extra map[string]string) fs.FS {
	t.Helper()
	files := fstest.MapFS{}
	err := fs.WalkDir(embeddedTemplates, "templates", func(path string, entry fs.DirEntry, err error) error {
		if err != nil || entry.IsDir() {
			return err
		}
		content, err := embeddedTemplates.ReadFile(path)
		files[strings.TrimPrefix(path, "templates/")] = &fstest.MapFile{Data: content}
		return err
	})
	if err != nil {
		t.Fatalf("copying templates: %v", err)
	}
	for path, content := range extra {
		files[path] = &fstest.MapFile{Data: []byte(content)}
	}
	return files
}

// capturedLogs points the renderer's logger at a buffer.
func capturedLogs(renderer *Renderer) *bytes.Buffer {
	var logs bytes.Buffer
	renderer.logger = slog.New(slog.NewTextHandler(&logs, nil))
	return &logs
}

// loginPage has the shape of the login page's Data (auth.loginPage).
type loginPage struct {
	Next      string
	DemoUsers []Option
}

func get(path string) *http.Request {
	return httptest.NewRequest(http.MethodGet, path, nil)
}

func assertContains(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q\n--- page ---\n%s", want, body)
		}
	}
}

func assertNotContains(t *testing.T, body string, unwanted ...string) {
	t.Helper()
	for _, text := range unwanted {
		if strings.Contains(body, text) {
			t.Errorf("page should not contain %q\n--- page ---\n%s", text, body)
		}
	}
}

// assertInOrder checks that each text appears after the one before it.
func assertInOrder(t *testing.T, body string, texts ...string) {
	t.Helper()
	from := 0
	for _, text := range texts {
		at := strings.Index(body[from:], text)
		if at < 0 {
			t.Fatalf("%q missing or out of order\n--- page ---\n%s", text, body)
		}
		from += at + len(text)
	}
}

func TestPageRendersInsideTheLayoutWithTitleBreadcrumbsAndFlashes(t *testing.T) {
	t.Parallel()
	renderer := newTestRenderer(t, Chrome{
		Path: "/mediciaaiorg2/MyStudy/project2workspace",
		Flashes: []Flash{
			{Kind: "success", Message: "Workspace created"},
			{Kind: "error", Message: "Could not <enable> notifications"},
		},
	})
	w := httptest.NewRecorder()

	renderer.Page(w, get("/mediciaaiorg2/MyStudy/project2workspace"), http.StatusOK, "home_anonymous", View{
		Title: "project2workspace",
		Crumbs: []Crumb{
			{Label: "mediciaaiorg2", URL: "/mediciaaiorg2"},
			{Label: "MyStudy", URL: "/mediciaaiorg2/MyStudy"},
			{Label: "project2workspace"},
		},
	})

	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", w.Code)
	}
	if got := w.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	body := w.Body.String()
	assertContains(t, body,
		`<html lang="en">`,
		`<title>project2workspace · MediciaSAFELY</title>`,
		`<a class="skip-link" href="#main">Skip to main content</a>`,
		`<a class="brand" href="/">MediciaSAFELY</a>`,
		`<li><a href="/mediciaaiorg2">mediciaaiorg2</a></li>`,
		`<li><a href="/mediciaaiorg2/MyStudy">MyStudy</a></li>`,
		`<li><span aria-current="page">project2workspace</span></li>`,
		`<div class="flash flash-success" role="status">Workspace created</div>`,
		`<div class="flash flash-error" role="alert">Could not &lt;enable&gt; notifications</div>`,
	)
	assertInOrder(t, body,
		`<a class="skip-link"`,
		`<header class="topbar">`,
		`<nav class="breadcrumbs" aria-label="Breadcrumb">`, `<ol`, `mediciaaiorg2`, `MyStudy`, `project2workspace`, `</ol>`,
		`<main id="main"`,
		`Workspace created`,
		`<h1 id="welcome-heading">MediciaSAFELY Job Server</h1>`,
		`</main>`,
		`<footer class="site-footer">`,
	)
	assertNotContains(t, body, "Could not <enable>")
}

func TestPageWithoutTitleOrCrumbsShowsTheProductNameAndNoBreadcrumbs(t *testing.T) {
	t.Parallel()
	renderer := newTestRenderer(t, Chrome{Path: "/"})
	w := httptest.NewRecorder()

	renderer.Page(w, get("/"), http.StatusOK, "home_anonymous", View{})

	body := w.Body.String()
	assertContains(t, body, `<title>MediciaSAFELY</title>`)
	assertNotContains(t, body, `aria-label="Breadcrumb"`, `class="flashes"`)
}

func TestAnonymousVisitorSeesLogInLinkAndPublicNavigation(t *testing.T) {
	t.Parallel()
	renderer := newTestRenderer(t, Chrome{Path: "/status"})
	w := httptest.NewRecorder()

	renderer.Page(w, get("/status"), http.StatusOK, "home_anonymous", View{Title: "Status"})

	body := w.Body.String()
	assertContains(t, body,
		`<nav class="main-nav" aria-label="Main">`,
		`<a href="/status" aria-current="page">Status</a>`,
		`<a class="button button-secondary" href="/login?next=%2fstatus">Log in</a>`,
	)
	assertNotContains(t, body, `class="user-menu"`, `action="/logout"`, `Staff area`, `hx-headers`)
}

func TestLoggedInUserSeesAvatarLoginAndAccountMenuWithLogOutForm(t *testing.T) {
	t.Parallel()
	renderer := newTestRenderer(t, Chrome{
		User:      &CurrentUser{ID: "01HUSER", Login: "ada-l", Name: "Ada Lovelace", AvatarURL: "https://avatars.githubusercontent.com/u/1?v=4"},
		CSRFToken: "token-123",
		Path:      "/",
	})
	w := httptest.NewRecorder()

	renderer.Page(w, get("/"), http.StatusOK, "home_anonymous", View{Title: "Home"})

	body := w.Body.String()
	assertContains(t, body,
		`<img class="avatar" src="https://avatars.githubusercontent.com/u/1?v=4" alt="" width="32" height="32">`,
		`<span class="visually-hidden">Account menu for </span><span class="user-login">ada-l</span>`,
		`<a href="/settings">Settings</a>`,
		`<body hx-headers="{&#34;X-CSRF-Token&#34;:&#34;token-123&#34;}">`,
	)
	assertInOrder(t, body,
		`<details class="user-menu">`, `<summary>`, `</summary>`,
		`<form method="post" action="/logout">`,
		`<input type="hidden" name="gorilla.csrf.Token" value="token-123">`,
		`<button type="submit">Log out</button>`,
		`</form>`, `</details>`,
	)
	assertNotContains(t, body, `<a class="button button-secondary" href="/login`, `Staff area`)
}

func TestStaffAreaLinkOnlyForUsersWhoMaySeeIt(t *testing.T) {
	t.Parallel()
	for _, test := range []struct {
		name            string
		canSeeStaffArea bool
	}{
		{"researcher", false},
		{"core developer", true},
	} {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			renderer := newTestRenderer(t, Chrome{
				User: &CurrentUser{Login: "someone", CanSeeStaffArea: test.canSeeStaffArea},
				Path: "/staff/users",
			})
			w := httptest.NewRecorder()

			renderer.Page(w, get("/staff/users"), http.StatusOK, "home_anonymous", View{})

			link := `<a href="/staff" aria-current="page">Staff area</a>`
			if got := strings.Contains(w.Body.String(), link); got != test.canSeeStaffArea {
				t.Errorf("staff link shown = %v, want %v", got, test.canSeeStaffArea)
			}
		})
	}
}

func TestUserWithoutAvatarGetsTheirInitialInstead(t *testing.T) {
	t.Parallel()
	renderer := newTestRenderer(t, Chrome{User: &CurrentUser{Login: "bob"}})
	w := httptest.NewRecorder()

	renderer.Page(w, get("/"), http.StatusOK, "home_anonymous", View{})

	body := w.Body.String()
	assertContains(t, body, `<span class="avatar avatar-initial" aria-hidden="true">B</span>`)
	assertNotContains(t, body, `<img class="avatar"`)
}

func TestLoginFormPostsToGitHubWithCSRFTokenAndNext(t *testing.T) {
	t.Parallel()
	renderer := newTestRenderer(t, Chrome{CSRFToken: `a"b<c`, Path: "/login"})
	w := httptest.NewRecorder()

	renderer.Page(w, get("/login?next=/mediciaaiorg2"), http.StatusOK, "login", View{
		Title: "Log in",
		Data:  loginPage{Next: "/mediciaaiorg2/MyStudy"},
	})

	body := w.Body.String()
	assertInOrder(t, body,
		`<h1>Log in</h1>`,
		`<form class="login-form" method="post" action="/login/github">`,
		`<input type="hidden" name="gorilla.csrf.Token" value="a&#34;b&lt;c">`,
		`<input type="hidden" name="next" value="/mediciaaiorg2/MyStudy">`,
		`Log in with GitHub</button>`,
		`</form>`,
	)
	// The top bar does not offer "Log in" again on the login page.
	assertNotContains(t, body, `<a class="button button-secondary" href="/login`, `a"b<c`, `Development login`, `action="/login/dev"`, `class="dev-banner"`)
}

func TestDevelopmentLoginIsClearlyMarkedAndListsTheDemoUsers(t *testing.T) {
	t.Parallel()
	renderer := newTestRenderer(t, Chrome{CSRFToken: "token-123", DevLogin: true, Path: "/login"})
	w := httptest.NewRecorder()

	renderer.Page(w, get("/login"), http.StatusOK, "login", View{
		Title: "Log in",
		Data: loginPage{Next: "/status", DemoUsers: []Option{
			{Value: "01HADMIN", Label: "admin (Core Developer)"},
			{Value: "01HRESEARCHER", Label: "researcher (Project Developer)"},
		}},
	})

	body := w.Body.String()
	assertContains(t, body, `<div class="dev-banner" role="note">`)
	assertInOrder(t, body,
		`action="/login/github"`,
		`<h2 id="dev-login-heading">`, `Development login — not available in production</h2>`,
		`<form method="post" action="/login/dev">`,
		`<input type="hidden" name="gorilla.csrf.Token" value="token-123">`,
		`<input type="hidden" name="next" value="/status">`,
		`<label for="dev-login-user">Demo user`,
		`<select id="dev-login-user" name="user" required>`,
		`<option value="01HADMIN">admin (Core Developer)</option>`,
		`<option value="01HRESEARCHER">researcher (Project Developer)</option>`,
		`Log in as this user</button>`,
	)
}

func TestDevelopmentLoginWithoutDemoUsersSaysSo(t *testing.T) {
	t.Parallel()
	renderer := newTestRenderer(t, Chrome{DevLogin: true})
	w := httptest.NewRecorder()

	renderer.Page(w, get("/login"), http.StatusOK, "login", View{Title: "Log in"})

	body := w.Body.String()
	assertContains(t, body, `Development login — not available in production`, `<p>No demo users are loaded.</p>`)
	assertNotContains(t, body, `action="/login/dev"`)
}

func TestTemplateErrorBecomesA500PageWithoutGoErrorText(t *testing.T) {
	t.Parallel()
	var chromeReads atomic.Int32
	renderer, err := newRenderer(templatesWith(t, map[string]string{
		"pages/broken.html": `{{define "content"}}<p>HALF A PAGE</p>{{.Data.NoSuchField}}{{end}}`,
	}), func(*http.Request) Chrome {
		chromeReads.Add(1) // reading the chrome may pop the session's flashes
		return Chrome{Flashes: []Flash{{Kind: "info", Message: "Kept for the error page"}}}
	})
	if err != nil {
		t.Fatalf("newRenderer: %v", err)
	}
	logs := capturedLogs(renderer)
	w := httptest.NewRecorder()

	renderer.Page(w, get("/broken"), http.StatusOK, "broken", View{Title: "Broken", Data: struct{ Name string }{"x"}})

	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", w.Code)
	}
	body := w.Body.String()
	assertContains(t, body,
		`<title>Something went wrong · MediciaSAFELY</title>`,
		`<p class="eyebrow">Error 500</p>`,
		`<h1>Something went wrong</h1>`,
		`<div class="flash flash-info" role="status">Kept for the error page</div>`,
		`<a class="button button-primary" href="/">Go to the home page</a>`,
	)
	assertNotContains(t, body, "HALF A PAGE", "NoSuchField", "template:", "executing", "can't evaluate", "struct")
	if n := chromeReads.Load(); n != 1 {
		t.Errorf("chrome read %d times, want once", n)
	}
	assertContains(t, logs.String(), "rendering page", "page=broken", "NoSuchField")
}

func TestUnknownPageBecomesA500PageAndIsLogged(t *testing.T) {
	t.Parallel()
	renderer := newTestRenderer(t, Chrome{})
	logs := capturedLogs(renderer)
	w := httptest.NewRecorder()

	renderer.Page(w, get("/"), http.StatusOK, "no_such_page", View{})

	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", w.Code)
	}
	assertContains(t, w.Body.String(), `<h1>Something went wrong</h1>`)
	assertNotContains(t, w.Body.String(), "no_such_page")
	assertContains(t, logs.String(), "page=no_such_page")
}

func TestErrorRendersNotFoundPageInTheLayoutWithStatus404(t *testing.T) {
	t.Parallel()
	renderer := newTestRenderer(t, Chrome{User: &CurrentUser{Login: "ada"}, Path: "/nowhere"})
	w := httptest.NewRecorder()

	renderer.Error(w, get("/nowhere"), http.StatusNotFound, "There is no workspace called <nowhere> in MyStudy.")

	if w.Code != http.StatusNotFound {
		t.Fatalf("status = %d, want 404", w.Code)
	}
	body := w.Body.String()
	assertInOrder(t, body,
		`<title>Page not found · MediciaSAFELY</title>`,
		`<span class="user-login">ada</span>`,
		`<main id="main"`,
		`<p class="eyebrow">Error 404</p>`,
		`<h1>Page not found</h1>`,
		`<p class="lead">There is no workspace called &lt;nowhere&gt; in MyStudy.</p>`,
		`<a class="button button-primary" href="/">Go to the home page</a>`,
		`</main>`,
	)
}

func TestErrorPagesHaveWordingForEachStatus(t *testing.T) {
	t.Parallel()
	for _, test := range []struct {
		status  int
		heading string
		message string
	}{
		{http.StatusBadRequest, "Bad request", "The request could not be understood."},
		{http.StatusForbidden, "Access denied", "You do not have permission to see this page or to do this."},
		{http.StatusNotFound, "Page not found", "There is no page at this address."},
		{http.StatusInternalServerError, "Something went wrong", "An unexpected error happened on our side."},
		{http.StatusBadGateway, "Something went wrong", "An unexpected error happened on our side."},
		{http.StatusTooManyRequests, "Too Many Requests", "Too Many Requests."},
	} {
		t.Run(http.StatusText(test.status), func(t *testing.T) {
			t.Parallel()
			renderer := newTestRenderer(t, Chrome{User: &CurrentUser{Login: "ada"}})
			w := httptest.NewRecorder()

			renderer.Error(w, get("/"), test.status, "")

			if w.Code != test.status {
				t.Errorf("status = %d, want %d", w.Code, test.status)
			}
			assertContains(t, w.Body.String(), "<h1>"+test.heading+"</h1>", test.message)
		})
	}
}

func TestForbiddenPageOffersAnonymousVisitorsALogIn(t *testing.T) {
	t.Parallel()
	renderer := newTestRenderer(t, Chrome{Path: "/mediciaaiorg2/MyStudy/settings"})
	w := httptest.NewRecorder()

	renderer.Error(w, get("/mediciaaiorg2/MyStudy/settings"), http.StatusForbidden, "")

	assertInOrder(t, w.Body.String(),
		`<h1>Access denied</h1>`,
		`<a class="button button-primary" href="/login?next=%2fmediciaaiorg2%2fMyStudy%2fsettings">Log in</a>`,
	)
}

func TestFragmentRendersAPartialWithoutTheLayout(t *testing.T) {
	t.Parallel()
	renderer, err := newRenderer(templatesWith(t, map[string]string{
		"partials/job_row.html": `{{define "job_row"}}<tr><td>{{.Data.Action}}</td><td>` +
			`<form method="post" action="/cancel">{{csrfField $.CSRFToken}}<button>Cancel</button></form></td></tr>{{end}}`,
	}), fixedChrome(Chrome{CSRFToken: "token-123"}))
	if err != nil {
		t.Fatalf("newRenderer: %v", err)
	}
	w := httptest.NewRecorder()

	renderer.Fragment(w, get("/jobs/1"), http.StatusOK, "job_row", struct{ Action string }{"generate_<cohort>"})

	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", w.Code)
	}
	want := `<tr><td>generate_&lt;cohort&gt;</td><td><form method="post" action="/cancel">` +
		`<input type="hidden" name="gorilla.csrf.Token" value="token-123"><button>Cancel</button></form></td></tr>`
	if got := w.Body.String(); got != want {
		t.Errorf("fragment =\n%s\nwant\n%s", got, want)
	}
}

func TestUnknownFragmentBecomesA500(t *testing.T) {
	t.Parallel()
	renderer := newTestRenderer(t, Chrome{})
	logs := capturedLogs(renderer)
	w := httptest.NewRecorder()

	renderer.Fragment(w, get("/"), http.StatusOK, "no_such_fragment", nil)

	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", w.Code)
	}
	assertContains(t, logs.String(), "fragment=no_such_fragment")
}

func TestNewRendererRefusesBrokenTemplatesAtStartUp(t *testing.T) {
	t.Parallel()
	for _, test := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"page without content", map[string]string{"pages/bare.html": `<p>no define</p>`}, `page bare must define "content"`},
		{"page that does not parse", map[string]string{"pages/typo.html": `{{define "content"}}{{.Data.}}{{end}}`}, "parsing page typo"},
		{"unknown function", map[string]string{"pages/func.html": `{{define "content"}}{{shout .}}{{end}}`}, "parsing page func"},
	} {
		t.Run(test.name, func(t *testing.T) {
			t.Parallel()
			_, err := newRenderer(templatesWith(t, test.files), fixedChrome(Chrome{}))
			if err == nil || !strings.Contains(err.Error(), test.want) {
				t.Errorf("error = %v, want one mentioning %q", err, test.want)
			}
		})
	}
}

// Reviewers hold no staff_area_access: their link is Review applications, current on its pages, where the
// staff area's link is not.
func TestReviewApplicationsLinkForReviewers(t *testing.T) {
	t.Parallel()
	renderer := newTestRenderer(t, Chrome{
		User: &CurrentUser{Login: "rita", CanSeeStaffArea: true, CanReviewApplications: true},
		Path: "/staff/applications/01ABC",
	})
	w := httptest.NewRecorder()
	renderer.Page(w, get("/staff/applications/01ABC"), http.StatusOK, "home_anonymous", View{})
	assertContains(t, w.Body.String(), `<a href="/staff/applications" aria-current="page">Review applications</a>`,
		`<a href="/staff">Staff area</a>`, `<a href="/applications">Applications</a>`)

	w = httptest.NewRecorder()
	newTestRenderer(t, Chrome{User: &CurrentUser{Login: "ada"}}).Page(w, get("/"), http.StatusOK, "home_anonymous", View{})
	assertNotContains(t, w.Body.String(), "Review applications")
}

func TestASlicesPartialsAreSharedByItsPagesAndTheirNamesAreUnique(t *testing.T) {
	t.Parallel()
	slice := fstest.MapFS{
		"partials/shout.html": {Data: []byte(`{{define "shout"}}<strong>{{.}}</strong>{{end}}`)},
		"one.html":            {Data: []byte(`{{define "content"}}{{template "shout" "one"}}{{end}}`)},
		"two.html":            {Data: []byte(`{{define "content"}}{{template "shout" "two"}}{{end}}`)},
	}
	renderer, err := newRenderer(templatesWith(t, nil), fixedChrome(Chrome{}), slice)
	if err != nil {
		t.Fatalf("newRenderer: %v", err)
	}
	for _, page := range []string{"one", "two"} {
		w := httptest.NewRecorder()
		renderer.Page(w, get("/"+page), http.StatusOK, page, View{})
		assertContains(t, w.Body.String(), "<strong>"+page+"</strong>")
	}
	clash := fstest.MapFS{"partials/field.html": {Data: []byte(`{{define "field"}}mine{{end}}`)}}
	if _, err := newRenderer(templatesWith(t, nil), fixedChrome(Chrome{}), clash); err == nil ||
		!strings.Contains(err.Error(), "two partials are called field") {
		t.Errorf("a slice's partial named like the kit's: error = %v", err)
	}
}

func TestNewRendererNeedsAChromeFunction(t *testing.T) {
	t.Parallel()
	if _, err := NewRenderer(nil); err == nil {
		t.Error("NewRenderer(nil) succeeded, want an error")
	}
}

func TestFieldPartialTiesLabelHelpAndErrorToTheInput(t *testing.T) {
	t.Parallel()
	renderer, err := newRenderer(templatesWith(t, map[string]string{
		"pages/form.html": `{{define "content"}}` +
			`{{template "field" (dict "Name" "name" "Label" "Workspace name" "Value" .Data.Name "Help" "Letters, digits and dashes." "Error" .Data.Error "Required" true "Autocomplete" "off")}}` +
			`{{template "field" (dict "Name" "branch" "Label" "Branch" "Error" .Data.Errors.branch)}}` +
			`{{template "checkboxes" (dict "Name" "roles" "Label" "Roles" "Options" .Data.Roles)}}` +
			`{{template "empty" (dict "Message" "No workspaces yet" "ActionURL" "/mediciaaiorg2/MyStudy/new-workspace" "ActionLabel" "Create a new workspace")}}` +
			`{{end}}`,
	}), fixedChrome(Chrome{}))
	if err != nil {
		t.Fatalf("newRenderer: %v", err)
	}
	w := httptest.NewRecorder()

	renderer.Page(w, get("/new"), http.StatusBadRequest, "form", View{Title: "New workspace", Data: struct {
		Name, Error string
		Errors      map[string]string
		Roles       []Checkbox
	}{
		Name:   `my "ws"`,
		Error:  "A workspace with this name already exists.",
		Errors: map[string]string{"repo": "Not a GitHub repository."},
		Roles:  []Checkbox{{Value: "ProjectDeveloper", Label: "Project Developer", Description: "Runs jobs.", Checked: true}},
	}})

	if w.Code != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400", w.Code)
	}
	body := w.Body.String()
	assertInOrder(t, body,
		`<div class="field field-invalid">`,
		`<label for="name">Workspace name <span class="required" aria-hidden="true">*</span></label>`,
		`<p class="help" id="name-help">Letters, digits and dashes.</p>`,
		`<p class="field-error" id="name-error"><span class="visually-hidden">Error: </span>A workspace with this name already exists.</p>`,
		`<input id="name" name="name" type="text" value="my &#34;ws&#34;" required autocomplete="off" aria-invalid="true" aria-describedby="name-help name-error">`,
		// A field with nothing to say (here: no entry in an error map) has no ARIA ties and no stray attributes.
		`<label for="branch">Branch</label>`,
		`<input id="branch" name="branch" type="text">`,
		`<legend>Roles</legend>`,
		`<input type="checkbox" id="roles-ProjectDeveloper" name="roles" value="ProjectDeveloper" checked aria-describedby="roles-ProjectDeveloper-description">`,
		`<label for="roles-ProjectDeveloper">Project Developer</label>`,
		`<p class="help" id="roles-ProjectDeveloper-description">Runs jobs.</p>`,
		`<p>No workspaces yet</p>`,
		`<a class="button button-primary" href="/mediciaaiorg2/MyStudy/new-workspace">Create a new workspace</a>`,
	)
	assertNotContains(t, body, "<no value>")
}

func TestPagesLinkTheVersionedAssets(t *testing.T) {
	t.Parallel()
	renderer := newTestRenderer(t, Chrome{})
	w := httptest.NewRecorder()

	renderer.Page(w, get("/"), http.StatusOK, "home_anonymous", View{})

	css, _ := static.AssetURL("app.css")
	htmx, _ := static.AssetURL("vendor/htmx.min.js")
	assertContains(t, w.Body.String(),
		`<link rel="stylesheet" href="`+css+`">`,
		`<script src="`+htmx+`" defer></script>`,
	)
}
