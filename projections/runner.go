package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
)

// LiveSchema holds the read models that pages read.
const LiveSchema = "readmodel"

const checkpointsDDL = `CREATE TABLE IF NOT EXISTS projection_checkpoints (
	name        text PRIMARY KEY,
	tx_id       bigint NOT NULL DEFAULT 0,
	seq         bigint NOT NULL DEFAULT 0,
	fingerprint text   NOT NULL DEFAULT '',
	updated_at  timestamptz NOT NULL DEFAULT now()
)`

// Runner feeds the projectors: it catches each one up in large batches, then follows new events live.
type Runner struct {
	pool       *pgxpool.Pool
	store      *pgstore.Store
	registry   *domain.Registry
	projectors []Projector
	logger     *slog.Logger
	batchSize  int
}

// NewRunner returns a runner for the projectors. A registry without PersonalKeys opens personal data with
// this process's own keys (eventstore.Process, for tests); the server passes its keys table.
func NewRunner(pool *pgxpool.Pool, store *pgstore.Store, registry *domain.Registry, logger *slog.Logger, projectors ...Projector) *Runner {
	return &Runner{pool: pool, store: store, registry: registry.OrWithKeys(eventstore.Process()), projectors: projectors, logger: logger, batchSize: 1000}
}

// Projectors lists the runner's projectors.
func (r *Runner) Projectors() []Projector { return r.projectors }

// Prepare creates the read-model schema, rebuilds each projector whose tables or meaning changed since it
// was built, and catches every projector up with the log, but those another process runs live. Of servers
// starting together on one database, one prepares at a time.
func (r *Runner) Prepare(ctx context.Context) error {
	return whileHolding(ctx, r.pool, startUpLock, true, r.prepare)
}

func (r *Runner) prepare(ctx context.Context) error {
	if err := r.createSchema(ctx, LiveSchema); err != nil {
		return err
	}
	var stale []Projector
	for _, p := range r.projectors {
		built, err := r.builtFingerprint(ctx, p)
		if err != nil {
			return err
		}
		if built != fingerprint(p) {
			r.logger.Info("rebuilding read model", "projector", p.Name(), "reason", rebuildReason(built))
			stale = append(stale, p)
		}
	}
	if len(stale) > 0 {
		// Together: one read of the log for all of them.
		if err := r.replayTogether(ctx, stale); err != nil {
			return err
		}
	}
	for _, p := range r.projectors {
		// A projector another server runs is caught up there, and catching up beside it would only contend
		// for its checkpoint.
		err := whileHolding(ctx, r.pool, projectorJob(p), false, func(ctx context.Context) error {
			return r.catchUp(ctx, p, LiveSchema, nil, nil)
		})
		if err != nil && !errors.Is(err, errLockHeld) {
			return fmt.Errorf("projector %s: %w", p.Name(), err)
		}
	}
	return nil
}

// projectorJob names a projector's lock.
func projectorJob(p Projector) string { return "projector " + p.Name() }

func rebuildReason(built string) string {
	if built == "" {
		return "never built"
	}
	return "projector changed"
}

func (r *Runner) createSchema(ctx context.Context, schema string) error {
	return pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
			return fmt.Errorf("create schema %s: %w", schema, err)
		}
		if err := useSchema(ctx, tx, schema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, checkpointsDDL); err != nil {
			return fmt.Errorf("create checkpoints in %s: %w", schema, err)
		}
		return nil
	})
}

// useSchema points the transaction's unqualified names at schema, then at the event store.
func useSchema(ctx context.Context, tx pgx.Tx, schema string) error {
	_, err := tx.Exec(ctx, "SET LOCAL search_path TO "+pgx.Identifier{schema}.Sanitize()+", public")
	return err
}

func (r *Runner) builtFingerprint(ctx context.Context, p Projector) (string, error) {
	var fp string
	err := r.pool.QueryRow(ctx, `SELECT fingerprint FROM `+LiveSchema+`.projection_checkpoints WHERE name = $1`, p.Name()).Scan(&fp)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return fp, err
}

