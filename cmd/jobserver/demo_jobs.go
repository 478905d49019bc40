package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/runners"
	"github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/projections"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// demoRun is one Run Jobs of the demo researcher and the state the demo backend's runner last reported of
// each of its jobs.
type demoRun struct {
	actions               []string
	status, code, message string
	finished              bool
}

// demoRuns are the demo's job requests, oldest first: one that succeeded, one whose model failed, and one
// still running, so the event log, its filters and the job request and job pages have each state to show.
var demoRuns = []demoRun{
	{[]string{"generate_dataset", "describe_cohort"}, domain.JobSucceeded, "succeeded", "Completed successfully", true},
	{[]string{"model_prescribing"}, domain.JobFailed, "nonzero_exit", "Job exited with an error: the model did not converge", true},
	{[]string{"generate_measures"}, domain.JobRunning, "executing", "Executing job on the backend", false},
}

// loadDemoJobs has the demo researcher run the demo study in the workspace just created (through
// RequestJobs, checked against the fake GitHub like any Run Jobs), and the demo backend's runner report
// each job (through RecordJobStatuses, as its runner's POST would).
func loadDemoJobs(ctx context.Context, logger *slog.Logger, queries *identityviews.Queries, ws *workspaces.Commands,
	run *runners.Commands, workspaceID, sha string, projected projections.Waiter) error {
	researcher, err := queries.UserByLogin(ctx, demoResearcher)
	if err != nil {
		return fmt.Errorf("demo jobs: %w", err)
	}
	backend, err := queries.BackendBySlug(ctx, demoBackendSlug)
	if err != nil {
		return fmt.Errorf("demo jobs: %w", err)
	}
	var last commands.Result
	started := time.Now().Add(-time.Duration(len(demoRuns)) * time.Hour)
	for _, r := range demoRuns {
		requested, err := ws.RequestJobs.Handle(ctx, workspaces.RequestJobs{Actor: commands.UserActor(researcher.ID),
			WorkspaceID: workspaceID, BackendID: backend.ID, SHA: sha, Actions: r.actions})
		if err != nil {
			return fmt.Errorf("demo jobs: run %v: %w", r.actions, err)
		}
		var jobs []domain.JobReport
		for i, action := range r.actions {
			begun := started.Add(time.Duration(i) * 10 * time.Minute)
			// job-runner names its jobs as the server names job requests: 16 lowercase base32 characters.
			job := domain.JobReport{JobID: domain.NewJobRequestID(), JobRequestID: requested.JobRequestID, Action: action,
				RunCommand: "demo " + action, Status: r.status, StatusCode: r.code, StatusMessage: r.message,
				CreatedAt: started, UpdatedAt: &begun, StartedAt: &begun,
				Metrics: map[string]any{"cpu_peak": 97.5, "mem_mb_peak": 812.0}}
			if r.finished {
				done := begun.Add(7 * time.Minute)
				job.UpdatedAt, job.CompletedAt = &done, &done
			}
			jobs = append(jobs, job)
		}
		recorded, err := run.RecordJobStatuses.Handle(ctx, runners.RecordJobStatuses{BackendID: backend.ID, Jobs: jobs})
		if err != nil {
			return fmt.Errorf("demo jobs: report %v: %w", r.actions, err)
		}
		last = recorded.Result
		started = started.Add(time.Hour)
	}
	if err := waitForDemo(ctx, projected, last.Position); err != nil {
		return fmt.Errorf("demo jobs: %w", err)
	}
	logger.InfoContext(ctx, "demo job requests made", slog.Int("requests", len(demoRuns)), slog.String("page", "/event-log"))
	return nil
}
