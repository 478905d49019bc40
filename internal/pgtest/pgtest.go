// Package pgtest gives each test package its own migrated Postgres database on the server named by
// TEST_DATABASE_URL (default: the local server at 127.0.0.1:5432). Databases are cloned from a migrated
// template, which makes a fresh database cheap.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/internal/database"
)

// AdminURL is the server tests create their databases on.
func AdminURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

var templateOnce struct {
	sync.Once
	name string
	err  error
}

// NewDatabase creates a fresh migrated database for t and returns its URL. The database is dropped when
// the test ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tmpl, err := migratedTemplate(ctx)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	name := "jobserver_test_" + randomSuffix()
	admin := connectAdmin(ctx, t)
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, tmpl)); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, AdminURL())
		if err != nil {
			t.Logf("pgtest: drop %s: %v", name, err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("pgtest: drop %s: %v", name, err)
		}
	})
	return urlFor(t, name)
}

// NewPool creates a fresh migrated database and returns a pool on it, closed when the test ends.
func NewPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return NewPoolFor(t, NewDatabase(t))
}

// migratedTemplate makes, once per test binary, a template database with every migration applied.
func migratedTemplate(ctx context.Context) (string, error) {
	templateOnce.Do(func() {
		name := "jobserver_tmpl_" + randomSuffix()
		admin, err := pgx.Connect(ctx, AdminURL())
		if err != nil {
			templateOnce.err = fmt.Errorf("cannot reach test Postgres at %s (run `make test`, which starts one): %w", database.Redact(AdminURL()), err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
			templateOnce.err = err
			return
		}
		dsn, err := replaceDatabase(AdminURL(), name)
		if err != nil {
			templateOnce.err = err
			return
		}
		pool, err := database.Open(ctx, dsn, 2)
		if err != nil {
			templateOnce.err = err
			return
		}
		_, err = database.Migrate(ctx, pool)
		pool.Close()
		if err != nil {
			templateOnce.err = err
			return
		}
		templateOnce.name = name
		dropStaleTemplates(ctx, admin, name)
	})
	return templateOnce.name, templateOnce.err
}

// dropStaleTemplates removes templates and test databases left behind by test binaries that were killed,
// so that they do not pile up; databases in use are skipped.
func dropStaleTemplates(ctx context.Context, admin *pgx.Conn, keep string) {
	rows, err := admin.Query(ctx, `SELECT datname FROM pg_database
		WHERE (datname LIKE 'jobserver_tmpl_%' OR datname LIKE 'jobserver_test_%') AND datname <> $1
		AND (pg_stat_file('base/' || oid || '/PG_VERSION')).modification < now() - interval '3 hours'`, keep)
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, n := range names {
		_, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize())
		var pgErr *pgconn.PgError
		if err != nil && !errors.As(err, &pgErr) {
			return
		}
	}
}

func connectAdmin(ctx context.Context, t testing.TB) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		t.Fatalf("pgtest: cannot reach test Postgres: %v", err)
	}
	return conn
}

func urlFor(t testing.TB, name string) string {
	t.Helper()
	u, err := replaceDatabase(AdminURL(), name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

// replaceDatabase points a connection string, in URL or keyword form, at another database.
func replaceDatabase(dsn, name string) (string, error) {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + name
		return u.String(), nil
	}
	if _, err := pgx.ParseConfig(dsn); err != nil {
		return "", err
	}
	return dsn + " dbname=" + name, nil // the last dbname of a keyword string wins
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NewPoolFor opens a pool on a database made by NewDatabase, closed when the test ends.
func NewPoolFor(t testing.TB, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := database.Open(context.Background(), dsn, 20)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}
