package projections

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
)

// A rebuild into a scratch schema has the schema to itself, so it need not read each batch in the
// transaction that writes it (which catch-up of the live schema must, to hold the checkpoint against other
// runners). fillScratch runs three stages at once, each on its own goroutine: one reads the log a batch ahead,
// one decodes the payloads, and one writes. Each batch is still one transaction with the scratch
// checkpoint, so the scratch tables always sit at a position of the log.
//
// The batch transactions commit with synchronous_commit off: losing the last of them in a crash loses
// nothing, as a scratch schema is only used by the run that builds it. The transaction that swaps the tables
// in (Replay) commits synchronously, and its commit flushes the log up to it, every batch included.

// scratchBatch is one batch of the log on its way through the pipeline.
type scratchBatch struct {
	events  []eventstore.Event // every event of the batch, the ones p ignores included
	decoded []decodedEvent     // the events p handles, decoded
	last    eventstore.Position
}

type decodedEvent struct {
	Event
	err error // the payload could not be decoded: the batch goes through one event at a time
}

// pipelineDepth is how many batches may wait between two stages.
const pipelineDepth = 2

// fillScratch applies the log (up to until, when given) to p's tables in scratch, which are empty.
func (r *Runner) fillScratch(ctx context.Context, p Projector, scratch string, until *eventstore.Position, progress func(int)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	handled := handledBy(p)
	read := make(chan scratchBatch, pipelineDepth)
	decoded := make(chan scratchBatch, pipelineDepth)
	var readErr error
	go func() {
		defer close(read)
		readErr = r.readAhead(ctx, until, read)
	}()
	go func() {
		defer close(decoded)
		for b := range read {
			r.decodeBatch(&b, handled)
			select {
			case decoded <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	for b := range decoded {
		if err := r.writeScratchBatch(ctx, p, scratch, b); err != nil {
			cancel()
			for range decoded {
				// let the other stages end
			}
			return err
		}
		if progress != nil {
			progress(len(b.events))
		}
	}
	if readErr != nil {
		return readErr
	}
	return ctx.Err()
}

// readAhead reads the log in batches from the start and sends them on, up to the first short batch.
func (r *Runner) readAhead(ctx context.Context, until *eventstore.Position, out chan<- scratchBatch) error {
	var after eventstore.Position
	for {
		events, err := pgstore.ReadAll(ctx, r.pool, after, r.batchSize)
		if err != nil {
			return err
		}
		full := len(events) == r.batchSize
		if until != nil {
			n := len(events)
			events = slices.DeleteFunc(events, func(e eventstore.Event) bool { return until.Less(e.Position) })
			full = full && len(events) == n
		}
		if len(events) == 0 {
			return nil
		}
		after = events[len(events)-1].Position
		select {
		case out <- scratchBatch{events: events, last: after}:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !full {
			return nil
		}
	}
}

func (r *Runner) decodeBatch(b *scratchBatch, handled map[string]bool) {
	for _, e := range b.events {
		if !handled[e.Type] {
			continue
		}
		payload, err := r.registry.Decode(e.Type, e.SchemaVersion, e.Data)
		b.decoded = append(b.decoded, decodedEvent{Event: Event{Event: e, Payload: payload}, err: err})
	}
}

// writeScratchBatch writes one batch and moves the scratch checkpoint past it, in one transaction. An event
// that fails sends the batch through again one event at a time, to set the failing event aside as catch-up
// does; transient errors are tried again.
func (r *Runner) writeScratchBatch(ctx context.Context, p Projector, scratch string, b scratchBatch) error {
	oneByOne := false
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
			// Before the batch: pgx prepares a batch's statements before running any of them.
			if _, err := tx.Exec(ctx, "SET LOCAL search_path TO "+pgx.Identifier{scratch}.Sanitize()+
				", public; SET LOCAL synchronous_commit TO off"); err != nil {
				return err
			}
			db := newBatchDB(tx)
			db.copyRuns = true
			if oneByOne {
				if err := r.applyEach(ctx, tx, p, b.events); err != nil {
					return err
				}
			} else {
				for _, e := range b.decoded {
					if e.err != nil {
						return e.err
					}
					if err := applyDecoded(ctx, p, db, e.Event); err != nil {
						return err
					}
				}
			}
			err := db.queue(ctx, `INSERT INTO projection_checkpoints (name, tx_id, seq) VALUES ($1, $2, $3)
				ON CONFLICT (name) DO UPDATE SET tx_id = excluded.tx_id, seq = excluded.seq, updated_at = now()`,
				p.Name(), int64(b.last.TxID), b.last.Seq)
			if err == nil {
				err = db.flush(ctx)
			}
			if err != nil {
				return fmt.Errorf("write batch: %w", err)
			}
			return nil
		})
		switch {
		case err == nil:
			return nil
		case !isTransient(err) && !oneByOne:
			oneByOne = true
		case !isTransient(err) || attempt >= 5 || ctx.Err() != nil:
			return err
		default:
			time.Sleep(time.Duration(attempt) * 20 * time.Millisecond)
		}
	}
}
