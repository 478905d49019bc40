// Package commands is the command kit every slice builds its use cases with: the event log (load, decide,
// append with the expected version, retry from fresh state), the actor and their permissions read with the
// state a decision is made on, the reservation of unique names, and the decorators that log and measure
// every command. The use cases themselves live in a package per slice (commands/identity, …).
package commands

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// Folder is an aggregate that is rebuilt by folding its events in order.
type Folder interface {
	Apply(domain.Event)
}

// Aggregate is a pointer to an aggregate type A that folds events, the shape Decide loads.
type Aggregate[A any] interface {
	*A
	Folder
}

// Cloner is an aggregate whose folded state can be copied. The event log keeps such states and, on the
// next load of the stream, folds only the events that came after: a stream that grows without bound is not
// folded from its first event on every command.
type Cloner[P any] interface {
	Clone() P
}

// Write is the events a command appends to one stream, guarded by the version it read.
type Write struct {
	Stream   string
	Expected eventstore.ExpectedVersion
	Events   []domain.Event
	// reservedFor is the owner a write made by Reserve reserves its name for ("" for other writes): on a
	// store without transactions across streams it is appended first, alone.
	reservedFor string
}

// Result tells what a command changed.
type Result struct {
	// Position is where the command's last event landed; zero when nothing changed. A page waits for the
	// read models it shows to reach it.
	Position eventstore.Position
	// Events is how many events the command appended.
	Events int
}

// Changed reports whether the command appended anything; a command asking for the state that already
// holds changes nothing.
func (r Result) Changed() bool { return r.Events > 0 }

// CommandResult returns r; a command's own result type embeds Result and so reports it to the decorators.
func (r Result) CommandResult() Result { return r }

// cachedStates is how many folded aggregate states the event log keeps.
const cachedStates = 4096

type cachedState struct {
	version int64
	state   any
}

// EventLog loads aggregates from and appends domain events to the event store.
type EventLog struct {
	store    eventstore.Store
	registry *domain.Registry
	now      func() time.Time
	states   *lru.Cache[string, cachedState]
}

// NewEventLog wires the store and the event registry; now is the clock (time.Now outside tests). A
// registry without PersonalKeys seals personal data with this process's own keys (eventstore.Process: for
// tests and tools that read no earlier process's log; the server passes its keys table).
func NewEventLog(store eventstore.Store, registry *domain.Registry, now func() time.Time) *EventLog {
	states, _ := lru.New[string, cachedState](cachedStates) // only a size below one fails
	return &EventLog{store: store, registry: registry.OrWithKeys(eventstore.Process()), now: now, states: states}
}

// Now is the log's clock.
func (l *EventLog) Now() time.Time { return l.now() }

// Store is the underlying event store, for reading secrets.
func (l *EventLog) Store() eventstore.Store { return l.store }

// Load folds every event of stream into agg and returns the stream's version (0 when it has no events).
func (l *EventLog) Load(ctx context.Context, stream string, agg Folder) (int64, error) {
	events, err := l.store.ReadStream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("load %s: %w", stream, err)
	}
	version, err := l.fold(stream, events, agg, 0)
	if err == nil {
		readsOf(ctx).record(stream, version)
	}
	return version, err
}

// fold applies events to agg and returns the version of the last one (version when there are none).
func (l *EventLog) fold(stream string, events []eventstore.Event, agg Folder, version int64) (int64, error) {
	for _, stored := range events {
		e, err := l.registry.Decode(stored.Type, stored.SchemaVersion, stored.Data)
		if err != nil {
			return 0, fmt.Errorf("load %s: %w", stream, err)
		}
		agg.Apply(e)
		version = stored.Version
	}
	return version, nil
}

// LoadAggregate loads the aggregate of stream and its version. An aggregate that can be cloned starts from
// the state this log last loaded or wrote for the stream and folds only the newer events; the store, not
// the cache, is the authority on what those are, so several servers on one log stay correct.
func LoadAggregate[A any, P Aggregate[A]](ctx context.Context, l *EventLog, stream string) (P, int64, error) {
	agg := P(new(A))
	if _, cloneable := any(agg).(Cloner[P]); !cloneable {
		version, err := l.Load(ctx, stream, agg)
		return agg, version, err
	}
	agg, version := kept[A, P](l, stream)
	events, err := eventstore.ReadStreamAfter(ctx, l.store, stream, version)
	if err != nil {
		return nil, 0, fmt.Errorf("load %s: %w", stream, err)
	}
	return keep[A, P](ctx, l, stream, agg, version, events)
}

