package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	identitycmd "github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/internal/kurrentfake"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// TestWithKurrentDBTheServersMirrorFeedsTheReadModelsAndResumesAfterAKill runs the server with
// JOBSERVER_EVENTSTORE=kurrentdb against internal/kurrentfake (KurrentDB's gRPC protocol, in this test's
// process). Commands append to KurrentDB through the same backend the command line opens; the server's
// mirror copies the events into Postgres, where its projectors build the read models. The environment is
// the process's, so the test does not run in parallel.
func TestWithKurrentDBTheServersMirrorFeedsTheReadModelsAndResumesAfterAKill(t *testing.T) {
	kurrent := kurrentfake.Start(t)
	d := newDeployment(t, "JOBSERVER_EVENTSTORE=kurrentdb", "KURRENTDB_URL="+kurrent.URL())
	for _, kv := range append(slices.Clone(d.env), "DATABASE_URL="+d.databaseURL) {
		name, value, _ := strings.Cut(kv, "=")
		t.Setenv(name, value)
	}
	cfg, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	b, err := openBackend(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.close)
	if b.log.mirror == nil || eventstore.IsTransactional(b.log.store) {
		t.Fatal("the backend did not open KurrentDB as its log of record")
	}
	ids := identitycmd.New(b.kit(slog.New(slog.DiscardHandler)))
	views := identityviews.NewQueries(b.pool)
	createBackend := func(slug, name string) (identitycmd.NewBackend, error) {
		return ids.CreateBackend.Handle(ctx, identitycmd.CreateBackend{Actor: commands.CLIActor, Slug: slug, Name: name})
	}
	// shown waits, as a page after a command does, until the read models show what res appended; longer
	// than a page would, for a machine busy with other tests.
	shown := func(res commands.Result) error {
		waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return b.projected().WaitFor(waitCtx, res.Position)
	}

	a := d.start(t, "kurrent-a", freeAddr(t), "serve")
	waitFor(t, "replica a holds the locks, the mirror's among them", 15*time.Second, func() bool {
		return slices.Contains(lockHolders(t, b.pool), "kurrent-a locks")
	})

	// Eight commands reserve one slug at once: KurrentDB has no transaction across streams, so each
	// appends the reservation alone first; one wins, the others are told the slug is taken.
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []identitycmd.NewBackend
		losers  []error
	)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			created, err := createBackend("race", fmt.Sprintf("Race %d", i))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				losers = append(losers, err)
			} else {
				winners = append(winners, created)
			}
		}()
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d commands got the slug; want one (losers: %v)", len(winners), losers)
	}
	for _, err := range losers {
		if domain.KindOf(err) != domain.KindConflict {
			t.Errorf("a command that lost the slug answered %v; want a conflict", err)
		}
	}
	won := winners[0]

	// Read-your-writes: the command's position is KurrentDB's; the wait passes the mirror's copy and
	// then the projectors, both running in replica a.
	if err := shown(won.Result); err != nil {
		t.Fatal(err)
	}
	backend, err := views.BackendBySlug(ctx, "race")
	if err != nil || backend.ID != won.BackendID {
		t.Fatalf("the backends read model shows %+v (%v); want the winner %s", backend, err, won.BackendID)
	}
	// The runner token's hash stays in Postgres, keyed as the event says.
	if id, ok, err := identitycmd.BackendForToken(ctx, b.store, won.Token); err != nil || !ok || id != won.BackendID {
		t.Errorf("the winner's runner token finds %q (%v, %v)", id, ok, err)
	}

	// Commands keep appending while replica a, which runs the mirror, is killed outright.
	stopLoad, loaded := make(chan struct{}), make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stopLoad:
				loaded <- n
				return
			default:
			}
			if _, err := createBackend("load-"+strconv.Itoa(n), "Load "+strconv.Itoa(n)); err != nil {
				t.Errorf("create a backend under load: %v", err)
			}
			n++
		}
	}()
	time.Sleep(500 * time.Millisecond)
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	close(stopLoad)
	t.Logf("%d backends created in the 0.8 s around the kill", <-loaded)

	// With no mirror running, a command reaches KurrentDB only.
	late, err := createBackend("after-kill", "After the kill")
	if err != nil {
		t.Fatal(err)
	}
	shortCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := b.log.mirror.WaitCopied(shortCtx, late.Position); !errors.Is(err, pgstore.ErrNotYetMirrored) {
		t.Fatalf("with no server running, the command's event was copied (%v)", err)
	}

	// Replica b starts, takes the mirror over and resumes from its checkpoint.
	d.start(t, "kurrent-b", freeAddr(t), "serve")
	if err := shown(late.Result); err != nil {
		t.Fatal(err)
	}
	if backend, err := views.BackendBySlug(ctx, "after-kill"); err != nil || backend.ID != late.BackendID {
		t.Fatalf("after the restart the read model shows %+v (%v)", backend, err)
	}

	// Every event of KurrentDB is in the events table once, in KurrentDB's order: verify compares them
	// and the read models with a rebuild from the copy; the audit chain over the copy holds.
	theirs, err := b.log.store.ReadAll(ctx, eventstore.Position{}, 100_000)
	if err != nil {
		t.Fatal(err)
	}
	var ours int
	if err := b.pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&ours); err != nil {
		t.Fatal(err)
	}
	if ours != len(theirs) {
		t.Errorf("the events table holds %d events, KurrentDB %d", ours, len(theirs))
	}
	var out, errs bytes.Buffer
	if status := run([]string{"verify"}, &out, &errs); status != 0 {
		t.Fatalf("jobserver verify: status %d\n%s%s", status, out.String(), errs.String())
	}
	if !strings.Contains(out.String(), fmt.Sprintf("log mirror: the events table holds KurrentDB's %d events", len(theirs))) {
		t.Errorf("verify did not compare the mirror with KurrentDB:\n%s", out.String())
	}
	if n := len(regexp.MustCompile(`equal to a rebuild from the log`).FindAllString(out.String(), -1)); n != len(projectors()) {
		t.Errorf("verify found %d of %d read models equal to a rebuild:\n%s", n, len(projectors()), out.String())
	}
	out.Reset()
	errs.Reset()
	if status := run([]string{"audit", "verify"}, &out, &errs); status != 0 {
		t.Errorf("jobserver audit verify: status %d\n%s%s", status, out.String(), errs.String())
	}
}

func TestTheEventStoreSettingIsReadAndChecked(t *testing.T) {
	for _, tc := range []struct{ store, url, want, wantErr string }{
		{store: "", url: "esdb://kurrent:2113?tls=false", want: ""}, // postgres by default; the URL alone selects nothing
		{store: "kurrentdb", url: "esdb://kurrent:2113?tls=false", want: "esdb://kurrent:2113?tls=false"},
		{store: "kurrentdb", wantErr: "needs KURRENTDB_URL"},
		{store: "eventstoredb", url: "esdb://kurrent:2113", wantErr: `JOBSERVER_EVENTSTORE is "eventstoredb"`},
	} {
		t.Setenv("JOBSERVER_EVENTSTORE", tc.store)
		t.Setenv("KURRENTDB_URL", tc.url)
		cfg, err := loadConfig()
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("JOBSERVER_EVENTSTORE=%q KURRENTDB_URL=%q: error %v, want %q", tc.store, tc.url, err, tc.wantErr)
			}
			continue
		}
		if err != nil || cfg.KurrentDBURL != tc.want {
			t.Errorf("JOBSERVER_EVENTSTORE=%q KURRENTDB_URL=%q: KurrentDB %q (%v), want %q", tc.store, tc.url, cfg.KurrentDBURL, err, tc.want)
		}
	}
}
