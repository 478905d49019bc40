package projections

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mediciasafely/jobserver/internal/pgtest"
)

func TestParseInsertAcceptsOnlyPlainInserts(t *testing.T) {
	yes := []string{
		`INSERT INTO users (id, login, registered_at) VALUES ($1, $2, $3)`,
		"insert into t (a, b)\n\t\tvalues ($1, nullif($2, ''))",
		`INSERT INTO backends (id, slug, created_at, token_set_at) VALUES ($1, $2, $3, $3)`,
		`INSERT INTO org_members (org_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		`INSERT INTO x (id, note) VALUES ($1, 'it''s $2 (sic)') ON CONFLICT (id) DO NOTHING`,
		`INSERT INTO x (id, roles) VALUES ($1, $2::text[])`,
	}
	no := []string{
		`UPDATE users SET login = $2 WHERE id = $1`,
		`INSERT INTO x (id) SELECT $1`,
		`INSERT INTO x VALUES ($1)`,
		`INSERT INTO x (id, n) VALUES ($1, (SELECT count(*) FROM x))`,
		`INSERT INTO x (id, n) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET n = excluded.n`,
		`INSERT INTO x (id) VALUES ($1) RETURNING id`,
		`INSERT INTO x (id) VALUES ($1), ($2)`,
		`INSERT INTO x (id) VALUES ($2)`,
		`INSERT INTO x (id, n) VALUES ($1, $$a$$)`,
		`INSERT INTO x (id) VALUES ($1) -- comment`,
		`INSERT INTO x (id) VALUES (E'\'', $1)`,
		`INSERT INTO x (id) VALUES ($1); DELETE FROM x`,
		`INSERT INTO x (id) VALUES ('unclosed, $1)`,
	}
	for _, sql := range yes {
		if parseInsert(sql) == nil {
			t.Errorf("not coalescable, want coalescable: %s", sql)
		}
	}
	for _, sql := range no {
		if parseInsert(sql) != nil {
			t.Errorf("coalescable, want not: %s", sql)
		}
	}
	s := parseInsert(`INSERT INTO b (id, a, c) VALUES ($1, nullif($2, ''), $1) ON CONFLICT DO NOTHING`)
	want := `INSERT INTO b (id, a, c) VALUES ($1, nullif($2, ''), $1), ($3, nullif($4, ''), $3) ON CONFLICT DO NOTHING`
	if got := s.sql(2); got != want {
		t.Errorf("two rows:\n got %s\nwant %s", got, want)
	}
}

// A run of inserts written through batchDB leaves the rows that the single-row statements leave, in a
// transaction that goes on working, whatever the run's length.
func TestBatchDBWritesRunsOfInsertsAsTheSingleStatementsWould(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	_, err := pool.Exec(ctx, `CREATE TABLE kit_rows (id text PRIMARY KEY, n bigint NOT NULL, note text, roles text[] NOT NULL,
		at timestamptz NOT NULL);
		CREATE TABLE kit_rows_single (LIKE kit_rows INCLUDING ALL)`)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, table := range []string{"kit_rows", "kit_rows_single"} {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			var db DB = newBatchDB(tx)
			if table == "kit_rows_single" {
				db = txDB{tx}
			}
			insert := `INSERT INTO ` + table + ` (id, n, note, roles, at) VALUES ($1, $2, nullif($3, ''), $4, $5) ON CONFLICT DO NOTHING`
			for i := range 1000 {
				note := ""
				if i%3 == 0 {
					note = fmt.Sprint("note ", i)
				}
				id := fmt.Sprint("row-", i%700) // the last 300 conflict with earlier rows of the same run
				if err := db.Exec(ctx, insert, id, int64(i), note, []string{"a", fmt.Sprint(i)}, at.Add(time.Duration(i))); err != nil {
					return err
				}
				if i == 500 {
					if err := db.Exec(ctx, `UPDATE `+table+` SET n = -n WHERE id = 'row-7'`); err != nil {
						return err
					}
				}
			}
			var n int
			return db.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n)
		})
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
	}
	var diff int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM ((TABLE kit_rows EXCEPT ALL TABLE kit_rows_single)
		UNION ALL (TABLE kit_rows_single EXCEPT ALL TABLE kit_rows)) d`).Scan(&diff); err != nil {
		t.Fatal(err)
	}
	if diff != 0 {
		t.Errorf("%d rows differ between the coalesced and the single-row inserts", diff)
	}
}

// With copyRuns, a long run of plain inserts goes as COPY, which has no ON CONFLICT: a conflict fails the
// batch (the rebuild then applies it one event at a time), and without one the rows are those of the
// single-row statements.
func TestBatchDBCopiesLongRunsAndFailsOnAConflict(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	if _, err := pool.Exec(ctx, `CREATE TABLE kit_copied (id text PRIMARY KEY, n bigint NOT NULL, roles text[] NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	write := func(rows int, dup bool) error {
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			db := newBatchDB(tx)
			db.copyRuns = true
			for i := range rows {
				id := fmt.Sprint("row-", i)
				if dup && i == rows-1 {
					id = "row-0"
				}
				if err := db.Exec(ctx, `INSERT INTO kit_copied (id, n, roles) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
					id, int64(i), []string{"x"}); err != nil {
					return err
				}
			}
			if err := db.Exec(ctx, `UPDATE kit_copied SET n = -1 WHERE id = 'row-3'`); err != nil {
				return err
			}
			return db.flush(ctx)
		})
	}
	if err := write(minCopyRows*2, true); err == nil {
		t.Fatal("a copied run with a duplicate key did not fail")
	}
	if err := write(minCopyRows*2, false); err != nil {
		t.Fatal(err)
	}
	var n, sum int64
	if err := pool.QueryRow(ctx, `SELECT count(*), sum(n) FROM kit_copied`).Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	want := int64(minCopyRows*2*(minCopyRows*2-1)/2 - 3 - 1)
	if n != minCopyRows*2 || sum != want {
		t.Errorf("got %d rows summing to %d, want %d summing to %d", n, sum, minCopyRows*2, want)
	}
}