// catchUp applies batches until the log has no more visible events for p (or until the position until),
// each batch in one transaction with the checkpoint. progress, when given, hears how many events each
// batch covered.
func (r *Runner) catchUp(ctx context.Context, p Projector, schema string, until *eventstore.Position, progress func(int)) error {
	for {
		n, err := r.batchInTx(ctx, p, schema, until, false)
		if err != nil && !isTransient(err) {
			// An event this projector cannot apply: go through the batch one event at a time to set it aside.
			n, err = r.batchInTx(ctx, p, schema, until, true)
		}
		if err != nil {
			return err
		}
		if progress != nil {
			progress(n)
		}
		if n < r.batchSize {
			return nil
		}
	}
}

func (r *Runner) batchInTx(ctx context.Context, p Projector, schema string, until *eventstore.Position, oneByOne bool) (int, error) {
	for attempt := 1; ; attempt++ {
		var n int
		err := pgx.BeginTxFunc(ctx, r.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
			if err := useSchema(ctx, tx, schema); err != nil {
				return err
			}
			var err error
			n, err = r.applyNext(ctx, tx, p, until, oneByOne)
			return err
		})
		if err == nil || !isTransient(err) || attempt == 5 || ctx.Err() != nil {
			return n, err
		}
		time.Sleep(time.Duration(attempt) * 20 * time.Millisecond)
	}
}

// applyNext applies the next batch of events after p's checkpoint, in tx, and moves the checkpoint.
func (r *Runner) applyNext(ctx context.Context, tx pgx.Tx, p Projector, until *eventstore.Position, oneByOne bool) (int, error) {
	var at eventstore.Position
	var txID int64
	err := tx.QueryRow(ctx, `INSERT INTO projection_checkpoints (name) VALUES ($1)
		ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING tx_id, seq`, p.Name()).Scan(&txID, &at.Seq)
	if err != nil {
		return 0, fmt.Errorf("lock checkpoint: %w", err)
	}
	at.TxID = uint64(txID)
	events, err := pgstore.ReadAll(ctx, tx, at, r.batchSize)
	if err != nil {
		return 0, err
	}
	if until != nil {
		events = slices.DeleteFunc(events, func(e eventstore.Event) bool { return until.Less(e.Position) })
	}
	if len(events) == 0 {
		return 0, nil
	}
	if oneByOne {
		err = r.applyEach(ctx, tx, p, events)
	} else {
		db := newBatchDB(tx)
		handled := handledBy(p)
		for _, e := range events {
			if err = r.apply(ctx, p, handled, db, e); err != nil {
				break
			}
		}
		if err == nil {
			err = db.finish(ctx)
		}
	}
	if err != nil {
		return 0, err
	}
	last := events[len(events)-1]
	if _, err := tx.Exec(ctx, `UPDATE projection_checkpoints SET tx_id = $1, seq = $2, updated_at = now() WHERE name = $3`,
		int64(last.Position.TxID), last.Position.Seq, p.Name()); err != nil {
		return 0, fmt.Errorf("move checkpoint: %w", err)
	}
	return len(events), nil
}

// applyEach applies events one at a time, each under a savepoint, and records the events the projector
// cannot apply instead of stopping on them.
func (r *Runner) applyEach(ctx context.Context, tx pgx.Tx, p Projector, events []eventstore.Event) error {
	handled := handledBy(p)
	for _, e := range events {
		if !handled[e.Type] {
			continue
		}
		err := pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error { return r.apply(ctx, p, handled, txDB{sp}, e) })
		if err == nil {
			continue
		}
		if isTransient(err) {
			return err
		}
		if err := r.recordFailure(ctx, tx, p.Name(), e, err); err != nil {
			return err
		}
	}
	return nil
}

