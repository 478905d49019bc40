package eventstore

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// Memory is an in-memory Store for unit tests of the domain and the commands. It passes the same contract
// tests as the Postgres store; made by NewMemoryWithoutTransactions it behaves like the KurrentDB store
// instead, one stream per append, so the command side is tested against both.
type Memory struct {
	mu      sync.Mutex
	events  []Event
	streams map[string][]int // stream -> indexes into events
	byID    map[ulid.ULID]int
	secrets *MemorySecrets
	txID    uint64
	changed chan struct{} // closed and replaced on every append
	now     func() time.Time
	// oneStream makes the store refuse appends of several streams or with guards (ErrNotTransactional)
	// and write secrets before events, as a store without transactions across streams does.
	oneStream bool
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{
		streams: map[string][]int{},
		byID:    map[ulid.ULID]int{},
		secrets: NewMemorySecrets(),
		changed: make(chan struct{}),
		now:     time.Now,
	}
}

// NewMemoryWithoutTransactions returns an empty in-memory store that, like KurrentDB, has no transaction
// across streams.
func NewMemoryWithoutTransactions() *Memory {
	m := NewMemory()
	m.oneStream = true
	return m
}

// Transactional reports whether the store writes several streams in one append.
func (m *Memory) Transactional() bool { return !m.oneStream }

func (m *Memory) Append(ctx context.Context, appends []Append, secrets ...SecretWrite) (AppendResult, error) {
	if err := Validate(appends); err != nil {
		return AppendResult{}, err
	}
	if !m.oneStream {
		return m.appendEvents(appends, secrets)
	}
	if err := CheckOneStream(appends); err != nil {
		return AppendResult{}, err
	}
	return WriteSecretsFirst(ctx, m.secrets, secrets, func() (AppendResult, error) { return m.appendEvents(appends, nil) })
}

// appendEvents writes the events of appends, and the secrets with them, all or nothing.
func (m *Memory) appendEvents(appends []Append, secrets []SecretWrite) (AppendResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()

	if res, repeated, err := m.repeatedAppend(appends); repeated || err != nil {
		return res, err
	}
	for _, a := range appends {
		current := int64(len(m.streams[a.Stream]))
		if a.Expected != Any && int64(a.Expected) != current {
			return AppendResult{}, &ConcurrencyError{Stream: a.Stream, Expected: a.Expected, Actual: current}
		}
		for _, e := range a.Events {
			if _, dup := m.byID[e.ID]; dup {
				return AppendResult{}, ErrDuplicateEventID
			}
		}
	}

	m.txID++
	res := AppendResult{Versions: map[string]int64{}}
	now := m.now().UTC()
	for _, a := range appends {
		for _, e := range a.Events {
			stored := Event{
				ID: e.ID, Stream: a.Stream, Version: int64(len(m.streams[a.Stream])) + 1,
				Position: Position{TxID: m.txID, Seq: int64(len(m.events)) + 1},
				Type:     e.Type, SchemaVersion: e.SchemaVersion, Data: bytes.Clone(e.Data),
				Metadata: e.Metadata, RecordedAt: now,
			}
			m.byID[e.ID] = len(m.events)
			m.streams[a.Stream] = append(m.streams[a.Stream], len(m.events))
			m.events = append(m.events, stored)
			res.Last = stored.Position
		}
		res.Versions[a.Stream] = int64(len(m.streams[a.Stream]))
	}
	m.secrets.mu.Lock()
	m.secrets.write(secrets)
	m.secrets.mu.Unlock()
	close(m.changed)
	m.changed = make(chan struct{})
	return res, nil
}

// repeatedAppend recognises an append whose events are all stored already, in the same streams.
func (m *Memory) repeatedAppend(appends []Append) (AppendResult, bool, error) {
	res := AppendResult{Versions: map[string]int64{}}
	found, missing := 0, 0
	for _, a := range appends {
		for _, e := range a.Events {
			i, ok := m.byID[e.ID]
			if !ok {
				missing++
				continue
			}
			found++
			if m.events[i].Stream != a.Stream {
				return AppendResult{}, false, ErrDuplicateEventID
			}
			if res.Last.Less(m.events[i].Position) {
				res.Last = m.events[i].Position
			}
			res.Versions[a.Stream] = max(res.Versions[a.Stream], m.events[i].Version)
		}
	}
	switch {
	case found == 0:
		return AppendResult{}, false, nil
	case missing > 0:
		return AppendResult{}, false, ErrDuplicateEventID
	default:
		return res, true, nil
	}
}

func (m *Memory) ReadStream(_ context.Context, stream string) ([]Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Event, 0, len(m.streams[stream]))
	for _, i := range m.streams[stream] {
		out = append(out, m.events[i])
	}
	return out, nil
}

func (m *Memory) ReadAll(_ context.Context, after Position, limit int) ([]Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	start, _ := slices.BinarySearchFunc(m.events, after, func(e Event, p Position) int {
		switch {
		case e.Position.Less(p) || e.Position == p:
			return -1
		default:
			return 1
		}
	})
	end := min(len(m.events), start+limit)
	return slices.Clone(m.events[start:end]), nil
}

func (m *Memory) Subscribe(ctx context.Context, after Position, handle func(Event) error) error {
	for {
		m.mu.Lock()
		changed := m.changed
		m.mu.Unlock()
		batch, err := m.ReadAll(ctx, after, 1000)
		if err != nil {
			return err
		}
		for _, e := range batch {
			if err := handle(e); err != nil {
				return err
			}
			after = e.Position
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

func (m *Memory) Secret(ctx context.Context, key string) ([]byte, bool, error) {
	return m.secrets.Secret(ctx, key)
}
