// Package projections builds the read models: projectors turn events into rows, a runner feeds them, and
// query functions read the rows for pages and the API.
package projections

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// Projector turns events into rows of the read-model tables it owns.
//
// Rules that keep a rebuild equal to the live tables (jobserver verify checks them):
//   - take every value from the event (use Event.RecordedAt, never now(); keys from ids, never sequences);
//   - use jsonb, never json, so rows can be compared;
//   - write only your own tables, with unqualified names (a rebuild runs in another schema).
type Projector interface {
	// Name identifies the projector and its checkpoint.
	Name() string
	// Version is bumped when Apply changes meaning; with Schema it decides when the tables are rebuilt.
	Version() int
	// Schema is the DDL that creates the projector's tables.
	Schema() string
	// Tables lists the tables Schema creates.
	Tables() []string
	// Handles lists the event types Apply wants; other events pass by.
	Handles() []string
	// Apply writes the effect of one event.
	Apply(ctx context.Context, db DB, e Event) error
}

// Event is a stored event with its decoded payload.
type Event struct {
	eventstore.Event
	Payload domain.Event
}

// DB is what a projector may do inside the transaction that also moves its checkpoint.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) error
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// fingerprint changes whenever the projector's tables or meaning change, which calls for a rebuild.
func fingerprint(p Projector) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%s", p.Name(), p.Version(), p.Schema())))
	return hex.EncodeToString(sum[:12])
}

// txDB runs each statement at once.
type txDB struct{ tx pgx.Tx }

func (d txDB) Exec(ctx context.Context, sql string, args ...any) error {
	_, err := d.tx.Exec(ctx, sql, args...)
	return err
}

func (d txDB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return d.tx.Query(ctx, sql, args...)
}

func (d txDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return d.tx.QueryRow(ctx, sql, args...)
}

// batchDB queues writes and sends them in one round trip, which is what makes a rebuild fast. A run of the
// same single-row insert is sent as multi-row statements, or with copyRuns as a COPY (kit_insert.go). A
// read first sends the queued writes, so a projector always reads its own writes.
type batchDB struct {
	tx    pgx.Tx
	batch *pgx.Batch
	sent  bool // some queued statements have gone to the server
	// copyRuns lets long runs of plain inserts go as COPY, which does not know ON CONFLICT: only for
	// tables that a failing batch can be written again into one event at a time (a rebuild's scratch
	// tables, see writeScratchBatch).
	copyRuns bool

	run     *insertShape // the insert whose rows are being collected, or nil
	runSQL  string
	runRows [][]any

	// Updates of the run's rows held back until the run is written (kit_defer.go), their keys (column,
	// NUL, key) and key columns.
	held        []waitingUpdate
	heldKeys    map[string]bool
	heldColumns []string

	// Work owed once the batch's events are applied (kit_settle.go), by name, and the names in order.
	settling    map[string]*pendingSettle
	settleOrder []string
}

func newBatchDB(tx pgx.Tx) *batchDB { return &batchDB{tx: tx, batch: &pgx.Batch{}} }

func (d *batchDB) Exec(ctx context.Context, sql string, args ...any) error {
	if shape := coalescable(sql, args); shape != nil {
		if shape != d.run || len(d.held) > 0 && d.holdsKeyOf(args) {
			if err := d.endRun(ctx); err != nil {
				return err
			}
			d.run, d.runSQL = shape, sql
		}
		d.runRows = append(d.runRows, args)
		return nil
	}
	if d.holdUpdate(sql, args) {
		return nil
	}
	return d.queue(ctx, sql, args...)
}

// queue queues a statement after every write queued so far.
func (d *batchDB) queue(ctx context.Context, sql string, args ...any) error {
	if err := d.endRun(ctx); err != nil {
		return err
	}
	d.batch.Queue(sql, args...)
	return nil
}

// minCopyRows is the shortest run worth a COPY, which costs two round trips of its own.
const minCopyRows = 64

// endRun queues the collected rows of the current insert, or copies them, and then the updates held back.
func (d *batchDB) endRun(ctx context.Context) error {
	run, sql, rows := d.run, d.runSQL, d.runRows
	if run == nil {
		return nil
	}
	d.run, d.runSQL, d.runRows = nil, "", nil
	if !d.copyRuns || run.copyTable == "" || len(rows) < minCopyRows {
		run.queueRun(d.batch, sql, rows)
		d.queueHeld()
		return nil
	}
	if err := d.flush(ctx); err != nil {
		return err
	}
	d.sent = true
	_, err := d.tx.CopyFrom(ctx, pgx.Identifier{run.copyTable}, run.copyColumns, pgx.CopyFromRows(rows))
	d.queueHeld()
	return err
}

func (d *batchDB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := d.flush(ctx); err != nil {
		return nil, err
	}
	return d.tx.Query(ctx, sql, args...)
}

func (d *batchDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := d.flush(ctx); err != nil {
		return errRow{err}
	}
	return d.tx.QueryRow(ctx, sql, args...)
}

func (d *batchDB) flush(ctx context.Context) error {
	if err := d.endRun(ctx); err != nil {
		return err
	}
	if d.batch.Len() == 0 {
		return nil
	}
	b := d.batch
	d.batch = &pgx.Batch{}
	d.sent = true
	return d.tx.SendBatch(ctx, b).Close()
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// isTransient tells errors worth retrying later (the connection, the server, a lock conflict, a cancelled
// context) from errors that will happen again with the same event.
func isTransient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "08", "40", "53", "57", "58": // connection, rollback, resources, operator intervention, system
			return true
		}
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF)
}
