package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/runners"
	"github.com/mediciasafely/jobserver/domain"
	eventlogviews "github.com/mediciasafely/jobserver/projections/eventlog"
)

// reportJob records a job's state as the backend's runner would report it.
func reportJob(e *env, backend string, job domain.JobReport) {
	e.t.Helper()
	r := runners.New(commands.Kit{Log: commands.NewEventLog(e.store, domain.Events, time.Now), Logger: slog.Default()})
	got, err := r.RecordJobStatuses.Handle(context.Background(), runners.RecordJobStatuses{BackendID: backend, Jobs: []domain.JobReport{job}})
	e.must(got.Result, err)
}

func TestTheEventLogFiltersAndShowsJobRequestAndJobPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := setUpWorkspaces(e)
	w.saveToken()
	ws := w.workspace("eventful")

	e.browser().get("/event-log").at("/login")

	b := w.as(w.developer)
	form := runJobsForm(t, b.get(ws+"/run-jobs/"))
	b.post(ws+"/run-jobs/", with(form, "form", "submit", "action", "generate_dataset", "backend", w.backend)).
		expect(http.StatusOK, "Requested actions have been scheduled to run.")
	var log eventlogviews.LogPage
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if log, err = eventlogviews.NewQueries(e.pool).Log(t.Context(), eventlogviews.Filter{}, nil, nil, 10); err != nil || len(log.Requests) > 0 {
			break
		}
	}
	if err != nil || len(log.Requests) != 1 {
		t.Fatalf("event log: %v %v", log.Requests, err)
	}
	id := log.Requests[0].ID
	requestURL := ws + "/" + id

	c := w.as(w.collaborator)
	c.get("/event-log").expect(http.StatusOK, "Event Log", "eventful", "RC Demo 2", "generate_dataset", "Devon Tester", "pending")
	c.get("/event-log?status=pending&workspace=eventful&q=generate_dataset").expect(http.StatusOK, requestURL)
	c.get("/event-log?status=failed&workspace=eventful").expect(http.StatusOK, "No job requests match these filters",
		"status “failed”", "workspace “eventful”").lacks(requestURL)
	c.get("/event-log?request=nosuchrequest").expect(http.StatusOK, "job request “nosuchrequest”")

	started := time.Now().Add(-time.Hour).UTC()
	done := started.Add(90 * time.Second)
	reportJob(e, w.backend, domain.JobReport{JobID: "job1aaaaaaaaaaaa", JobRequestID: id, Action: "generate_dataset",
		RunCommand: "ehrql:v1 generate-dataset", Status: "running", StatusCode: "executing", CreatedAt: started, StartedAt: &started,
		UpdatedAt: &started, Metrics: map[string]any{"cpu_peak": 87.5}})
	c.get("/event-log?status=running").expect(http.StatusOK, requestURL)
	c.get("/event-log?q=job1aaaaaaaaaaaa").expect(http.StatusOK, requestURL)
	c.get("/event-log/"+id+"/jobs").expect(http.StatusOK, "generate_dataset", "running")

	// A running request without update for 30 minutes warns; the collaborator may not cancel.
	c.get(requestURL).expect(http.StatusOK, "View Repo", w.repoURL+"/blob/", "/project.yaml", "no update from its backend",
		"Only the person who requested these jobs", "Show project.yaml", "generate_dataset").lacks(`href="` + requestURL + `/cancel"`)
	c.get(requestURL + "/cancel").expect(http.StatusForbidden)
	jobURL := requestURL + "/job1aaaaaaaaaaaa"
	c.get(jobURL).expect(http.StatusOK, "ehrql:v1 generate-dataset", "87.5 %").lacks(`href="` + jobURL + `/cancel"`)

	// The requester may cancel the job: asked first.
	b.get(jobURL).expect(http.StatusOK, `href="`+jobURL+`/cancel"`)
	b.get(jobURL+"/cancel").expect(http.StatusOK, "Cancel the job generate_dataset")
	b.post(jobURL+"/cancel", nil).at(jobURL).expect(http.StatusOK, "Cancellation requested for generate_dataset.",
		"Cancellation of this job has already been requested.")

	reportJob(e, w.backend, domain.JobReport{JobID: "job1aaaaaaaaaaaa", JobRequestID: id, Action: "generate_dataset",
		RunCommand: "ehrql:v1 generate-dataset", Status: "failed", StatusCode: "nonzero_exit", StatusMessage: "Job exited with an error",
		CreatedAt: started, StartedAt: &started, UpdatedAt: &done, CompletedAt: &done})
	b.get(requestURL).expect(http.StatusOK, "failed", "This job request has finished", "1m 30s").lacks("no update from its backend")
	b.get(jobURL).expect(http.StatusOK, "metadata/generate_dataset.log", "Job exited with an error", "This job has finished")
	c.get("/event-log?status=failed&user=devon&backend=rcdemo2").expect(http.StatusOK, requestURL)
	c.get("/event-log?status=running").lacks(requestURL)

	// The workspace slice's own pages are not shadowed.
	b.get(ws+"/logs").expect(http.StatusOK, "Job requests")
}
