package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Exclusive runs jobs that must run in one process at a time across every server on one database (the
// projectors), each under a Postgres advisory lock of its own. All the locks are held by one connection
// of its own, outside the pool: a dozen locks cost one connection, not a dozen of the pool's.
//
// Several servers each run Exclusive over the same jobs. The first takes the locks; the others try the
// ones they lack every Every, and take over what a stopped or dead holder let go. Postgres drops a
// session's advisory locks with its connection, so a server killed outright lets go at once; one whose
// machine vanished, once the TCP keepalives set on the lock connection give up on it (lockKeepalive). The
// holder asks its connection every Every as well: a connection cut, or not answering within a few Every,
// stops every job it held before they are taken again.
//
// The locks say who should run a job, they do not fence its writes: a job must stay correct when a
// holder that lost its lock is still finishing a write. The projectors are: each batch locks its
// checkpoint row, so two runs of one projector take turns and never apply an event twice.
type Exclusive struct {
	config *pgx.ConnConfig
	logger *slog.Logger
	every  time.Duration
}

// ExclusiveEvery is how often a standby tries the locks it lacks and a holder checks its connection.
const ExclusiveEvery = time.Second

// lockKeepalive makes the database give up on a lock connection whose peer vanished within about ten
// seconds (5 s idle, then 5 probes 1 s apart) instead of the operating system's two hours.
var lockKeepalive = map[string]string{"tcp_keepalives_idle": "5", "tcp_keepalives_interval": "1", "tcp_keepalives_count": "5"}

// lockConnConfig is the configuration of a connection of pool's database that holds advisory locks for
// purpose: with lockKeepalive, and named after the pool's application_name ("jobserver" when it has none)
// and purpose, so an operator can tell in pg_stat_activity which server holds which locks.
func lockConnConfig(pool *pgxpool.Pool, purpose string) *pgx.ConnConfig {
	config := pool.Config().ConnConfig.Copy()
	for k, v := range lockKeepalive {
		config.RuntimeParams[k] = v
	}
	name := config.RuntimeParams["application_name"]
	if name == "" {
		name = "jobserver"
	}
	config.RuntimeParams["application_name"] = name + " " + purpose
	return config
}

// NewExclusive returns the runner of exclusive jobs on pool's database; every is ExclusiveEvery when 0.
// The lock connection is named after the pool's application_name ("jobserver" when it has none) with
// " locks", so an operator can tell in pg_stat_activity which server holds the locks.
func NewExclusive(pool *pgxpool.Pool, logger *slog.Logger, every time.Duration) *Exclusive {
	config := lockConnConfig(pool, "locks")
	if every <= 0 {
		every = ExclusiveEvery
	}
	return &Exclusive{config: config, logger: logger, every: every}
}

// Job is work that runs in one process at a time. Run works until ctx ends; it is started again, in this
// process or another, when it returns.
type Job struct {
	// Name keys the job's lock: the same name in every process.
	Name string
	Run  func(ctx context.Context) error
}

// lockKeySQL is the advisory lock of a name; unlockSQL lets go of the lock of the name $1.
const (
	lockKeySQL = `hashtextextended('jobserver ' || name, 0)`
	unlockSQL  = `SELECT pg_advisory_unlock(hashtextextended('jobserver ' || $1::text, 0))`
)

// Run runs each job while this process holds its lock, until ctx ends, and then returns nil once every
// job has stopped.
func (x *Exclusive) Run(ctx context.Context, jobs ...Job) error {
	for ctx.Err() == nil {
		err := x.hold(ctx, jobs)
		if ctx.Err() != nil {
			break
		}
		x.logger.Warn("the connection holding the exclusive jobs' locks failed; their jobs stopped until it is back",
			slog.Any("error", err))
		if !sleepCtx(ctx, x.every) {
			break
		}
	}
	return nil
}

// held is a job running under its lock.
type held struct {
	stop    context.CancelFunc
	stopped chan struct{}
}

// hold connects, then takes the free locks and runs their jobs, until ctx ends or the connection fails;
// it stops every job it started before it returns.
func (x *Exclusive) hold(ctx context.Context, jobs []Job) error {
	conn, err := pgx.ConnectConfig(ctx, x.config)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	// Closing the connection gives every lock back.
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	byName := make(map[string]Job, len(jobs))
	for _, j := range jobs {
		byName[j.Name] = j
	}
	running := map[string]*held{}
	defer func() {
		for _, h := range running {
			h.stop()
		}
		for _, h := range running {
			<-h.stopped
		}
	}()
	exited := make(chan string, len(jobs))
	tick := time.NewTicker(x.every)
	defer tick.Stop()
	for {
		var lacking []string
		for _, j := range jobs {
			if running[j.Name] == nil {
				lacking = append(lacking, j.Name)
			}
		}
		// With every lock held this is the holder's check that its connection still answers.
		taken, err := x.tryLocks(ctx, conn, lacking)
		if err != nil {
			return err
		}
		for _, name := range taken {
			x.logger.Info("exclusive job runs in this process", slog.String("job", name))
			running[name] = x.start(ctx, byName[name], exited)
		}
		select {
		case <-ctx.Done():
			return nil
		case name := <-exited:
			// Let go, so another process may take the job on while this one waits a moment.
			<-running[name].stopped
			delete(running, name)
			if _, err := conn.Exec(ctx, unlockSQL, name); err != nil {
				return fmt.Errorf("let go of %s: %w", name, err)
			}
			if !sleepCtx(ctx, x.every) {
				return nil
			}
		case <-tick.C:
		}
	}
}

// tryLocks takes those of the named locks nobody holds, in one round trip, and returns their names. It
// gives up after a few periods, which is how a holder notices a connection that no longer answers.
func (x *Exclusive) tryLocks(ctx context.Context, conn *pgx.Conn, names []string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*x.every)
	defer cancel()
	rows, err := conn.Query(ctx, `SELECT name FROM unnest($1::text[]) AS name WHERE pg_try_advisory_lock(`+lockKeySQL+`)`, names)
	taken, err := All(rows, err, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("take the locks: %w", err)
	}
	return taken, nil
}

