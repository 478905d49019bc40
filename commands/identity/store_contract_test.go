package identity_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/kurrentdb"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/internal/kurrentfake"
	"github.com/mediciasafely/jobserver/internal/pgtest"
)

// The command side's contract: unique names, secrets and lost races hold the same on a store with
// transactions across streams (Postgres, the memory store) as on one without (KurrentDB, and the memory
// store made like it), where the kit appends a command's streams one at a time.
var contractStores = map[string]func(t *testing.T) eventstore.Store{
	"memory": func(*testing.T) eventstore.Store { return eventstore.NewMemory() },
	"memory without transactions": func(*testing.T) eventstore.Store {
		return eventstore.NewMemoryWithoutTransactions()
	},
	"postgres": func(t *testing.T) eventstore.Store {
		s := pgstore.New(pgtest.NewPool(t))
		t.Cleanup(s.Close)
		return s
	},
	"kurrentdb (protocol-level fake)": func(t *testing.T) eventstore.Store {
		s, err := kurrentdb.Open(kurrentfake.Start(t).URL(), eventstore.NewMemorySecrets())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	},
}

// clock is a settable clock for the event log.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

func identityOn(store eventstore.Store, c *clock) *identity.Commands {
	return identity.New(commands.Kit{Log: commands.NewEventLog(store, domain.Events, c.now), Logger: slog.New(slog.DiscardHandler)})
}

func forEachStore(t *testing.T, test func(t *testing.T, store eventstore.Store)) {
	for name, newStore := range contractStores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, newStore(t))
		})
	}
}

func TestConcurrentCreationsOfOneSlugLetExactlyOneWinOnEveryStore(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, store eventstore.Store) {
		cmds := identityOn(store, &clock{})
		const contenders = 8
		var wg sync.WaitGroup
		errs := make(chan error, contenders)
		for range contenders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := cmds.CreateOrg.Handle(context.Background(), identity.CreateOrg{Actor: commands.CLIActor, Name: "Research", Slug: "research"})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		wins := 0
		for err := range errs {
			var de *domain.Error
			switch {
			case err == nil:
				wins++
			case !errors.As(err, &de) || de.Kind != domain.KindConflict:
				t.Errorf("a losing creation failed with %v, want a conflict", err)
			}
		}
		if n := countEvents(t, store, "OrgCreated", 1); wins != 1 || n != 1 {
			t.Fatalf("%d creations won, %d organisations in the log; want 1 and 1", wins, n)
		}
	})
}

// TestADanglingReservationIsReleasedAfterTheGraceAndFencesItsOwner: a crash right after a reservation was
// appended alone leaves it held for an organisation that does not exist. It keeps the slug while the
// creation could still be on its way, is released once the grace has passed, and the late creation can
// then no longer be written: the slug is never held twice and never lost.
func TestADanglingReservationIsReleasedAfterTheGraceAndFencesItsOwner(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, store eventstore.Store) {
		ctx := context.Background()
		c := &clock{}
		cmds := identityOn(store, c)
		crashed := domain.NewID(time.Now())
		appendDomainEvent(t, store, domain.OrgSlugStream("research"), eventstore.NoStream,
			domain.SlugReserved{Kind: domain.ReservedForOrg, Slug: "research", OwnerID: crashed})

		create := identity.CreateOrg{Actor: commands.CLIActor, Name: "Research", Slug: "research"}
		if _, err := cmds.CreateOrg.Handle(ctx, create); err == nil || !strings.Contains(err.Error(), "already taken") {
			t.Fatalf("within the grace: err = %v, want the slug taken", err)
		}
		c.advance(domain.DanglingReservationGrace + time.Second)
		created, err := cmds.CreateOrg.Handle(ctx, create)
		if err != nil {
			t.Fatalf("after the grace: %v", err)
		}
		_, err = store.Append(ctx, []eventstore.Append{{Stream: domain.OrgStream(crashed), Expected: eventstore.NoStream,
			Events: []eventstore.NewEvent{encode(t, domain.OrgCreated{OrgID: crashed, Name: "Research", Slug: "research"})}}})
		if !errors.Is(err, eventstore.ErrConcurrency) {
			t.Fatalf("the late creation of the first owner: err = %v, want it fenced off", err)
		}
		var r domain.Reservation
		if _, err := commands.NewEventLog(store, domain.Events, time.Now).Load(ctx, domain.OrgSlugStream("research"), &r); err != nil || r.Owner() != created.ID {
			t.Fatalf("the slug is held by %q (%v), want the new organisation %s", r.Owner(), err, created.ID)
		}
	})
}

