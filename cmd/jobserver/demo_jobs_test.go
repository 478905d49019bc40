package main

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/runners"
	"github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/integrations/github"
	"github.com/mediciasafely/jobserver/internal/githubfake"
	eventlogviews "github.com/mediciasafely/jobserver/projections/eventlog"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
	wsviews "github.com/mediciasafely/jobserver/projections/workspaces"
)

// The demo's new workspace has a job request in each state the event log shows, made and reported through
// the commands a browser and a runner use.
func TestTheDemoWorkspaceHasJobRequestsThatSucceededFailedAndRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, store, runner := startProjectors(t, slices.Concat(identityviews.Projectors(), wsviews.Projectors(), eventlogviews.Projectors())...)
	quiet := slog.New(slog.DiscardHandler)
	kit := commands.Kit{Log: commands.NewEventLog(store, domain.Events, time.Now), Logger: quiet}
	queries := identityviews.NewQueries(pool)
	if err := loadDemoData(ctx, quiet, store, newIdentity(store), runner); err != nil {
		t.Fatal(err)
	}
	fake := githubfake.New(t)
	repos, err := github.NewRepos(github.Config{WebURL: fake.URL, APIURL: fake.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	ring, err := commands.NewKeyring([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	ws := workspaces.New(kit, github.ForWorkspaces{Repos: repos}, ring)
	repoURL, head := seedDemoGitHub(fake)
	created, err := loadDemoWorkspace(ctx, quiet, store, queries, ws, repoURL, runner)
	if err != nil || created == "" {
		t.Fatalf("the demo workspace: %q, %v", created, err)
	}
	if err := loadDemoJobs(ctx, quiet, queries, ws, runners.New(kit), created, head, runner); err != nil {
		t.Fatal(err)
	}

	page, err := eventlogviews.NewQueries(pool).Log(ctx, eventlogviews.Filter{Workspace: demoWorkspaceName}, nil, nil, 10)
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
	if again, err := loadDemoWorkspace(ctx, quiet, store, queries, ws, repoURL, runner); err != nil || again != "" {
		t.Errorf("a second start created the workspace again (%q, %v), so it would run the demo's jobs again", again, err)
	}
}
