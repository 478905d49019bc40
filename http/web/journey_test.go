package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/commands/notifications"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/releaseapi"
	"github.com/mediciasafely/jobserver/integrations/mail"
	"github.com/mediciasafely/jobserver/internal/githubfake"
	"github.com/mediciasafely/jobserver/internal/smtpfake"
	"github.com/mediciasafely/jobserver/projections"
)

// tourDirVariable names the directory `make screenshots` has the journey write a PNG of each step into
// (docs/tour); unset, the journey takes none.
const tourDirVariable = "JOBSERVER_TOUR_DIR"

// The whole user guide, in its order, in one browser per person, against the whole service in production
// mode: GitHub (the local one) for logins and repositories, the runner API, the release API, and e-mail
// over SMTP. Rosalind logs in with GitHub and applies for MyStudy; Ada, the admin, approves it fully into
// MediciaAIOrg2, creates the backend rcdemo2 and makes Rosalind a member of the backend, the organisation
// and the project (Project Coordinator and Project Developer); Rosalind, as coordinator, gives Hal a second
// role in the project's settings, creates a workspace, enables its notifications, saves her GitHub token
// and runs two actions; the backend's runner picks them up and reports them done; the e-mails arrive;
// Olive's release tool releases two files; Rosalind views the CSV, downloads the release and finds it in
// the event log; the project page lists its researchers with their roles.
//
// With JOBSERVER_TOUR_DIR set (make screenshots), it saves a screenshot of each step there.
func TestTheUserGuideFromGitHubLoginToReleasedOutputs(t *testing.T) {
	t.Parallel()
	started := time.Now()
	chromium := startChromium(t)
	tour := newTour(t)

	gh, avatars := githubfake.New(t), serveAvatars(t)
	people := map[string]githubfake.User{}
	for i, u := range [][2]string{{"rosalind", "Rosalind Franklin"}, {"ada", "Ada Lovelace"}, {"hopper", "Hal Hopper"}, {"olive", "Olive Checker"}} {
		people[u[0]] = githubfake.User{ID: 8001 + int64(i), Login: u[0], Name: u[1], AvatarURL: avatars + "/u/" + u[0],
			Emails: []githubfake.Email{{Address: u[0] + "@example.org", Primary: true, Verified: true}}}
		gh.AddUser(people[u[0]])
	}
	gh.AddDemoRepository("MediciaAI", "TestTeam")
	repoURL := gh.URL + "/MediciaAI/TestTeam"
	e := newEnv(t, inProduction, withFakeGitHub(t, gh), func(o *envOptions) { o.gitHub = gh })
	mailbox := sendMailTo(t, e)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the server's warnings and errors:\n%s", e.logs.String())
		}
	})
	ctx := context.Background()

	// 1. Rosalind logs in with GitHub: the login button, GitHub's Authorize, and back with her avatar.
	rosalind := openWindow(t, chromium, e, "rosalind")
	tour.follow(rosalind)
	rosalind.open("/login")
	tour.shot(rosalind, "login")
	rosalind.logInWithGitHub(gh, people["rosalind"])
	tour.shot(rosalind, "home-after-login")

	// 2. She applies for a project from the account menu's Applications, and submits.
	rosalind.openAccountMenu()
	rosalind.follow(`click "Applications"`, click("link", "Applications"))
	rosalind.follow(`click "Start a new project"`, click("link", "Start a new project"))
	rosalind.expectPath("/apply")
	rosalind.tick(termsLabel)
	rosalind.follow(`click "Start now"`, click("button", "Start now"))
	tour.shot(rosalind, "application-first-page")
	rosalind.answerEveryPage("MyStudy")
	tour.shot(rosalind, "application-check-and-submit")
	rosalind.follow("submit", click("button", "Submit application"))
	rosalind.expectFlash("Application submitted")
	rosalind.sees("MyStudy", "Submitted")

	// 3 to 5. Ada, made an admin by the server's bootstrap, creates the organisation, approves the
	// application fully into it, creates the backend and adds the people to each.
	ada := openWindow(t, chromium, e, "ada")
	tour.follow(ada)
	ada.logInWithGitHub(gh, people["ada"])
	for _, login := range []string{"hopper", "olive"} {
		openWindow(t, chromium, e, login).logInWithGitHub(gh, people[login])
	}
	adaUser, err := e.queries.UserByLogin(ctx, "ada")
	if err != nil {
		t.Fatal(err)
	}
	e.must(e.cmds.GrantGlobalRole.Handle(ctx, identity.GrantGlobalRole{Actor: commands.CLIActor, UserID: adaUser.ID, Role: domain.CoreDeveloper}))
	ada.follow("reload the home page", chromedp.Reload())

	ada.createOrganisation("MediciaAIOrg2")
	ada.addMember("rosalind")

	ada.follow(`click "Review applications"`, click("link", "Review applications"))
	ada.follow("open the application", click("link", "MyStudy"))
	ada.sees("Rosalind Franklin", "Submitted")
	tour.shot(ada, "review-application")
	ada.approveFully("MyStudy", "MediciaAIOrg2 (mediciaaiorg2)")
	ada.expectFlash("Application approved; project MyStudy created")

	ada.follow(`click "Staff area"`, click("link", "Staff area"))
	ada.follow("open the backends", click("link", "Backends"))
	ada.fill("Name", "RC Demo 2")
	ada.fill("Slug", "rcdemo2")
	ada.follow("create the backend", click("button", "Create backend"))
	ada.expectFlash("Backend rcdemo2 created")
	runnerToken := ada.value("the runner token", chromedp.Value(`textbox "Runner token"`, byRole("textbox", "Runner token")))
	tour.shot(ada, "backend-runner-token")
	ada.addMember("rosalind")
	ada.addMember("olive")

	ada.follow(`click "Staff area"`, click("link", "Staff area"))
	ada.follow("open the projects", click("link", "Projects"))
	ada.follow("open MyStudy", click("link", "MyStudy"))
	ada.fill("GitHub login", "rosalind")
	ada.tick("Project Coordinator")
	ada.tick("Project Developer")
	ada.follow("add rosalind", click("button", "Add member"))
	ada.expectFlash("Rosalind Franklin added to project MyStudy")
	ada.fill("GitHub login", "hopper")
	ada.tick("Project Developer")
	ada.follow("add hopper", click("button", "Add member"))
	ada.expectRow("Rosalind Franklin", "Project Coordinator", "Project Developer")
	tour.shot(ada, "staff-project-members")

	// Olive releases outputs: a global Output Checker.
	ada.follow(`click "Staff area"`, click("link", "Staff area"))
	ada.follow("open the users", click("link", "Users"))
	ada.follow("open olive", click("link", "olive"))
	ada.tick("Output Checker")
	ada.follow("save olive's roles", click("button", "Save roles"))
	ada.sees("Output Checker")

	// The application reads Approved Fully; the status page shows the backend she is a member of.
	rosalind.openAccountMenu()
	rosalind.follow(`click "Applications"`, click("link", "Applications"))
	rosalind.sees("MyStudy", "Approved Fully")
	rosalind.follow(`click "Status"`, click("link", "Status"))
	rosalind.sees("RC Demo 2", "rcdemo2")

	// 6. As Project Coordinator, from the organisation's page: MyStudy, Settings, Hal's roles.
	rosalind.follow("open the home page", click("link", "MediciaSAFELY"))
	rosalind.follow("open the organisation", click("link", "MediciaAIOrg2"))
	rosalind.follow("open MyStudy", click("link", "MyStudy"))
	rosalind.expectPath("/mediciaaiorg2/mystudy")
	rosalind.follow("open the settings", click("link", "Settings"))
	tour.shot(rosalind, "project-settings")
	rosalind.follow("edit Hal's roles", click("link", "Edit the roles of Hal Hopper"))
	rosalind.tick("Project Collaborator")
	rosalind.follow("save the roles", click("button", "Save roles"))
	rosalind.expectFlash("Roles of Hal Hopper saved")
	rosalind.expectRow("Hal Hopper", "Project Collaborator", "Project Developer")

	// 7. A workspace, from the home page's Add a New Workspace; its notifications enabled. MediciaSAFELY
	// reads the repository as it is created, with her GitHub token, which she gives once here (step 8
	// saves it).
	token := "ghp_rosalind" + strings.Repeat("x", 28)
	gh.AddToken(people["rosalind"].ID, token, "repo")
	rosalind.follow("open the home page", click("link", "MediciaSAFELY"))
	rosalind.follow(`click "Add a New Workspace"`, click("link", "Add a New Workspace"))
	rosalind.fill("Workspace name", "project2workspace")
	rosalind.fill("GitHub repository", repoURL)
	rosalind.fill("One-time GitHub token (optional)", token)
	tour.shot(rosalind, "new-workspace")
	rosalind.follow("create the workspace", click("button", "Create"))
	workspaceURL := "/mediciaaiorg2/mystudy/project2workspace"
	rosalind.expectPath(workspaceURL)
	rosalind.expectFlash("Workspace created")
	rosalind.follow(`click "Enable notifications"`, click("button", "Enable notifications"))
	rosalind.expectFlash("Notifications enabled: you will get an e-mail when each job of this workspace finishes.")
	rosalind.sees("On: an e-mail when each job finishes")
	if !rosalind.has("button", "Disable notifications") {
		rosalind.fail("the button does not read Disable notifications once they are enabled")
	}
	tour.shot(rosalind, "workspace")

	// 8. Her GitHub token, saved once on the settings page.
	rosalind.openAccountMenu()
	rosalind.follow(`click "Settings"`, click("link", "Settings"))
	rosalind.fill("GitHub personal access token", token)
	rosalind.follow("save the token", click("button", "Save token"))
	rosalind.expectFlash("GitHub token saved")
	tour.shot(rosalind, "settings-token-saved")

	// 9. Run Jobs: two actions, notified by e-mail (the workspace's setting), submitted.
	rosalind.open(workspaceURL)
	rosalind.follow(`click "Run Jobs"`, click("link", "Run Jobs"))
	rosalind.tick("Run generate_dataset")
	rosalind.tick("Run describe_cohort")
	if !rosalind.checked("Notify me by e-mail when each job finishes") {
		rosalind.fail("the notifications the workspace enabled are not chosen")
	}
	tour.shot(rosalind, "run-jobs")
	rosalind.follow("submit", click("button", "Submit"))
	rosalind.expectFlash("Requested actions have been scheduled to run.")
	rosalind.sees("generate_dataset, describe_cohort", "pending")

	// The backend's runner, with the token Ada was shown, picks the request up and reports its jobs until
	// they succeed; Rosalind's open logs page follows.
	runner := e.runnerAPI()
	requestID := runner.runEveryRequest(runnerToken)
	rosalind.eventually("the logs show both jobs succeeded", `(() => { const jobs = [...document.querySelectorAll("#requests-live ul.jobs li")].map(li => li.innerText);
		return jobs.length === 2 && ["generate_dataset", "describe_cohort"].every(a => jobs.some(j => j.startsWith(a + ": succeeded"))); })()`)
	tour.shot(rosalind, "workspace-logs")

	// The e-mails arrive over SMTP: the application's (submitted, approved) and one per job.
	mails := mailbox.WaitFor(t, 4, 30*time.Second)
	subjects := map[string]bool{}
	for _, m := range mails {
		if len(m.To) != 1 || m.To[0] != "rosalind@example.org" {
			t.Errorf("a mail to %v: %s", m.To, m.Header.Get("Subject"))
		}
		subjects[m.Header.Get("Subject")] = true
	}
	for _, want := range []string{"Acknowledgement of your project application: MyStudy", "Your project application MyStudy is Approved Fully",
		"Job generate_dataset succeeded in workspace project2workspace", "Job describe_cohort succeeded in workspace project2workspace"} {
		if !subjects[want] {
			t.Errorf("no mail %q among %v", want, slices.Sorted(maps.Keys(subjects)))
		}
	}

	// 10. Olive's release tool releases two outputs of the workspace through the release API.
	table, image := csvOutput("output/table.csv", 12), pngOutput("output/genes_histogram.png")
	releaseID := releaseThroughTheAPI(t, e.server.URL, runnerToken, "olive", "project2workspace", table, image)

	rosalind.open(workspaceURL)
	rosalind.follow(`click "Released Outputs"`, click("link", "Released Outputs"))
	// The release reaches the pages a moment after the API answered, once the projectors applied it: she
	// reloads until it is listed.
	for deadline := time.Now().Add(10 * time.Second); !rosalind.has("link", "View release "+releaseID); {
		if time.Now().After(deadline) {
			rosalind.fail("release %s is not listed", releaseID)
		}
		time.Sleep(100 * time.Millisecond)
		rosalind.follow("reload the released outputs", chromedp.Reload())
	}
	tour.shot(rosalind, "released-outputs")
	rosalind.follow("view the release", click("link", "View release "+releaseID))
	rosalind.run("click the CSV", click("link", "output/table.csv"))
	rosalind.eventually("the CSV shown as a table", `(() => { const cells = [...document.querySelectorAll(".csv-preview tbody tr:first-child td")];
		return cells.map(c => c.innerText).join(",") === "0,20,BRCA1"; })()`)
	tour.shot(rosalind, "release-csv")
	got := zipSHA256s(t, rosalind.download("download all", click("link", "Download all")))
	if want := map[string]string{table.name: sha256Hex(table.content), image.name: sha256Hex(image.content)}; !maps.Equal(got, want) {
		t.Errorf("the downloaded zip holds %v, want the released bytes %v", got, want)
	}

	// The event log, from the top navigation, filtered by status, then by action.
	// Each filter is tried first with a value the request does not have, so that its showing the request
	// afterwards is the filter's doing.
	rosalind.follow(`click "Event Log"`, click("link", "Event Log"))
	rosalind.choose("Job status", "failed")
	rosalind.follow("filter by a status it does not have", click("button", "Filter"))
	rosalind.sees("No job requests match these filters")
	rosalind.lacks(requestID)
	rosalind.choose("Job status", "succeeded")
	rosalind.follow("filter by status", click("button", "Filter"))
	rosalind.sees(requestID, "project2workspace", "generate_dataset, describe_cohort")
	rosalind.follow("clear the filters", click("link", "Clear filters"))
	rosalind.fill("Action or job ID", "analyse_outcomes")
	rosalind.follow("filter by an action it does not have", click("button", "Filter"))
	rosalind.lacks(requestID)
	rosalind.follow("clear the filters again", click("link", "Clear filters"))
	rosalind.fill("Action or job ID", "describe_cohort")
	rosalind.follow("filter by action", click("button", "Filter"))
	rosalind.sees(requestID)
	if q := rosalind.location().Query(); q.Get("q") != "describe_cohort" {
		rosalind.fail("the filtered event log is at %s", rosalind.location())
	}
	tour.shot(rosalind, "event-log")

	// User roles: the project's page lists its researchers with their roles.
	rosalind.open("/mediciaaiorg2/mystudy")
	rosalind.sees("Researchers", "Repos", repoURL)
	researchers := rosalind.value("the Researchers section", chromedp.Text(chromedp.CSS(`section[aria-labelledby="researchers-heading"]`)))
	for _, want := range []string{"Rosalind Franklin", "Project Coordinator", "Hal Hopper", "Project Collaborator", "Project Developer"} {
		if !strings.Contains(researchers, want) {
			rosalind.fail("the Researchers section does not show %q: %q", want, researchers)
		}
	}
	tour.shot(rosalind, "project")
	t.Logf("the journey took %s", time.Since(started).Round(time.Millisecond))
}