func (r *Runner) recordFailure(ctx context.Context, tx pgx.Tx, consumer string, e eventstore.Event, cause error) error {
	r.logger.Error("projector could not apply an event; it is set aside in event_failures",
		"projector", consumer, "event_id", e.ID.String(), "event_type", e.Type, "error", cause)
	projectionFailures.WithLabelValues(consumer).Inc()
	_, err := tx.Exec(ctx, `INSERT INTO public.event_failures (consumer, event_id, event_type, reason) VALUES ($1, $2, $3, $4)`,
		consumer, [16]byte(e.ID), e.Type, cause.Error())
	return err
}

// apply decodes e and hands it to p when p handles its type. handled is handledBy(p), or nil to ask p.
func (r *Runner) apply(ctx context.Context, p Projector, handled map[string]bool, db DB, e eventstore.Event) error {
	if handled == nil {
		handled = handledBy(p)
	}
	if !handled[e.Type] {
		return nil
	}
	payload, err := r.registry.Decode(e.Type, e.SchemaVersion, e.Data)
	if err != nil {
		return err
	}
	return applyDecoded(ctx, p, db, Event{Event: e, Payload: payload})
}

func applyDecoded(ctx context.Context, p Projector, db DB, e Event) error {
	if err := p.Apply(ctx, db, e); err != nil {
		return fmt.Errorf("apply %s %s: %w", e.Type, e.ID, err)
	}
	return nil
}

// handledBy returns the event types p handles as a set. Handles may build its list on every call: ask once
// per batch, not once per event.
func handledBy(p Projector) map[string]bool {
	types := p.Handles()
	set := make(map[string]bool, len(types))
	for _, t := range types {
		set[t] = true
	}
	return set
}

// Run follows the log live until ctx ends, each projector in one process at a time across the servers on
// the database (see Exclusive): a server that does not hold a projector's lock stands by and takes it over
// when its holder stops. Call Prepare first so the live path starts from caught-up checkpoints.
func (r *Runner) Run(ctx context.Context) error {
	jobs := make([]Job, len(r.projectors))
	for i, p := range r.projectors {
		jobs[i] = Job{Name: projectorJob(p), Run: func(ctx context.Context) error { return r.follow(ctx, p) }}
	}
	return NewExclusive(r.pool, r.logger, 0).Run(ctx, jobs...)
}

// follow applies p's events as they come, through a watermill router of its own, until ctx ends.
func (r *Runner) follow(ctx context.Context, p Projector) error {
	logger := watermill.NewSlogLoggerWithLevelMapping(r.logger, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 10 * time.Second}, logger)
	if err != nil {
		return err
	}
	poison, err := middleware.PoisonQueueWithFilter(failureLog{runner: r}, "event_failures", func(err error) bool { return !isTransient(err) })
	if err != nil {
		return err
	}
	retry := middleware.Retry{MaxRetries: 3, InitialInterval: 10 * time.Millisecond, Multiplier: 2, MaxInterval: 200 * time.Millisecond, Logger: logger}
	router.AddMiddleware(poison, retry.Middleware, middleware.Recoverer, middleware.CorrelationID)

	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub, waiter, err := r.store.NewSubscriber(subCtx, pgstore.SubscriberConfig{
		Consumer: p.Name(), CheckpointTable: LiveSchema + ".projection_checkpoints", BatchSize: 100,
		OnCommit: r.store.Notifier().Poke, Rebuildable: true,
	}, logger)
	if err != nil {
		return err
	}
	// The checkpoint is read when the lock is taken: another process may have moved it since Prepare.
	at, err := r.checkpoint(ctx, LiveSchema, p.Name())
	if err != nil {
		return err
	}
	waiter.Saw(at)
	router.AddConsumerHandler(p.Name(), pgstore.Topic, sub, r.liveHandler(p))
	return router.Run(ctx)
}

func (r *Runner) liveHandler(p Projector) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		e, err := pgstore.EventFromMessage(msg)
		if err != nil {
			return err
		}
		if !slices.Contains(p.Handles(), e.Type) {
			return nil
		}
		err = pgstore.WithMessageTx(msg, func(tx pgx.Tx) error { return r.applyLive(msg.Context(), tx, p, e) })
		if err != nil {
			return err
		}
		observeLive(p.Name(), e)
		return nil
	}
}

