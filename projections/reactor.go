package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// Reactor is a side effect driven by events: the e-mail on a job's completion, and so on. A reactor never
// writes read models, and a rebuild (Replay, Verify, Prepare) never runs it: its position in the log is
// its own row in reactor_checkpoints, which no rebuild reads or moves.
//
// What "exactly once" means for a reactor. A projector writes its rows and its checkpoint in one
// transaction, so each event takes effect exactly once. A side effect (a mail handed to an SMTP server)
// cannot join a Postgres transaction, so the kit does the next best thing, per event, in global order:
//
//  1. React performs the side effect;
//  2. only once React returned nil is the reactor's checkpoint moved past the event.
//
// An event whose checkpoint is written is never reacted to again, whatever restarts or repeats follow,
// and an event appended again with its id (a repeated POST) is not a new event, so it is not reacted to
// twice either. One window remains: a crash (or a lost database connection) after the side effect
// succeeded and before its checkpoint committed repeats that one event's side effect when the reactor
// starts again. That is at least once, with at most one repeat per crash and reactor. A reactor that
// cannot make its side effect idempotent should make it recognisable instead: the job mail's Message-ID is
// derived from the event's id, so a repeat carries the same Message-ID as the first, which mail servers and
// readers can use to drop or thread the duplicate.
//
// A reactor runs in one process at a time (a Postgres advisory lock held on the connection that writes its
// checkpoint), so two servers on one database do not both send a mail.
type Reactor interface {
	// Name identifies the reactor and its checkpoint; renaming it starts it afresh at the log's end.
	Name() string
	// Handles lists the event types React wants; other events pass by.
	Handles() []string
	// React performs the side effect of one event. An error is retried: without limit, with backoff, when
	// it is transient (a connection, a timeout, or an error with a Temporary() bool method that says so);
	// otherwise up to ReactorOptions.Attempts times, after which the event is set aside in event_failures
	// and the reactor goes on with the next one.
	React(ctx context.Context, e Event) error
}

// DefineReactor makes a Reactor of a name, the event types it handles and its function.
func DefineReactor(name string, handles []string, react func(ctx context.Context, e Event) error) Reactor {
	return reactorFunc{name: name, handles: slices.Clone(handles), react: react}
}

type reactorFunc struct {
	name    string
	handles []string
	react   func(ctx context.Context, e Event) error
}

func (r reactorFunc) Name() string                             { return r.name }
func (r reactorFunc) Handles() []string                        { return slices.Clone(r.handles) }
func (r reactorFunc) React(ctx context.Context, e Event) error { return r.react(ctx, e) }

// ReactorOptions tune how reactors retry and wait; the zero value takes the defaults.
type ReactorOptions struct {
	// Attempts is how many times an event whose React fails with a non-transient error is tried before
	// it is set aside (default 3).
	Attempts int
	// InitialBackoff is the wait before the first retry; each retry doubles it, up to MaxBackoff
	// (defaults 100 ms and 30 s).
	InitialBackoff, MaxBackoff time.Duration
	// Standby is how often a process that does not hold a reactor's lock (another process runs it) tries
	// to take it over (default 5 s).
	Standby time.Duration
	// CheckpointEvery bounds how long the checkpoint may lag behind events the reactor does not handle
	// (default 1 s); handled events always move it at once.
	CheckpointEvery time.Duration
}

