// Package database opens the Postgres connection pool with the settings the whole service relies on, creates
// the database when it is missing, and applies migrations.
package database

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mediciasafely/jobserver/migrations"
)

// ReadModelSchema is the schema that holds the read models; the event store lives in public.
const ReadModelSchema = "readmodel"

// Open connects a pool. Unqualified names resolve to the read models first, then to the event store, and an
// idle transaction is cut off because an open transaction holds back every event reader.
func Open(ctx context.Context, dsn string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database: parse DATABASE_URL: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	params := cfg.ConnConfig.RuntimeParams
	params["search_path"] = ReadModelSchema + ",public"
	params["idle_in_transaction_session_timeout"] = "30000"
	if params["application_name"] == "" {
		params["application_name"] = "jobserver"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database: cannot reach %s: %w", Redact(dsn), err)
	}
	return pool, nil
}

// EnsureExists creates the database named in dsn when the server answers but the database does not exist.
func EnsureExists(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("database: parse DATABASE_URL: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		return fmt.Errorf("database: cannot reach %s: %w", Redact(dsn), err)
	}
	name := cfg.Database
	cfg.Database = "postgres"
	admin, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("database: cannot reach the postgres database to create %q: %w", name, err)
	}
	defer admin.Close(ctx)
	_, err = admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if err != nil && !isDuplicateDatabase(err) {
		return fmt.Errorf("database: create %q: %w", name, err)
	}
	return nil
}

func isDuplicateDatabase(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42P04"
}

// Migrate applies the embedded migrations and returns how many ran. It migrates on connections that see
// only the public schema: goose looks for its version table in current_schema(), and through the pool's
// search_path that is the read-model schema once it exists, where goose would find no version table and
// build a second, empty event store that hides the real one.
func Migrate(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	cfg := pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["search_path"] = "public"
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	return migrations.Up(ctx, db)
}

// Redact hides the password of a connection URL for messages and logs.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		if strings.Contains(dsn, "password=") {
			return "(connection string hidden)"
		}
		return dsn
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
