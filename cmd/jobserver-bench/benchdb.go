package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/internal/database"
)

// benchDatabase is the database a run creates for itself and drops at the end.
type benchDatabase struct {
	adminURL string
	name     string
	url      string
}

func createBenchDatabase(ctx context.Context, adminURL string) (*benchDatabase, error) {
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	db := &benchDatabase{adminURL: adminURL, name: "jobserver_bench_" + hex.EncodeToString(suffix)}
	cfg, err := pgx.ParseConfig(adminURL)
	if err != nil {
		return nil, fmt.Errorf("BENCH_DATABASE_URL: %w", err)
	}
	admin, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot reach %s: %w", database.Redact(adminURL), err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db.name}.Sanitize()); err != nil {
		return nil, fmt.Errorf("create database %s: %w", db.name, err)
	}
	db.url = withDatabase(cfg, db.name)
	return db, nil
}

// withDatabase returns a keyword/value connection string for the server of cfg and database name, which
// keeps host, port, user and password without rebuilding a URL by hand.
func withDatabase(cfg *pgx.ConnConfig, name string) string {
	parts := []string{
		"host=" + quoteConnValue(cfg.Host),
		fmt.Sprintf("port=%d", cfg.Port),
		"user=" + quoteConnValue(cfg.User),
		"dbname=" + quoteConnValue(name),
	}
	if cfg.Password != "" {
		parts = append(parts, "password="+quoteConnValue(cfg.Password))
	}
	if cfg.TLSConfig == nil {
		parts = append(parts, "sslmode=disable")
	}
	return strings.Join(parts, " ")
}

func quoteConnValue(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// drop removes the database, also after Ctrl-C: it runs on a fresh context, and FORCE ends connections
// that a cancelled phase may have left behind.
func (db *benchDatabase) drop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, db.adminURL)
	if err != nil {
		return fmt.Errorf("drop database %s: %w", db.name, err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db.name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", db.name, err)
	}
	return nil
}

// benchEnv is what every measurement works with.
type benchEnv struct {
	pool      *pgxpool.Pool
	store     *pgstore.Store
	logger    *slog.Logger
	secretKey []byte // the server's secret key, which wraps the keys of personal data
}

// events is the registry sealing and opening personal data with the bench database's keys table, under
// the env's secret key, with none of them unwrapped yet.
func (e *benchEnv) events() (*domain.Registry, error) {
	ring, err := commands.NewKeyring(e.secretKey)
	if err != nil {
		return nil, err
	}
	return domain.Events.WithKeys(pgstore.NewPersonalKeys(e.pool, ring)), nil
}

// rawTableDDL is the raw read ceiling: the columns and types of events, with nothing but a primary key on
// seq, so a keyset read walks one index.
const rawTableDDL = `CREATE TABLE public.raw_events (
    seq            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tx_id          bigint      NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    event_id       uuid        NOT NULL,
    stream_id      text        NOT NULL,
    stream_version bigint      NOT NULL,
    event_type     text        NOT NULL,
    schema_version integer     NOT NULL,
    data           jsonb       NOT NULL,
    metadata       jsonb       NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now()
)`

// rawInsertTableDDL is the raw write ceiling: a table of exactly the shape of events (columns, defaults,
// identity, checks, the primary key on (tx_id, seq) and both unique indexes), so the store is compared
// with the one INSERT it cannot avoid, and its ratio shows what it adds on top: the expected-version
// check, RETURNING, encoding, the notifier. A table with fewer indexes would charge the store for the
// uniqueness that its contract needs (optimistic concurrency, idempotent retries), which no store can skip.
const rawInsertTableDDL = `CREATE TABLE public.raw_inserts (LIKE public.events INCLUDING ALL)`

func openBenchEnv(ctx context.Context, db *benchDatabase, writers int) (*benchEnv, error) {
	// Room for every writer, the live runner's subscriber, the lag poller and the store's notifier.
	pool, err := database.Open(ctx, db.url, int32(writers+8))
	if err != nil {
		return nil, err
	}
	if _, err := database.Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	if _, err := pool.Exec(ctx, rawTableDDL+"; "+rawInsertTableDDL); err != nil {
		pool.Close()
		return nil, fmt.Errorf("create raw tables: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	secretKey := make([]byte, 32)
	_, _ = rand.Read(secretKey)
	return &benchEnv{pool: pool, store: pgstore.New(pool), logger: logger, secretKey: secretKey}, nil
}

func (e *benchEnv) close() {
	e.store.Close()
	e.pool.Close()
}

// settle makes the next measurement start from the same state as the others: a checkpoint, so that none
// starts inside one and each pays the same full-page writes after it. It needs superuser or
// pg_checkpoint; without them the measurement runs anyway.
func (e *benchEnv) settle(ctx context.Context) {
	if _, err := e.pool.Exec(ctx, "CHECKPOINT"); err != nil && ctx.Err() == nil {
		e.logger.Warn("CHECKPOINT before a measurement failed; measurements may include one", "error", err)
	}
}

// warmPool opens n connections up front, so no measurement pays for connecting.
func (e *benchEnv) warmPool(ctx context.Context, n int) error {
	conns := make([]*pgxpool.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	for range n {
		c, err := e.pool.Acquire(ctx)
		if err != nil {
			return err
		}
		conns = append(conns, c)
	}
	return nil
}

// machineInfo is the header of the report.
type machineInfo struct {
	cpu               string
	cores             int
	postgres          string
	synchronousCommit string
	fsync             string
	database          string
	loadAtStart       string
}

func describeMachine(ctx context.Context, pool *pgxpool.Pool) (machineInfo, error) {
	m := machineInfo{cpu: cpuModel(), cores: runtime.NumCPU(), loadAtStart: loadAverage()}
	err := pool.QueryRow(ctx, `SELECT version(), current_setting('synchronous_commit'), current_setting('fsync'), current_database()`).
		Scan(&m.postgres, &m.synchronousCommit, &m.fsync, &m.database)
	if err != nil {
		return m, fmt.Errorf("read server settings: %w", err)
	}
	return m, nil
}

// loadAverage is the 1-minute load average: other work on the machine lowers every number of a run, so
// the report shows it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown (" + runtime.GOARCH + ")"
	}
	defer f.Close()
	return cpuModelFrom(f)
}

func cpuModelFrom(r io.Reader) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return "unknown (" + runtime.GOARCH + ")"
}
