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
