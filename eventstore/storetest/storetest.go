// Package storetest is the contract every event store implementation passes: the same suite runs against
// the in-memory store, the Postgres store and the KurrentDB store. A store with transactions across
// streams (eventstore.IsTransactional) also passes the tests of what only a transaction gives: several
// streams and guards in one append, and event ids unique across the whole log. A store without them
// must refuse such appends instead.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/mediciasafely/jobserver/eventstore"
)

type contractTest struct {
	name string
	test func(t *testing.T, s eventstore.Store)
}

// Run runs the contract against stores made by newStore; each call must return an empty store.
func Run(t *testing.T, newStore func(t *testing.T) eventstore.Store) {
	tests := []contractTest{
		{"AppendedEventsReadBackWithEverythingTheyCarry", appendedEventsReadBack},
		{"ExpectedVersionsAreEnforced", expectedVersionsAreEnforced},
		{"AnExpectedVersionOneAheadLeavesNoGap", expectedVersionOneAheadLeavesNoGap},
		{"ConcurrentWritersToOneStreamLoseNothingAndDuplicateNothing", concurrentWritersToOneStream},
		{"RepeatedAppendOfTheSameEventsIsANoOp", repeatedAppendIsANoOp},
		{"AStoredEventAppendedWithANewOneIsRefused", storedEventWithANewOneIsRefused},
		{"ConcurrentReservationsOfOneNameLetExactlyOneWin", concurrentReservations},
		{"ReadAllPagesThroughEveryEventInGlobalOrder", readAllPagesInGlobalOrder},
		{"SubscribeDeliversStoredThenNewEventsInOrder", subscribeDeliversInOrder},
		{"SecretsAreWrittenOnlyWithTheirEvents", secretsAreWrittenWithTheirEvents},
		{"InvalidAppendsAreRefused", invalidAppendsAreRefused},
		{"TheTailsOfSeveralStreamsReadInOneCall", tailsOfSeveralStreams},
	}
	if eventstore.IsTransactional(newStore(t)) {
		tests = append(tests,
			contractTest{"MultiStreamAppendIsAllOrNothing", multiStreamAppendIsAllOrNothing},
			contractTest{"AnExpectedVersionOneAheadInAMultiStreamAppendLeavesNoGap", expectedVersionOneAheadInSeveralStreams},
			contractTest{"ConcurrentReservationsInOneAppendWithTheirEntityLetExactlyOneWin", concurrentReservationsWithTheirEntity},
			contractTest{"AGuardRefusesAnAppendWhenItsStreamMoved", guardsRefuseWhenTheirStreamMoved},
			contractTest{"EventIDUsedInAnotherStreamIsRefused", eventIDUsedElsewhereIsRefused},
			contractTest{"RepeatingAnAppendAtTheVersionItReachedIsANoOp", repeatAtTheVersionReachedIsANoOp},
		)
	} else {
		tests = append(tests, contractTest{"SeveralStreamsOrGuardsInOneAppendAreRefused", severalStreamsAreRefused})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.test(t, newStore(t))
		})
	}
}

// Event makes a test event with a fresh id.
func Event(typ string, data string) eventstore.NewEvent {
	return eventstore.NewEvent{
		ID: ulid.Make(), Type: typ, SchemaVersion: 1, Data: []byte(data),
		Metadata: eventstore.Metadata{Actor: "user:test", CorrelationID: "req-1", CausationID: "cause-1"},
	}
}

func one(stream string, expected eventstore.ExpectedVersion, events ...eventstore.NewEvent) []eventstore.Append {
	return []eventstore.Append{{Stream: stream, Expected: expected, Events: events}}
}

func mustAppend(t *testing.T, s eventstore.Store, appends []eventstore.Append, secrets ...eventstore.SecretWrite) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(context.Background(), appends, secrets...)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return res
}

