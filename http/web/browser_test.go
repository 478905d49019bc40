package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/internal/githubfake"
)

// chromiumPath is Debian's Chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// browserStepTimeout bounds one step in the browser (a click and the page it loads, say), so a stuck step fails
// with a screenshot instead of hanging until the whole test binary times out.
const browserStepTimeout = 20 * time.Second

// The guide's steps 1 to 6 in a real browser, against the whole service in production mode: people log in
// through GitHub (the local fake), an admin sets up a backend, an organisation and a project with its members
// in the staff area, and the project's coordinator changes a member's roles in the project settings. Every
// control is found as assistive technology finds it, by its role and accessible name (a field by its label, a
// button by its text), so the test also proves that the pages can be used that way.
func TestAdminSetsUpAProjectAndACoordinatorChangesARole(t *testing.T) {
	t.Parallel()
	chromium := startChromium(t)

	fake := githubfake.New(t)
	people := map[string]githubfake.User{}
	for i, u := range [][2]string{{"ada", "Ada Lovelace"}, {"grace", "Grace Brewster"}, {"hopper", "Hal Hopper"}} {
		login, name := u[0], u[1]
		people[login] = githubfake.User{
			ID: 7001 + int64(i), Login: login, Name: name,
			// Their avatars are on the fake (as 404s): the browser reaches nothing outside this machine.
			AvatarURL: fake.URL + "/avatars/u/" + login,
			Emails:    []githubfake.Email{{Address: login + "@example.org", Primary: true, Verified: true}},
		}
		fake.AddUser(people[login])
	}
	e := newEnv(t, inProduction, withFakeGitHub(t, fake))
	ctx := context.Background()

	// 1. Ada, who will be the admin, logs in with GitHub; the bootstrap makes her a Core Developer.
	ada := openWindow(t, chromium, e, "ada")
	ada.logInWithGitHub(fake, people["ada"])
	adaUser, err := e.queries.UserByLogin(ctx, "ada")
	if err != nil {
		t.Fatal(err)
	}
	e.must(e.cmds.GrantGlobalRole.Handle(ctx, identity.GrantGlobalRole{
		Actor: commands.CLIActor, UserID: adaUser.ID, Role: domain.CoreDeveloper,
	}))
	// The future coordinator and member log in once, each in a browser of their own, so the admin can add them.
	grace := openWindow(t, chromium, e, "grace")
	grace.logInWithGitHub(fake, people["grace"])
	openWindow(t, chromium, e, "hopper").logInWithGitHub(fake, people["hopper"])

	// 2. Ada sets everything up in the staff area, reached from the top navigation.
	ada.follow("reload the home page", chromedp.Reload())
	ada.follow(`click "Staff area" in the top navigation`, click("link", "Staff area"))
	ada.expectPath("/staff")

	ada.follow("open the backends", click("link", "Backends"))
	ada.fill("Name", "RC Demo 2")
	ada.fill("Slug", "rcdemo2")
	ada.follow("create the backend", click("button", "Create backend"))
	ada.expectFlash("Backend rcdemo2 created")
	ada.sees("The runner token of rcdemo2", "Copy this token now: it will not be shown again.")
	token := ada.value("the runner token", chromedp.Value(`textbox "Runner token"`, byRole("textbox", "Runner token")))
	if len(token) < 20 {
		ada.fail("the runner token %q is too short to be one", token)
	}
	// Shown once: the backend's own page does not show it again.
	ada.follow("back to the backends", click("link", "Backends"))
	ada.follow("open the backend", click("link", "rcdemo2"))
	ada.sees("Backend rcdemo2", "Token last set")
	if ada.has("textbox", "Runner token") || strings.Contains(ada.pageHTML(), token) {
		ada.fail("the backend's page shows its runner token again")
	}

	ada.createOrganisation("MediciaAIOrg2")
	ada.sees("/mediciaaiorg2")

	ada.follow(`click "Staff area"`, click("link", "Staff area"))
	ada.follow("open the projects", click("link", "Projects"))
	ada.fill("Name", "MyStudy")
	ada.choose("Organisation (optional)", "MediciaAIOrg2 (mediciaaiorg2)")
	ada.follow("create the project", click("button", "Create project"))
	ada.expectFlash("Project MyStudy created")
	ada.sees("MediciaAIOrg2", "/mediciaaiorg2/mystudy")

	ada.fill("GitHub login", "grace")
	ada.tick("Project Coordinator")
	ada.follow("add grace", click("button", "Add member"))
	ada.expectFlash("Grace Brewster added to project MyStudy")
	ada.fill("GitHub login", "hopper")
	ada.tick("Project Developer")
	ada.follow("add hopper", click("button", "Add member"))
	ada.expectFlash("Hal Hopper added to project MyStudy")
	ada.expectRow("Grace Brewster", "Project Coordinator")
	ada.expectRow("Hal Hopper", "Project Developer")

	// 3. Grace, the Project Coordinator, gives Hal a second role from the project's settings.
	grace.open("/mediciaaiorg2")
	grace.sees("MediciaAIOrg2", "MyStudy")
	grace.follow("open MyStudy", click("link", "MyStudy"))
	grace.expectPath("/mediciaaiorg2/mystudy")
	grace.follow("open the settings", click("link", "Settings"))
	grace.expectPath("/mediciaaiorg2/mystudy/settings")
	grace.sees("Project settings", "Only MediciaSAFELY admins can add members to a project.")
	if text := grace.mainText(); strings.Contains(text, "Add a member") || grace.has("textbox", "GitHub login") {
		grace.fail("a Project Coordinator is offered the form to add a member")
	}
	grace.follow("edit Hal's roles", click("link", "Edit the roles of Hal Hopper"))
	grace.sees("Hal Hopper", "Roles of Hal Hopper in this project")
	if !grace.checked("Project Developer") || grace.checked("Project Collaborator") {
		grace.fail("Hal's page does not show the roles he holds: Project Developer alone")
	}
	grace.tick("Project Collaborator")
	grace.follow("save the roles", click("button", "Save roles"))
	grace.expectPath("/mediciaaiorg2/mystudy/settings")
	grace.expectFlash("Roles of Hal Hopper saved")
	grace.expectRow("Hal Hopper", "Project Collaborator", "Project Developer")

	// What the page shows is what the read model holds.
	hopper, err := e.queries.UserByLogin(ctx, "hopper")
	if err != nil {
		t.Fatal(err)
	}
	project, err := e.queries.ProjectInOrg(ctx, "mediciaaiorg2", "mystudy")
	if err != nil {
		t.Fatal(err)
	}
	member, err := e.queries.ProjectMember(ctx, project.ID, hopper.ID)
	if err != nil {
		t.Fatal(err)
	}
	roles := slices.Clone(member.Roles)
	slices.Sort(roles)
	if want := []domain.Role{domain.ProjectCollaborator, domain.ProjectDeveloper}; !slices.Equal(roles, want) {
		t.Errorf("Hal's roles in MyStudy are %v, want %v", member.Roles, want)
	}
}

