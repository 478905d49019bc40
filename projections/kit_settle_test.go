package projections

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mediciasafely/jobserver/internal/pgtest"
)

// Work settled per batch runs once, after the batch's last event, with each key once, and sees every
// write of the batch; on its own an event settles at once; settling may owe more, which runs too.
func TestSettleRunsOncePerBatchWithEveryKeyTouched(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `DROP TABLE IF EXISTS kit_items, kit_sums;
		CREATE TABLE kit_items (owner text NOT NULL, v int NOT NULL);
		CREATE TABLE kit_sums (owner text PRIMARY KEY, total int NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	var calls [][]string
	var sum SettleFunc
	sum = func(ctx context.Context, db DB, owners []string) error {
		calls = append(calls, slices.Clone(owners))
		if slices.Contains(owners, "b") {
			if err := Settle(ctx, db, "sums", "everyone", sum); err != nil {
				return err
			}
		}
		return db.Exec(ctx, `INSERT INTO kit_sums (owner, total)
			SELECT o, (SELECT coalesce(sum(v), 0) FROM kit_items WHERE owner = o OR o = 'everyone') FROM unnest($1::text[]) o
			ON CONFLICT (owner) DO UPDATE SET total = excluded.total`, owners)
	}
	events := []struct {
		owner string
		v     int
	}{{"a", 1}, {"b", 2}, {"a", 3}, {"c", 4}, {"a", 5}}
	apply := func(db DB) error {
		for _, e := range events {
			if err := db.Exec(ctx, `INSERT INTO kit_items (owner, v) VALUES ($1, $2)`, e.owner, e.v); err != nil {
				return err
			}
			if err := Settle(ctx, db, "sums", e.owner, sum); err != nil {
				return err
			}
		}
		return nil
	}

	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		db := newBatchDB(tx)
		if err := apply(db); err != nil {
			return err
		}
		if len(calls) != 0 {
			t.Errorf("settled before the batch ended: %v", calls)
		}
		return db.finish(ctx)
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]string{{"a", "b", "c"}, {"everyone"}}; !slices.EqualFunc(calls, want, slices.Equal) {
		t.Errorf("a batch settled %v, want %v", calls, want)
	}
	rows, err := pool.Query(ctx, `SELECT owner || '=' || total FROM kit_sums ORDER BY owner`)
	got, err := All(rows, err, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a=9", "b=2", "c=4", "everyone=15"}; !slices.Equal(got, want) {
		t.Errorf("sums %v, want %v", got, want)
	}

	calls = nil
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return apply(txDB{tx}) }); err != nil {
		t.Fatal(err)
	}
	if len(calls) != len(events)+1 {
		t.Errorf("one event at a time settled %d times (%v), want once an event and once more for b", len(calls), calls)
	}
}
