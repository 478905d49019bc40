package main

import (
	"bytes"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/internal/pgtest"
)

func TestGitHubLoginFollowsTheConfiguration(t *testing.T) {
	t.Parallel()
	configured := config{
		BaseURL: "https://jobs.example", GitHubURL: "https://github.com", GitHubAPIURL: "https://api.github.com/",
		GitHubClientID: "id", GitHubClientSecret: "s3cr3t-value",
	}
	for _, tc := range []struct {
		name        string
		change      func(*config)
		wantLogin   bool
		wantProblem string
	}{
		{"configured", func(*config) {}, true, ""},
		{"configured in development", func(c *config) { c.Development = true }, true, ""},
		{"development without an OAuth app", func(c *config) { c.Development, c.GitHubClientID, c.GitHubClientSecret = true, "", "" }, false, ""},
		{"production without an OAuth app", func(c *config) { c.GitHubClientID, c.GitHubClientSecret = "", "" }, false,
			"GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are required in production"},
		{"a secret without its id", func(c *config) { c.Development, c.GitHubClientID = true, "" }, false, "set both"},
		{"a bad API URL", func(c *config) { c.GitHubAPIURL = "api.github.com" }, false, "API URL"},
	} {
		cfg := configured
		tc.change(&cfg)
		login, err := gitHubLogin(cfg)
		if (login != nil) != tc.wantLogin {
			t.Errorf("%s: login %v, want one: %v", tc.name, login, tc.wantLogin)
		}
		if tc.wantProblem == "" && err != nil || tc.wantProblem != "" && (err == nil || !strings.Contains(err.Error(), tc.wantProblem)) {
			t.Errorf("%s: error %v, want one about %q", tc.name, err, tc.wantProblem)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t-value") {
			t.Errorf("%s: the error shows the client secret: %v", tc.name, err)
		}
	}
}

// silentDatabaseURL is the URL of a server that accepts TCP connections and never answers.
func silentDatabaseURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
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

func TestServeAndVerifyGiveUpOnADatabaseThatNeverAnswers(t *testing.T) {
	t.Setenv("DATABASE_URL", silentDatabaseURL(t))
	t.Setenv("JOBSERVER_DB_CONNECT_TIMEOUT", "1s")
	t.Setenv("JOBSERVER_ENV", "development")
	t.Setenv("JOBSERVER_SECRET_KEY", strings.Repeat("ab", 32))
	t.Setenv("JOBSERVER_AUDIT_SIGNING_KEY", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	t.Setenv("JOBSERVER_ADDR", "127.0.0.1:0")
	t.Setenv("JOBSERVER_METRICS_ADDR", "off")
	for _, args := range [][]string{{"serve"}, {"verify"}, {"migrate"}} {
		var stdout, stderr bytes.Buffer
		start := time.Now()
		status := run(args, &stdout, &stderr)
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%s gave up after %s, want about 1s", args[0], took)
		}
		if status != 1 || !strings.Contains(stderr.String(), "did not answer within 1s") {
			t.Errorf("%s: status %d, stderr %q; want 1 and a message that the database did not answer", args[0], status, stderr.String())
		}
		if strings.Contains(stderr.String(), "s3cr3t-pw") {
			t.Errorf("%s shows the database password: %s", args[0], stderr.String())
		}
	}
}

func TestTheBaseURLDefaultsToTheAddressTheServerListensOn(t *testing.T) {
	for _, tc := range []struct{ addr, baseURL, want string }{
		{"", "", "http://localhost:8000"},
		{"127.0.0.1:9001", "", "http://127.0.0.1:9001"},
		{":9002", "", "http://localhost:9002"},
		{"0.0.0.0:9003", "", "http://localhost:9003"},
		{"[::]:9004", "", "http://localhost:9004"},
		{"127.0.0.1:9005", "https://jobs.example.org/", "https://jobs.example.org"},
	} {
		t.Setenv("JOBSERVER_ADDR", tc.addr)
		t.Setenv("JOBSERVER_BASE_URL", tc.baseURL)
		cfg, err := loadConfig()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.BaseURL != tc.want {
			t.Errorf("JOBSERVER_ADDR=%q JOBSERVER_BASE_URL=%q: base URL %q, want %q", tc.addr, tc.baseURL, cfg.BaseURL, tc.want)
		}
	}
}

