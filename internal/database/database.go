// Package database opens the Postgres connection pool with the settings the whole service relies on, creates
// the database when it is missing, and applies migrations.
package database

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mediciasafely/jobserver/migrations"
)

// ReadModelSchema is the schema that holds the read models: projections.LiveSchema, which a test checks
// (importing projections here would be a cycle for projections' own tests, which use pgtest and so this
// package). The event store lives in public.
const ReadModelSchema = "readmodel"

// DefaultConnectTimeout bounds connecting (TCP, TLS and login) when the connection string sets no
// connect_timeout: a server that accepts connections and never answers must not hang the service.
const DefaultConnectTimeout = 5 * time.Second

// Timeouts bound how long the service waits for Postgres.
type Timeouts struct {
	// Connect bounds establishing one connection, login included (connect_timeout, whole seconds).
	Connect time.Duration
	// Statement is Postgres's statement_timeout: the server cancels a statement that runs longer.
	Statement time.Duration
}

// WithTimeouts returns dsn (a URL or a keyword/value string) with the timeouts that are not zero set in it,
// replacing any it had, so that every connection made from it, by any subcommand, carries them.
func WithTimeouts(dsn string, t Timeouts) (string, error) {
	var set [][2]string
	if t.Connect > 0 {
		set = append(set, [2]string{"connect_timeout", strconv.Itoa(int(math.Ceil(t.Connect.Seconds())))})
	}
	if t.Statement > 0 {
		set = append(set, [2]string{"statement_timeout", strconv.FormatInt(max(t.Statement.Milliseconds(), 1), 10)})
	}
	if len(set) == 0 {
		return dsn, nil
	}
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		for _, kv := range set {
			q.Set(kv[0], kv[1])
		}
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	if _, err := pgx.ParseConfig(dsn); err != nil {
		return "", fmt.Errorf("database: parse DATABASE_URL: %w", redactError(err, dsn))
	}
	for _, kv := range set {
		dsn += " " + kv[0] + "=" + kv[1] // the last of a repeated keyword wins
	}
	return dsn, nil
}

// DefaultMaxConns sizes a server's pool when neither the caller nor DATABASE_URL's pool_max_conns does:
// pgxpool's own default (the number of CPUs, at least 4) is too small for a server whose projectors,
// reactors, sealer and live pages each hold a connection for good beside the requests.
const DefaultMaxConns = 24

// Open connects a pool. Unqualified names resolve to the read models first, then to the event store, and an
// idle transaction is cut off because an open transaction holds back every event reader. Connecting gives
// up after the connection string's connect_timeout, or DefaultConnectTimeout. maxConns 0 means
// DATABASE_URL's pool_max_conns when it has one, else DefaultMaxConns.
func Open(ctx context.Context, dsn string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database: parse DATABASE_URL: %w", redactError(err, dsn))
	}
	switch {
	case maxConns > 0:
		cfg.MaxConns = maxConns
	case !strings.Contains(dsn, "pool_max_conns"):
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
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
		return nil, unreachable(dsn, cfg.ConnConfig.ConnectTimeout, err)
	}
	return pool, nil
}

// unreachable says why a server could not be used, in words an operator can act on.
func unreachable(dsn string, timeout time.Duration, err error) error {
	if pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("database: %s did not answer within %s (is the server overloaded, or is something "+
			"else listening on that port?): %w", Redact(dsn), timeout, redactError(err, dsn))
	}
	return fmt.Errorf("database: cannot reach %s: %w", Redact(dsn), redactError(err, dsn))
}

// EnsureExists creates the database named in dsn when the server answers but the database does not exist.
func EnsureExists(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("database: parse DATABASE_URL: %w", redactError(err, dsn))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		return unreachable(dsn, cfg.ConnectTimeout, err)
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
	cfg.RuntimeParams["statement_timeout"] = "0" // a migration may rewrite a large table
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	return migrations.Up(ctx, db)
}

// Redact hides the passwords of a connection string, URL or keyword/value, for messages and logs: the
// password of the user-info part, and any password parameter (password, sslpassword) in the query or in
// keyword/value form.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		return redactKeywords(dsn)
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), hidden)
		}
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return redactKeywords(dsn)
		}
		changed := false
		for k := range q {
			if isSecretParam(k) {
				q[k] = []string{hidden}
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}

const hidden = "xxxxx"

func isSecretParam(key string) bool { return strings.Contains(strings.ToLower(key), "password") }

// keywordSecret matches a password in a keyword/value string, quoted (with backslash escapes) or not, and a
// password parameter in a URL's query; userInfoSecret, the user-info password of a URL that did not parse.
var (
	keywordSecret  = regexp.MustCompile(`(?i)(\b[a-z_]*password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]*)`)
	userInfoSecret = regexp.MustCompile(`(://[^:/@\s]*):[^@\s]*@`)
)

func redactKeywords(dsn string) string {
	dsn = userInfoSecret.ReplaceAllString(dsn, "${1}:"+hidden+"@")
	return keywordSecret.ReplaceAllString(dsn, "${1}"+hidden)
}

// redactError hides dsn's passwords wherever the error's message quotes them. The error keeps its chain
// only when its message was clean already.
func redactError(err error, dsn string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := Redact(msg)
	for _, secret := range secrets(dsn) {
		clean = strings.ReplaceAll(clean, secret, hidden)
	}
	if clean == msg {
		return err
	}
	return errors.New(clean)
}

// secrets are the password values in dsn, as they may appear in a message.
func secrets(dsn string) []string {
	var out []string
	add := func(s string) {
		if len(s) >= 3 && s != hidden {
			out = append(out, s)
			if esc := url.QueryEscape(s); esc != s {
				out = append(out, esc)
			}
		}
	}
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		if p, ok := u.User.Password(); ok {
			add(p)
		}
		for k, vs := range u.Query() {
			if isSecretParam(k) {
				for _, v := range vs {
					add(v)
				}
			}
		}
	}
	for _, m := range keywordSecret.FindAllStringSubmatch(dsn, -1) {
		add(strings.Trim(m[2], "'"))
	}
	return out
}