// LoadAggregates is LoadAggregate for several streams of one cloneable aggregate type, reading what is new
// in all of them in one call to the store.
func LoadAggregates[A any, P interface {
	Aggregate[A]
	Cloner[P]
}](ctx context.Context, l *EventLog, streams []string) (map[string]P, map[string]int64, error) {
	aggs, versions := make(map[string]P, len(streams)), make(map[string]int64, len(streams))
	for _, stream := range streams {
		aggs[stream], versions[stream] = kept[A, P](l, stream)
	}
	tails, err := eventstore.ReadStreamsAfter(ctx, l.store, versions)
	if err != nil {
		return nil, nil, fmt.Errorf("load %d streams: %w", len(streams), err)
	}
	for _, stream := range streams {
		if aggs[stream], versions[stream], err = keep[A, P](ctx, l, stream, aggs[stream], versions[stream], tails[stream]); err != nil {
			return nil, nil, err
		}
	}
	return aggs, versions, nil
}

// kept is a copy of the state the log keeps for stream, and its version; a new aggregate at 0 when none.
func kept[A any, P Aggregate[A]](l *EventLog, stream string) (P, int64) {
	if c, ok := l.states.Get(stream); ok {
		if held, ok := c.state.(P); ok {
			return any(held).(Cloner[P]).Clone(), c.version
		}
	}
	return P(new(A)), 0
}

// keep folds events into agg (a cloneable aggregate at version), keeps a copy of the result and records
// the read.
func keep[A any, P Aggregate[A]](ctx context.Context, l *EventLog, stream string, agg P, version int64, events []eventstore.Event) (P, int64, error) {
	version, err := l.fold(stream, events, agg, version)
	if err != nil {
		return nil, 0, err
	}
	l.states.Add(stream, cachedState{version: version, state: any(agg).(Cloner[P]).Clone()})
	readsOf(ctx).record(stream, version)
	return agg, version, nil
}

// Append encodes the events of every write, stamps them with ids and metadata, and appends them (with any
// secrets) in one transaction, guarded by the streams the command read and does not write. Writes without
// events are left out; with no events at all nothing is appended and the result is zero. On a store
// without transactions across streams the writes are appended one stream at a time (appendStreamByStream).
func (l *EventLog) Append(ctx context.Context, actor Actor, writes []Write, secrets ...eventstore.SecretWrite) (Result, error) {
	appends, reservedFor, count, err := l.encode(ctx, actor, writes)
	if err != nil || len(appends) == 0 {
		return Result{}, err
	}
	guards := readsOf(ctx).guards(appends)
	var res eventstore.AppendResult
	if eventstore.IsTransactional(l.store) {
		res, err = l.store.Append(ctx, append(appends, guards...), secrets...)
	} else {
		res, err = l.appendStreamByStream(ctx, appends, reservedFor, guards, secrets)
	}
	if err != nil {
		return Result{}, err
	}
	return Result{Position: res.Last, Events: count}, nil
}

// encode turns writes into appends of stored events; reservedFor holds, by stream, the owner of each
// reservation among them.
func (l *EventLog) encode(ctx context.Context, actor Actor, writes []Write) (appends []eventstore.Append, reservedFor map[string]string, count int, err error) {
	meta := eventstore.Metadata{Actor: actor.String(), CorrelationID: CorrelationID(ctx), CausationID: CausationID(ctx)}
	reservedFor = map[string]string{}
	for _, w := range writes {
		if len(w.Events) == 0 {
			continue
		}
		a := eventstore.Append{Stream: w.Stream, Expected: w.Expected}
		for _, e := range w.Events {
			name, version, data, err := l.registry.Encode(e)
			if err != nil {
				return nil, nil, 0, err
			}
			a.Events = append(a.Events, eventstore.NewEvent{
				ID: domain.NewULID(l.now()), Type: name, SchemaVersion: version, Data: data, Metadata: meta,
			})
		}
		if w.reservedFor != "" {
			reservedFor[w.Stream] = w.reservedFor
		}
		count += len(a.Events)
		appends = append(appends, a)
	}
	return appends, reservedFor, count, nil
}