// TestALostRaceAfterTheReservationTakesItBackAtOnce: when the organisation's append loses a race after
// its reservation was written alone, the command's next attempt takes its own reservation back without
// waiting for the grace.
func TestALostRaceAfterTheReservationTakesItBackAtOnce(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, store eventstore.Store) {
		flaky := &failsOnce{Store: store, stream: "org-"}
		created, err := identityOn(flaky, &clock{}).CreateOrg.Handle(context.Background(),
			identity.CreateOrg{Actor: commands.CLIActor, Name: "Research", Slug: "research"})
		if err != nil {
			t.Fatal(err)
		}
		var r domain.Reservation
		if _, err := commands.NewEventLog(store, domain.Events, time.Now).Load(context.Background(), domain.OrgSlugStream("research"), &r); err != nil || r.Owner() != created.ID {
			t.Fatalf("the slug is held by %q (%v), want %s", r.Owner(), err, created.ID)
		}
		if n := countEvents(t, store, "OrgCreated", 1); n != 1 {
			t.Fatalf("%d organisations created, want 1", n)
		}
	})
}

// TestARotatedRunnerTokenIsTheOnlyOneThatWorks: the runner token's lookups are secrets written with the
// events that mention them, on every store.
func TestARotatedRunnerTokenIsTheOnlyOneThatWorks(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, store eventstore.Store) {
		ctx := context.Background()
		cmds := identityOn(store, &clock{})
		backend, err := cmds.CreateBackend.Handle(ctx, identity.CreateBackend{Actor: commands.CLIActor, Slug: "tpp", Name: "TPP"})
		if err != nil {
			t.Fatal(err)
		}
		rotated, err := cmds.RotateRunnerToken.Handle(ctx, identity.RotateRunnerToken{Actor: commands.CLIActor, BackendID: backend.BackendID})
		if err != nil {
			t.Fatal(err)
		}
		for token, want := range map[string]bool{backend.Token: false, rotated.Token: true} {
			id, ok, err := identity.BackendForToken(ctx, store, token)
			if err != nil || ok != want || (ok && id != backend.BackendID) {
				t.Errorf("token works: %v for %q (%v), want %v", ok, id, err, want)
			}
		}
	})
}

// failsOnce refuses the first append to a stream starting with stream, as a writer that lost a race.
type failsOnce struct {
	eventstore.Store
	stream string
	failed atomic.Bool
}

func (f *failsOnce) Transactional() bool { return eventstore.IsTransactional(f.Store) }

func (f *failsOnce) Append(ctx context.Context, appends []eventstore.Append, secrets ...eventstore.SecretWrite) (eventstore.AppendResult, error) {
	for _, a := range appends {
		if strings.HasPrefix(a.Stream, f.stream) && len(a.Events) > 0 && f.failed.CompareAndSwap(false, true) {
			return eventstore.AppendResult{}, &eventstore.ConcurrencyError{Stream: a.Stream, Expected: a.Expected}
		}
	}
	return f.Store.Append(ctx, appends, secrets...)
}

func encode(t *testing.T, e domain.Event) eventstore.NewEvent {
	t.Helper()
	name, version, data, err := domain.Events.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	return eventstore.NewEvent{ID: domain.NewULID(time.Now()), Type: name, SchemaVersion: version, Data: data}
}

func appendDomainEvent(t *testing.T, store eventstore.Store, stream string, expected eventstore.ExpectedVersion, e domain.Event) {
	t.Helper()
	if _, err := store.Append(context.Background(), []eventstore.Append{{Stream: stream, Expected: expected, Events: []eventstore.NewEvent{encode(t, e)}}}); err != nil {
		t.Fatal(err)
	}
}

// countEvents counts the events of a type in the whole log, waiting up to 10 s for want of them: on
// Postgres a global reader sees an append once every older transaction of the server has ended.
func countEvents(t *testing.T, store eventstore.Store, eventType string, want int) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := 0
		var after eventstore.Position
		for {
			page, err := store.ReadAll(context.Background(), after, 500)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, e := range page {
				if e.Type == eventType {
					n++
				}
			}
			after = page[len(page)-1].Position
		}
		if n >= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}
