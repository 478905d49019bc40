package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/domain"
)

func TestRunJobsListsTheActionsAndSchedulesTheChosenOnes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := setUpWorkspaces(e)
	w.saveToken()
	ws := w.workspace("project2workspace")
	b := w.as(w.developer)

	p := b.get(ws+"/run-jobs/").expect(http.StatusOK, "<h1>Run jobs</h1>",
		`<label class="run-toggle"><input type="checkbox" name="action" value="generate_dataset"> Run<span class="visually-hidden"> generate_dataset</span></label>`,
		`<code>run_all</code>`, "describe_cohort", "report",
		// The one backend is chosen already.
		`name="backend" value="`+w.backend+`" checked`, "RC Demo 2 (rcdemo2)",
		"Force run dependencies", "Notify me by e-mail when each job finishes")
	form := runJobsForm(t, p)

	p = b.post(ws+"/run-jobs/", with(form, "form", "submit", "action", "describe_cohort", "action", "generate_measures",
		"backend", w.backend, "notify", "on")).at(ws+"/logs").
		expect(http.StatusOK, "Requested actions have been scheduled to run.", "describe_cohort, generate_measures",
			"RC Demo 2", "Devon Tester", `<span class="badge badge-pending">pending</span>`, form.Get("sha")[:7])
	b.get(ws+"/logs/").expect(http.StatusOK, "describe_cohort, generate_measures")
}

func TestRunJobsRefusesWhatCannotRunBesideItsField(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := setUpWorkspaces(e)
	w.saveToken()
	elsewhere := w.newBackend("tpp", "TPP") // Devon is not a member
	ws := w.workspace("checked")
	b := w.as(w.developer)
	form := with(runJobsForm(t, b.get(ws+"/run-jobs/")), "form", "submit")

	b.post(ws+"/run-jobs/", with(form, "backend", w.backend)).at(ws+"/run-jobs/").
		expect(http.StatusUnprocessableEntity, `id="actions-error"`, "Please select at least one of the actions listed above.",
			"generate_dataset")
	b.post(ws+"/run-jobs/", with(form, "backend", w.backend, "action", "no_such_action")).
		expect(http.StatusUnprocessableEntity, "There is no action \u201cno_such_action\u201d in this branch&#39;s project.yaml.")
	b.post(ws+"/run-jobs/", with(form, "backend", elsewhere, "action", "report")).
		expect(http.StatusUnprocessableEntity, `id="backend-error"`, "You are not a member of this backend")
	b.get(ws+"/logs").expect(http.StatusOK, "No jobs have been requested in this workspace yet.")

	// Who may not run jobs is refused the page.
	w.as(w.collaborator).get(ws+"/run-jobs/").expect(http.StatusForbidden, "Only a Project Developer of this project can run jobs.")
}

func TestShowWhatWillRunShowsThePlanBeforeSubmitting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := setUpWorkspaces(e)
	w.saveToken()
	ws := w.workspace("planned")
	b := w.as(w.developer)
	form := runJobsForm(t, b.get(ws+"/run-jobs/"))

	p := b.post(ws+"/run-jobs/", with(form, "form", "plan", "action", "describe_cohort", "backend", w.backend)).
		at(ws+"/run-jobs/").expect(http.StatusOK, "What will run",
		"No job has run in this workspace yet, so every action the selection needs will run.",
		"generate_dataset will run (it has not run in this workspace)", "describe_cohort will run (requested)",
		// The selection is kept for Submit.
		`value="describe_cohort" checked`)
	if p.url.Query().Get("plan") != "1" {
		t.Errorf("the plan is at %s", p.url)
	}
	b.post(ws+"/run-jobs/", with(form, "form", "plan")).expect(http.StatusOK, `id="actions-error"`, "Please select at least one of the actions listed.")
	b.get(ws+"/logs").expect(http.StatusOK, "No jobs have been requested")
}

