package pgstore

import (
	"context"
	stdsql "database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/oklog/ulid/v2"

	"github.com/mediciasafely/jobserver/eventstore"
)

// The live path: a watermill-sql subscriber reads the event log itself (no second copy of the events),
// and keeps the consumer's position in a checkpoint table. The subscriber selects a batch and hands each
// message to the handler inside one transaction, then writes the checkpoint in that same transaction, so
// a consumer that writes its own tables through WithMessageTx applies every event exactly once.

// Topic is the only topic: the event log.
const Topic = "events"

// SubscriberConfig describes one consumer of the log.
type SubscriberConfig struct {
	// Consumer names the consumer group; it is the key of its row in CheckpointTable.
	Consumer string
	// CheckpointTable holds (name, tx_id, seq) rows. An unqualified name resolves through the pool's search_path.
	CheckpointTable string
	// BatchSize is how many events one transaction handles at most.
	BatchSize int
	// OnCommit runs after each committed batch.
	OnCommit func()
	// Rebuildable says that what the consumer writes can be made again from the log (a projector's read
	// model): its batches commit without waiting for the disk (synchronous_commit off). A batch's
	// transaction holds back every later append from every reader until it ends (they read below the oldest
	// running transaction), so a flush of the disk in each of several projectors' batches was a wait for
	// every page showing a change. A crash may lose the last such batches, rows and checkpoint together,
	// and they are applied again; a committed batch is visible at once, as before.
	Rebuildable bool
}

// NewSubscriber returns a watermill subscriber of the log for one consumer and the waiter that paces it.
// ctx bounds its idle waits; cancel it when closing the router.
func (s *Store) NewSubscriber(ctx context.Context, cfg SubscriberConfig, logger watermill.LoggerAdapter) (*wsql.Subscriber, *Waiter, error) {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 100
	}
	waiter := s.notifier.Waiter()
	ack := 10 * time.Second
	sub, err := wsql.NewSubscriber(turnTakingBeginner{Beginner: wsql.BeginnerFromPgx(s.pool), noFlush: cfg.Rebuildable}, wsql.SubscriberConfig{
		ConsumerGroup:  cfg.Consumer,
		AckDeadline:    &ack,
		PollInterval:   pollFallback,
		ResendInterval: 50 * time.Millisecond,
		RetryInterval:  time.Second,
		SchemaAdapter:  logSchema{batchSize: cfg.BatchSize, waiter: waiter},
		OffsetsAdapter: checkpointOffsets{table: cfg.CheckpointTable},
		BackoffManager: &pacer{ctx: ctx, waiter: waiter, onCommit: cfg.OnCommit},
	}, logger)
	if err != nil {
		return nil, nil, fmt.Errorf("subscriber %s: %w", cfg.Consumer, err)
	}
	return sub, waiter, nil
}

// WithMessageTx runs fn in the transaction a message is delivered in. Writes through it commit together
// with the consumer's checkpoint. fn has the transaction to itself: the subscriber ends the transaction
// (also when the router closes in the middle of a batch) only after fn has returned.
func WithMessageTx(msg *message.Message, fn func(pgx.Tx) error) error {
	tx, ok := wsql.TxFromContext(msg.Context())
	if !ok {
		return errors.New("message carries no transaction")
	}
	mt, ok := tx.(*messageTx)
	if !ok {
		return fmt.Errorf("message transaction is a %T, not one of this store's", tx)
	}
	return mt.use(fn)
}

// turnTakingBeginner begins the subscriber's batch transactions. A pgx connection must never be used by two
// goroutines at once, and watermill-sql, when its router closes, commits or rolls back a batch while the
// handler may still be running on that batch's connection; the transactions it begins make the two take turns.
// With noFlush, they commit without waiting for the disk (SubscriberConfig.Rebuildable).
type turnTakingBeginner struct {
	wsql.Beginner
	noFlush bool
}

func (b turnTakingBeginner) BeginTx(ctx context.Context, opts *stdsql.TxOptions) (wsql.Tx, error) {
	tx, err := b.Beginner.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	ptx, ok := tx.(*wsql.PgxTx)
	if !ok {
		return nil, fmt.Errorf("subscriber transaction is a %T, not a pgx transaction", tx)
	}
	if b.noFlush {
		if _, err := ptx.Tx.Exec(ctx, "SET LOCAL synchronous_commit TO off"); err != nil {
			_ = ptx.Rollback()
			return nil, err
		}
	}
	return &messageTx{tx: ptx}, nil
}

