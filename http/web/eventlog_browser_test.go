package web_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mediciasafely/jobserver/domain"
)

// The event log in a real browser, as the guide's "Event Log" and "Filter the Logs" read: Devon filters the
// log by status and by action, expands a row with Show jobs, opens the job request, shows its project.yaml,
// and watches a job change state on the open page, without a reload, when the backend's runner posts its
// status through the runner API.
func TestTheEventLogInABrowserFiltersExpandsAndFollowsAJobLive(t *testing.T) {
	t.Parallel()
	chromium := startChromium(t)
	e := newEnv(t)
	w := setUpWorkspaces(e)
	w.saveToken()
	ws := w.workspace("browsedws")
	dev := w.as(w.developer)
	failed := requestJobs(t, e, dev, ws, "generate_dataset", w.backend)
	pending := requestJobs(t, e, dev, ws, "describe_cohort", w.backend)
	runner := e.fakeRunner(w.backend)
	runner.report(failed, "failedjob0000001", "generate_dataset", domain.JobFailed, "nonzero_exit", "Job exited with an error")
	runner.report(pending, "pendingjob000001", "describe_cohort", domain.JobPending, "created", "Waiting on dependencies")
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(dev.get("/event-log?status=failed").body, failed); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the event log does not show the failed request\n%s", excerpt(dev.get("/event-log/"+failed+"/jobs").body))
		}
	}

	devon := openWindow(t, chromium, e, "devon")
	devon.open("/login")
	devon.choose("Demo user", "devon (Devon Tester)")
	devon.follow("log in", click("button", "Log in as this user"))

	// Filter by status, then by action: the filters are in the address, and each shows only its request.
	devon.open("/event-log")
	devon.sees(failed, pending)
	devon.choose("Job status", "failed")
	devon.follow("filter by status", click("button", "Filter"))
	if q := devon.location().Query(); q.Get("status") != "failed" {
		devon.fail("the status filter is not in the address: %s", devon.location())
	}
	devon.sees("generate_dataset")
	devon.lacks("describe_cohort")
	devon.follow("clear the filters", click("link", "Clear filters"))
	devon.fill("Action or job ID", "describe_cohort")
	devon.follow("filter by action", click("button", "Filter"))
	devon.sees("describe_cohort")
	devon.lacks("generate_dataset")

	// Show jobs expands the row in place.
	devon.run("show the jobs", click("link", "Show jobs of "+pending))
	devon.eventually("the row shows its jobs", `(() => { const t = document.querySelector("#jobs-row-`+pending+` table");
		return !!t && t.innerText.includes("describe_cohort") && t.innerText.includes("pending"); })()`)
	devon.expectPath("/event-log")

	// View opens the job request; Show project.yaml shows the stored file in the page.
	devon.follow("view the job request", click("link", "View job request "+pending))
	devon.expectPath(ws + "/" + pending)
	devon.sees("Job request", "describe_cohort", "pending", "View project.yaml")
	devon.run("show the project.yaml", chromedp.Click(chromedp.CSS(`#project-yaml > summary`)))
	devon.eventually("the project.yaml is shown", `(() => { const d = document.querySelector("#project-yaml");
		return d.open && d.querySelector("pre").offsetHeight > 0 && d.querySelector("pre").innerText.includes("actions:"); })()`)

	// The runner posts; the open page follows without a reload.
	devon.value("mark the page", chromedp.Evaluate[string](`window.notReloaded = "yes"`))
	runner.report(pending, "pendingjob000001", "describe_cohort", domain.JobRunning, "executing", "Running the action")
	posted := time.Now()
	devon.eventually("the job shows as running", `(() => { const p = document.querySelector("#request-live");
		return p.innerText.includes("Running the action") && p.innerText.includes("running"); })()`)
	t.Logf("the open page showed the runner's committed post after %s", time.Since(posted).Round(time.Millisecond))
	if devon.value("the mark", chromedp.Evaluate[string](`String(window.notReloaded)`)) != "yes" {
		devon.fail("the page was reloaded to show the change")
	}
	if open := devon.value("the project.yaml", chromedp.Evaluate[string](`String(document.querySelector("#project-yaml").open)`)); open != "true" {
		devon.fail("the live update closed the project.yaml")
	}
}

// lacks fails if the page's main part shows any of the texts.
func (w *window) lacks(texts ...string) {
	w.t.Helper()
	text := w.mainText()
	for _, unwanted := range texts {
		if strings.Contains(text, unwanted) {
			w.fail("the page shows %q", unwanted)
		}
	}
}

// eventually waits, a few seconds at most, until the JavaScript expression is true on the page.
func (w *window) eventually(what, expression string) {
	w.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(w.ctx, browserStepTimeout)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expression))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			w.fail("%s: not after %s (%v)", what, strconv.Quote(expression), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
