package server_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/http/server"
	"github.com/mediciasafely/jobserver/http/web"
	"github.com/mediciasafely/jobserver/internal/pgtest"
)

func newServer(t *testing.T, logs *bytes.Buffer) http.Handler {
	t.Helper()
	renderer, err := web.NewRenderer(func(r *http.Request) web.Chrome { return web.Chrome{Path: r.URL.Path} })
	if err != nil {
		t.Fatal(err)
	}
	return server.New(server.Options{
		Logger: slog.New(slog.NewJSONHandler(logs, nil)), Pool: pgtest.NewPool(t), Renderer: renderer,
		Pages: func(r chi.Router) {
			r.Get("/boom", func(http.ResponseWriter, *http.Request) { panic("secret internal detail") })
			r.Get("/api/boom", func(http.ResponseWriter, *http.Request) { panic("secret internal detail") })
			r.Get("/tags", func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(commands.CorrelationID(r.Context()) + " " + commands.CausationID(r.Context())))
			})
		},
	})
}

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestHealthzChecksTheDatabase(t *testing.T) {
	t.Parallel()
	rec := get(t, newServer(t, &bytes.Buffer{}), "/healthz")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"status":"ok"`) {
		t.Fatalf("healthz = %d %s", rec.Code, rec.Body)
	}
}

func TestUnknownPagesGetTheNotFoundPageAndUnknownAPIPathsJSON(t *testing.T) {
	t.Parallel()
	h := newServer(t, &bytes.Buffer{})
	page := get(t, h, "/no/such/page")
	if page.Code != http.StatusNotFound || !strings.Contains(page.Body.String(), "Page not found") {
		t.Errorf("page 404 = %d %q", page.Code, page.Body)
	}
	api := get(t, h, "/api/v2/nothing")
	var body struct{ Detail string }
	if api.Code != http.StatusNotFound || json.Unmarshal(api.Body.Bytes(), &body) != nil || body.Detail == "" {
		t.Errorf("api 404 = %d %q", api.Code, api.Body)
	}
}

func TestAPanicShowsTheErrorPageAndLogsTheStackButNeverShowsIt(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	h := newServer(t, &logs)
	for _, path := range []string{"/boom", "/api/boom"} {
		rec := get(t, h, path)
		if rec.Code != http.StatusInternalServerError {
			t.Errorf("%s: status %d", path, rec.Code)
		}
		if strings.Contains(rec.Body.String(), "secret internal detail") || strings.Contains(rec.Body.String(), "goroutine") {
			t.Errorf("%s: the response shows the panic: %s", path, rec.Body)
		}
	}
	if !strings.Contains(logs.String(), "secret internal detail") || !strings.Contains(logs.String(), "server_test.go") {
		t.Error("the panic and its stack were not logged")
	}
}

func TestEveryRequestIsLoggedOnceAsOneStructuredLine(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	get(t, newServer(t, &logs), "/healthz?x=1")
	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if entry["msg"] == "request" {
			lines = append(lines, entry)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("%d request lines, want 1", len(lines))
	}
	l := lines[0]
	if l["method"] != "GET" || l["path"] != "/healthz" || l["status"] != float64(200) || l["request_id"] == "" {
		t.Errorf("request line = %v", l)
	}
}

func TestMetricsAndProfilesAreNotPublicButServedByTheOperatorsHandler(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/metrics", "/debug/pprof/"} {
		if rec := get(t, newServer(t, &bytes.Buffer{}), path); rec.Code != http.StatusNotFound {
			t.Errorf("the public router serves %s: %d", path, rec.Code)
		}
	}
	if rec := get(t, server.OperatorHandler(), "/metrics"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "go_goroutines") {
		t.Fatalf("metrics = %d", rec.Code)
	}
	if rec := get(t, server.OperatorHandler(), "/debug/pprof/"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "goroutine") {
		t.Fatalf("profiles = %d", rec.Code)
	}
}

func TestARequestsCommandsAreTaggedWithItsRequestID(t *testing.T) {
	t.Parallel()
	rec := get(t, newServer(t, &bytes.Buffer{}), "/tags")
	id := rec.Header().Get("X-Request-Id")
	if id == "" || rec.Body.String() != id+" "+id {
		t.Fatalf("X-Request-Id %q, tags %q", id, rec.Body)
	}
}