// messageTx is a batch transaction shared by the subscriber and the handler, one at a time.
type messageTx struct {
	mu    sync.Mutex
	tx    *wsql.PgxTx
	ended bool
}

func (t *messageTx) ExecContext(ctx context.Context, query string, args ...any) (wsql.Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tx.ExecContext(ctx, query, args...)
}

// QueryContext is the subscriber's select of a batch; it reads all the rows before it hands out a message.
func (t *messageTx) QueryContext(ctx context.Context, query string, args ...any) (wsql.Rows, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tx.QueryContext(ctx, query, args...)
}

func (t *messageTx) Commit() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ended = true
	return t.tx.Commit()
}

func (t *messageTx) Rollback() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ended = true
	return t.tx.Rollback()
}

func (t *messageTx) use(fn func(pgx.Tx) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		return errors.New("the batch's transaction has ended")
	}
	return fn(t.tx.Tx)
}

// Metadata keys of a message that carries an event; the payload is the event's JSON data.
const (
	metaType          = "event_type"
	metaStream        = "stream"
	metaVersion       = "stream_version"
	metaSchemaVersion = "schema_version"
	metaTxID          = "tx_id"
	metaSeq           = "seq"
	metaRecordedAt    = "recorded_at"
	metaActor         = "actor"
	metaCorrelationID = "correlation_id" // the key watermill's correlation middleware reads
	metaCausationID   = "causation_id"
)