func appendedEventsReadBack(t *testing.T, s eventstore.Store) {
	ctx := context.Background()
	before := time.Now().Add(-time.Minute)
	first, second := Event("WorkspaceCreated", `{"name":"ws1"}`), Event("WorkspaceArchived", `{}`)
	second.SchemaVersion = 3
	res := mustAppend(t, s, one("workspace-1", eventstore.NoStream, first, second))
	if res.Versions["workspace-1"] != 2 {
		t.Errorf("version after append = %d, want 2", res.Versions["workspace-1"])
	}
	got, err := s.ReadStream(ctx, "workspace-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("read %d events, want 2", len(got))
	}
	e := got[0]
	if e.ID != first.ID || e.Stream != "workspace-1" || e.Version != 1 || e.Type != "WorkspaceCreated" || e.SchemaVersion != 1 {
		t.Errorf("first event read back as %+v", e)
	}
	if string(compactJSON(e.Data)) != `{"name":"ws1"}` {
		t.Errorf("data = %s", e.Data)
	}
	if e.Metadata != first.Metadata {
		t.Errorf("metadata = %+v, want %+v", e.Metadata, first.Metadata)
	}
	if e.RecordedAt.Before(before) || e.RecordedAt.After(time.Now().Add(time.Minute)) {
		t.Errorf("recorded at %v, not around now", e.RecordedAt)
	}
	if got[1].Version != 2 || got[1].SchemaVersion != 3 || !got[0].Position.Less(got[1].Position) {
		t.Errorf("second event %+v does not follow the first %+v", got[1], got[0])
	}
	if res.Last != got[1].Position {
		t.Errorf("append reported last position %v, stored %v", res.Last, got[1].Position)
	}
	if none, err := s.ReadStream(ctx, "workspace-missing"); err != nil || len(none) != 0 {
		t.Errorf("missing stream read as %v, %v; want no events", none, err)
	}
}

func expectedVersionsAreEnforced(t *testing.T, s eventstore.Store) {
	ctx := context.Background()
	mustAppend(t, s, one("s", eventstore.NoStream, Event("A", `{}`)))
	cases := []struct {
		name     string
		expected eventstore.ExpectedVersion
		ok       bool
	}{
		{"no stream on an existing stream", eventstore.NoStream, false},
		{"stale version", eventstore.Exactly(0), false},
		{"version ahead of the stream", eventstore.Exactly(5), false},
		{"current version", eventstore.Exactly(1), true},
		{"any version", eventstore.Any, true},
		{"the version before the last append", eventstore.Exactly(1), false},
		{"current version again", eventstore.Exactly(3), true},
	}
	for _, c := range cases {
		_, err := s.Append(ctx, one("s", c.expected, Event("B", `{}`)))
		if c.ok && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !c.ok {
			var ce *eventstore.ConcurrencyError
			if !errors.As(err, &ce) || !errors.Is(err, eventstore.ErrConcurrency) {
				t.Errorf("%s: err = %v, want a ConcurrencyError", c.name, err)
			} else if ce.Stream != "s" {
				t.Errorf("%s: error names stream %q", c.name, ce.Stream)
			}
		}
	}
	events, _ := s.ReadStream(ctx, "s")
	if len(events) != 4 {
		t.Errorf("stream has %d events, want 4", len(events))
	}
}

// expectedVersionOneAheadLeavesNoGap: an append expecting version N to a stream at N-1 would write N+1,
// which no other event holds, so only the expected-version check itself can refuse it (a store cannot lean
// on the unique stream version for this case). One event, several events, and a new stream.
func expectedVersionOneAheadLeavesNoGap(t *testing.T, s eventstore.Store) {
	ctx := context.Background()
	mustAppend(t, s, one("s", eventstore.NoStream, Event("A", `{}`)))
	mustAppend(t, s, one("t", eventstore.NoStream, Event("A", `{}`)))
	attempts := map[string][]eventstore.Append{
		"one event":        one("s", eventstore.Exactly(2), Event("B", `{}`)),
		"several events":   one("s", eventstore.Exactly(2), Event("B", `{}`), Event("C", `{}`)),
		"new stream ahead": one("u", eventstore.Exactly(1), Event("B", `{}`)),
	}
	for name, appends := range attempts {
		if _, err := s.Append(ctx, appends); !errors.Is(err, eventstore.ErrConcurrency) {
			t.Errorf("%s: err = %v, want a concurrency error", name, err)
		}
	}
	for stream, want := range map[string]int{"s": 1, "t": 1, "u": 0} {
		if events, _ := s.ReadStream(ctx, stream); len(events) != want {
			t.Errorf("stream %s has %d events, want %d", stream, len(events), want)
		}
	}
}

