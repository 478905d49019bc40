package eventstore

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
)

// SecretKeeper keeps the values that must never enter an event, for a store that cannot write them in the
// same transaction as the events (KurrentDB keeps the log, Postgres the secrets).
type SecretKeeper interface {
	// Secret reads a value; ok is false when there is none.
	Secret(ctx context.Context, key string) (value []byte, ok bool, err error)
	// WriteSecrets applies writes in one transaction and returns the writes that put back what was there.
	WriteSecrets(ctx context.Context, writes []SecretWrite) (undo []SecretWrite, err error)
}

// WriteSecretsFirst writes the secrets of an append before its events, so that a crash between the two
// leaves at most secrets no event mentions, never an event whose secret is missing; appendEvents writes the
// events. When the events are refused, the secrets are put back as they were. A secret that replaces
// another (a rotated token) is therefore in force from just before its event: a crash in between leaves
// the new value, which nobody was shown, and the old one already gone.
func WriteSecretsFirst(ctx context.Context, keeper SecretKeeper, secrets []SecretWrite, appendEvents func() (AppendResult, error)) (AppendResult, error) {
	if len(secrets) == 0 {
		return appendEvents()
	}
	undo, err := keeper.WriteSecrets(ctx, secrets)
	if err != nil {
		return AppendResult{}, err
	}
	res, err := appendEvents()
	if err != nil {
		if _, undoErr := keeper.WriteSecrets(context.WithoutCancel(ctx), undo); undoErr != nil {
			return AppendResult{}, errors.Join(err, undoErr)
		}
	}
	return res, err
}

// MemorySecrets is a SecretKeeper in memory, for tests.
type MemorySecrets struct {
	mu     sync.Mutex
	values map[string][]byte
}

// NewMemorySecrets returns an empty keeper.
func NewMemorySecrets() *MemorySecrets { return &MemorySecrets{values: map[string][]byte{}} }

func (m *MemorySecrets) Secret(_ context.Context, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.values[key]
	return bytes.Clone(v), ok, nil
}

func (m *MemorySecrets) WriteSecrets(_ context.Context, writes []SecretWrite) ([]SecretWrite, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.write(writes), nil
}

// write applies writes, the caller holding the lock, and returns the writes that undo them (in reverse).
func (m *MemorySecrets) write(writes []SecretWrite) []SecretWrite {
	undo := make([]SecretWrite, 0, len(writes))
	for _, s := range writes {
		if old, ok := m.values[s.Key]; ok {
			undo = append(undo, SecretWrite{Key: s.Key, Value: old})
		} else {
			undo = append(undo, SecretWrite{Key: s.Key, Delete: true})
		}
		if s.Delete {
			delete(m.values, s.Key)
		} else {
			m.values[s.Key] = bytes.Clone(s.Value)
		}
	}
	slices.Reverse(undo)
	return undo
}
