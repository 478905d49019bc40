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

// ManyTailsReader is a store that can read the tails of several streams in one call.
type ManyTailsReader interface {
	// ReadStreamsAfter returns, for each stream of after, its events with a version above the one given,
	// in version order; streams without newer events are left out.
	ReadStreamsAfter(ctx context.Context, after map[string]int64) (map[string][]Event, error)
}

// ReadStreamsAfter reads the tails of several streams, in one call when the store can.
func ReadStreamsAfter(ctx context.Context, s Store, after map[string]int64) (map[string][]Event, error) {
	if m, ok := s.(ManyTailsReader); ok {
		return m.ReadStreamsAfter(ctx, after)
	}
	out := map[string][]Event{}
	for stream, version := range after {
		events, err := ReadStreamAfter(ctx, s, stream, version)
		if err != nil {
			return nil, err
		}
		if len(events) > 0 {
			out[stream] = events
		}
	}
	return out, nil
}