func TestTheEdgeSettingsAreReadAndChecked(t *testing.T) {
	t.Setenv("JOBSERVER_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1")
	t.Setenv("JOBSERVER_METRICS_ADDR", "off")
	t.Setenv("JOBSERVER_REQUEST_TIMEOUT", "3s")
	t.Setenv("JOBSERVER_DB_CONNECT_TIMEOUT", "2s")
	t.Setenv("DATABASE_URL", "postgres://u:pw@h/db?sslmode=disable")
	cfg, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.TrustedProxies) != 2 || cfg.MetricsAddr != "" || cfg.RequestTimeout != 3*time.Second ||
		cfg.StatementTimeout != 30*time.Second || cfg.HTTPTimeouts.Read == 0 || cfg.HTTPTimeouts.Write == 0 ||
		cfg.HTTPTimeouts.Idle == 0 || cfg.ShutdownTimeout == 0 || !strings.Contains(cfg.DatabaseURL, "connect_timeout=2") {
		t.Errorf("config = %+v", cfg)
	}
	for name, value := range map[string]string{
		"JOBSERVER_TRUSTED_PROXIES": "10.0.0.0/8,proxy.example", "JOBSERVER_READ_TIMEOUT": "soon",
		"JOBSERVER_REQUEST_TIMEOUT": "2m", // longer than the write timeout: the 503 could not be written
		"JOBSERVER_IDLE_TIMEOUT":    "-1s",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			if _, err := loadConfig(); err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("%s=%q: error %v, want one naming it", name, value, err)
			}
		})
	}
}

// freeAddr is a loopback address nothing listens on (for a moment).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestServeKeepsMetricsOffThePublicListenerAndStopsCleanlyOnSIGTERM(t *testing.T) {
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	t.Setenv("DATABASE_URL", pgtest.NewDatabase(t))
	t.Setenv("JOBSERVER_ENV", "production")
	t.Setenv("GITHUB_CLIENT_ID", "id")
	t.Setenv("GITHUB_CLIENT_SECRET", "secret")
	t.Setenv("JOBSERVER_SECRET_KEY", strings.Repeat("ab", 32))
	t.Setenv("JOBSERVER_AUDIT_SIGNING_KEY", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)))
	t.Setenv("JOBSERVER_ADDR", addr)
	t.Setenv("JOBSERVER_METRICS_ADDR", metricsAddr)
	t.Setenv("JOBSERVER_BLOB_DIR", t.TempDir())
	t.Setenv("LOG_LEVEL", "warn")
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run([]string{"serve"}, &stdout, &stderr) }()

	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if status, _ := get("http://" + addr + "/healthz"); status == http.StatusOK {
			break
		}
		select {
		case status := <-done:
			t.Fatalf("serve ended with %d: %s", status, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not answer within 30s: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if status, _ := get("http://" + addr + "/metrics"); status != http.StatusNotFound {
		t.Errorf("the public listener serves /metrics: %d", status)
	}
	if status, body := get("http://" + metricsAddr + "/metrics"); status != http.StatusOK || !strings.Contains(body, "go_goroutines") {
		t.Errorf("the metrics listener answers %d", status)
	}

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case status := <-done:
		if status != 0 {
			t.Errorf("serve ended with %d after SIGTERM: %s", status, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve had not stopped 20s after SIGTERM")
	}
	for _, a := range []string{addr, metricsAddr} {
		if c, err := net.Dial("tcp", a); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after serve returned", a)
		}
	}
}