// createOrganisation creates an organisation from the staff area, as an admin does.
func (w *window) createOrganisation(name string) {
	w.t.Helper()
	w.follow(`click "Staff area"`, click("link", "Staff area"))
	w.follow("open the organisations", click("link", "Organisations"))
	w.fill("Name", name)
	w.follow("create the organisation", click("button", "Create organisation"))
	w.expectFlash("Organisation " + name + " created")
}

// addMember adds a person to the backend or organisation whose staff page is open.
func (w *window) addMember(login string) {
	w.t.Helper()
	w.fill("GitHub login", login)
	w.follow("add "+login, click("button", "Add member"))
	w.sees(login)
}

// serveAvatars serves people's GitHub avatars on https, as GitHub does (the pages load images only over
// https): a square of a colour of each person's own, at /u/<login>. It returns the server's address.
func serveAvatars(t *testing.T) string {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sum := sha256.Sum256([]byte(strings.TrimPrefix(r.URL.Path, "/u/")))
		img := image.NewRGBA(image.Rect(0, 0, 64, 64))
		draw.Draw(img, img.Bounds(), &image.Uniform{color.RGBA{sum[0] / 2, sum[1] / 2, 96 + sum[2]/2, 255}}, image.Point{}, draw.Src)
		w.Header().Set("Content-Type", "image/png")
		_ = png.Encode(w, img)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// openAccountMenu opens the menu under the avatar at the top right.
func (w *window) openAccountMenu() {
	w.t.Helper()
	w.run("open the account menu", chromedp.Click(chromedp.CSS("header .user-menu summary")))
}

// sendMailTo runs the server's e-mail reactor, as serve does, sending over SMTP to a listener of the
// test's own, which it returns.
func sendMailTo(t *testing.T, e *env) *smtpfake.Server {
	t.Helper()
	listener := smtpfake.Start(t)
	mailer, err := mail.NewSMTP(mail.Config{URL: listener.URL(), From: mail.DefaultFrom(e.server.URL), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	notifier := notifications.New(commands.Kit{Log: commands.NewEventLog(e.store, domain.Events, time.Now), Logger: logger}, mailer, e.server.URL)
	reactors := projections.NewReactors(e.pool, e.store, domain.Events, logger,
		projections.ReactorOptions{InitialBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Standby: 100 * time.Millisecond},
		projections.DefineReactor(notifications.ReactorName, notifications.Handles(), func(ctx context.Context, ev projections.Event) error {
			return notifier.React(ctx, ev.Payload, ev.ID.String())
		}))
	ctx, cancel := context.WithCancel(context.Background())
	if err := reactors.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() { _ = reactors.Run(ctx); close(stopped) }()
	t.Cleanup(func() { cancel(); <-stopped })
	return listener
}

// runEveryRequest is one run of the classic job-runner's sync loop until its work is done: it lists its
// backend's active job requests (GET /api/v2/job-requests/), makes a job of each requested action, and
// posts the full state of all of them (POST /api/v2/jobs/) as they go from pending to running to
// succeeded. It returns the request's id; there must be exactly one.
func (r *runnerClient) runEveryRequest(token string) string {
	r.t.Helper()
	var list struct {
		Results []struct {
			Identifier       string   `json:"identifier"`
			RequestedActions []string `json:"requested_actions"`
			Workspace        struct {
				Name string `json:"name"`
			} `json:"workspace"`
		} `json:"results"`
	}
	if err := json.Unmarshal(r.call(http.MethodGet, "/api/v2/job-requests/", token, "", ""), &list); err != nil {
		r.t.Fatal(err)
	}
	if len(list.Results) != 1 {
		r.t.Fatalf("the runner was given %d job requests, want the one Rosalind submitted", len(list.Results))
	}
	request := list.Results[0]
	if want := []string{"generate_dataset", "describe_cohort"}; !slices.Equal(request.RequestedActions, want) || request.Workspace.Name != "project2workspace" {
		r.t.Fatalf("the runner was asked for %v in %q, want %v in project2workspace", request.RequestedActions, request.Workspace.Name, want)
	}
	created := time.Now().UTC()
	for _, status := range []string{domain.JobPending, domain.JobRunning, domain.JobSucceeded} {
		var jobs []map[string]any
		for i, action := range request.RequestedActions {
			job := map[string]any{"identifier": fmt.Sprintf("%s%02d", request.Identifier[:14], i), "job_request_id": request.Identifier,
				"action": action, "run_command": "ehrql:v1 " + action, "status": status, "status_code": status,
				"status_message": "Job " + status, "created_at": created.Format(time.RFC3339), "updated_at": time.Now().UTC().Format(time.RFC3339),
				"started_at": nil, "completed_at": nil, "trace_context": map[string]any{}, "metrics": map[string]any{}, "requires_db": false}
			if status != domain.JobPending {
				job["started_at"] = created.Format(time.RFC3339)
			}
			if status == domain.JobSucceeded {
				job["completed_at"], job["status_message"] = time.Now().UTC().Format(time.RFC3339), "Completed successfully"
			}
			jobs = append(jobs, job)
		}
		body, err := json.Marshal(jobs)
		if err != nil {
			r.t.Fatal(err)
		}
		r.call(http.MethodPost, "/api/v2/jobs/", token, "", string(body))
	}
	return request.Identifier
}

// releaseThroughTheAPI releases the outputs out of the workspace as a backend's release tool does on the
// user's behalf (OS-User): the file list, then each file's bytes. It returns the release's id.
func releaseThroughTheAPI(t *testing.T, server, token, user, workspace string, outputs ...output) string {
	t.Helper()
	send := func(path, contentType string, headers map[string]string, body []byte) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, server+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", token)
		req.Header.Set("OS-User", user)
		req.Header.Set("Content-Type", contentType)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		answer, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST %s: %d %s %v", path, resp.StatusCode, answer, err)
		}
		return resp, answer
	}
	type file struct {
		Name     string         `json:"name"`
		URL      string         `json:"url"`
		Size     int            `json:"size"`
		SHA256   string         `json:"sha256"`
		Date     string         `json:"date"`
		Metadata map[string]any `json:"metadata"`
	}
	list := struct {
		Files    []file         `json:"files"`
		Metadata map[string]any `json:"metadata"`
	}{Metadata: map[string]any{"tool": "airlock"}}
	for _, o := range outputs {
		list.Files = append(list.Files, file{Name: o.name, URL: o.name, Size: len(o.content), SHA256: sha256Hex(o.content),
			Date: time.Now().UTC().Format(time.RFC3339), Metadata: map[string]any{"tool": "airlock"}})
	}
	body, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	_, answer := send("/api/v2/releases/workspace/"+workspace, "application/json", nil, body)
	var created struct {
		ReleaseID string `json:"release_id"`
	}
	if err := json.Unmarshal(answer, &created); err != nil || created.ReleaseID == "" {
		t.Fatalf("the release API's answer %s: %v", answer, err)
	}
	for _, o := range outputs {
		resp, _ := send("/api/v2/releases/release/"+created.ReleaseID, "application/octet-stream",
			map[string]string{"Content-Disposition": `attachment; filename="` + o.name + `"`}, o.content)
		if !strings.HasPrefix(resp.Header.Get("Location"), server+releaseapi.FilePath("")) {
			t.Errorf("the upload of %s is at %q", o.name, resp.Header.Get("Location"))
		}
	}
	return created.ReleaseID
}

// tour saves a screenshot of each step of the journey into a directory when JOBSERVER_TOUR_DIR names one,
// each page at the size of a laptop's window, 1280×800, numbered in the journey's order.
type tour struct {
	t   *testing.T
	dir string
	n   int
}

func newTour(t *testing.T) *tour {
	dir := os.Getenv(tourDirVariable)
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &tour{t: t, dir: dir}
}

// follow sets the window's page to the tour's size, so every step is the same size whether or not
// screenshots are taken.
func (tr *tour) follow(w *window) {
	w.t.Helper()
	w.run("set the page's size", chromedp.EmulateViewport(1280, 800))
}

// shot saves the window's page as it is now, when the tour is being taken.
func (tr *tour) shot(w *window, name string) {
	w.t.Helper()
	if tr.dir == "" {
		return
	}
	tr.n++
	shot := w.value("take a screenshot", func(ctx context.Context, t *chromedp.Target) (string, error) {
		b, err := chromedp.CaptureScreenshot()(ctx, t)
		return string(b), err
	})
	if _, err := png.Decode(strings.NewReader(shot)); err != nil {
		w.fail("the screenshot is not a PNG: %v", err)
	}
	file := filepath.Join(tr.dir, fmt.Sprintf("%02d-%s.png", tr.n, name))
	if err := os.WriteFile(file, []byte(shot), 0o644); err != nil {
		tr.t.Fatal(err)
	}
}
