package projections

import (
	"context"
	"slices"
)

// A row derived from many others (a job request's status from its jobs) would be read back and written
// again for every event that touches one of them: a query per event, which ends the batch's pipeline each
// time. Settle lets a projector do that work once per batch instead, for every key the batch touched,
// after the batch's last event and before its checkpoint commits.

// SettleFunc derives what depends on keys, every key registered under one name in a batch, in the order
// first registered.
type SettleFunc func(ctx context.Context, db DB, keys []string) error

// pendingSettle is the work a batch owes under one name.
type pendingSettle struct {
	fn   SettleFunc
	keys []string
	seen map[string]bool
}

// Settle has fn run for key once the events being applied with db are all applied: at the end of the batch
// when db writes a batch, at once otherwise (an event applied on its own, as when a failing batch is
// applied again one event at a time). fn must compute from the tables alone, never from the event, since
// later events of the batch may have changed them; every registration under name must pass the same fn.
func Settle(ctx context.Context, db DB, name, key string, fn SettleFunc) error {
	b, ok := db.(*batchDB)
	if !ok {
		return fn(ctx, db, []string{key})
	}
	if b.settling == nil {
		b.settling = map[string]*pendingSettle{}
	}
	p := b.settling[name]
	if p == nil {
		p = &pendingSettle{fn: fn, seen: map[string]bool{}}
		b.settling[name] = p
		b.settleOrder = append(b.settleOrder, name)
	}
	if !p.seen[key] {
		p.seen[key] = true
		p.keys = append(p.keys, key)
	}
	return nil
}

// finish runs the settling the batch owes and sends what is still queued: the last step before the batch's
// transaction commits.
func (d *batchDB) finish(ctx context.Context) error {
	if err := d.settle(ctx); err != nil {
		return err
	}
	return d.flush(ctx)
}

// settle runs the settling the batch owes.
func (d *batchDB) settle(ctx context.Context) error {
	for len(d.settleOrder) > 0 {
		// Settling may register more (one derived row feeding another); it runs in the next round.
		names, pending := d.settleOrder, d.settling
		d.settleOrder, d.settling = nil, nil
		for _, name := range names {
			p := pending[name]
			if err := p.fn(ctx, d, slices.Clip(p.keys)); err != nil {
				return err
			}
		}
	}
	return nil
}
