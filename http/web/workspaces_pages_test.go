package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestCreatingAWorkspaceSaysWhatIsWrongBesideEachField(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAllLogs)
	w := setUpWorkspaces(e)
	b := w.as(w.developer)
	form := w.studyURL + "/new-workspace/"

	b.get(w.studyURL).expect(http.StatusOK, "This project has no workspaces yet.",
		`<a class="button button-primary" href="/mediciaaiorg2/mystudy/new-workspace/">Create a new workspace</a>`)
	b.get(form).expect(http.StatusOK, "<h1>Create a new workspace</h1>", `<label for="name">Workspace name`,
		`<label for="repo">GitHub repository`, `<label for="branch">Branch`, `<label for="token">One-time GitHub token (optional)`)
	good := url.Values{"name": {"project2workspace"}, "repo": {w.repoURL}, "branch": {"main"}}
	post := func(change func(url.Values)) *page {
		f := with(good)
		change(f)
		return b.post(form, f).at(form)
	}

	post(func(f url.Values) {}).expect(http.StatusUnprocessableEntity,
		`id="token-error"`, "needs a GitHub personal access token to read the repository")
	bad := "ghp_notAToken0000000000000000000000000"
	post(func(f url.Values) { f.Set("token", bad) }).expect(http.StatusUnprocessableEntity,
		"GitHub refused the token").lacks(bad)
	post(func(f url.Values) { f.Set("repo", ""); f.Set("token", w.token) }).expect(http.StatusUnprocessableEntity,
		`id="repo-error"`, "Please enter the GitHub repository&#39;s address.").lacks(w.token)
	post(func(f url.Values) { f.Set("branch", ""); f.Set("token", w.token) }).expect(http.StatusUnprocessableEntity,
		`id="branch-error"`, "Please enter a branch.")
	post(func(f url.Values) { f.Set("branch", "no-such-branch"); f.Set("token", w.token) }).expect(http.StatusUnprocessableEntity,
		"The repository has no branch of this name.")
	e.gh.RateLimitUntil(time.Now().Add(30 * time.Minute))
	post(func(f url.Values) { f.Set("token", w.token) }).expect(http.StatusUnprocessableEntity, "GitHub asks us to slow down")
	e.gh.RateLimitUntil(time.Time{})
	e.gh.FailWith(http.StatusServiceUnavailable)
	post(func(f url.Values) { f.Set("token", w.token) }).expect(http.StatusUnprocessableEntity, "please try again in a few minutes.")
	e.gh.FailWith(0)

	p := b.post(form, with(good, "token", w.token)).at("/mediciaaiorg2/mystudy/project2workspace").
		expect(http.StatusOK, "Workspace created", "<h1>project2workspace</h1>", w.repoURL, "Devon Tester")
	noSecret(t, "the workspace page", p.body, w.token)
	b.get(w.studyURL).expect(http.StatusOK, `<a href="/mediciaaiorg2/mystudy/project2workspace">project2workspace</a>`,
		`<h2 id="repositories-heading">Repos</h2>`, w.repoURL+`</a> <span class="muted">(project2workspace)</span>`)
	noSecret(t, "the server log", e.logs.String(), w.token)
	noSecret(t, "the server log", e.logs.String(), bad)

	// A collaborator may not create workspaces: no button, and the form refuses.
	c := w.as(w.collaborator)
	c.get(w.studyURL).expect(http.StatusOK, "project2workspace").lacks("Create a new workspace")
	c.get(form).expect(http.StatusForbidden, "Only a Project Developer of this project can create workspaces.")
}

