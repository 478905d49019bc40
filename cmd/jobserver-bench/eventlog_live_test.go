package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/internal/pgtest"
)

// The live measurement's pages against the real server (`jobserver serve` built from this checkout, on a
// database of its own on the local Postgres, loopback only): a page opened before the read model has its
// request's jobs must show them once the runner reports them, and then every change the runners post. The bench's pages did not: a job a page
// first saw at a notice was kept only if its step was above 0, so the first report's jobs, at step 0, were
// never recorded, and about a third of the 200 pages (those that opened while the event log's projector
// had not yet taken in the first report) seemed to miss it.
func TestLivePagesOpenedBeforeTheFirstReportShowItsJobs(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	t.Chdir("../..") // the server is built from the repository's root, as the bench is run
	db, err := createBenchDatabase(ctx, pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.drop(); err != nil {
			t.Error(err)
		}
	})
	env, err := openBenchEnv(ctx, db, seedWriters+4)
	if err != nil {
		t.Fatal(err)
	}
	defer env.close()
	world, err := seedEventLog(ctx, env, requestsPerAppend)
	if err != nil {
		t.Fatal(err)
	}
	if err := rebuildEventLogReadModels(ctx, env, world, &report{}); err != nil {
		t.Fatal(err)
	}
	server, err := startServer(ctx, db.url, env.secretKey)
	if err != nil {
		t.Fatal(err)
	}
	defer server.stop()
	l := &eventLogLoad{server: server, world: world, clients: make([]*http.Client, 4)}
	for i := range l.clients {
		if l.clients[i], err = server.login(ctx, world.users[i].id); err != nil {
			t.Fatal(err)
		}
	}

	jobs, err := l.createLiveRequests(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.awaitShown(ctx, jobs[len(jobs)-1].JobRequestID); err != nil {
		t.Fatal(err)
	}
	pages, err := l.openLivePages(ctx, jobs)
	if err != nil {
		t.Fatal(err)
	}
	defer pages.close()
	if short := pages.short(); short != livePages {
		t.Fatalf("%d of %d pages show fewer jobs than their request has before any was reported", short, livePages)
	}
	changes := &liveChanges{posted: map[string][]time.Time{}}
	for _, p := range pages.pages {
		go p.follow(pages.ctx, changes)
	}
	api := &runnerAPIWorld{url: server.url, client: &http.Client{Timeout: 30 * time.Second}}
	if err := l.postLive(ctx, api, jobs, nil, changes); err != nil {
		t.Fatal(err)
	}
	if err := pages.wait(ctx, jobs, 0, time.Minute); err != nil {
		t.Fatal(err)
	}
	// Then the runners' changes, as measured: every page shows the last.
	posts, changed, err := l.reportLive(ctx, api, jobs, changes, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(posts) == 0 || changed == 0 {
		t.Fatalf("%d POSTs posted %d changes", len(posts), changed)
	}
	if err := pages.wait(ctx, jobs, -1, time.Minute); err != nil {
		t.Fatal(err)
	}
	changes.mu.Lock()
	defer changes.mu.Unlock()
	if len(changes.latency) == 0 {
		t.Error("the pages saw no change")
	}
	if len(changes.failures) > 0 {
		t.Fatalf("%d fetches or streams failed, the first: %v", len(changes.failures), changes.failures[0])
	}
}
