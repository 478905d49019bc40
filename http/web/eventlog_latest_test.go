package web_test

import (
	"net/http"
	"testing"
	"time"

	eventlogviews "github.com/mediciasafely/jobserver/projections/eventlog"
)

// TestTheHomePageShowsTheLatestJobRequests: the home page brings in the latest job requests across the
// user's workspaces (the event log's own section, in place; a link without JavaScript), with View all logs.
func TestTheHomePageShowsTheLatestJobRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := setUpWorkspaces(e)
	w.saveToken()
	ws := w.workspace("latest")
	b := w.as(w.developer)

	b.get("/event-log/latest").expect(http.StatusOK, "None of your workspaces has requested jobs yet", `href="/event-log"`)
	form := runJobsForm(t, b.get(ws+"/run-jobs/"))
	b.post(ws+"/run-jobs/", with(form, "form", "submit", "action", "generate_dataset", "backend", w.backend)).
		expect(http.StatusOK, "Requested actions have been scheduled to run.")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		latest, err := eventlogviews.NewQueries(e.pool).Latest(t.Context(), w.developer, 5)
		if err == nil && len(latest) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("latest: %v %v", latest, err)
		}
	}

	b.get("/").expect(http.StatusOK, `hx-get="/event-log/latest"`, `href="/event-log/latest"`, "View all logs")
	b.get("/event-log/latest").expect(http.StatusOK, `id="latest-job-requests"`, "latest", "generate_dataset", "View all logs")
	// Someone in no project of the request sees none of it.
	w.as(w.outsider).get("/event-log/latest").expect(http.StatusOK, "None of your workspaces").lacks("generate_dataset")
}
