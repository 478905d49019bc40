// Package eventstore is the append-only log that every state change is written to.
package eventstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"
)

// Position is an event's place in the global order, compared as the pair (TxID, Seq). On Postgres, TxID is
// the id of the transaction that wrote the event and Seq its row's sequence, and a reader only sees
// transactions older than every one still running, so a reader never passes over an event whose
// transaction commits late. On KurrentDB, TxID is the event's commit position in the log and Seq its
// prepare position: $all is ordered by that pair too. Either way a projector's checkpoint stores the two
// numbers as they are.
type Position struct {
	TxID uint64
	Seq  int64
}

// Less reports whether p comes before q in the global order.
func (p Position) Less(q Position) bool {
	if p.TxID != q.TxID {
		return p.TxID < q.TxID
	}
	return p.Seq < q.Seq
}

// IsZero reports whether p is the position before the first event.
func (p Position) IsZero() bool { return p == Position{} }

func (p Position) String() string { return fmt.Sprintf("%d/%d", p.TxID, p.Seq) }

// ExpectedVersion is the stream version an append requires: Any, NoStream, or an exact version (1, 2, ...).
type ExpectedVersion int64

const (
	// Any appends whatever the stream's version is.
	Any ExpectedVersion = -1
	// NoStream requires that the stream has no events yet.
	NoStream ExpectedVersion = 0
)

// Exactly requires the stream's last event to have version v.
func Exactly(v int64) ExpectedVersion { return ExpectedVersion(v) }

// Metadata travels with every event.
type Metadata struct {
	Actor         string `json:"actor,omitempty"`
	CorrelationID string `json:"correlation_id,omitempty"`
	CausationID   string `json:"causation_id,omitempty"`
}

// NewEvent is an event to append. The caller sets ID, so a retried append is recognised as the same event.
type NewEvent struct {
	ID            ulid.ULID
	Type          string
	SchemaVersion int
	Data          []byte
	Metadata      Metadata
}

// Append is a batch of events for one stream, guarded by the version the stream must have. An Append
// without events is a guard: the append fails with a *ConcurrencyError unless the stream is still at
// exactly Expected when it commits. A decision made on a stream it does not write (the project whose
// membership gave a permission, the actor's own roles) guards that stream, so a change to it committed
// in the meantime sends the decision round again.
type Append struct {
	Stream   string
	Expected ExpectedVersion
	Events   []NewEvent
}

// SecretWrite stores (or, with Delete, removes) a value that must never enter an event, such as a token hash
// or an encrypted access token. It is written in the same transaction as the events it accompanies.
type SecretWrite struct {
	Key    string
	Value  []byte
	Delete bool
}

// Event is a stored event.
type Event struct {
	ID            ulid.ULID
	Stream        string
	Version       int64
	Position      Position
	Type          string
	SchemaVersion int
	Data          []byte
	Metadata      Metadata
	RecordedAt    time.Time
}

// AppendResult tells where the appended events landed.
type AppendResult struct {
	// Last is the position of the last event of the append (of the original append, for a repeated one).
	Last Position
	// Versions holds each stream's version after the append.
	Versions map[string]int64
}

// Store is the event log.
type Store interface {
	// Append writes the events of every Append and the secrets in one transaction: all of it or none.
	// A stale expected version fails with a *ConcurrencyError. Appending events whose ids are already
	// stored in the same streams, with the expected version of the original append or Any, is a no-op
	// that reports the original result. A store without transactions across streams (see Transactional)
	// takes one Append with events and no guards, and refuses more with ErrNotTransactional.
	Append(ctx context.Context, appends []Append, secrets ...SecretWrite) (AppendResult, error)
	// ReadStream returns a stream's events in version order; a stream that does not exist has none.
	ReadStream(ctx context.Context, stream string) ([]Event, error)
	// ReadAll returns up to limit events after the given position, in global order.
	ReadAll(ctx context.Context, after Position, limit int) ([]Event, error)
	// Subscribe calls handle for every event after the given position, in global order, first those already
	// stored and then new ones as they are appended, until ctx ends or handle returns an error.
	Subscribe(ctx context.Context, after Position, handle func(Event) error) error
	// Secret reads a value stored by SecretWrite; ok is false when there is none.
	Secret(ctx context.Context, key string) (value []byte, ok bool, err error)
}

// Transactional is a store that may say it has no transaction across streams (KurrentDB). A store that
// does not implement it writes several streams in one transaction.
type Transactional interface {
	// Transactional reports whether one Append call may write several streams and guards atomically.
	Transactional() bool
}

// IsTransactional reports whether s writes several streams, guards and secrets in one transaction.
func IsTransactional(s Store) bool {
	t, ok := s.(Transactional)
	return !ok || t.Transactional()
}

// ErrNotTransactional refuses an append of several streams, or with guards, to a store that cannot write
// them atomically: the caller appends stream by stream (commands.EventLog does).
var ErrNotTransactional = errors.New("append: this store writes one stream at a time, without guards")

// CheckOneStream refuses, with ErrNotTransactional, an append that a store without transactions across
// streams cannot honour.
func CheckOneStream(appends []Append) error {
	if len(appends) != 1 {
		return ErrNotTransactional
	}
	return nil
}

// ConcurrencyError reports that a stream was not at the version an append expected.
type ConcurrencyError struct {
	Stream   string
	Expected ExpectedVersion
	Actual   int64
}

func (e *ConcurrencyError) Error() string {
	return fmt.Sprintf("stream %s: expected version %d, found %d", e.Stream, e.Expected, e.Actual)
}

// ErrConcurrency matches every *ConcurrencyError with errors.Is.
var ErrConcurrency = errors.New("wrong expected stream version")

func (e *ConcurrencyError) Is(target error) bool { return target == ErrConcurrency }

// ErrDuplicateEventID reports an event id that is already stored in a different stream or position.
var ErrDuplicateEventID = errors.New("event id already stored elsewhere")

// Validate checks the shape of an append before it reaches storage.
func Validate(appends []Append) error {
	if len(appends) == 0 {
		return errors.New("append: nothing to append")
	}
	seen := make(map[string]bool, len(appends))
	events := 0
	for _, a := range appends {
		if a.Stream == "" {
			return errors.New("append: empty stream name")
		}
		if seen[a.Stream] {
			return fmt.Errorf("append: stream %s named twice", a.Stream)
		}
		seen[a.Stream] = true
		if a.Expected < Any {
			return fmt.Errorf("append: stream %s: invalid expected version %d", a.Stream, a.Expected)
		}
		if len(a.Events) == 0 {
			if a.Expected == Any {
				return fmt.Errorf("append: stream %s: a guard without events needs an expected version", a.Stream)
			}
			continue
		}
		events++
		for _, e := range a.Events {
			var zero ulid.ULID
			if e.ID == zero {
				return fmt.Errorf("append: stream %s: event without id", a.Stream)
			}
			if e.Type == "" || e.SchemaVersion < 1 {
				return fmt.Errorf("append: stream %s: event %s needs a type and a schema version", a.Stream, e.ID)
			}
		}
	}
	if events == 0 {
		return errors.New("append: nothing to append, only guards")
	}
	return nil
}

// SplitGuards separates the appends that write events from the guards (appends without events).
func SplitGuards(appends []Append) (writes, guards []Append) {
	for _, a := range appends {
		if len(a.Events) == 0 {
			guards = append(guards, a)
		} else {
			writes = append(writes, a)
		}
	}
	return writes, guards
}