func (o ReactorOptions) withDefaults() ReactorOptions {
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	if o.InitialBackoff <= 0 {
		o.InitialBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.Standby <= 0 {
		o.Standby = 5 * time.Second
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = time.Second
	}
	return o
}

// reactorCheckpointsDDL is the reactors' positions in the log. It lives in the read-model schema beside
// projection_checkpoints but belongs to no projector: no rebuild drops, replays or verifies it.
const reactorCheckpointsDDL = `CREATE TABLE IF NOT EXISTS ` + LiveSchema + `.reactor_checkpoints (
	name       text PRIMARY KEY,
	tx_id      bigint NOT NULL,
	seq        bigint NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now()
)`

// logEndSQL is the position of the last visible event (the same visibility rule as pgstore.ReadAllSQL):
// every event not visible yet will come after it in the global order.
const logEndSQL = `SELECT coalesce((SELECT tx_id FROM events WHERE tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
		ORDER BY tx_id DESC, seq DESC LIMIT 1), 0),
	coalesce((SELECT seq FROM events WHERE tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
		ORDER BY tx_id DESC, seq DESC LIMIT 1), 0)`

var (
	reactorEvents = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "jobserver_reactor_events_total",
		Help: "Events a reactor reacted to successfully.",
	}, []string{"reactor"})
	reactorRetries = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "jobserver_reactor_retries_total",
		Help: "Failed attempts of a reactor that were retried.",
	}, []string{"reactor"})
	reactorFailures = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "jobserver_reactor_failures_total",
		Help: "Events a reactor could not react to and set aside in event_failures.",
	}, []string{"reactor"})
)

// Reactors follows the log live for each reactor, from the reactor's own checkpoint.
type Reactors struct {
	pool     *pgxpool.Pool
	store    eventstore.Store
	registry *domain.Registry
	logger   *slog.Logger
	reactors []Reactor
	opts     ReactorOptions

	prepareOnce sync.Mutex
	prepared    bool
}

// NewReactors returns the runner of the reactors. store is read with Subscribe; the checkpoints live in
// pool's database, which must be the store's own (the position of the log's end is read there). A registry
// without PersonalKeys opens personal data with this process's own keys, as NewRunner's.
func NewReactors(pool *pgxpool.Pool, store eventstore.Store, registry *domain.Registry, logger *slog.Logger, opts ReactorOptions, reactors ...Reactor) *Reactors {
	if logger == nil {
		logger = slog.Default()
	}
	return &Reactors{pool: pool, store: store, registry: registry.OrWithKeys(eventstore.Process()), logger: logger, reactors: reactors, opts: opts.withDefaults()}
}

// Prepare creates reactor_checkpoints and places each reactor that has no checkpoint yet at the log's
// current end: a new reactor reacts to what happens from now on, never to the whole history. Run calls it;
// call it first to know from when on events are seen.
func (r *Reactors) Prepare(ctx context.Context) error {
	r.prepareOnce.Lock()
	defer r.prepareOnce.Unlock()
	if r.prepared {
		return nil
	}
	names := map[string]bool{}
	for _, re := range r.reactors {
		if names[re.Name()] {
			return fmt.Errorf("reactors: two reactors named %q", re.Name())
		}
		names[re.Name()] = true
	}
	// Servers starting together would trip over each other's CREATE … IF NOT EXISTS.
	err := whileHolding(ctx, r.pool, startUpLock, true, func(ctx context.Context) error {
		return pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{LiveSchema}.Sanitize()); err != nil {
				return fmt.Errorf("create schema %s: %w", LiveSchema, err)
			}
			if _, err := tx.Exec(ctx, reactorCheckpointsDDL); err != nil {
				return fmt.Errorf("create reactor_checkpoints: %w", err)
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, re := range r.reactors {
		tag, err := r.pool.Exec(ctx, `INSERT INTO `+LiveSchema+`.reactor_checkpoints (name, tx_id, seq)
			SELECT $1, e.tx_id, e.seq FROM (`+logEndSQL+`) AS e(tx_id, seq) ON CONFLICT (name) DO NOTHING`, re.Name())
		if err != nil {
			return fmt.Errorf("reactor %s: place at the log's end: %w", re.Name(), err)
		}
		if tag.RowsAffected() == 1 {
			r.logger.Info("new reactor starts at the log's end", "reactor", re.Name())
		}
	}
	r.prepared = true
	return nil
}

// Checkpoint returns the position of the last event the named reactor has done with.
func (r *Reactors) Checkpoint(ctx context.Context, name string) (eventstore.Position, error) {
	var txID, seq int64
	err := r.pool.QueryRow(ctx, `SELECT tx_id, seq FROM `+LiveSchema+`.reactor_checkpoints WHERE name = $1`, name).Scan(&txID, &seq)
	if err != nil {
		return eventstore.Position{}, fmt.Errorf("read checkpoint of reactor %s: %w", name, err)
	}
	return eventstore.Position{TxID: uint64(txID), Seq: seq}, nil
}

// Run follows the log for every reactor until ctx ends, and then returns nil. A reactor whose database
// connection fails starts again from its checkpoint after a pause; it never stops the others.
func (r *Reactors) Run(ctx context.Context) error {
	for {
		err := r.Prepare(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		r.logger.Error("reactors: cannot prepare; trying again", "error", err)
		if !sleepCtx(ctx, r.opts.Standby) {
			return nil
		}
	}
	var wg sync.WaitGroup
	for _, re := range r.reactors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.runOne(ctx, re)
		}()
	}
	wg.Wait()
	return nil
}

func (r *Reactors) runOne(ctx context.Context, re Reactor) {
	pause := r.opts.InitialBackoff
	for ctx.Err() == nil {
		err := r.follow(ctx, re)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errStandby):
			pause = r.opts.InitialBackoff
			if !sleepCtx(ctx, r.opts.Standby) {
				return
			}
			continue
		case err != nil:
			r.logger.Error("reactor stopped; it starts again from its checkpoint", "reactor", re.Name(), "error", err)
		}
		if !sleepCtx(ctx, pause) {
			return
		}
		pause = min(2*pause, r.opts.MaxBackoff)
	}
}