// start runs job until its context is cancelled or it returns, and then says so on exited.
func (x *Exclusive) start(ctx context.Context, job Job, exited chan<- string) *held {
	jobCtx, stop := context.WithCancel(ctx)
	h := &held{stop: stop, stopped: make(chan struct{})}
	go func() {
		defer close(h.stopped)
		err := job.Run(jobCtx)
		if jobCtx.Err() != nil {
			return // stopped by hold, which is waiting for it
		}
		x.logger.Error("exclusive job stopped; it starts again here or in another process", slog.String("job", job.Name), slog.Any("error", err))
		exited <- job.Name
	}()
	return h
}

// errLockHeld means another process holds a lock.
var errLockHeld = errors.New("another process holds the lock")

// whileHolding runs fn holding the named lock (a Job's name, or startUpLock), taken on a connection of the
// pool and given back after. When another process holds it: with wait, it waits for it, polling rather
// than waiting in one statement, which the server's statement timeout would cut short while another server
// rebuilds a large read model; without, it returns errLockHeld.
func whileHolding(ctx context.Context, pool *pgxpool.Pool, name string, wait bool, fn func(ctx context.Context) error) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	for {
		var locked bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+lockKeySQL+`) FROM (VALUES ($1::text)) AS n(name)`, name).Scan(&locked); err != nil {
			return fmt.Errorf("take the lock of %s: %w", name, err)
		}
		if locked {
			break
		}
		if !wait {
			return errLockHeld
		}
		if !sleepCtx(ctx, 200*time.Millisecond) {
			return ctx.Err()
		}
	}
	defer func() {
		// A session lock outlives the checkout: give it back, or close the connection, which drops it.
		unlockCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(unlockCtx, unlockSQL, name); err != nil {
			_ = conn.Conn().Close(unlockCtx)
		}
	}()
	return fn(ctx)
}

// startUpLock serialises the start-up work of servers on one database (creating schemas, rebuilding read
// models), so servers started together neither do it twice nor trip over each other's DDL.
const startUpLock = "start-up"