// startChromium starts a headless Chromium for the test and returns its context. Without the browser the test
// is skipped, except on CI, which must run it.
func startChromium(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and the browser tests need Chromium at %s (Debian's chromium package; .ci/run installs it): %v", chromiumPath, err)
		}
		t.Skipf("browser test skipped: no Chromium at %s (install Debian's chromium package to run it)", chromiumPath)
	}
	profile, err := os.MkdirTemp("", "jobserver-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Chromium's child processes can still write to the profile for a moment after the browser stops.
		for range 50 {
			if err := os.RemoveAll(profile); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("could not remove Chromium's profile %s", profile)
	})
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(profile),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.WindowSize(1280, 900),
		// The network here is closed: without these Chromium stalls on connections it tries on its own.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Only the test's own servers on 127.0.0.1 can be reached; any other host fails at once.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"),
		// Test servers on https (the avatars, which the pages' CSP loads only over https) have certificates
		// of their own.
		chromedp.Flag("ignore-certificate-errors", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser with no deadline: the first run binds the browser's life to its context.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// window is one person's browser: a browser context of its own in the test's Chromium, with its own cookies.
type window struct {
	t    *testing.T
	who  string
	ctx  context.Context
	base string
}

func openWindow(t *testing.T, chromium context.Context, e *env, who string) *window {
	t.Helper()
	ctx, cancel := chromedp.NewContext(chromium, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// Open the tab with no deadline: the first run on a context binds the tab's life to the context it is given.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening %s's browser: %v", who, err)
	}
	return &window{t: t, who: who, ctx: ctx, base: e.server.URL}
}

// run runs actions that stay on the page.
func (w *window) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(w.ctx, browserStepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		w.fail("%s: %v", what, err)
	}
}

