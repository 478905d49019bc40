package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/oklog/ulid/v2"
	"golang.org/x/sync/singleflight"

	"github.com/mediciasafely/jobserver/eventstore"
)

// Time travel: the read models as they were at a moment are the log up to that moment, replayed by every
// projector into a schema of its own. `jobserver replay --until` builds one for inspection with SQL; the
// pages' ?as_of= reads one through View, which points a view's snapshot at it. The projectors need no change:
// they write unqualified names, which a schema's search_path redirects.

// PositionAt is the place of the last event recorded at or before t: the log as it stood then (events are
// recorded nearly in order). No event yet is the zero position.
func (r *Runner) PositionAt(ctx context.Context, t time.Time) (eventstore.Position, error) {
	var txID, seq int64
	err := r.pool.QueryRow(ctx, `SELECT tx_id, seq FROM events WHERE recorded_at <= $1
		ORDER BY tx_id DESC, seq DESC LIMIT 1`, t).Scan(&txID, &seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return eventstore.Position{}, nil
	}
	if err != nil {
		return eventstore.Position{}, fmt.Errorf("find the log's place at %s: %w", t.Format(time.RFC3339), err)
	}
	return eventstore.Position{TxID: uint64(txID), Seq: seq}, nil
}

// BuildAt creates schema and builds in it the tables of every projector from the log up to until, reading
// the log once for all of them; the live tables are left alone. A schema that already exists is refused,
// so nothing anyone keeps is replaced.
func (r *Runner) BuildAt(ctx context.Context, schema string, until eventstore.Position, progress func(int)) error {
	if schema == LiveSchema || schema == "public" || strings.HasPrefix(schema, "pg_") || schema == "" {
		return fmt.Errorf("the schema %q is not one to build read models as of a time in", schema)
	}
	var exists bool
	if err := r.pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return fmt.Errorf("the schema %q exists already: choose another name, or drop it first (DROP SCHEMA %s CASCADE)",
			schema, pgx.Identifier{schema}.Sanitize())
	}
	if err := r.createSchema(ctx, schema); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		if err := useSchema(ctx, tx, schema); err != nil {
			return err
		}
		for _, p := range r.projectors {
			if _, err := tx.Exec(ctx, p.Schema()); err != nil {
				return fmt.Errorf("create tables of %s: %w", p.Name(), err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	schemas := make([]string, len(r.projectors))
	for i := range schemas {
		schemas[i] = schema
	}
	return r.fillScratch(ctx, r.projectors, schemas, &until, progress)
}

type schemaKey struct{}

// InSchema makes the views read under ctx read the read models in schema instead of the live ones.
func InSchema(ctx context.Context, schema string) context.Context {
	return context.WithValue(ctx, schemaKey{}, schema)
}

// schemaOf is the schema the views under ctx read; "" is the live one.
func schemaOf(ctx context.Context) string {
	s, _ := ctx.Value(schemaKey{}).(string)
	return s
}

// TimeTravel keeps the read models as of a few past moments, each built once (BuildAt) into a schema of
// its own and shared by every page that asks for the same place in the log, so an auditor browsing the
// past pays for the replay once. The schemas belong to this process: Close drops them.
//
// A process that crashes leaves its schemas behind, so each build first sweeps the schemas time travel
// named (asof_<ulid>) whose owner is gone. The owner holds an advisory lock per schema, from before the
// schema exists until it is dropped, on a connection of its own outside the pool: Postgres lets go of the
// locks of a process that dies with its connection, so a schema whose lock is free is nobody's. A sweep
// also leaves alone a schema made less than staleAfter ago (its ulid says when), in case its owner's lock
// connection is being made again.
type TimeTravel struct {
	runner *Runner
	keep   int
	builds singleflight.Group

	mu      sync.Mutex
	schemas map[eventstore.Position]*pastSchema
	closed  bool

	// locks holds the advisory lock of every schema this process keeps; nil until the first build, and
	// after it failed.
	lockMu     sync.Mutex
	locks      *pgx.Conn
	lockConfig *pgx.ConnConfig
}

// pastPrefix begins the name of every schema time travel builds, before the schema's ulid.
const pastPrefix = "asof_"

// staleAfter is how old a schema of time travel must be before a sweep may drop it when its lock is free.
const staleAfter = 10 * time.Minute

// pastLockSQL is the advisory lock key of the schema named $1.
const pastLockSQL = `hashtextextended('jobserver asof ' || $1::text, 0)`

// pastSchema is a built schema, with the pages reading it now.
type pastSchema struct {
	name     string
	readers  int
	lastUsed time.Time
}

// NewTimeTravel keeps up to keep past schemas built by runner's projectors.
func NewTimeTravel(runner *Runner, keep int) *TimeTravel {
	return &TimeTravel{runner: runner, keep: max(keep, 1), schemas: map[eventstore.Position]*pastSchema{},
		lockConfig: lockConnConfig(runner.pool, "time travel")}
}

// At returns ctx reading the read models as they were at t, and the function to call once the page is
// drawn.
func (tt *TimeTravel) At(ctx context.Context, t time.Time) (context.Context, func(), error) {
	at, err := tt.runner.PositionAt(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	if s := tt.take(at); s != nil {
		return InSchema(ctx, s.name), func() { tt.give(s) }, nil
	}
	key := fmt.Sprintf("%d.%d", at.TxID, at.Seq)
	_, err, _ = tt.builds.Do(key, func() (any, error) {
		// The build outlives the request that started it, as others may be waiting for it.
		ctx := context.WithoutCancel(ctx)
		tt.sweep(ctx)
		name := pastPrefix + strings.ToLower(ulid.Make().String())
		if err := tt.lock(ctx, name); err != nil {
			return nil, err
		}
		err := tt.runner.BuildAt(ctx, name, at, nil)
		if err != nil {
			tt.drop(name)
			return nil, err
		}
		tt.mu.Lock()
		defer tt.mu.Unlock()
		if tt.closed {
			tt.drop(name)
			return nil, errors.New("time travel: the server is stopping")
		}
		tt.schemas[at] = &pastSchema{name: name, lastUsed: time.Now()}
		tt.evict()
		return nil, nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("build the read models as of %s: %w", t.Format(time.RFC3339), err)
	}
	if s := tt.take(at); s != nil {
		return InSchema(ctx, s.name), func() { tt.give(s) }, nil
	}
	return nil, nil, errors.New("time travel: the schema built was dropped at once; keep more")
}

func (tt *TimeTravel) take(at eventstore.Position) *pastSchema {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	s := tt.schemas[at]
	if s != nil {
		s.readers++
		s.lastUsed = time.Now()
	}
	return s
}

func (tt *TimeTravel) give(s *pastSchema) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	s.readers--
	tt.evict()
}

// evict drops the least recently used schemas nobody reads beyond the number kept. Called with mu held.
func (tt *TimeTravel) evict() {
	for len(tt.schemas) > tt.keep {
		var idle []eventstore.Position
		for at, s := range tt.schemas {
			if s.readers == 0 {
				idle = append(idle, at)
			}
		}
		if len(idle) == 0 {
			return
		}
		oldest := slices.MinFunc(idle, func(a, b eventstore.Position) int {
			return tt.schemas[a].lastUsed.Compare(tt.schemas[b].lastUsed)
		})
		tt.drop(tt.schemas[oldest].name)
		delete(tt.schemas, oldest)
	}
}

// Close drops the schemas built and lets go of their locks.
func (tt *TimeTravel) Close() {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	tt.closed = true
	for at, s := range tt.schemas {
		tt.drop(s.name)
		delete(tt.schemas, at)
	}
	tt.lockMu.Lock()
	defer tt.lockMu.Unlock()
	if tt.locks != nil {
		_ = tt.locks.Close(context.Background())
		tt.locks = nil
	}
}

// lock takes the advisory lock of the schema name before it is created, connecting the lock connection
// first if need be; a connection that fails is closed, so the next build connects again.
func (tt *TimeTravel) lock(ctx context.Context, name string) error {
	tt.lockMu.Lock()
	defer tt.lockMu.Unlock()
	if tt.locks == nil {
		conn, err := pgx.ConnectConfig(ctx, tt.lockConfig)
		if err != nil {
			return fmt.Errorf("time travel: connect to hold the schemas' locks: %w", err)
		}
		tt.locks = conn
	}
	if _, err := tt.locks.Exec(ctx, `SELECT pg_advisory_lock(`+pastLockSQL+`)`, name); err != nil {
		_ = tt.locks.Close(context.WithoutCancel(ctx))
		tt.locks = nil
		return fmt.Errorf("time travel: lock the schema %s: %w", name, err)
	}
	return nil
}

// drop drops the schema name, then lets go of its lock.
func (tt *TimeTravel) drop(name string) {
	tt.runner.dropSchema(name)
	tt.lockMu.Lock()
	defer tt.lockMu.Unlock()
	if tt.locks == nil {
		return
	}
	if _, err := tt.locks.Exec(context.Background(), `SELECT pg_advisory_unlock(`+pastLockSQL+`)`, name); err != nil {
		tt.runner.logger.Warn("time travel: could not let go of a dropped schema's lock", slog.String("schema", name), slog.Any("error", err))
	}
}

// sweep drops the schemas of time travel that a process which stopped without dropping them (a crash)
// left behind: made more than staleAfter ago and with no process holding their lock. Each is dropped
// holding its lock for the transaction, so no build or reader can take it meanwhile. A sweep that fails
// is logged: the build goes on.
func (tt *TimeTravel) sweep(ctx context.Context) {
	rows, err := tt.runner.pool.Query(ctx, `SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)`, pastPrefix)
	if err != nil {
		tt.runner.logger.Warn("time travel: could not list the schemas left behind", slog.Any("error", err))
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tt.runner.logger.Warn("time travel: could not list the schemas left behind", slog.Any("error", err))
		return
	}
	for _, name := range names {
		id, err := ulid.ParseStrict(strings.ToUpper(strings.TrimPrefix(name, pastPrefix)))
		if err != nil || time.Since(ulid.Time(id.Time())) < staleAfter {
			continue // not named by time travel, or too young to tell
		}
		err = pgx.BeginFunc(ctx, tt.runner.pool, func(tx pgx.Tx) error {
			var free bool
			if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(`+pastLockSQL+`)`, name).Scan(&free); err != nil || !free {
				return err
			}
			if _, err := tx.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
				return err
			}
			tt.runner.logger.Info("time travel: dropped a schema left behind", slog.String("schema", name))
			return nil
		})
		if err != nil {
			tt.runner.logger.Warn("time travel: could not drop a schema left behind", slog.String("schema", name), slog.Any("error", err))
		}
	}
}
