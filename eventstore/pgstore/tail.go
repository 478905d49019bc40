package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/mediciasafely/jobserver/eventstore"
)

// ReadStreamAfter returns the events of stream with a version above after, in version order: a command
// that holds a stream's folded state reads only what came since.
func (s *Store) ReadStreamAfter(ctx context.Context, stream string, after int64) ([]eventstore.Event, error) {
	rows, err := s.pool.Query(ctx, selectEvent+` WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version`, stream, after)
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	events, err := pgx.CollectRows(rows, collectEvent)
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	return events, nil
}

// ReadStreamsAfter returns the events of several streams above the versions given, in one query: a
// runner's report names a hundred job requests, and one round trip reads what is new in all of them.
func (s *Store) ReadStreamsAfter(ctx context.Context, after map[string]int64) (map[string][]eventstore.Event, error) {
	streams, versions := make([]string, 0, len(after)), make([]int64, 0, len(after))
	for stream, version := range after {
		streams, versions = append(streams, stream), append(versions, version)
	}
	rows, err := s.pool.Query(ctx, selectEvent+` JOIN unnest($1::text[], $2::bigint[]) AS r(s, v)
		ON events.stream_id = r.s AND events.stream_version > r.v
		ORDER BY events.stream_id, events.stream_version`, streams, versions)
	if err != nil {
		return nil, fmt.Errorf("read streams: %w", err)
	}
	events, err := pgx.CollectRows(rows, collectEvent)
	if err != nil {
		return nil, fmt.Errorf("read streams: %w", err)
	}
	out := map[string][]eventstore.Event{}
	for _, e := range events {
		out[e.Stream] = append(out[e.Stream], e)
	}
	return out, nil
}