// value runs an action that reads something from the page.
func (w *window) value(what string, action chromedp.Action[string]) string {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(w.ctx, browserStepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		w.fail("%s: %v", what, err)
	}
	return v
}

// follow runs actions that lead to another page, a click on a link or a button, and waits until that page
// has loaded, after any redirects; the page must have come with 200 OK.
func (w *window) follow(what string, actions ...chromedp.Action[chromedp.Void]) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(w.ctx, browserStepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, actions...)
	if err != nil {
		w.fail("%s: %v", what, err)
	}
	if resp == nil || resp.Status != http.StatusOK {
		status := int64(0)
		if resp != nil {
			status = resp.Status
		}
		w.fail("%s: the page came with status %d", what, status)
	}
}

// open goes to a path of the server, as if typed into the address bar.
func (w *window) open(path string) {
	w.t.Helper()
	w.follow("open "+path, chromedp.Navigate(w.base+path))
}

// logInWithGitHub logs in as the guide's step 1 says: the login button, GitHub's authorise page with the login
// typed in, the green Authorize button, and back on the server logged in, the avatar at the top right.
func (w *window) logInWithGitHub(fake *githubfake.Server, u githubfake.User) {
	w.t.Helper()
	w.open("/login")
	w.follow(`click "Log in with GitHub"`, click("button", "Log in with GitHub"))
	if here := w.location(); !strings.HasPrefix(here.String(), fake.URL+"/login/oauth/authorize?") {
		w.fail("the login went to %s, not to GitHub's authorise page", here)
	}
	w.fill("Username or email address", u.Login)
	w.follow("authorise MediciaSAFELY on GitHub", click("button", "Authorize MediciaSAFELY"))
	w.expectPath("/")
	w.expectFlash("Welcome, " + u.Name + ".")
	if got := w.value("the login at the top right", chromedp.Text(chromedp.CSS("header .user-menu .user-login"))); got != u.Login {
		w.fail("the top right shows %q, want %q", got, u.Login)
	}
	avatar := w.value("the avatar at the top right", func(ctx context.Context, t *chromedp.Target) (string, error) {
		res, err := chromedp.AttributeValue(chromedp.CSS("header .user-menu img.avatar"), "src")(ctx, t)
		return res.Value, err
	})
	if avatar != u.AvatarURL {
		w.fail("the avatar at the top right is %q", avatar)
	}
}

// fill types text into the text field with the label.
func (w *window) fill(label, text string) {
	w.t.Helper()
	w.run(fmt.Sprintf("type %q into %q", text, label),
		chromedp.SendKeys(describeRole("textbox", label), text, byRole("textbox", label)))
}

// tick ticks the tick box with the label, which must not be ticked yet.
func (w *window) tick(label string) {
	w.t.Helper()
	if w.checked(label) {
		w.fail("the box %q is ticked already", label)
	}
	w.run(fmt.Sprintf("tick %q", label), click("checkbox", label))
	if !w.checked(label) {
		w.fail("clicking %q did not tick it", label)
	}
}

// checked reports whether the tick box with the label is ticked.
func (w *window) checked(label string) bool {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(w.ctx, browserStepTimeout)
	defer cancel()
	on, err := chromedp.Run(ctx, chromedp.JavascriptAttribute[bool](describeRole("checkbox", label), "checked", byRole("checkbox", label)))
	if err != nil {
		w.fail("read the box %q: %v", label, err)
	}
	return on
}

// choose picks the option with the text in the drop-down with the label, as typing its first letters into
// the focused drop-down does.
func (w *window) choose(label, option string) {
	w.t.Helper()
	sel := describeRole("combobox", label)
	w.run(fmt.Sprintf("choose %q in %q", option, label), chromedp.SendKeys(sel, option, byRole("combobox", label)))
	got := w.value("the chosen option", func(ctx context.Context, t *chromedp.Target) (string, error) {
		return chromedp.Evaluate[string](`(() => { const s = document.activeElement; return s && s.tagName === "SELECT" ? s.selectedOptions[0].text : ""; })()`)(ctx, t)
	})
	if got != option {
		w.fail("%q shows %q, want %q", label, got, option)
	}
}

