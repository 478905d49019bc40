package kurrentdb_test

import (
	"context"
	"strings"
	"testing"

	"github.com/oklog/ulid/v2"

	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/kurrentdb"
	"github.com/mediciasafely/jobserver/eventstore/storetest"
)

// isolated is a view of a shared KurrentDB as an empty store, for the contract on a real server: its
// streams carry a prefix of their own and its $all starts at a marker appended when it was made.
type isolated struct {
	*kurrentdb.Store
	prefix string
	start  eventstore.Position
}

func isolate(t *testing.T, s *kurrentdb.Store) *isolated {
	t.Helper()
	prefix := "test" + strings.ToLower(ulid.Make().String()) + "-"
	res, err := s.Append(context.Background(), []eventstore.Append{{Stream: prefix + "start", Expected: eventstore.NoStream,
		Events: []eventstore.NewEvent{storetest.Event("IsolationStarted", `{}`)}}})
	if err != nil {
		t.Fatal(err)
	}
	return &isolated{Store: s, prefix: prefix, start: res.Last}
}

func (s *isolated) Append(ctx context.Context, appends []eventstore.Append, secrets ...eventstore.SecretWrite) (eventstore.AppendResult, error) {
	renamed := make([]eventstore.Append, len(appends))
	for i, a := range appends {
		renamed[i] = a
		if a.Stream != "" {
			renamed[i].Stream = s.prefix + a.Stream
		}
	}
	res, err := s.Store.Append(ctx, renamed, secrets...)
	versions := map[string]int64{}
	for stream, v := range res.Versions {
		versions[strings.TrimPrefix(stream, s.prefix)] = v
	}
	res.Versions = versions
	return res, err
}

func (s *isolated) ReadStream(ctx context.Context, stream string) ([]eventstore.Event, error) {
	events, err := s.Store.ReadStream(ctx, s.prefix+stream)
	return s.own(events), err
}

func (s *isolated) ReadStreamAfter(ctx context.Context, stream string, after int64) ([]eventstore.Event, error) {
	events, err := s.Store.ReadStreamAfter(ctx, s.prefix+stream, after)
	return s.own(events), err
}

func (s *isolated) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Event, error) {
	var out []eventstore.Event
	if after.Less(s.start) {
		after = s.start
	}
	for len(out) < limit {
		page, err := s.Store.ReadAll(ctx, after, limit)
		if err != nil || len(page) == 0 {
			return out, err
		}
		out = append(out, s.own(page)...)
		after = page[len(page)-1].Position
	}
	return out[:min(len(out), limit)], nil
}

func (s *isolated) Subscribe(ctx context.Context, after eventstore.Position, handle func(eventstore.Event) error) error {
	if after.Less(s.start) {
		after = s.start
	}
	return s.Store.Subscribe(ctx, after, func(e eventstore.Event) error {
		if mine := s.own([]eventstore.Event{e}); len(mine) == 1 {
			return handle(mine[0])
		}
		return nil
	})
}

// own keeps the events of this view's streams, named without the prefix.
func (s *isolated) own(events []eventstore.Event) []eventstore.Event {
	var out []eventstore.Event
	for _, e := range events {
		if name, ok := strings.CutPrefix(e.Stream, s.prefix); ok {
			e.Stream = name
			out = append(out, e)
		}
	}
	return out
}
