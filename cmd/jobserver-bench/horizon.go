package main

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// otherTransactionsSQL finds the oldest transaction with an id in another database of the server.
// pg_snapshot_xmin is cluster-wide, so such a transaction holds back every event reader here, however
// short our own transactions are; the lag report says how old the worst one was.
const otherTransactionsSQL = `SELECT coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0)::float8
FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database()`

// horizonWatch samples otherTransactionsSQL until stopped.
type horizonWatch struct {
	stop   context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	oldest time.Duration
}

func watchOtherTransactions(ctx context.Context, pool *pgxpool.Pool) *horizonWatch {
	ctx, stop := context.WithCancel(ctx)
	w := &horizonWatch{stop: stop, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for sleep(ctx, 20*time.Millisecond) == nil {
			var seconds float64
			if err := pool.QueryRow(ctx, otherTransactionsSQL).Scan(&seconds); err != nil {
				continue // a missed sample only makes the note less complete
			}
			w.mu.Lock()
			w.oldest = max(w.oldest, time.Duration(seconds*float64(time.Second)))
			w.mu.Unlock()
		}
	}()
	return w
}

// finish stops the sampling and returns the age of the oldest transaction it saw.
func (w *horizonWatch) finish() time.Duration {
	w.stop()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.oldest
}
