// Package pgtest gives each test package its own migrated Postgres database on the server named by
// TEST_DATABASE_URL (default: the local server at 127.0.0.1:5432). Databases are cloned from a migrated
// template, which makes a fresh database cheap.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
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

// migratedTemplate returns the template database with every migration applied. Its name is a digest of the
// migrations, so every run of every test binary with the same migrations reuses one template and nothing
// piles up on the server; a run with new migrations builds a new one, and templates that other migrations
// made are dropped after a while (see dropStaleTemplates).
func migratedTemplate(ctx context.Context) (string, error) {
	templateOnce.Do(func() {
		templateOnce.name, templateOnce.err = ensureTemplate(ctx)
	})
	return templateOnce.name, templateOnce.err
}

// templateVersion changes when the way templates are built changes, so old templates are not reused.
const templateVersion = "2"

func ensureTemplate(ctx context.Context) (string, error) {
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return "", fmt.Errorf("cannot reach test Postgres at %s (run `make test`, which starts one): %w", database.Redact(AdminURL()), err)
	}
	defer admin.Close(ctx)
	digest, err := migrationsDigest()
	if err != nil {
		return "", fmt.Errorf("name the template after the migrations: %w", err)
	}
	name := templatePrefix + digest
	// One builder at a time across test binaries: the others wait, then find the template made.
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLock); err != nil {
		return "", fmt.Errorf("wait for the template lock: %w", err)
	}
	defer func() { _, _ = admin.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", templateLock) }()

	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		if err := buildTemplate(ctx, admin, name); err != nil {
			return "", err
		}
	}
	dropStaleTemplates(ctx, admin, name)
	return name, nil
}

// buildTemplate migrates a database under a temporary name and renames it when done, so a test binary that
// is killed halfway never leaves a half-migrated template under the final name.
func buildTemplate(ctx context.Context, admin *pgx.Conn, name string) error {
	building := name + "_building"
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop a template left half-built: %w", err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+building); err != nil {
		return fmt.Errorf("create the template: %w", err)
	}
	dsn, err := replaceDatabase(AdminURL(), building)
	if err != nil {
		return err
	}
	pool, err := database.Open(ctx, dsn, 2)
	if err != nil {
		return err
	}
	_, err = database.Migrate(ctx, pool)
	pool.Close()
	if err != nil {
		return fmt.Errorf("migrate the template: %w", err)
	}
	// The backends of the closed connections may take a moment to go; a database in use cannot be renamed.
	for attempt := 0; ; attempt++ {
		_, err = admin.Exec(ctx, "ALTER DATABASE "+building+" RENAME TO "+name)
		var pgErr *pgconn.PgError
		if err == nil || attempt == 50 || !errors.As(err, &pgErr) || pgErr.Code != "55006" { // object_in_use
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("name the template: %w", err)
	}
	return nil
}

const templatePrefix = "jobserver_tmpl_"

// templateLock is the advisory lock key that serialises template builders ("jobserver" in ASCII).
const templateLock = int64(0x6a6f627365727672)

// migrationsDigest is a digest of the migration files, found from the working directory (a test runs in its
// package's directory, inside the module).
func migrationsDigest() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
	files, err := filepath.Glob(filepath.Join(dir, "migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		return "", fmt.Errorf("no migrations found under %s", dir)
	}
	sort.Strings(files)
	h := sha256.New()
	fmt.Fprintf(h, "template %s\n", templateVersion)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(f), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// dropStaleTemplates removes the templates of other migrations (older ones, or made by older code with a
// random name) and test databases left behind by test binaries that were killed, once they are three hours
// old, so that they do not pile up; databases in use are skipped. The age spares other checkouts with other
// migrations that test against the same server right now.
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