// has reports whether the page has, now, an element with the role and accessible name.
func (w *window) has(role, name string) bool {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(w.ctx, browserStepTimeout)
	defer cancel()
	n, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (int, error) {
		doc, err := chromedp.Evaluate[*runtime.RemoteObject]("document")(ctx, t)
		if err != nil {
			return 0, err
		}
		found, err := cdp.Call(ctx, t, accessibility.QueryAXTree, accessibility.QueryAXTreeParams{
			ObjectID: doc.ObjectID, AccessibleName: name, Role: role,
		})
		return len(exposed(found.Nodes)), err
	})
	if err != nil {
		w.fail("look for %s: %v", describeRole(role, name), err)
	}
	return n > 0
}

// mainText is the text of the page's main part, as shown.
func (w *window) mainText() string {
	w.t.Helper()
	return w.value("read the page", chromedp.Text(chromedp.CSS("main")))
}

func (w *window) pageHTML() string {
	w.t.Helper()
	return w.value("read the page's HTML", chromedp.OuterHTML(chromedp.CSS("html")))
}

// sees fails unless the page's main part shows every text.
func (w *window) sees(texts ...string) {
	w.t.Helper()
	text := w.mainText()
	for _, want := range texts {
		if !strings.Contains(text, want) {
			w.fail("the page does not show %q", want)
		}
	}
}

// expectFlash fails unless the page shows the message among its flashes, announced as a status.
func (w *window) expectFlash(message string) {
	w.t.Helper()
	flashes := w.value("read the messages", chromedp.Evaluate[string](
		`[...document.querySelectorAll('main .flashes [role="status"], main .flashes [role="alert"]')].map(f => f.innerText.trim()).join("\n")`))
	if !slices.Contains(strings.Split(flashes, "\n"), message) {
		w.fail("no message %q; the messages are %q", message, flashes)
	}
}

// expectRow fails unless the members' table has a row for the person that shows each role.
func (w *window) expectRow(person string, roles ...string) {
	w.t.Helper()
	row := w.value("read "+person+"'s row", chromedp.Text(chromedp.Search(
		`//main//table//tr[th[normalize-space()=`+strconv.Quote(person)+` or starts-with(normalize-space(), `+strconv.Quote(person+" ")+`)]]`)))
	for _, role := range roles {
		if !strings.Contains(row, role) {
			w.fail("%s's row shows %q, not the role %s", person, row, role)
		}
	}
}

func (w *window) location() *url.URL {
	w.t.Helper()
	here, err := url.Parse(w.value("read the address", chromedp.Location()))
	if err != nil {
		w.fail("the address: %v", err)
	}
	return here
}

func (w *window) expectPath(path string) {
	w.t.Helper()
	if here := w.location(); here.Path != path {
		w.fail("the browser is at %s, want %s", here.Path, path)
	}
}