// errStandby means another process holds the reactor's lock.
var errStandby = errors.New("another process runs this reactor")

// follow takes the reactor's lock on a connection of its own, and reacts to the events after its
// checkpoint as they come, until ctx ends or something fails.
func (r *Reactors) follow(ctx context.Context, re Reactor) (err error) {
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire a connection: %w", err)
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended('jobserver reactor ' || $1, 0))`, re.Name()).Scan(&locked); err != nil {
		return fmt.Errorf("take the reactor's lock: %w", err)
	}
	if !locked {
		return errStandby
	}
	defer func() {
		// A session lock outlives the checkout: give it back, or close the connection, which drops it.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, uerr := conn.Exec(ctx, `SELECT pg_advisory_unlock(hashtextextended('jobserver reactor ' || $1, 0))`, re.Name()); uerr != nil {
			_ = conn.Conn().Close(ctx)
		}
	}()

	f := &following{Reactors: r, re: re, conn: conn, runCtx: ctx, handled: map[string]bool{}}
	for _, t := range re.Handles() {
		f.handled[t] = true
	}
	// Read the checkpoint under the lock: a process that held it before may have moved it.
	var txID, seq int64
	err = conn.QueryRow(ctx, `SELECT tx_id, seq FROM `+LiveSchema+`.reactor_checkpoints WHERE name = $1`, re.Name()).Scan(&txID, &seq)
	if err != nil {
		return fmt.Errorf("read the checkpoint: %w", err)
	}
	f.written = eventstore.Position{TxID: uint64(txID), Seq: seq}
	f.seen, f.writtenAt = f.written, time.Now()
	r.logger.Debug("reactor follows the log", "reactor", re.Name(), "from", f.written.String())

	err = r.store.Subscribe(ctx, f.written, f.handle)
	// Events that passed by unhandled since the last write: record them, so a restart does not read them
	// again (reading them again would be harmless).
	if f.seen != f.written {
		flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = f.writeCheckpoint(flushCtx, f.seen)
	}
	return err
}

// following is one reactor following the log while it holds the lock.
type following struct {
	*Reactors
	re        Reactor
	conn      *pgxpool.Conn
	runCtx    context.Context // ends when the reactor is stopped
	handled   map[string]bool
	written   eventstore.Position // the checkpoint in the database
	writtenAt time.Time
	seen      eventstore.Position // the last event done with
}

func (f *following) handle(e eventstore.Event) error {
	// The checkpoint's writes finish even when the reactor is being stopped: the side effect happened.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(f.runCtx), 10*time.Second)
	defer cancel()
	if !f.handled[e.Type] {
		f.seen = e.Position
		if time.Since(f.writtenAt) >= f.opts.CheckpointEvery {
			return f.writeCheckpoint(ctx, e.Position)
		}
		return nil
	}
	// A reactor whose connection was cut has lost its lock, and another process may be taking over: it
	// must not perform one more side effect.
	if err := f.conn.Ping(ctx); err != nil {
		return fmt.Errorf("the connection holding the reactor's lock: %w", err)
	}
	payload, err := f.registry.Decode(e.Type, e.SchemaVersion, e.Data)
	if err == nil {
		err = f.reactWithRetries(Event{Event: e, Payload: payload})
	}
	if errors.Is(err, errStopped) {
		return err
	}
	f.seen = e.Position
	if err != nil {
		return f.setAside(ctx, e, err)
	}
	reactorEvents.WithLabelValues(f.re.Name()).Inc()
	return f.writeCheckpoint(ctx, e.Position)
}

// errStopped means the reactor was stopped while an event was being retried; its checkpoint stays before
// the event.
var errStopped = errors.New("reactor stopped")

// reactWithRetries reacts to e until it succeeds, retrying a transient failure without limit and any
// other up to Attempts times. It gives up with errStopped when the runner's context ends.
func (f *following) reactWithRetries(e Event) error {
	backoff := f.opts.InitialBackoff
	for attempt := 1; ; attempt++ {
		err := f.reactOnce(e)
		if err == nil {
			return nil
		}
		transient := isTransient(err) || isTemporary(err)
		if !transient && attempt >= f.opts.Attempts {
			return err
		}
		reactorRetries.WithLabelValues(f.re.Name()).Inc()
		f.logger.Warn("reactor failed; trying again", "reactor", f.re.Name(), "event_id", e.ID.String(),
			"event_type", e.Type, "attempt", attempt, "transient", transient, "retry_in", backoff.String(), "error", err)
		if !sleepCtx(f.runCtx, backoff) {
			return errStopped
		}
		backoff = min(2*backoff, f.opts.MaxBackoff)
	}
}

// reactOnce calls React, turning a panic into an error.
func (f *following) reactOnce(e Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("reactor %s panicked: %v", f.re.Name(), p)
		}
	}()
	if err := f.re.React(f.runCtx, e); err != nil {
		return fmt.Errorf("react to %s %s: %w", e.Type, e.ID, err)
	}
	return nil
}

// setAside records an event the reactor could not react to, and moves the checkpoint past it, in one
// transaction.
func (f *following) setAside(ctx context.Context, e eventstore.Event, cause error) error {
	f.logger.Error("reactor could not react to an event; it is set aside in event_failures",
		"reactor", f.re.Name(), "event_id", e.ID.String(), "event_type", e.Type, "error", cause)
	reactorFailures.WithLabelValues(f.re.Name()).Inc()
	err := pgx.BeginFunc(ctx, f.conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO public.event_failures (consumer, event_id, event_type, reason) VALUES ($1, $2, $3, $4)`,
			f.re.Name(), [16]byte(e.ID), e.Type, cause.Error()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE `+LiveSchema+`.reactor_checkpoints SET tx_id = $1, seq = $2, updated_at = now() WHERE name = $3`,
			int64(e.Position.TxID), e.Position.Seq, f.re.Name())
		return err
	})
	if err != nil {
		return fmt.Errorf("set aside event %s: %w", e.ID, err)
	}
	f.written, f.writtenAt = e.Position, time.Now()
	return nil
}

// writeCheckpoint moves the checkpoint to pos, on the connection that holds the lock: a connection lost
// (and with it the lock) fails the write, and the reactor starts again from the checkpoint written last.
func (f *following) writeCheckpoint(ctx context.Context, pos eventstore.Position) error {
	_, err := f.conn.Exec(ctx, `UPDATE `+LiveSchema+`.reactor_checkpoints SET tx_id = $1, seq = $2, updated_at = now() WHERE name = $3`,
		int64(pos.TxID), pos.Seq, f.re.Name())
	if err != nil {
		return fmt.Errorf("move the checkpoint to %s: %w", pos, err)
	}
	f.written, f.writtenAt = pos, time.Now()
	return nil
}

// isTemporary reports an error that says of itself that it is temporary (net.Error's convention, which
// the mail adapter follows for an SMTP server's 4xx replies).
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// sleepCtx waits d, or less when ctx ends first; it reports whether ctx is still going.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
