package main

import (
	"bytes"
	"context"
	"image/png"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/releases"
	"github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/integrations/blobs"
	"github.com/mediciasafely/jobserver/integrations/github"
	"github.com/mediciasafely/jobserver/internal/githubfake"
	"github.com/mediciasafely/jobserver/internal/pgtest"
	"github.com/mediciasafely/jobserver/projections"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
	releaseviews "github.com/mediciasafely/jobserver/projections/releases"
	wsviews "github.com/mediciasafely/jobserver/projections/workspaces"
)

// The demo's workspace has the release the guide shows (step 10), a CSV and a PNG that read back whole,
// released by the demo's Output Checker; a second start releases nothing more.
func TestTheDemoWorkspaceHasAReleaseOfACSVAndAnImage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := startDemoWorkspace(t, releaseviews.Projectors()...)
	pool, store, runner, kit, queries, quiet := d.pool, d.store, d.runner, d.kit, d.queries, d.logger
	dir, err := blobs.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rels := releases.New(kit, blobs.ForReleases{Store: dir}, 0)
	var logs bytes.Buffer
	if err := loadDemoRelease(ctx, slog.New(slog.NewTextHandler(&logs, nil)), store, queries, rels, runner); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "/mediciaaiorg2/mystudy/"+demoWorkspaceName+"/releases/"+demoReleaseID) {
		t.Errorf("the log does not say where the demo release is: %s", logs.String())
	}

	checker, err := queries.UserByLogin(ctx, demoChecker)
	if err != nil {
		t.Fatal(err)
	}
	v, err := releaseviews.NewQueries(pool).Release(ctx, demoReleaseID, checker.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Release.CreatedByLogin != demoChecker || len(v.Files) != 2 || v.Workspace.Name != demoWorkspaceName {
		t.Fatalf("the demo release: %+v with %d files", v.Release, len(v.Files))
	}
	for _, f := range v.Files {
		blob, err := dir.Open(ctx, f.SHA256)
		if err != nil || !f.Uploaded() {
			t.Fatalf("%s: uploaded %v, %v", f.Name, f.Uploaded(), err)
		}
		if strings.HasSuffix(f.Name, ".png") {
			if _, err := png.Decode(blob); err != nil {
				t.Errorf("%s is not a PNG: %v", f.Name, err)
			}
		}
		blob.Close()
	}

	before, err := store.ReadAll(ctx, eventstore.Position{}, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if err := loadDemoRelease(ctx, quiet, store, queries, rels, runner); err != nil {
		t.Fatal(err)
	}
	after, err := store.ReadAll(ctx, eventstore.Position{}, 10000)
	if err != nil || len(after) != len(before) {
		t.Errorf("a second start appended %d events (%v)", len(after)-len(before), err)
	}
}

// demoWorkspace is a database with the demo's people, organisation, project, backend and workspace, made as
// a development server's first start makes them, against a fake GitHub holding the demo repository.
type demoWorkspace struct {
	pool        *pgxpool.Pool
	store       *pgstore.Store
	runner      *projections.Runner
	kit         commands.Kit
	queries     *identityviews.Queries
	logger      *slog.Logger
	ws          *workspaces.Commands
	workspaceID string // the workspace made
	head        string // the commit at the head of the demo repository's main branch
}

// startDemoWorkspace starts the identity and workspaces projectors and more, and loads the demo up to its
// workspace.
func startDemoWorkspace(t *testing.T, more ...projections.Projector) demoWorkspace {
	t.Helper()
	ctx := context.Background()
	d := demoWorkspace{logger: slog.New(slog.DiscardHandler)}
	d.pool, d.store, d.runner = startProjectors(t, slices.Concat(identityviews.Projectors(), wsviews.Projectors(), more)...)
	d.kit = commands.Kit{Log: commands.NewEventLog(d.store, domain.Events, time.Now), Logger: d.logger}
	d.queries = identityviews.NewQueries(d.pool)
	if err := loadDemoData(ctx, d.logger, d.store, newIdentity(d.store), d.runner); err != nil {
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
	d.ws = workspaces.New(d.kit, github.ForWorkspaces{Repos: repos}, ring)
	repoURL, head := seedDemoGitHub(fake)
	d.head = head
	if d.workspaceID, err = loadDemoWorkspace(ctx, d.logger, d.store, d.queries, d.ws, repoURL, d.runner); err != nil || d.workspaceID == "" {
		t.Fatalf("the demo workspace: %q, %v", d.workspaceID, err)
	}
	if again, err := loadDemoWorkspace(ctx, d.logger, d.store, d.queries, d.ws, repoURL, d.runner); err != nil || again != "" {
		t.Fatalf("a second start made the demo workspace again (%q, %v)", again, err)
	}
	return d
}

// startProjectors gives the test a database of its own with the event store and the projectors following it
// live, as serve runs them, until the test ends.
func startProjectors(t *testing.T, projectors ...projections.Projector) (*pgxpool.Pool, *pgstore.Store, *projections.Runner) {
	t.Helper()
	pool := pgtest.NewPool(t)
	store := pgstore.New(pool)
	t.Cleanup(store.Close)
	runner := projections.NewRunner(pool, store, domain.Events, slog.New(slog.DiscardHandler), projectors...)
	ctx, stop := context.WithCancel(context.Background())
	if err := runner.Prepare(ctx); err != nil {
		stop()
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() { _ = runner.Run(ctx); close(stopped) }()
	t.Cleanup(func() { stop(); <-stopped })
	return pool, store, runner
}
