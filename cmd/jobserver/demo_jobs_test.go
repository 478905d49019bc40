package main

import (
	"context"
	"slices"
	"testing"

	"github.com/mediciasafely/jobserver/commands/runners"
	"github.com/mediciasafely/jobserver/domain"
	eventlogviews "github.com/mediciasafely/jobserver/projections/eventlog"
)

// The demo's new workspace has a job request in each state the event log shows, made and reported through
// the commands a browser and a runner use (once: a second start makes no workspace, so runs nothing).
func TestTheDemoWorkspaceHasJobRequestsThatSucceededFailedAndRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := startDemoWorkspace(t, eventlogviews.Projectors()...)
	if err := loadDemoJobs(ctx, d.logger, d.queries, d.ws, runners.New(d.kit), d.workspaceID, d.head, d.runner); err != nil {
		t.Fatal(err)
	}

	page, err := eventlogviews.NewQueries(d.pool).Log(ctx, eventlogviews.Filter{Workspace: demoWorkspaceName}, nil, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range page.Requests {
		got = append(got, r.Status)
	}
	if want := []string{domain.JobRunning, domain.JobFailed, domain.JobSucceeded}; !slices.Equal(got, want) {
		t.Errorf("the demo's job requests, newest first, are %v, want %v", got, want)
	}
}
