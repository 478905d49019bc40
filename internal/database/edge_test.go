package database_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mediciasafely/jobserver/internal/database"
	"github.com/mediciasafely/jobserver/internal/pgtest"
)

// silentServer accepts TCP connections and never answers, like a database that hangs; it returns a URL
// pointing at it.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "postgres://postgres:s3cr3t-pw@" + l.Addr().String() + "/jobserver?sslmode=disable"
}

func TestOpeningADatabaseThatNeverAnswersFailsWithinTheConnectTimeout(t *testing.T) {
	t.Parallel()
	dsn, err := database.WithTimeouts(silentServer(t), database.Timeouts{Connect: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for name, open := range map[string]func(context.Context) error{
		"Open": func(ctx context.Context) error {
			pool, err := database.Open(ctx, dsn, 2)
			if err == nil {
				pool.Close()
			}
			return err
		},
		"EnsureExists": func(ctx context.Context) error { return database.EnsureExists(ctx, dsn) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			err := open(context.Background()) // no deadline of its own: the timeout must come from the pool
			if took := time.Since(start); took > 4*time.Second {
				t.Errorf("gave up after %s, want about 1s", took)
			}
			if err == nil || !strings.Contains(err.Error(), "did not answer within 1s") {
				t.Errorf("error = %v, want one that says the server did not answer", err)
			}
			if err != nil && strings.Contains(err.Error(), "s3cr3t-pw") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

func TestTheDefaultConnectTimeoutAppliesWhenTheURLSetsNone(t *testing.T) {
	t.Parallel()
	start := time.Now()
	_, err := database.Open(context.Background(), silentServer(t), 1)
	if took := time.Since(start); err == nil || took > database.DefaultConnectTimeout+3*time.Second {
		t.Fatalf("Open = %v after %s, want a failure after %s", err, took, database.DefaultConnectTimeout)
	}
}

func TestWithTimeoutsSetsThemInBothFormsOfConnectionString(t *testing.T) {
	t.Parallel()
	ts := database.Timeouts{Connect: 1500 * time.Millisecond, Statement: 30 * time.Second}
	for _, dsn := range []string{
		"postgres://u@h:5432/db?sslmode=disable&connect_timeout=60",
		"host=h port=5432 user=u dbname=db connect_timeout=60",
	} {
		got, err := database.WithTimeouts(dsn, ts)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := pgx.ParseConfig(got)
		if err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		if cfg.ConnectTimeout != 2*time.Second || cfg.RuntimeParams["statement_timeout"] != "30000" || cfg.Database != "db" {
			t.Errorf("%s: connect %s, statement_timeout %q, database %q", got, cfg.ConnectTimeout,
				cfg.RuntimeParams["statement_timeout"], cfg.Database)
		}
	}
	if got, _ := database.WithTimeouts("postgres://h/db", database.Timeouts{}); got != "postgres://h/db" {
		t.Errorf("no timeouts changed the URL: %s", got)
	}
}

func TestAStatementTimeoutCutsOffASlowStatement(t *testing.T) {
	t.Parallel()
	dsn, err := database.WithTimeouts(newDatabaseURL(t), database.Timeouts{Statement: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := database.Open(context.Background(), dsn, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	start := time.Now()
	_, err = pool.Exec(context.Background(), "SELECT pg_sleep(5)")
	if err == nil || time.Since(start) > 3*time.Second || !strings.Contains(err.Error(), "statement timeout") {
		t.Fatalf("pg_sleep(5) = %v after %s, want a statement timeout", err, time.Since(start))
	}
	// Migrations are long jobs: they run without the limit.
	if _, err := database.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
}

func TestRedactHidesEveryPassword(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ dsn, want string }{
		{"postgres://u:pw-1@h:5432/db?sslmode=disable", "postgres://u:xxxxx@h:5432/db?sslmode=disable"},
		{"postgres://u@h/db?password=pw-1&sslmode=disable", "postgres://u@h/db?password=xxxxx&sslmode=disable"},
		{"postgres://u@h/db?sslpassword=pw-1", "postgres://u@h/db?sslpassword=xxxxx"},
		{"postgresql://u@h/db?PASSWORD=pw-1", "postgresql://u@h/db?PASSWORD=xxxxx"},
		{"postgres://u@h/db?sslmode=disable", "postgres://u@h/db?sslmode=disable"},
		{"host=h user=u password=pw-1 dbname=db", "host=h user=u password=xxxxx dbname=db"},
		{"host=h password = 'pw 1 \\' x' dbname=db", "host=h password = xxxxx dbname=db"},
		{"host=h user=u dbname=db", "host=h user=u dbname=db"},
		{"postgres://u:pw-1@h:bad-port/db", "postgres://u:xxxxx@h:bad-port/db"},
	} {
		got := database.Redact(tc.dsn)
		if got != tc.want || strings.Contains(got, "pw") {
			t.Errorf("Redact(%q) = %q, want %q", tc.dsn, got, tc.want)
		}
	}
}

func TestMessagesAboutABadURLDoNotShowItsPassword(t *testing.T) {
	t.Parallel()
	for _, dsn := range []string{
		"postgres://u@h:notaport/db?password=pw-123",
		"postgres://u:pw-123@h:notaport/db",
		"host=h port=notaport password=pw-123",
	} {
		_, err := database.Open(context.Background(), dsn, 1)
		if err == nil || strings.Contains(err.Error(), "pw-123") {
			t.Errorf("Open(%q) = %v, want an error without the password", dsn, err)
		}
		if err := database.EnsureExists(context.Background(), dsn); err == nil || strings.Contains(err.Error(), "pw-123") {
			t.Errorf("EnsureExists(%q) = %v, want an error without the password", dsn, err)
		}
		if _, err := database.WithTimeouts(dsn, database.Timeouts{Connect: time.Second}); err != nil && strings.Contains(err.Error(), "pw-123") {
			t.Errorf("WithTimeouts(%q) = %v, shows the password", dsn, err)
		}
	}
}

func newDatabaseURL(t *testing.T) string { return pgtest.NewDatabase(t) }