func TestArchivingAWorkspaceAsksFirstAndStopsRunJobsUntilUnarchived(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := setUpWorkspaces(e)
	w.saveToken()
	ws := w.workspace("archivable")
	b := w.as(w.developer)

	b.get(ws).expect(http.StatusOK, `href="`+ws+`/archive">Archive workspace</a>`, `href="`+ws+`/run-jobs/">Run Jobs</a>`)
	b.get(ws+"/archive").expect(http.StatusOK, "Archive the workspace \u201carchivable\u201d?", "Nobody can run jobs in an archived workspace.")
	b.post(ws+"/archive", nil).at(ws).expect(http.StatusOK, "Workspace archived", "This workspace is archived",
		`href="`+ws+`/unarchive">Unarchive workspace</a>`).lacks(`/run-jobs/">Run Jobs</a>`)
	b.get(ws+"/run-jobs/").expect(http.StatusOK, "This workspace is archived, so it cannot run jobs.").lacks("Submit")
	b.post(ws+"/run-jobs/", url.Values{"form": {"submit"}, "action": {"report"}, "backend": {w.backend}, "sha": {"abc"}}).
		expect(http.StatusForbidden, "This workspace is archived")
	b.get(w.studyURL).expect(http.StatusOK, `<span class="badge badge-warning">Archived</span>`)

	b.get(ws+"/unarchive").expect(http.StatusOK, "Unarchive the workspace")
	b.post(ws+"/unarchive", nil).at(ws).expect(http.StatusOK, "Workspace unarchived").lacks("This workspace is archived")
	b.get(ws+"/run-jobs/").expect(http.StatusOK, "generate_dataset", "Submit")

	// A collaborator sees no button and is refused.
	c := w.as(w.collaborator)
	c.get(ws).expect(http.StatusOK).lacks("Archive workspace", "Run Jobs</a>", "Disable notifications")
	c.get(ws + "/archive").expect(http.StatusForbidden)
	c.post(ws+"/archive", nil).expect(http.StatusForbidden, "Only a Project Developer of this project can archive workspaces.")
}

func TestTheNotificationsButtonFollowsTheWorkspacesSetting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := setUpWorkspaces(e)
	w.saveToken()
	ws := w.workspace("notified")
	b := w.as(w.developer)

	// "Email notifications are not enabled by default" (the user guide, step 7).
	b.get(ws).expect(http.StatusOK, "Enable notifications").lacks("Disable notifications")
	b.get(ws+"/run-jobs/").expect(http.StatusOK, `id="notify" name="notify" value="on">`)
	b.post(ws, url.Values{"form": {"notifications"}, "notify": {"on"}}).at(ws).
		expect(http.StatusOK, "Notifications enabled", "Disable notifications").lacks("Enable notifications")
	b.get(ws+"/run-jobs/").expect(http.StatusOK, `id="notify" name="notify" value="on" checked`)
	b.post(ws, url.Values{"form": {"notifications"}, "notify": {"off"}}).at(ws).
		expect(http.StatusOK, "Notifications disabled", "Enable notifications")
}

func TestSavingAndRemovingTheGitHubTokenNeverShowsIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAllLogs)
	w := setUpWorkspaces(e)
	b := w.as(w.developer)

	b.get("/settings").expect(http.StatusOK, `<h2 id="github-token-heading">GitHub token</h2>`, "No token is saved.",
		`<label for="token">GitHub personal access token`)
	bad := "ghp_revokedToken000000000000000000000"
	p := b.post("/settings", url.Values{"form": {"github-token"}, "token": {bad}}).at("/settings").
		expect(http.StatusUnprocessableEntity, `id="token-error"`, "GitHub refused the token", "No token is saved.")
	noSecret(t, "the settings page shown again", p.body, bad)
	b.post("/settings", url.Values{"form": {"github-token"}, "token": {""}}).
		expect(http.StatusUnprocessableEntity, "Please paste a GitHub personal access token.")

	p = b.post("/settings", url.Values{"form": {"github-token"}, "token": {w.token}}).at("/settings").
		expect(http.StatusOK, "GitHub token saved", "A token is saved (fingerprint <code>")
	noSecret(t, "the settings page", p.body, w.token)
	// The saved token reads the repository: the workspace form needs no token now.
	b.post(w.studyURL+"/new-workspace/", url.Values{"name": {"saved-token"}, "repo": {w.repoURL}, "branch": {"main"}}).
		expect(http.StatusOK, "Workspace created")

	b.get("/settings/github-token/remove").expect(http.StatusOK, "Remove your saved GitHub token?")
	b.post("/settings/github-token/remove", nil).at("/settings").expect(http.StatusOK, "GitHub token removed", "No token is saved.")
	b.get(w.studyURL+"/saved-token/run-jobs/").expect(http.StatusOK, "A GitHub token is needed")

	// The notifications form is unchanged beside it.
	b.post("/settings", url.Values{"email": {"devon@example.net"}}).expect(http.StatusOK, "Settings saved")
	for _, secret := range []string{w.token, bad} {
		noSecret(t, "the server log", e.logs.String(), secret)
	}
	if !strings.Contains(e.logs.String(), "SaveGitHubToken") {
		t.Errorf("the log has no line of the command, so grepping it proves nothing:\n%s", e.logs.String())
	}
}