func TestAOneTimeTokenRunsJobsOnceAndIsStoredNowhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withAllLogs)
	w := setUpWorkspaces(e)
	ws := w.workspace("one-time") // created with the token given once
	b := w.as(w.developer)

	b.get(ws+"/run-jobs/").expect(http.StatusOK, "A GitHub token is needed", `href="/settings"`, `href="`+ws+`#one-time-token"`).
		lacks("Submit")
	b.get(ws).expect(http.StatusOK, `<label for="one-time-token">One-time GitHub token`, `action="`+ws+`/run-jobs/"`)
	b.post(ws+"/run-jobs/", url.Values{"form": {"one-time-token"}}).expect(http.StatusUnprocessableEntity, "Please paste a GitHub personal access token.")

	// The Run Jobs page is the answer to the post itself: the token waits nowhere, not even in the session.
	p := b.post(ws+"/run-jobs/", url.Values{"form": {"one-time-token"}, "token": {w.token}}).at(ws+"/run-jobs/").
		expect(http.StatusOK, "generate_dataset", `name="one_time_token" value="`)
	noSecret(t, "the Run Jobs page", p.body, w.token)
	form := runJobsForm(t, p)
	if form.Get("one_time_token") == "" {
		t.Fatal("the Run Jobs form does not carry the one-time token")
	}
	// A reload has no token any more: it was for that one page.
	b.get(ws+"/run-jobs/").expect(http.StatusOK, "A GitHub token is needed")

	// The plan keeps it for the page it shows.
	p = b.post(ws+"/run-jobs/", with(form, "form", "plan", "action", "report", "backend", w.backend)).
		expect(http.StatusOK, "What will run", `name="one_time_token" value="`)
	form = runJobsForm(t, p)
	p = b.post(ws+"/run-jobs/", with(form, "form", "submit", "action", "report", "backend", w.backend)).at(ws+"/logs").
		expect(http.StatusOK, "Requested actions have been scheduled to run.", "report")
	noSecret(t, "the logs page", p.body, w.token)

	// Sealed for Devon and this workspace only, and not to be altered.
	w.addMember(w.project, w.admin, domain.ProjectDeveloper)
	other := w.as(w.admin)
	other.post(ws+"/run-jobs/", with(form, "form", "submit", "action", "report", "backend", w.backend)).
		expect(http.StatusUnprocessableEntity, "The one-time token has expired or cannot be read")
	b.post(ws+"/run-jobs/", url.Values{"form": {"submit"}, "action": {"report"}, "backend": {w.backend}, "sha": {form.Get("sha")},
		"one_time_token": {strings.Repeat("A", 80)}}).expect(http.StatusUnprocessableEntity, "The one-time token has expired or cannot be read")

	var sessions int
	if err := e.pool.QueryRow(t.Context(), `SELECT count(*) FROM sessions WHERE position('one-time'::bytea in data) > 0`).Scan(&sessions); err != nil || sessions != 0 {
		t.Errorf("%d sessions hold a one-time token (%v)", sessions, err)
	}
	rows, err := e.pool.Query(t.Context(), `SELECT key FROM secrets`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		_ = rows.Scan(&key)
		if strings.Contains(key, "github-token") {
			t.Errorf("a GitHub token was stored: %s", key)
		}
	}
	noSecret(t, "the server log", e.logs.String(), w.token)
}

func TestCancellingAJobRequestAsksFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := setUpWorkspaces(e)
	w.saveToken()
	ws := w.workspace("cancelled")
	b := w.as(w.developer)
	form := runJobsForm(t, b.get(ws+"/run-jobs/"))
	b.post(ws+"/run-jobs/", with(form, "form", "submit", "action", "generate_dataset", "action", "describe_cohort", "backend", w.backend)).
		expect(http.StatusOK, "Requested actions have been scheduled to run.")

	// A collaborator who did not request them sees no Cancel button and is refused.
	c := w.as(w.collaborator)
	c.get(ws+"/logs").expect(http.StatusOK, "generate_dataset, describe_cohort").lacks(`/cancel"`)
	logs, err := e.wsViews.LogsPage(t.Context(), "mediciaaiorg2", "mystudy", "cancelled", w.developer)
	if err != nil || len(logs.JobRequests) != 1 {
		t.Fatalf("logs: %v %v", logs.JobRequests, err)
	}
	cancelURL := ws + "/logs/" + logs.JobRequests[0].ID + "/cancel"
	c.get(cancelURL).expect(http.StatusForbidden)

	b.get(ws+"/logs").expect(http.StatusOK, `href="`+cancelURL+`">Cancel<span class="visually-hidden"> the jobs of generate_dataset, describe_cohort</span>`)
	b.get(cancelURL).expect(http.StatusOK, "Cancel the jobs of the request made by Devon Tester on RC Demo 2?",
		"<li>generate_dataset</li>", "<li>describe_cohort</li>")
	b.post(cancelURL, nil).at(ws+"/logs").expect(http.StatusOK, "Cancellation requested for generate_dataset, describe_cohort.",
		"Cancellation requested: describe_cohort, generate_dataset").lacks(`href="` + cancelURL + `"`)
}

// TestAFinishedJobRequestOffersNoCancel: once its runner reports every job finished, the logs page offers
// no Cancel, and a cancel posted from a page opened before then is refused with the reason.
func TestAFinishedJobRequestOffersNoCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := setUpWorkspaces(e)
	w.saveToken()
	r := e.runnerAPI()
	tpp := e.backendWithToken("tpp", "TPP", w.developer)
	ws := w.workspace("finished")
	b := w.as(w.developer)
	form := runJobsForm(t, b.get(ws+"/run-jobs/"))
	b.post(ws+"/run-jobs/", with(form, "form", "submit", "action", "generate_dataset", "backend", tpp.id)).
		expect(http.StatusOK, "Requested actions have been scheduled to run.")
	ids := r.jobRequests(tpp.token, "")
	if len(ids) != 1 {
		t.Fatalf("the runner lists %v, want the one request", ids)
	}
	cancelURL := ws + "/logs/" + ids[0] + "/cancel"
	b.get(ws+"/logs").expect(http.StatusOK, `href="`+cancelURL+`"`)

	r.postJobs(tpp.token, "", ids[0], domain.JobSucceeded)
	for deadline := time.Now().Add(10 * time.Second); strings.Contains(b.get(ws+"/logs").body, `href="`+cancelURL+`"`); {
		if time.Now().After(deadline) {
			t.Fatal("the logs page still offers Cancel for a request whose jobs all succeeded")
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.post(cancelURL, nil).expect(http.StatusUnprocessableEntity, "This job request has finished: there is nothing left to cancel.")
}
