package projections

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
)

// A rebuild into a scratch schema has the schema to itself, so it need not read each batch in the
// transaction that writes it (which catch-up of the live schema must, to hold the checkpoint against other
// runners). fillScratch runs the stages at once, on goroutines of their own: one reads the log a batch ahead,
// one decodes the payloads (a batch's chunks on several goroutines), and one writer per projector writes.
// Several projectors rebuilt together (Prepare) share the read and the decoding, so the log is read once,
// not once per projector. Each batch is still one transaction with the projector's scratch checkpoint, so
// the scratch tables always sit at a position of the log.
//
// The batch transactions commit with synchronous_commit off: losing the last of them in a crash loses
// nothing, as a scratch schema is only used by the run that builds it. The transaction that swaps the tables
// in (swapIn) commits synchronously, and its commit flushes the log up to it, every batch included.

// scratchBatch is one batch of the log on its way through the pipeline.
type scratchBatch struct {
	events  []eventstore.Event // every event of the batch, the ones p ignores included
	decoded []decodedEvent     // the events p handles, decoded
	last    eventstore.Position
	pending atomic.Int32 // writers that have yet to write the batch
}

type decodedEvent struct {
	Event
	err error // the payload could not be decoded: the batch goes through one event at a time
}

// pipelineDepth is how many batches may wait between two stages.
const pipelineDepth = 2

// decodeChunk is how many events one goroutine decodes at a time: JSON decoding is most of the client's
// work in a rebuild, and a batch's events decode independently.
const decodeChunk = 250

// fillScratch applies the log (up to until, when given) to the tables of each projector in its scratch
// schema (scratches[i] for ps[i]), which are empty. The log is read and decoded once for all of them; each
// projector has a writer of its own, on its own connection, so the server works on several at once.
func (r *Runner) fillScratch(ctx context.Context, ps []Projector, scratches []string, until *eventstore.Position, progress func(int)) error {
	g, ctx := errgroup.WithContext(ctx)
	handled := make([]map[string]bool, len(ps))
	anyHandles := map[string]bool{}
	for i, p := range ps {
		handled[i] = handledBy(p)
		for t := range handled[i] {
			anyHandles[t] = true
		}
	}
	read := make(chan *scratchBatch, pipelineDepth)
	g.Go(func() error {
		defer close(read)
		return r.readAhead(ctx, until, read)
	})
	inputs := make([]chan *scratchBatch, len(ps))
	for i := range inputs {
		inputs[i] = make(chan *scratchBatch, pipelineDepth)
	}
	g.Go(func() error {
		defer func() {
			for _, in := range inputs {
				close(in)
			}
		}()
		for b := range read {
			r.decodeBatch(b, anyHandles)
			b.pending.Store(int32(len(ps)))
			for _, in := range inputs {
				select {
				case in <- b:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		return nil
	})
	var progressMu sync.Mutex
	for i, p := range ps {
		g.Go(func() error {
			for b := range inputs[i] {
				own := &scratchBatch{events: b.events, last: b.last, decoded: b.decoded}
				if len(handled[i]) < len(anyHandles) { // others handle types p does not
					own.decoded = make([]decodedEvent, 0, len(b.decoded))
					for _, e := range b.decoded {
						if handled[i][e.Type] {
							own.decoded = append(own.decoded, e)
						}
					}
				}
				if err := r.writeScratchBatch(ctx, p, scratches[i], own); err != nil {
					return fmt.Errorf("projector %s: %w", p.Name(), err)
				}
				if b.pending.Add(-1) == 0 && progress != nil {
					progressMu.Lock()
					progress(len(b.events))
					progressMu.Unlock()
				}
			}
			return ctx.Err()
		})
	}
	return g.Wait()
}

// readAhead reads the log in batches from the start and sends them on, up to the first short batch.
func (r *Runner) readAhead(ctx context.Context, until *eventstore.Position, out chan<- *scratchBatch) error {
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
		case out <- &scratchBatch{events: events, last: after}:
		case <-ctx.Done():
			return ctx.Err()
		}
		if !full {
			return nil
		}
	}
}

// decodeBatch decodes the payloads of the events of a handled type, in chunks on several goroutines. The
// keys of the batch's personal data are read in one go between the JSON and the opening (one read of the
// keys table per value was half of an identity rebuild), and dropped with the batch.
func (r *Runner) decodeBatch(b *scratchBatch, handled map[string]bool) {
	all := make([]decodedEvent, len(b.events))
	inChunks := func(do func(i int, e eventstore.Event)) {
		var wg sync.WaitGroup
		for start := 0; start < len(b.events); start += decodeChunk {
			end := min(len(b.events), start+decodeChunk)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := start; i < end; i++ {
					if handled[b.events[i].Type] {
						do(i, b.events[i])
					}
				}
			}()
		}
		wg.Wait()
	}
	inChunks(func(i int, e eventstore.Event) {
		payload, err := r.registry.DecodeSealed(e.Type, e.SchemaVersion, e.Data)
		all[i] = decodedEvent{Event: Event{Event: e, Payload: payload}, err: err}
	})
	sealed := make([]domain.Event, 0, len(all))
	for _, e := range all {
		if e.Payload != nil {
			sealed = append(sealed, e.Payload)
		}
	}
	opener, err := r.registry.BatchOpener(sealed)
	if err != nil {
		// The events then open their values one at a time, which fails on its own if the keys table does.
		r.logger.Warn("could not read the personal keys of a batch at once", slog.Any("error", err))
		opener = r.registry.Keys()
	}
	inChunks(func(i int, _ eventstore.Event) {
		if all[i].err == nil {
			all[i].Payload, all[i].err = r.registry.OpenPersonal(all[i].Payload, opener)
		}
	})
	b.decoded = make([]decodedEvent, 0, len(all))
	for i, e := range all {
		if handled[b.events[i].Type] {
			b.decoded = append(b.decoded, e)
		}
	}
}

// writeScratchBatch writes one batch and moves the scratch checkpoint past it, in one transaction. An event
// that fails sends the batch through again one event at a time, to set the failing event aside as catch-up
// does; transient errors are tried again.
func (r *Runner) writeScratchBatch(ctx context.Context, p Projector, scratch string, b *scratchBatch) error {
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
				err = db.finish(ctx)
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
