// Package commands holds one handler per use case: load the aggregate's stream, check permission, call the
// domain, append with the expected version.
package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// Folder is an aggregate that is rebuilt by folding its events in order.
type Folder interface {
	Apply(domain.Event)
}

// Write is the events a command appends to one stream, guarded by the version it read.
type Write struct {
	Stream   string
	Expected eventstore.ExpectedVersion
	Events   []domain.Event
}

// EventLog loads aggregates from and appends domain events to the event store.
type EventLog struct {
	store    eventstore.Store
	registry *domain.Registry
	now      func() time.Time
}

// NewEventLog wires the store and the event registry; now is the clock (time.Now outside tests).
func NewEventLog(store eventstore.Store, registry *domain.Registry, now func() time.Time) *EventLog {
	return &EventLog{store: store, registry: registry, now: now}
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
	for _, stored := range events {
		e, err := l.registry.Decode(stored.Type, stored.SchemaVersion, stored.Data)
		if err != nil {
			return 0, fmt.Errorf("load %s: %w", stream, err)
		}
		agg.Apply(e)
	}
	return int64(len(events)), nil
}

// Append encodes the events of every write, stamps them with ids and metadata, and appends them (with any
// secrets) in one transaction.
func (l *EventLog) Append(ctx context.Context, actor Actor, writes []Write, secrets ...eventstore.SecretWrite) (eventstore.AppendResult, error) {
	meta := eventstore.Metadata{Actor: actor.String(), CorrelationID: CorrelationID(ctx), CausationID: CausationID(ctx)}
	appends := make([]eventstore.Append, 0, len(writes))
	for _, w := range writes {
		if len(w.Events) == 0 {
			continue
		}
		a := eventstore.Append{Stream: w.Stream, Expected: w.Expected}
		for _, e := range w.Events {
			name, version, data, err := l.registry.Encode(e)
			if err != nil {
				return eventstore.AppendResult{}, err
			}
			a.Events = append(a.Events, eventstore.NewEvent{
				ID: domain.NewULID(l.now()), Type: name, SchemaVersion: version, Data: data, Metadata: meta,
			})
		}
		appends = append(appends, a)
	}
	if len(appends) == 0 {
		return eventstore.AppendResult{}, ErrNothingChanged
	}
	return l.store.Append(ctx, appends, secrets...)
}

// decide is the body of most commands: load the aggregate of stream, let decide choose the events the
// command causes, and append them with the version that was read; a lost race starts again from fresh
// state. When decide chooses no events (the state already is what was asked), nothing is appended and the
// result is zero.
func decide[A any, P interface {
	*A
	Folder
}](ctx context.Context, log *EventLog, actor Actor, stream string, decide func(P) ([]domain.Event, error)) (eventstore.AppendResult, error) {
	return Retry(ctx, func() (eventstore.AppendResult, error) {
		agg := P(new(A))
		version, err := log.Load(ctx, stream, agg)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		events, err := decide(agg)
		if err != nil || len(events) == 0 {
			return eventstore.AppendResult{}, err
		}
		return log.Append(ctx, actor, []Write{{Stream: stream, Expected: eventstore.Exactly(version), Events: events}})
	})
}

// ErrNothingChanged is returned when a command decided no events: the state already was what was asked.
var ErrNothingChanged = errors.New("nothing changed")

// Retry runs a load-decide-append attempt again, from fresh state, when another writer won the race for a
// stream. After a few lost races it gives up with a conflict the user can read.
func Retry(ctx context.Context, attempt func() (eventstore.AppendResult, error)) (eventstore.AppendResult, error) {
	const attempts = 5
	for i := 0; ; i++ {
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