// expectedVersionOneAheadInSeveralStreams: the same, with the stream ahead second in a multi-stream append.
func expectedVersionOneAheadInSeveralStreams(t *testing.T, s eventstore.Store) {
	ctx := context.Background()
	mustAppend(t, s, one("s", eventstore.NoStream, Event("A", `{}`)))
	mustAppend(t, s, one("t", eventstore.NoStream, Event("A", `{}`)))
	_, err := s.Append(ctx, []eventstore.Append{
		{Stream: "t", Expected: eventstore.Exactly(1), Events: []eventstore.NewEvent{Event("B", `{}`)}},
		{Stream: "s", Expected: eventstore.Exactly(2), Events: []eventstore.NewEvent{Event("B", `{}`)}},
	})
	if !errors.Is(err, eventstore.ErrConcurrency) {
		t.Errorf("err = %v, want a concurrency error", err)
	}
	for _, stream := range []string{"s", "t"} {
		if events, _ := s.ReadStream(ctx, stream); len(events) != 1 {
			t.Errorf("stream %s has %d events, want 1", stream, len(events))
		}
	}
}

func concurrentWritersToOneStream(t *testing.T, s eventstore.Store) {
	ctx := context.Background()
	const writers, each = 16, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				for {
					events, err := s.ReadStream(ctx, "counter")
					if err != nil {
						errs <- err
						return
					}
					_, err = s.Append(ctx, one("counter", eventstore.Exactly(int64(len(events))),
						Event("Incremented", fmt.Sprintf(`{"writer":%d,"n":%d}`, w, i))))
					if err == nil {
						break
					}
					if !errors.Is(err, eventstore.ErrConcurrency) {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	events, err := s.ReadStream(ctx, "counter")
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != writers*each {
		t.Fatalf("stream has %d events, want %d", len(events), writers*each)
	}
	seen := map[string]bool{}
	for i, e := range events {
		if e.Version != int64(i+1) {
			t.Fatalf("event %d has version %d", i, e.Version)
		}
		key := string(compactJSON(e.Data))
		if seen[key] {
			t.Fatalf("event %s stored twice", key)
		}
		seen[key] = true
	}
}

// repeatedAppendIsANoOp: the same events appended again with the expected version of the first append, or
// with Any, are recognised (KurrentDB keys its idempotence on the expected version), even once the stream
// moved on.
func repeatedAppendIsANoOp(t *testing.T, s eventstore.Store) {
	repeatIsANoOp(t, s, eventstore.NoStream, eventstore.Any)
}

// repeatAtTheVersionReachedIsANoOp: a store that knows every event id recognises a repeat whatever version
// it expects, the version the first append reached included.
func repeatAtTheVersionReachedIsANoOp(t *testing.T, s eventstore.Store) {
	repeatIsANoOp(t, s, eventstore.Exactly(2))
}

func repeatIsANoOp(t *testing.T, s eventstore.Store, repeatedWith ...eventstore.ExpectedVersion) {
	ctx := context.Background()
	e1, e2 := Event("A", `{}`), Event("B", `{}`)
	first := mustAppend(t, s, one("s", eventstore.NoStream, e1, e2))
	for _, expected := range repeatedWith {
		again, err := s.Append(ctx, one("s", expected, e1, e2))
		if err != nil {
			t.Fatalf("repeating the append with expected %d: %v", expected, err)
		}
		if again.Last != first.Last || again.Versions["s"] != 2 {
			t.Errorf("repeat reported %+v, first append %+v", again, first)
		}
	}
	events, _ := s.ReadStream(ctx, "s")
	if len(events) != 2 {
		t.Errorf("stream has %d events after repeats, want 2", len(events))
	}
	mustAppend(t, s, one("s", eventstore.Exactly(2), Event("C", `{}`)))
	if again, err := s.Append(ctx, one("s", repeatedWith[0], e1, e2)); err != nil || again.Last != first.Last {
		t.Errorf("repeat after the stream moved on: %+v, %v; first append %+v", again, err, first)
	}
	if all := readAllSettled(t, s); len(all) != 3 {
		t.Errorf("log has %d events after repeats, want 3", len(all))
	}
}

func eventIDUsedElsewhereIsRefused(t *testing.T, s eventstore.Store) {
	ctx := context.Background()
	e := Event("A", `{}`)
	mustAppend(t, s, one("s1", eventstore.NoStream, e))
	if _, err := s.Append(ctx, one("s2", eventstore.NoStream, e)); !errors.Is(err, eventstore.ErrDuplicateEventID) {
		t.Errorf("reusing an event id in another stream: err = %v", err)
	}
}

func storedEventWithANewOneIsRefused(t *testing.T, s eventstore.Store) {
	ctx := context.Background()
	e := Event("A", `{}`)
	mustAppend(t, s, one("s1", eventstore.NoStream, e))
	if _, err := s.Append(ctx, one("s1", eventstore.Any, e, Event("B", `{}`))); !errors.Is(err, eventstore.ErrDuplicateEventID) {
		t.Errorf("appending a stored event with a new one: err = %v", err)
	}
	if events, _ := s.ReadStream(ctx, "s1"); len(events) != 1 {
		t.Errorf("stream has %d events, want 1", len(events))
	}
}

// severalStreamsAreRefused: a store without transactions across streams refuses what it cannot write
// atomically, rather than writing part of it.
func severalStreamsAreRefused(t *testing.T, s eventstore.Store) {
	ctx := context.Background()
	attempts := map[string][]eventstore.Append{
		"two streams": {
			{Stream: "org-1", Expected: eventstore.NoStream, Events: []eventstore.NewEvent{Event("OrgCreated", `{}`)}},
			{Stream: "slug-1", Expected: eventstore.NoStream, Events: []eventstore.NewEvent{Event("Reserved", `{}`)}},
		},
		"a guard": {
			{Stream: "org-1", Expected: eventstore.NoStream, Events: []eventstore.NewEvent{Event("OrgCreated", `{}`)}},
			{Stream: "user-1", Expected: eventstore.NoStream},
		},
	}
	for name, appends := range attempts {
		if _, err := s.Append(ctx, appends); !errors.Is(err, eventstore.ErrNotTransactional) {
			t.Errorf("%s: err = %v, want ErrNotTransactional", name, err)
		}
	}
	if all := readAllSettled(t, s); len(all) != 0 {
		t.Errorf("refused appends stored %d events", len(all))
	}
}

func multiStreamAppendIsAllOrNothing(t *testing.T, s eventstore.Store) {
	ctx := context.Background()
	mustAppend(t, s, one("taken", eventstore.NoStream, Event("Reserved", `{}`)))
	_, err := s.Append(ctx, []eventstore.Append{
		{Stream: "org-1", Expected: eventstore.NoStream, Events: []eventstore.NewEvent{Event("OrgCreated", `{}`)}},
		{Stream: "taken", Expected: eventstore.NoStream, Events: []eventstore.NewEvent{Event("Reserved", `{}`)}},
	})
	if !errors.Is(err, eventstore.ErrConcurrency) {
		t.Fatalf("err = %v, want a concurrency error", err)
	}
	if events, _ := s.ReadStream(ctx, "org-1"); len(events) != 0 {
		t.Errorf("org-1 got %d events from a failed multi-stream append", len(events))
	}
	res := mustAppend(t, s, []eventstore.Append{
		{Stream: "org-2", Expected: eventstore.NoStream, Events: []eventstore.NewEvent{Event("OrgCreated", `{}`)}},
		{Stream: "slug-2", Expected: eventstore.NoStream, Events: []eventstore.NewEvent{Event("Reserved", `{}`)}},
	})
	if res.Versions["org-2"] != 1 || res.Versions["slug-2"] != 1 {
		t.Errorf("versions = %v", res.Versions)
	}
}

// concurrentReservations: a reservation appended alone, as a store without transactions across streams
// takes it, is won by exactly one of many contenders.
func concurrentReservations(t *testing.T, s eventstore.Store) {
	reserveConcurrently(t, s, func(int) []eventstore.Append {
		return one("orgslug-research", eventstore.NoStream, Event("SlugReserved", `{}`))
	}, 1)
}

// concurrentReservationsWithTheirEntity: a reservation appended with the entity it is for.
func concurrentReservationsWithTheirEntity(t *testing.T, s eventstore.Store) {
	reserveConcurrently(t, s, func(i int) []eventstore.Append {
		return []eventstore.Append{
			{Stream: fmt.Sprintf("org-%d", i), Expected: eventstore.NoStream, Events: []eventstore.NewEvent{Event("OrgCreated", `{}`)}},
			{Stream: "orgslug-research", Expected: eventstore.NoStream, Events: []eventstore.NewEvent{Event("SlugReserved", `{}`)}},
		}
	}, 2)
}

// reserveConcurrently starts many contenders appending what reservation(i) gives at once, and checks that
// exactly one won and only its events (perWinner of them) are stored.
func reserveConcurrently(t *testing.T, s eventstore.Store, reservation func(i int) []eventstore.Append, perWinner int) {
	ctx := context.Background()
	const contenders = 16
	var wg sync.WaitGroup
	results := make(chan error, contenders)
	start := make(chan struct{})
	for i := range contenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := s.Append(ctx, reservation(i))
			results <- err
		}()
	}
	close(start)
	wg.Wait()
	close(results)
	wins := 0
	for err := range results {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, eventstore.ErrConcurrency):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d creations of one slug succeeded, want exactly 1", wins)
	}
	if all := readAllSettled(t, s); len(all) != perWinner {
		t.Errorf("log holds %d events, want the %d of the winner", len(all), perWinner)
	}
}

