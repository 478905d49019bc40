package projections

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/internal/pgtest"
)

func TestParseKeyedUpdateAcceptsOnlyUpdatesOfOneRowByItsKey(t *testing.T) {
	yes := []string{
		`UPDATE users SET login = $2, name = $3 WHERE id = $1`,
		"update users\n\t\tset global_roles = ARRAY(SELECT DISTINCT unnest(global_roles || $2::text) ORDER BY 1)\n\t\tWHERE id = $1",
		`UPDATE users SET note = 'from where' WHERE id = $1`,
	}
	no := []string{
		`UPDATE users SET login = $1 WHERE id = $2`,
		`UPDATE users SET n = (SELECT count(*) FROM users) WHERE id = $1`,
		`UPDATE users SET n = 1 WHERE id = $1 AND n = 0`,
		`UPDATE users SET n = 1 WHERE id = $1 RETURNING n`,
		`UPDATE users u SET n = 1 WHERE id = $1`,
		`UPDATE users SET n = 1 FROM others WHERE id = $1`,
		`UPDATE users SET n = 1 WHERE id = $1; DELETE FROM users`,
		`UPDATE users SET n = 1 WHERE id = $1 -- why`,
		`DELETE FROM users WHERE id = $1`,
	}
	for _, sql := range yes {
		if parseKeyedUpdate(sql) == nil {
			t.Errorf("may not wait, want may: %s", sql)
		}
	}
	for _, sql := range no {
		if parseKeyedUpdate(sql) != nil {
			t.Errorf("may wait, want may not: %s", sql)
		}
	}
}

// Updates of a run's rows wait for the run, which then goes as one COPY (or, when a value is an
// expression, as multi-row statements), and the rows are those the statements leave one at a time; an
// update of a key the run inserts only later still finds no row.
func TestBatchDBHoldsUpdatesBackUntilTheRunIsWritten(t *testing.T) {
	pool := pgtest.NewPool(t)
	t.Run("copied", func(t *testing.T) { testHeldUpdates(t, pool, "$2", 0) })
	// The first run's 150 rows queued as statements of 128, 16, 4 and 2 rows.
	t.Run("multi-row", func(t *testing.T) { testHeldUpdates(t, pool, "nullif($2, -5)", 4) })
}

// testHeldUpdates writes the rows with value for n, the first run leaving runStatements in the batch.
func testHeldUpdates(t *testing.T, pool *pgxpool.Pool, value string, runStatements int) {
	ctx := context.Background()
	_, err := pool.Exec(ctx, `DROP TABLE IF EXISTS kit_people, kit_people_single;
		CREATE TABLE kit_people (id text PRIMARY KEY, n bigint, roles text[] NOT NULL DEFAULT '{}');
		CREATE TABLE kit_people_single (LIKE kit_people INCLUDING ALL)`)
	if err != nil {
		t.Fatal(err)
	}
	statements := map[string]int{}
	for _, table := range []string{"kit_people", "kit_people_single"} {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			var db DB = txDB{tx}
			if table == "kit_people" {
				b := newBatchDB(tx)
				b.copyRuns = true
				db = b
			}
			insert := `INSERT INTO ` + table + ` (id, n) VALUES ($1, ` + value + `)`
			grant := `UPDATE ` + table + ` SET roles = ARRAY(SELECT DISTINCT unnest(roles || $2::text) ORDER BY 1) WHERE id = $1`
			for i := range 300 {
				if err := db.Exec(ctx, insert, fmt.Sprint("p-", i), int64(i)); err != nil {
					return err
				}
				if i%3 == 0 {
					if err := db.Exec(ctx, grant, fmt.Sprint("p-", i), "checker"); err != nil {
						return err
					}
				}
				if i == 100 { // p-150 does not exist yet: the update must find nothing, not the row inserted later
					if err := db.Exec(ctx, `UPDATE `+table+` SET n = -1 WHERE id = $1`, "p-150"); err != nil {
						return err
					}
				}
			}
			if b, ok := db.(*batchDB); ok {
				statements[table] = b.batch.Len()
			}
			var n int
			return db.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n)
		})
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
	}
	var diff, negative int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM ((TABLE kit_people EXCEPT ALL TABLE kit_people_single)
		UNION ALL (TABLE kit_people_single EXCEPT ALL TABLE kit_people)) d`).Scan(&diff); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM kit_people WHERE n < 0`).Scan(&negative); err != nil {
		t.Fatal(err)
	}
	if diff != 0 || negative != 0 {
		t.Errorf("%d rows differ between the batched and the single statements; %d rows updated before they existed", diff, negative)
	}
	// The run is cut once, at p-150: queued are its rows, the 50 role grants it held back and the update of
	// p-150; the second run waits for the read.
	if got, want := statements["kit_people"], runStatements+50+1; got != want {
		t.Errorf("%d statements queued before the read, want %d", got, want)
	}
}
