package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/projections"
)

var (
	sealedEvents = promauto.NewCounter(prometheus.CounterOpts{
		Name: "jobserver_audit_sealed_events_total",
		Help: "Events this process added to the audit hash chain.",
	})
	signedCheckpoints = promauto.NewCounter(prometheus.CounterOpts{
		Name: "jobserver_audit_checkpoints_total",
		Help: "Signed checkpoints of the audit hash chain this process wrote.",
	})
)

// SealerOptions tune the sealer; the zero value takes the defaults.
type SealerOptions struct {
	// CheckpointEvents and CheckpointEvery: a checkpoint is signed once this many events were sealed since
	// the last one, or this long after it when any were (defaults 1,000 and 1 s).
	CheckpointEvents int
	CheckpointEvery  time.Duration
	// Standby is how often a process that does not hold the sealer's lock tries to take it (default 5 s).
	Standby time.Duration
	// Pause is how long the sealer waits after sealing what was there before it looks again (default 100
	// ms): under a steady flow of appends it seals in batches of many events, with few round trips and
	// commits of its own competing with the appends.
	Pause time.Duration
}

func (o SealerOptions) withDefaults() SealerOptions {
	if o.CheckpointEvents <= 0 {
		o.CheckpointEvents = 1000
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = time.Second
	}
	if o.Standby <= 0 {
		o.Standby = 5 * time.Second
	}
	if o.Pause <= 0 {
		o.Pause = 100 * time.Millisecond
	}
	return o
}

// sealBatch is how many events one round of the sealer reads and chains.
const sealBatch = 1000

// Sealer follows the log in its global order and writes the hash chain and signed checkpoints beside it. It
// is a reader of the log like any projector: appends never wait for it.
type Sealer struct {
	pool     *pgxpool.Pool
	notifier *pgstore.Notifier
	key      ed25519.PrivateKey
	logger   *slog.Logger
	opts     SealerOptions
	now      func() time.Time
}

// NewSealer returns a sealer of the log in pool's database, woken by notifier, signing with key.
func NewSealer(pool *pgxpool.Pool, notifier *pgstore.Notifier, key ed25519.PrivateKey, logger *slog.Logger, opts SealerOptions) *Sealer {
	if logger == nil {
		logger = slog.Default()
	}
	return &Sealer{pool: pool, notifier: notifier, key: key, logger: logger, opts: opts.withDefaults(), now: time.Now}
}

// sealerLock is the advisory lock that keeps one sealer running across every server on the database.
const sealerLock = `hashtextextended('jobserver audit sealer', 0)`

// errStandby means another process holds the sealer's lock.
var errStandby = errors.New("another process runs the sealer")

// Run seals until ctx ends, and then returns nil. Of several servers on one database one seals; the others
// stand by and take over when it stops. Failures are logged and the sealer starts again from the chain's head.
func (s *Sealer) Run(ctx context.Context) error {
	pause := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.withLock(ctx, s.follow)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, errStandby):
			pause = 100 * time.Millisecond
			if sleep(ctx, s.opts.Standby) != nil {
				return nil
			}
			continue
		case err != nil:
			s.logger.Error("audit sealer stopped; it starts again from the chain's head", "error", err)
		}
		if sleep(ctx, pause) != nil {
			return nil
		}
		pause = min(2*pause, 30*time.Second)
	}
	return nil
}

// Seal chains every event visible now and signs a checkpoint of the head, then returns it. It waits for a
// sealer running elsewhere to let go of the lock.
func (s *Sealer) Seal(ctx context.Context) (Checkpoint, error) {
	var head Checkpoint
	for {
		err := s.withLock(ctx, func(ctx context.Context, st *sealing) error {
			for {
				n, err := st.sealBatch(ctx, true)
				if err != nil {
					return err
				}
				if n < sealBatch {
					break
				}
			}
			if err := st.checkpoint(ctx); err != nil {
				return err
			}
			head = st.lastCheckpoint
			return nil
		})
		if !errors.Is(err, errStandby) {
			return head, err
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return head, err
		}
	}
}

// withLock runs work on a connection of its own holding the sealer's lock, from the chain's head as
// stored. The connection is not the pool's: the sealer keeps it as long as it runs, and the pool's are for
// requests.
func (s *Sealer) withLock(ctx context.Context, work func(context.Context, *sealing) error) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	// Closing the connection gives the lock back.
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+sealerLock+`)`).Scan(&locked); err != nil {
		return fmt.Errorf("take the sealer's lock: %w", err)
	}
	if !locked {
		return errStandby
	}
	// The chain can always be computed again from the log: a crash that loses the last moment of it costs
	// nothing, so its commits do not wait for the disk, and leave the disk's flushes to the appends.
	if _, err := conn.Exec(ctx, `SET synchronous_commit = off`); err != nil {
		return err
	}
	st := &sealing{Sealer: s, conn: conn}
	if err := st.load(ctx); err != nil {
		return err
	}
	return work(ctx, st)
}

// follow seals as events become visible, until ctx ends or something fails.
func (s *Sealer) follow(ctx context.Context, st *sealing) error {
	waiter := s.notifier.Waiter()
	for {
		waiter.Arm()
		n, err := st.sealBatch(ctx, false)
		if err != nil {
			return err
		}
		if n == sealBatch {
			continue
		}
		waiter.Saw(st.headPosition())
		if n > 0 {
			if err := sleep(ctx, s.opts.Pause); err != nil {
				return err
			}
			continue
		}
		if err := st.waitOrCheckpoint(ctx, waiter); err != nil {
			return err
		}
	}
}