func readAllPagesInGlobalOrder(t *testing.T, s eventstore.Store) {
	ctx := context.Background()
	var appended []ulid.ULID
	for i := range 25 {
		e := Event("E", fmt.Sprintf(`{"i":%d}`, i))
		mustAppend(t, s, one(fmt.Sprintf("s-%d", i%4), eventstore.Any, e))
		appended = append(appended, e.ID)
	}
	settle(t, s)
	var read []eventstore.Event
	var after eventstore.Position
	for {
		page, err := s.ReadAll(ctx, after, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			if e.Type != markerType {
				read = append(read, e)
			}
		}
		after = page[len(page)-1].Position
	}
	if len(read) != len(appended) {
		t.Fatalf("read %d events, want %d", len(read), len(appended))
	}
	for i, e := range read {
		if e.ID != appended[i] {
			t.Fatalf("event %d is %s, want %s", i, e.ID, appended[i])
		}
		if i > 0 && !read[i-1].Position.Less(e.Position) {
			t.Fatalf("positions not increasing at %d: %v then %v", i, read[i-1].Position, e.Position)
		}
	}
}

func subscribeDeliversInOrder(t *testing.T, s eventstore.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var want []ulid.ULID
	for range 3 {
		e := Event("E", `{}`)
		mustAppend(t, s, one("s", eventstore.Any, e))
		want = append(want, e.ID)
	}
	got := make(chan ulid.ULID, 10)
	done := make(chan error, 1)
	go func() {
		done <- s.Subscribe(ctx, eventstore.Position{}, func(e eventstore.Event) error {
			got <- e.ID
			return nil
		})
	}()
	for range 3 {
		e := Event("E", `{}`)
		mustAppend(t, s, one("s", eventstore.Any, e))
		want = append(want, e.ID)
	}
	for i, id := range want {
		select {
		case g := <-got:
			if g != id {
				t.Fatalf("event %d delivered %s, want %s", i, g, id)
			}
		case <-ctx.Done():
			t.Fatalf("only %d of %d events delivered", i, len(want))
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("subscribe ended with %v, want context.Canceled", err)
	}
}

func secretsAreWrittenWithTheirEvents(t *testing.T, s eventstore.Store) {
	ctx := context.Background()
	mustAppend(t, s, one("backend-1", eventstore.NoStream, Event("BackendCreated", `{}`)),
		eventstore.SecretWrite{Key: "token/abc", Value: []byte("backend-1")})
	if v, ok, err := s.Secret(ctx, "token/abc"); err != nil || !ok || string(v) != "backend-1" {
		t.Fatalf("secret = %q, %v, %v", v, ok, err)
	}
	_, err := s.Append(ctx, one("backend-1", eventstore.NoStream, Event("RunnerTokenRotated", `{}`)),
		eventstore.SecretWrite{Key: "token/def", Value: []byte("backend-1")}, eventstore.SecretWrite{Key: "token/abc", Delete: true})
	if !errors.Is(err, eventstore.ErrConcurrency) {
		t.Fatalf("err = %v, want a concurrency error", err)
	}
	if _, ok, _ := s.Secret(ctx, "token/def"); ok {
		t.Error("a secret was written although its events were refused")
	}
	if _, ok, _ := s.Secret(ctx, "token/abc"); !ok {
		t.Error("a secret was deleted although its events were refused")
	}
	mustAppend(t, s, one("backend-1", eventstore.Exactly(1), Event("RunnerTokenRotated", `{}`)),
		eventstore.SecretWrite{Key: "token/def", Value: []byte("backend-1")}, eventstore.SecretWrite{Key: "token/abc", Delete: true})
	if _, ok, _ := s.Secret(ctx, "token/abc"); ok {
		t.Error("the replaced secret is still there")
	}
	if v, ok, _ := s.Secret(ctx, "token/def"); !ok || string(v) != "backend-1" {
		t.Error("the new secret is missing")
	}
}

func invalidAppendsAreRefused(t *testing.T, s eventstore.Store) {
	ctx := context.Background()
	noID := Event("A", `{}`)
	noID.ID = ulid.ULID{}
	cases := map[string][]eventstore.Append{
		"nothing":           nil,
		"empty stream name": one("", eventstore.Any, Event("A", `{}`)),
		"no events":         one("s", eventstore.Any),
		"only a guard":      one("s", eventstore.NoStream),
		"event without id":  one("s", eventstore.Any, noID),
		"stream twice": {
			{Stream: "s", Expected: eventstore.Any, Events: []eventstore.NewEvent{Event("A", `{}`)}},
			{Stream: "s", Expected: eventstore.Any, Events: []eventstore.NewEvent{Event("A", `{}`)}},
		},
	}
	for name, appends := range cases {
		if _, err := s.Append(ctx, appends); err == nil {
			t.Errorf("%s: append succeeded", name)
		}
	}
	if all := readAllSettled(t, s); len(all) != 0 {
		t.Errorf("invalid appends stored %d events", len(all))
	}
}

// guardsRefuseWhenTheirStreamMoved: an Append without events guards its stream: the whole append fails
// unless that stream is at exactly the expected version, a stream that does not exist included.
func guardsRefuseWhenTheirStreamMoved(t *testing.T, s eventstore.Store) {
	ctx := context.Background()
	mustAppend(t, s, one("project-1", eventstore.NoStream, Event("ProjectCreated", `{}`), Event("MemberAdded", `{}`)))
	guarded := func(version eventstore.ExpectedVersion) []eventstore.Append {
		return []eventstore.Append{
			{Stream: "workspace-1", Expected: eventstore.Any, Events: []eventstore.NewEvent{Event("WorkspaceArchived", `{}`)}},
			{Stream: "project-1", Expected: version},
			{Stream: "never-written", Expected: eventstore.NoStream},
		}
	}
	for _, stale := range []eventstore.ExpectedVersion{1, 3, eventstore.NoStream} {
		_, err := s.Append(ctx, guarded(stale))
		var ce *eventstore.ConcurrencyError
		if !errors.As(err, &ce) || ce.Stream != "project-1" {
			t.Fatalf("guard at %d on a stream at 2: err = %v, want a concurrency error on project-1", stale, err)
		}
	}
	if events, _ := s.ReadStream(ctx, "workspace-1"); len(events) != 0 {
		t.Fatalf("a refused guarded append stored %d events", len(events))
	}
	res := mustAppend(t, s, guarded(2))
	if res.Versions["workspace-1"] != 1 {
		t.Fatalf("versions = %v", res.Versions)
	}
	if events, _ := s.ReadStream(ctx, "project-1"); len(events) != 2 {
		t.Fatalf("a guard wrote to its stream: %d events", len(events))
	}
}

// tailsOfSeveralStreams: ReadStreamsAfter gives each stream's events above the version named, in order,
// and leaves out streams with nothing newer and streams that do not exist.
func tailsOfSeveralStreams(t *testing.T, s eventstore.Store) {
	ctx := context.Background()
	mustAppend(t, s, one("tail-a", eventstore.NoStream, Event("A1", `{}`), Event("A2", `{}`), Event("A3", `{}`)))
	mustAppend(t, s, one("tail-b", eventstore.NoStream, Event("B1", `{}`)))
	got, err := eventstore.ReadStreamsAfter(ctx, s, map[string]int64{"tail-a": 1, "tail-b": 1, "tail-none": 0})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got["tail-a"]) != 2 || got["tail-a"][0].Type != "A2" || got["tail-a"][1].Type != "A3" {
		t.Fatalf("tails = %v", got)
	}
}