// EventFromMessage turns a message delivered by the subscriber back into the stored event.
func EventFromMessage(msg *message.Message) (eventstore.Event, error) {
	id, err := ulid.ParseStrict(msg.UUID)
	if err != nil {
		return eventstore.Event{}, fmt.Errorf("message %s: %w", msg.UUID, err)
	}
	md := msg.Metadata
	e := eventstore.Event{
		ID: id, Stream: md.Get(metaStream), Type: md.Get(metaType), Data: msg.Payload,
		Metadata: eventstore.Metadata{Actor: md.Get(metaActor), CorrelationID: md.Get(metaCorrelationID), CausationID: md.Get(metaCausationID)},
	}
	var errs []error
	parse := func(key string, set func(string) error) {
		if err := set(md.Get(key)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	parse(metaVersion, func(v string) (err error) { e.Version, err = strconv.ParseInt(v, 10, 64); return })
	parse(metaSchemaVersion, func(v string) (err error) { e.SchemaVersion, err = strconv.Atoi(v); return })
	parse(metaTxID, func(v string) (err error) { e.Position.TxID, err = strconv.ParseUint(v, 10, 64); return })
	parse(metaSeq, func(v string) (err error) { e.Position.Seq, err = strconv.ParseInt(v, 10, 64); return })
	parse(metaRecordedAt, func(v string) (err error) { e.RecordedAt, err = time.Parse(time.RFC3339Nano, v); return })
	if err := errors.Join(errs...); err != nil {
		return eventstore.Event{}, fmt.Errorf("message %s: %w", msg.UUID, err)
	}
	return e, nil
}

// logSchema is a watermill-sql schema adapter over the events table. It only reads: events are appended
// through Store.Append, never published through watermill.
type logSchema struct {
	batchSize int
	waiter    *Waiter
}

func (logSchema) InsertQuery(wsql.InsertQueryParams) (wsql.Query, error) {
	return wsql.Query{}, errors.New("the event log is appended through the event store, not published to")
}

func (s logSchema) SelectQuery(params wsql.SelectQueryParams) (wsql.Query, error) {
	next, err := params.OffsetsAdapter.NextOffsetQuery(wsql.NextOffsetQueryParams{Topic: params.Topic, ConsumerGroup: params.ConsumerGroup})
	if err != nil {
		return wsql.Query{}, err
	}
	s.waiter.Arm()
	return wsql.Query{
		Query: `WITH checkpoint AS (` + next.Query + `)
			SELECT ` + eventColumns + `
			FROM events
			WHERE (tx_id, seq) > ((SELECT tx_id FROM checkpoint), (SELECT seq FROM checkpoint))
			  AND tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
			ORDER BY tx_id, seq
			LIMIT ` + strconv.Itoa(s.batchSize),
		Args: next.Args,
	}, nil
}

func (s logSchema) UnmarshalMessage(params wsql.UnmarshalMessageParams) (wsql.Row, error) {
	e, err := scanEvent(params.Row)
	if err != nil {
		return wsql.Row{}, fmt.Errorf("scan event: %w", err)
	}
	msg := message.NewMessage(e.ID.String(), e.Data)
	msg.Metadata = message.Metadata{
		metaType: e.Type, metaStream: e.Stream, metaVersion: strconv.FormatInt(e.Version, 10),
		metaSchemaVersion: strconv.Itoa(e.SchemaVersion), metaTxID: strconv.FormatUint(e.Position.TxID, 10),
		metaSeq: strconv.FormatInt(e.Position.Seq, 10), metaRecordedAt: e.RecordedAt.Format(time.RFC3339Nano),
		metaActor: e.Metadata.Actor, metaCorrelationID: e.Metadata.CorrelationID, metaCausationID: e.Metadata.CausationID,
	}
	s.waiter.Saw(e.Position)
	return wsql.Row{Offset: e.Position.Seq, UUID: e.ID[:], Payload: e.Data, Msg: msg, ExtraData: map[string]any{"tx_id": int64(e.Position.TxID)}}, nil
}

func (logSchema) SchemaInitializingQueries(wsql.SchemaInitializingQueriesParams) ([]wsql.Query, error) {
	return nil, nil // the events table is created by the migrations
}

// SubscribeIsolationLevel: one snapshot for the visibility bound and the reads of the whole batch.
func (logSchema) SubscribeIsolationLevel() stdsql.IsolationLevel { return stdsql.LevelRepeatableRead }

// checkpointOffsets keeps a consumer's position in its checkpoint row, locked for the length of a batch so
// two subscribers of one consumer (or a catch-up and the live path) never apply the same events.
type checkpointOffsets struct{ table string }

func (o checkpointOffsets) NextOffsetQuery(params wsql.NextOffsetQueryParams) (wsql.Query, error) {
	return wsql.Query{Query: `SELECT tx_id, seq FROM ` + o.table + ` WHERE name = $1 FOR UPDATE`, Args: []any{params.ConsumerGroup}}, nil
}

func (o checkpointOffsets) AckMessageQuery(params wsql.AckMessageQueryParams) (wsql.Query, error) {
	return wsql.Query{
		Query: `UPDATE ` + o.table + ` SET tx_id = $1, seq = $2, updated_at = now() WHERE name = $3`,
		Args:  []any{params.LastRow.ExtraData["tx_id"], params.LastRow.Offset, params.ConsumerGroup},
	}, nil
}

func (checkpointOffsets) ConsumedMessageQuery(wsql.ConsumedMessageQueryParams) (wsql.Query, error) {
	return wsql.Query{}, nil
}

func (checkpointOffsets) SchemaInitializingQueries(wsql.OffsetsSchemaInitializingQueriesParams) ([]wsql.Query, error) {
	return nil, nil // the owner of the checkpoint table creates it
}

func (o checkpointOffsets) BeforeSubscribingQueries(params wsql.BeforeSubscribingQueriesParams) ([]wsql.Query, error) {
	// The row must exist for FOR UPDATE to have something to lock.
	return []wsql.Query{{Query: `INSERT INTO ` + o.table + ` (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, Args: []any{params.ConsumerGroup}}}, nil
}

// pacer decides when the subscriber reads again: at once after a batch, when woken by an append, or soon
// when an append it has not seen is still invisible.
type pacer struct {
	ctx      context.Context
	waiter   *Waiter
	onCommit func()
	failures int
}

func (p *pacer) HandleError(logger watermill.LoggerAdapter, noMsg bool, err error) time.Duration {
	switch {
	case err != nil && p.ctx.Err() != nil:
		return 0 // shutting down: the subscriber stops on its own
	case err != nil && isLockConflict(err):
		return 0 // another transaction moved the checkpoint first: read it again
	case err != nil:
		p.failures++
		wait := min(time.Duration(p.failures)*200*time.Millisecond, 5*time.Second)
		logger.Error("Reading the event log failed", err, watermill.LogFields{"wait_time": wait})
		return wait
	case noMsg:
		p.failures = 0
		_ = p.waiter.Wait(p.ctx)
		return 0
	default:
		p.failures = 0
		if p.onCommit != nil {
			p.onCommit()
		}
		return 0
	}
}

func isLockConflict(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}