// appendStreamByStream is Append on a store without transactions across streams (KurrentDB). What one
// transaction gives on Postgres is replaced as follows:
//   - Guards (streams read, not written) and the expected versions of the writes are checked just before
//     the first write. This is a weaker guarantee than a guard: a change to a guarded stream committed
//     between that check and the writes is not seen, so the decision may rest on a state that changed a
//     few milliseconds before it was written. Each write still holds its own expected version.
//   - Reservations are appended first, each alone: a name is won or lost before anything is written for
//     the aggregate it is for. The other writes follow in the command's order, the secrets with the first
//     of them (written before its events, see eventstore.WriteSecretsFirst).
//   - A failure after some writes (a lost race on a later stream, a crash) leaves those writes: a
//     reservation its owner does not hold is released when next met (see domain.ReservationAbandoned and
//     Reserve); a later attempt of the same command takes back its own at once.
func (l *EventLog) appendStreamByStream(ctx context.Context, appends []eventstore.Append, reservedFor map[string]string,
	guards []eventstore.Append, secrets []eventstore.SecretWrite) (eventstore.AppendResult, error) {
	if err := l.checkVersions(ctx, append(guards, appends...)); err != nil {
		return eventstore.AppendResult{}, err
	}
	ordered := slices.Clone(appends)
	slices.SortStableFunc(ordered, func(a, b eventstore.Append) int {
		_, ra := reservedFor[a.Stream]
		_, rb := reservedFor[b.Stream]
		switch {
		case ra && !rb:
			return -1
		case rb && !ra:
			return 1
		}
		return 0
	})
	res := eventstore.AppendResult{Versions: map[string]int64{}}
	for i, a := range ordered {
		var with []eventstore.SecretWrite
		if _, reservation := reservedFor[a.Stream]; !reservation || i == len(ordered)-1 {
			with, secrets = secrets, nil
		}
		one, err := l.store.Append(ctx, []eventstore.Append{a}, with...)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		if owner, ok := reservedFor[a.Stream]; ok {
			readsOf(ctx).noteReserved(a.Stream, owner)
		}
		if res.Last.Less(one.Last) {
			res.Last = one.Last
		}
		maps.Copy(res.Versions, one.Versions)
	}
	return res, nil
}

// checkVersions fails with a *ConcurrencyError unless every stream of appends with an exact expected
// version is at that version now.
func (l *EventLog) checkVersions(ctx context.Context, appends []eventstore.Append) error {
	for _, a := range appends {
		if a.Expected == eventstore.Any {
			continue
		}
		// The stream's events from the expected version on: exactly one (the event at that version) when
		// it is there, none when it expects no stream.
		from := max(int64(a.Expected)-1, 0)
		tail, err := eventstore.ReadStreamAfter(ctx, l.store, a.Stream, from)
		if err != nil {
			return err
		}
		if actual := from + int64(len(tail)); actual != int64(a.Expected) {
			return &eventstore.ConcurrencyError{Stream: a.Stream, Expected: a.Expected, Actual: actual}
		}
	}
	return nil
}

// Decide is the body of most commands: load the aggregate of stream, read what the actor may do on that
// same state, let decide choose the events, and append them with the version that was read. A lost race
// starts again from fresh state, permission included. When decide chooses no events (the state already is
// what was asked), nothing is appended and the result is zero.
func Decide[A any, P Aggregate[A]](ctx context.Context, log *EventLog, actor Actor, stream string, decide func(P, domain.Actor) ([]domain.Event, error)) (Result, error) {
	return Retry(ctx, func() (Result, error) {
		agg, version, err := LoadAggregate[A, P](ctx, log, stream)
		if err != nil {
			return Result{}, err
		}
		by, err := actor.On(ctx, log, agg)
		if err != nil {
			return Result{}, err
		}
		events, err := decide(agg, by)
		if err != nil {
			return Result{}, err
		}
		return log.Append(ctx, actor, []Write{{Stream: stream, Expected: eventstore.Exactly(version), Events: events}})
	})
}

// InProject is an aggregate that belongs to a project (a workspace, a job request): the project's
// memberships govern what an actor may do to it.
type InProject interface {
	ProjectID() string
}

// DecideInProject is Decide for an aggregate of a project: the actor's permissions are read from the
// project it belongs to, loaded in the same attempt as the aggregate.
func DecideInProject[A any, P interface {
	Aggregate[A]
	InProject
}](ctx context.Context, log *EventLog, actor Actor, stream string, decide func(P, domain.Actor) ([]domain.Event, error)) (Result, error) {
	return Retry(ctx, func() (Result, error) {
		agg, version, err := LoadAggregate[A, P](ctx, log, stream)
		if err != nil {
			return Result{}, err
		}
		by, err := actor.OnProject(ctx, log, agg.ProjectID())
		if err != nil {
			return Result{}, err
		}
		events, err := decide(agg, by)
		if err != nil {
			return Result{}, err
		}
		return log.Append(ctx, actor, []Write{{Stream: stream, Expected: eventstore.Exactly(version), Events: events}})
	})
}