// sealing is the sealer at work on its connection: the chain's head and its last checkpoint.
type sealing struct {
	*Sealer
	conn           *pgx.Conn
	head           link
	lastCheckpoint Checkpoint
	chainer        Chainer
}

func (st *sealing) headPosition() eventstore.Position {
	return eventstore.Position{TxID: uint64(st.head.place.txID), Seq: st.head.place.seq}
}

func (st *sealing) load(ctx context.Context) error {
	rows, err := st.conn.Query(ctx, headSQL)
	links, err := projections.All(rows, err, scanLink)
	if err != nil {
		return fmt.Errorf("read the chain's head: %w", err)
	}
	if len(links) == 1 {
		st.head = links[0]
	}
	rows, err = st.conn.Query(ctx, `SELECT `+checkpointColumns+` FROM audit_checkpoints ORDER BY position DESC LIMIT 1`)
	checkpoints, err := projections.All(rows, err, scanCheckpoint)
	if err != nil {
		return fmt.Errorf("read the last checkpoint: %w", err)
	}
	if len(checkpoints) == 1 {
		st.lastCheckpoint = checkpoints[0]
	}
	return nil
}

// sealableSQL selects the visible events after a place, in the store's global order (the visibility rule
// of pgstore.ReadAllSQL: an event whose transaction, or an older one, may still be running is not visible).
const sealableSQL = `SELECT ` + eventColumns + ` FROM events e
WHERE (tx_id, seq) > ($1, $2) AND tx_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
ORDER BY tx_id, seq LIMIT $3`

const insertCheckpointSQL = `INSERT INTO audit_checkpoints (` + checkpointColumns + `) VALUES ($1, $2, $3, $4, $5)`

// sealBatch chains the next visible events, up to sealBatch of them, with a checkpoint at every
// CheckpointEvents-th event and one at the last when the last checkpoint is older than CheckpointEvery (or,
// with final, in any case), and writes them in one transaction.
func (st *sealing) sealBatch(ctx context.Context, final bool) (int, error) {
	rows, err := st.conn.Query(ctx, sealableSQL, st.head.place.txID, st.head.place.seq, sealBatch)
	events, err := projections.All(rows, err, scanStoredEvent)
	if err != nil || len(events) == 0 {
		return 0, err
	}
	var (
		links       = make([][]any, len(events))
		head        = st.head
		signed      = st.lastCheckpoint
		checkpoints []Checkpoint
	)
	for i := range events {
		e := &events[i]
		head = link{position: head.position + 1, place: e.place, eventID: e.ID, hash: st.chainer.Next(head.hash, &e.Event)}
		links[i] = []any{head.position, e.place.txID, e.place.seq, [16]byte(e.ID), append([]byte(nil), head.hash[:]...)}
		if head.position-signed.Position >= int64(st.opts.CheckpointEvents) {
			signed = Sign(st.key, head.position, head.hash, st.now())
			checkpoints = append(checkpoints, signed)
		}
	}
	if head.position > signed.Position && (final || st.now().Sub(signed.SealedAt) >= st.opts.CheckpointEvery) {
		signed = Sign(st.key, head.position, head.hash, st.now())
		checkpoints = append(checkpoints, signed)
	}
	// COPY is the cheapest way in for rows: the sealer's writes compete with the appends for the server.
	err = pgx.BeginFunc(ctx, st.conn, func(tx pgx.Tx) error {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"audit_chain"}, linkColumnNames, pgx.CopyFromRows(links)); err != nil {
			return err
		}
		for _, c := range checkpoints {
			if _, err := tx.Exec(ctx, insertCheckpointSQL, c.Position, c.Hash[:], c.SealedAt, []byte(c.PublicKey), c.Signature); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("write the chain up to position %d: %w", head.position, err)
	}
	st.head, st.lastCheckpoint = head, signed
	sealedEvents.Add(float64(len(events)))
	signedCheckpoints.Add(float64(len(checkpoints)))
	return len(events), nil
}

// checkpoint signs the head, unless it is signed already.
func (st *sealing) checkpoint(ctx context.Context) error {
	if st.head.position == st.lastCheckpoint.Position {
		return nil
	}
	c := Sign(st.key, st.head.position, st.head.hash, st.now())
	if _, err := st.conn.Exec(ctx, insertCheckpointSQL, c.Position, c.Hash[:], c.SealedAt, []byte(c.PublicKey), c.Signature); err != nil {
		return fmt.Errorf("sign the chain at position %d: %w", c.Position, err)
	}
	st.lastCheckpoint = c
	signedCheckpoints.Inc()
	return nil
}

// waitOrCheckpoint waits for new events; when the head is not signed yet, no longer than until its
// checkpoint is due, and then signs it.
func (st *sealing) waitOrCheckpoint(ctx context.Context, waiter *pgstore.Waiter) error {
	if st.head.position == st.lastCheckpoint.Position {
		return waiter.Wait(ctx)
	}
	due := st.lastCheckpoint.SealedAt.Add(st.opts.CheckpointEvery).Sub(st.now())
	if due > 0 {
		waitCtx, cancel := context.WithTimeout(ctx, due)
		err := waiter.Wait(waitCtx)
		cancel()
		if ctx.Err() != nil || err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if err == nil {
			return nil // woken before the checkpoint is due: seal what came first
		}
	}
	return st.checkpoint(ctx)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
