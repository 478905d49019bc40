package eventstore

import "context"

// TailReader is a store that can read a stream from a version on, so a caller holding the folded state of
// a stream at some version reads only the events after it. Both stores of this module implement it.
type TailReader interface {
	// ReadStreamAfter returns the events of stream with a version above after, in version order.
	ReadStreamAfter(ctx context.Context, stream string, after int64) ([]Event, error)
}

// ReadStreamAfter reads the events of stream above version after, through the store's TailReader when it
// has one.
func ReadStreamAfter(ctx context.Context, s Store, stream string, after int64) ([]Event, error) {
	if t, ok := s.(TailReader); ok {
		return t.ReadStreamAfter(ctx, stream, after)
	}
	events, err := s.ReadStream(ctx, stream)
	if err != nil {
		return nil, err
	}
	for i, e := range events {
		if e.Version > after {
			return events[i:], nil
		}
	}
	return nil, nil
}

// ReadStreamAfter returns the events of stream above version after.
func (m *Memory) ReadStreamAfter(_ context.Context, stream string, after int64) ([]Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Event
	for _, i := range m.streams[stream] {
		if m.events[i].Version > after {
			out = append(out, m.events[i])
		}
	}
	return out, nil
}