const markerType = "StoreTestMarker"

// settle appends a marker and waits until a global read sees it. A store may show an event to global
// readers only once every older transaction has ended (on Postgres, in any database of the server), so
// tests read the global log only after settling.
func settle(t *testing.T, s eventstore.Store) {
	t.Helper()
	marker := Event(markerType, `{}`)
	mustAppend(t, s, one("storetest-marker-"+marker.ID.String(), eventstore.NoStream, marker))
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		all := readAll(t, s)
		for _, e := range all {
			if e.ID == marker.ID {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("an appended event did not become visible to global readers within 10s")
}

// readAllSettled returns every event of the log but the markers, once all earlier appends are visible.
func readAllSettled(t *testing.T, s eventstore.Store) []eventstore.Event {
	t.Helper()
	settle(t, s)
	var out []eventstore.Event
	for _, e := range readAll(t, s) {
		if e.Type != markerType {
			out = append(out, e)
		}
	}
	return out
}

func readAll(t *testing.T, s eventstore.Store) []eventstore.Event {
	t.Helper()
	var out []eventstore.Event
	var after eventstore.Position
	for {
		page, err := s.ReadAll(context.Background(), after, 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1].Position
	}
}

// compactJSON drops the spaces a JSON store may add, so stored data compares with what was appended.
func compactJSON(b []byte) []byte {
	out := make([]byte, 0, len(b))
	inString := false
	for i, c := range b {
		if c == '"' && (i == 0 || b[i-1] != '\\') {
			inString = !inString
		}
		if !inString && (c == ' ' || c == '\n' || c == '\t') {
			continue
		}
		out = append(out, c)
	}
	return out
}