// Reserve loads the reservation of a unique name or slug (its own stream) and lets decide choose what to
// append there; the write is guarded by the version read, so two commands reserving one name cannot both
// succeed. A name held by an owner that does not hold it (a dangling reservation, left by a command that
// failed between its writes on a store without transactions across streams) is released, as
// domain.ReservationAbandoned describes, when decide refuses it as taken; decide then decides again on
// the name as free.
func (l *EventLog) Reserve(ctx context.Context, stream string, decide func(*domain.Reservation) ([]domain.Event, error)) (Write, error) {
	stored, err := l.store.ReadStream(ctx, stream)
	if err != nil {
		return Write{}, fmt.Errorf("load %s: %w", stream, err)
	}
	var claim domain.ReservationClaim
	version, err := l.fold(stream, stored, &claim, 0)
	if err != nil {
		return Write{}, err
	}
	readsOf(ctx).record(stream, version)
	events, err := decide(&claim.Reservation)
	var released []domain.Event
	if isConflict(err) && claim.Held() {
		free, releaseErr := l.releaseIfDangling(ctx, stream, &claim, stored[len(stored)-1].RecordedAt)
		if releaseErr != nil {
			return Write{}, releaseErr
		}
		if free {
			released = []domain.Event{claim.Abandon(stream)}
			events, err = decide(&domain.Reservation{})
		}
	}
	if err != nil || len(events) == 0 {
		return Write{}, err
	}
	var after domain.Reservation
	for _, e := range events {
		after.Apply(e)
	}
	return Write{Stream: stream, Expected: eventstore.Exactly(version), Events: append(released, events...), reservedFor: after.Owner()}, nil
}

func isConflict(err error) bool {
	var de *domain.Error
	return errors.As(err, &de) && de.Kind == domain.KindConflict
}

// releaseIfDangling decides whether the reservation of stream, made at madeAt, may be taken from its
// owner: the owner does not hold the name, and the reservation is older than the grace or was made by an
// earlier attempt of this command. It then fences the owner's stream with ReservationAbandoned at the
// version read there; a lost race for that stream is a concurrency error, which sends the command round
// again.
func (l *EventLog) releaseIfDangling(ctx context.Context, stream string, claim *domain.ReservationClaim, madeAt time.Time) (bool, error) {
	ownerStream := claim.OwnerStream()
	if ownerStream == "" {
		return false, nil
	}
	stored, err := l.store.ReadStream(ctx, ownerStream)
	if err != nil {
		return false, fmt.Errorf("load %s: %w", ownerStream, err)
	}
	owner := make([]domain.Event, len(stored))
	for i, e := range stored {
		if owner[i], err = l.registry.Decode(e.Type, e.SchemaVersion, e.Data); err != nil {
			return false, fmt.Errorf("load %s: %w", ownerStream, err)
		}
	}
	if claim.HeldByOwner(owner) {
		return false, nil
	}
	ours := readsOf(ctx).reservedEarlier(stream, claim.Owner())
	if !ours && l.now().Sub(madeAt) < domain.DanglingReservationGrace {
		return false, nil
	}
	fence, _, _, err := l.encode(ctx, readsOf(ctx).actingFor(), []Write{{Stream: ownerStream,
		Expected: eventstore.Exactly(int64(len(stored))), Events: []domain.Event{claim.Abandon(stream)}}})
	if err != nil {
		return false, err
	}
	if _, err := l.store.Append(ctx, fence); err != nil {
		return false, err
	}
	return true, nil
}

// Retry runs a load-decide-append attempt again, from fresh state, when another writer won the race for a
// stream. After a few lost races it gives up with a conflict the user can read.
func Retry[R any](ctx context.Context, attempt func() (R, error)) (R, error) {
	const attempts = 5
	for i := 0; ; i++ {
		readsOf(ctx).reset()
		res, err := attempt()
		if !errors.Is(err, eventstore.ErrConcurrency) {
			return res, err
		}
		if i == attempts-1 {
			return res, domain.Conflict("", "Someone else changed this at the same time; please try again.")
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(time.Duration(i+1) * 5 * time.Millisecond):
		}
	}
}
