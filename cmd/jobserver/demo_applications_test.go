package main

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/applications"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/internal/pgtest"
	"github.com/mediciasafely/jobserver/projections"
	appviews "github.com/mediciasafely/jobserver/projections/applications"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// The demo researcher has an application half filled in and a submitted one, every page of it complete; a
// second start adds none.
func TestTheDemoResearcherHasAnOngoingAndASubmittedApplication(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	store := pgstore.New(pool)
	t.Cleanup(store.Close)
	quiet := slog.New(slog.DiscardHandler)
	runner := projections.NewRunner(pool, store, domain.Events, quiet,
		slices.Concat(identityviews.Projectors(), appviews.Projectors())...)
	if err := runner.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() { _ = runner.Run(runCtx); close(stopped) }()
	t.Cleanup(func() { stop(); <-stopped })

	if err := loadDemoData(ctx, quiet, store, newIdentity(store), runner); err != nil {
		t.Fatal(err)
	}
	queries, views := identityviews.NewQueries(pool), appviews.NewQueries(pool)
	apps := applications.New(commands.Kit{Log: commands.NewEventLog(store, domain.Events, time.Now), Logger: quiet})
	for range 2 {
		if err := loadDemoApplications(ctx, quiet, queries, views, apps, runner); err != nil {
			t.Fatal(err)
		}
	}
	researcher, err := queries.UserByLogin(ctx, demoResearcher)
	if err != nil {
		t.Fatal(err)
	}
	list, err := views.ApplicationsOf(ctx, researcher.ID)
	if err != nil {
		t.Fatal(err)
	}
	byStudy := map[string]appviews.Summary{}
	for _, s := range list {
		byStudy[s.StudyName] = s
	}
	if len(list) != 2 || byStudy[demoOngoingStudy].Status != domain.StatusOngoing || byStudy[demoSubmittedStudy].Status != domain.StatusSubmitted {
		t.Fatalf("the demo researcher's applications: %+v", list)
	}
	submitted, err := views.Application(ctx, byStudy[demoSubmittedStudy].ID)
	if err != nil || !submitted.Complete() || len(submitted.Researchers) != 1 {
		t.Errorf("the submitted application: complete %v, researchers %+v, %v", submitted.Complete(), submitted.Researchers, err)
	}
}