// fail ends the test with the page as the person saw it: a full-page screenshot, saved under $ARTIFACTS_DIR
// or the test's temporary directory, and the main text of the page.
func (w *window) fail(format string, args ...any) {
	w.t.Helper()
	msg := fmt.Sprintf(format, args...)
	ctx, cancel := context.WithTimeout(w.ctx, 10*time.Second)
	defer cancel()
	here, _ := chromedp.Run(ctx, chromedp.Location())
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err != nil {
		w.t.Logf("no screenshot: %v", err)
	} else {
		dir := os.Getenv("ARTIFACTS_DIR")
		if dir == "" {
			dir = w.t.TempDir()
		}
		file := filepath.Join(dir, fmt.Sprintf("%s-%s-%d.png", sanitize(w.t.Name()), w.who, time.Now().UnixNano()))
		if err := os.MkdirAll(dir, 0o755); err != nil || os.WriteFile(file, png, 0o644) != nil {
			w.t.Logf("could not save the screenshot to %s", file)
		} else {
			w.t.Logf("screenshot of %s's browser at %s: %s", w.who, here, file)
		}
	}
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("main") || document.body).innerText`))
	if err != nil {
		text = "(could not read the page: " + err.Error() + ")"
	}
	if len(text) > 4000 {
		text = text[:4000] + "…"
	}
	w.t.Fatalf("%s's browser at %s: %s\n--- main text of the page ---\n%s", w.who, here, msg, text)
}

func sanitize(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r == os.PathSeparator {
			return '_'
		}
		return r
	}, name)
}

// click clicks the element with the role and accessible name.
func click(role, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(describeRole(role, name), byRole(role, name))
}

func describeRole(role, name string) string { return role + " " + strconv.Quote(name) }

// byRole finds elements as assistive technology does, through the browser's accessibility tree: by their role
// ("button", "link", "textbox", "checkbox", "combobox") and accessible name (a button's or link's text, a
// field's label). An element that is hidden from that tree is not found.
func byRole(role, name string) chromedp.QueryOption {
	return chromedp.ByFunc(func(ctx context.Context, t *chromedp.Target, n *chromedp.Node) ([]cdp.NodeID, error) {
		found, err := cdp.Call(ctx, t, accessibility.QueryAXTree, accessibility.QueryAXTreeParams{
			NodeID: n.NodeID, AccessibleName: name, Role: role,
		})
		if err != nil {
			return nil, err
		}
		backend := exposed(found.Nodes)
		if len(backend) == 0 {
			return []cdp.NodeID{}, nil
		}
		pushed, err := cdp.Call(ctx, t, dom.PushNodesByBackendIDsToFrontend, dom.PushNodesByBackendIDsToFrontendParams{BackendNodeIDs: backend})
		if err != nil {
			return nil, err
		}
		return slices.DeleteFunc(pushed.NodeIDs, func(id cdp.NodeID) bool { return id == 0 }), nil
	})
}

// exposed returns the DOM nodes of the accessibility nodes that assistive technology is shown.
func exposed(nodes []*accessibility.Node) []cdp.BackendNodeID {
	var backend []cdp.BackendNodeID
	for _, ax := range nodes {
		if !ax.Ignored && ax.BackendDOMNodeID != 0 {
			backend = append(backend, ax.BackendDOMNodeID)
		}
	}
	return backend
}

// The guide's steps 7 to 9 in a real browser: a developer creates a workspace from the home page with a
// one-time token, saves a token on the settings page, chooses two actions on Run Jobs (their Run toggles
// turn green), submits, and finds the request pending in the workspace's logs.
func TestADeveloperCreatesAWorkspaceAndRunsTwoActions(t *testing.T) {
	t.Parallel()
	chromium := startChromium(t)
	e := newEnv(t)
	w := setUpWorkspaces(e)

	devon := openWindow(t, chromium, e, "devon")
	devon.open("/login")
	devon.choose("Demo user", "devon (Devon Tester)")
	devon.follow("log in", click("button", "Log in as this user"))

	// 7. Add a New Workspace leads straight to the form of Devon's one project.
	devon.follow(`click "Add a New Workspace"`, click("link", "Add a New Workspace"))
	devon.expectPath("/mediciaaiorg2/mystudy/new-workspace/")
	devon.fill("Workspace name", "project2workspace")
	devon.fill("GitHub repository", w.repoURL)
	devon.fill("One-time GitHub token (optional)", w.token)
	devon.follow("create the workspace", click("button", "Create"))
	devon.expectPath("/mediciaaiorg2/mystudy/project2workspace")
	devon.expectFlash("Workspace created")
	devon.sees(w.repoURL, "main", "Devon Tester")

	// 8. The token, saved once on the settings page.
	devon.open("/settings")
	devon.fill("GitHub personal access token", w.token)
	devon.follow("save the token", click("button", "Save token"))
	devon.expectFlash("GitHub token saved")
	devon.sees("A token is saved (fingerprint")
	if strings.Contains(devon.pageHTML(), w.token) {
		devon.fail("the settings page shows the token")
	}

	// 9. Run Jobs: two actions, on the one backend, chosen already.
	devon.open("/mediciaaiorg2/mystudy/project2workspace")
	devon.follow(`click "Run Jobs"`, click("link", "Run Jobs"))
	devon.expectPath("/mediciaaiorg2/mystudy/project2workspace/run-jobs/")
	devon.sees("generate_dataset", "describe_cohort", "run_all")
	devon.tick("Run generate_dataset")
	devon.tick("Run describe_cohort")
	green := devon.value("the colour of a selected Run toggle", chromedp.Evaluate[string](
		`getComputedStyle(document.querySelector('input[value="describe_cohort"]').closest("label")).backgroundColor`))
	idle := devon.value("the colour of a Run toggle not selected", chromedp.Evaluate[string](
		`getComputedStyle(document.querySelector('input[value="report"]').closest("label")).backgroundColor`))
	if green != "rgb(30, 123, 52)" || idle == green {
		devon.fail("a selected Run toggle is %s (one not selected %s), not green", green, idle)
	}
	devon.follow("submit", click("button", "Submit"))
	devon.expectPath("/mediciaaiorg2/mystudy/project2workspace/logs")
	devon.expectFlash("Requested actions have been scheduled to run.")
	devon.sees("generate_dataset, describe_cohort", "RC Demo 2", "pending")
}