// applyLive applies one event under a savepoint, so a failed attempt rolls back to it and leaves the
// batch's transaction usable for the retry. The savepoint, the projector's writes and the release go to
// the server in one round trip.
func (r *Runner) applyLive(ctx context.Context, tx pgx.Tx, p Projector, e eventstore.Event) error {
	db := newBatchDB(tx)
	err := db.queue(ctx, "SAVEPOINT live_apply")
	if err == nil {
		err = r.apply(ctx, p, nil, db, e)
	}
	if err == nil {
		err = db.settle(ctx)
	}
	if err == nil {
		err = db.queue(ctx, "RELEASE SAVEPOINT live_apply")
	}
	if err == nil {
		err = db.flush(ctx)
	}
	if err != nil && db.sent {
		if _, rbErr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT live_apply"); rbErr != nil {
			return errors.Join(err, rbErr)
		}
	}
	return err
}

// failureLog is the poison queue: an event a projector still cannot apply after retries is recorded, in
// the transaction that moves the checkpoint past it.
type failureLog struct{ runner *Runner }

func (f failureLog) Publish(_ string, msgs ...*message.Message) error {
	for _, msg := range msgs {
		e, err := pgstore.EventFromMessage(msg)
		if err != nil {
			return err
		}
		reason := errors.New(msg.Metadata.Get(middleware.ReasonForPoisonedKey))
		err = pgstore.WithMessageTx(msg, func(tx pgx.Tx) error {
			return f.runner.recordFailure(msg.Context(), tx, msg.Metadata.Get(middleware.PoisonedHandlerKey), e, reason)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (failureLog) Close() error { return nil }

func (r *Runner) checkpoint(ctx context.Context, schema, name string) (eventstore.Position, error) {
	var txID, seq int64
	err := r.pool.QueryRow(ctx, `SELECT tx_id, seq FROM `+pgx.Identifier{schema}.Sanitize()+`.projection_checkpoints WHERE name = $1`, name).Scan(&txID, &seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return eventstore.Position{}, nil
	}
	if err != nil {
		return eventstore.Position{}, fmt.Errorf("read checkpoint of %s: %w", name, err)
	}
	return eventstore.Position{TxID: uint64(txID), Seq: seq}, nil
}

// ErrNotYetProjected is returned by WaitFor when the read models did not reach a position in time.
var ErrNotYetProjected = errors.New("the read models have not caught up yet")

// WaitFor returns once the named projectors (every projector when none is named) have applied the event at
// pos (read-your-writes for a page shown after a command), or ErrNotYetProjected when ctx ends first.
// Bound ctx with a short timeout.
func (r *Runner) WaitFor(ctx context.Context, pos eventstore.Position, projectors ...string) error {
	names := projectors
	if len(names) == 0 {
		for _, p := range r.projectors {
			names = append(names, p.Name())
		}
	}
	for _, name := range names {
		if !slices.ContainsFunc(r.projectors, func(p Projector) bool { return p.Name() == name }) {
			return fmt.Errorf("wait for projections: no projector named %q", name)
		}
	}
	for {
		_, woken := r.store.Notifier().State()
		behind, err := r.countBehind(ctx, names, pos)
		if err != nil {
			if ctx.Err() != nil {
				return ErrNotYetProjected
			}
			return err
		}
		if behind == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ErrNotYetProjected
		case <-woken:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (r *Runner) countBehind(ctx context.Context, names []string, pos eventstore.Position) (int, error) {
	var n int
	err := r.pool.QueryRow(ctx, `SELECT $1::int - count(*) FROM `+LiveSchema+`.projection_checkpoints
		WHERE name = ANY($2) AND (tx_id, seq) >= ($3, $4)`, len(names), names, int64(pos.TxID), pos.Seq).Scan(&n)
	return n, err
}
