package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/domain"
)

// getAsHTMX fetches path as htmx does for a live part after a change: with its headers, and the id of the
// element it swaps (target, "" for none).
func (b *browser) getAsHTMX(path, target string) *page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.env.server.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("HX-Request", "true")
	if target != "" {
		req.Header.Set("HX-Target", target)
	}
	return b.do(req)
}

// The event log's results and a request's jobs, fetched as a live page fetches them after a change, are
// the part alone, drawn once for every viewer: the same bytes for two people, nothing of either in them
// (no name, no CSRF token), and they show a change once the log has it. The page itself is unchanged, its
// menus shared but each marking its own filter's choice.
func TestTheEventLogsLivePartsAreTheSameForEveryViewerAndFollowTheLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := setUpWorkspaces(e)
	w.saveToken()
	ws := w.workspace("sharedparts")
	dev := w.as(w.developer)
	id := requestJobs(t, e, dev, ws, "generate_dataset", w.backend)
	colin := w.as(w.collaborator)

	results := colin.getAsHTMX("/event-log", "log-results").expect(http.StatusOK, `id="log-results"`, id)
	results.lacks("<html", "gorilla.csrf.Token", "colin", `id="f-backend"`)
	if again := dev.getAsHTMX("/event-log", "log-results").expect(http.StatusOK); again.body != results.body {
		t.Errorf("two viewers were sent different results:\n%s\n---\n%s", excerpt(results.body), excerpt(again.body))
	}
	colin.get("/event-log").expect(http.StatusOK, "<html", `id="f-backend"`, `id="log-results"`, id)
	// The menus are read once for everyone; each page marks its own filter's choice.
	colin.get("/event-log?backend=rcdemo2").expect(http.StatusOK, `<option value="rcdemo2" selected>`)
	dev.get("/event-log").expect(http.StatusOK, `<option value="rcdemo2">`).lacks(`<option value="rcdemo2" selected>`)

	jobs := "/event-log/" + id + "/jobs"
	colin.getAsHTMX(jobs, "").expect(http.StatusOK, `id="jobs-`+id+`"`, "has not reported any job").lacks("<html", "colin")
	reportJob(e, w.backend, domain.JobReport{JobID: "sharedjob0000001", JobRequestID: id, Action: "generate_dataset",
		RunCommand: "ehrql:v1 generate-dataset", Status: domain.JobRunning, StatusCode: "executing",
		StatusMessage: "Executing the dataset definition", CreatedAt: time.Now()})
	// A kept rendering lasts until the live hub hears of the commit, which a live page's notice comes from.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		p := dev.getAsHTMX(jobs, "").expect(http.StatusOK)
		if strings.Contains(p.body, "Executing the dataset definition") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the jobs fetched again still do not show the runner's report:\n%s", excerpt(p.body))
		}
	}
	colin.getAsHTMX(jobs, "").expect(http.StatusOK, "Executing the dataset definition")
}
