package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/http/server"
	"github.com/mediciasafely/jobserver/http/server/dbstatus"
	"github.com/mediciasafely/jobserver/http/web"
)

// edgeServer is a router with a few pages that echo what they were sent; change adjusts its options.
func edgeServer(t *testing.T, logs io.Writer, pool *pgxpool.Pool, change func(*server.Options)) http.Handler {
	t.Helper()
	renderer, err := web.NewRenderer(func(r *http.Request) web.Chrome { return web.Chrome{Path: r.URL.Path} })
	if err != nil {
		t.Fatal(err)
	}
	if logs == nil {
		logs = io.Discard
	}
	o := server.Options{
		Logger: slog.New(slog.NewJSONHandler(logs, nil)), Pool: pool, Renderer: renderer,
		Pages: func(r chi.Router) {
			r.Get("/{org}", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "org "+chi.URLParam(r, "org")) })
			r.Get("/staff/users", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "q="+r.URL.Query().Get("q")) })
			r.Post("/form", func(w http.ResponseWriter, r *http.Request) {
				// As CSRF protection and then the handler do: both read the form the middleware parsed.
				_ = r.ParseForm()
				_, _ = io.WriteString(w, "name="+r.PostFormValue("name")+" again="+r.FormValue("name"))
			})
			r.Post("/api/echo", func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(w, r.Body) })
			r.Get("/api/things", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "{}") })
			r.Get("/db", func(w http.ResponseWriter, r *http.Request) {
				var one int
				err := pool.QueryRow(r.Context(), "SELECT 1").Scan(&one)
				if dbstatus.Unavailable(err) {
					renderer.Error(w, r, http.StatusServiceUnavailable, dbstatus.Message)
					return
				}
				if err != nil {
					renderer.Error(w, r, http.StatusInternalServerError, "")
					return
				}
				_, _ = io.WriteString(w, "ok")
			})
		},
	}
	if change != nil {
		change(&o)
	}
	return server.New(o)
}

func serveRequest(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestBytesThatAreNotTextAreRefusedAtTheEdge(t *testing.T) {
	t.Parallel()
	h := edgeServer(t, nil, nil, nil)
	form := func(path, body string) *http.Request {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req
	}
	multipartForm := func(field, value string) *http.Request {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		_ = mw.WriteField(field, value)
		_ = mw.Close()
		req := httptest.NewRequest(http.MethodPost, "/form", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return req
	}
	for _, tc := range []struct {
		name     string
		req      *http.Request
		status   int
		json     bool
		wantBody string
	}{
		{"a NUL in a path segment", httptest.NewRequest(http.MethodGet, "/org1%00", nil), 404, false, ""},
		{"invalid UTF-8 in a path segment", httptest.NewRequest(http.MethodGet, "/org%ff", nil), 404, false, ""},
		{"a control character in a path segment", httptest.NewRequest(http.MethodGet, "/org%0A1", nil), 404, false, ""},
		{"a NUL in an API path", httptest.NewRequest(http.MethodGet, "/api/things%00", nil), 404, true, ""},
		{"invalid UTF-8 in a query parameter", httptest.NewRequest(http.MethodGet, "/staff/users?q=%ff", nil), 422, false, ""},
		{"a NUL in a query parameter", httptest.NewRequest(http.MethodGet, "/staff/users?q=a%00", nil), 422, false, ""},
		{"a NUL in a query parameter's name", httptest.NewRequest(http.MethodGet, "/staff/users?q%00=a", nil), 422, false, ""},
		{"a NUL in an API query parameter", httptest.NewRequest(http.MethodGet, "/api/things?page=%00", nil), 422, true, ""},
		{"a NUL in a form field", form("/form", "name=a%00b"), 422, false, ""},
		{"invalid UTF-8 in a form field", form("/form", "name=%ff"), 422, false, ""},
		{"a NUL in a multipart form field", multipartForm("name", "a\x00b"), 422, false, ""},
		{"a NUL in the query of a form post", form("/form?x=%00", "name=ok"), 422, false, ""},
		{"a malformed form", form("/form", "name=%zz"), 400, false, ""},
		// What is text passes, and handlers read the form again.
		{"a name", httptest.NewRequest(http.MethodGet, "/org1", nil), 200, false, "org org1"},
		{"a name in another script", httptest.NewRequest(http.MethodGet, "/%C3%A9tude", nil), 200, false, "org étude"},
		{"a search", httptest.NewRequest(http.MethodGet, "/staff/users?q=%C3%A9", nil), 200, false, "q=é"},
		{"a form", form("/form", "name=Ada+L%C3%B6f"), 200, false, "name=Ada Löf again=Ada Löf"},
		{"a form with a line break", form("/form", "name=a%0Ab"), 200, false, "name=a\nb again=a\nb"},
		{"a multipart form", multipartForm("name", "Ada"), 200, false, "name=Ada again=Ada"},
		// An API body is not a form: it reaches the handler unread, NUL and all.
		{"an API body", form("/api/echo", "name=a%00b"), 200, false, "name=a%00b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serveRequest(h, tc.req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.wantBody != "" && rec.Body.String() != tc.wantBody {
				t.Errorf("body %q, want %q", rec.Body, tc.wantBody)
			}
			if tc.status >= 400 {
				var body struct{ Detail string }
				isJSON := json.Unmarshal(rec.Body.Bytes(), &body) == nil && body.Detail != ""
				if isJSON != tc.json {
					t.Errorf("JSON answer: %v, want %v: %s", isJSON, tc.json, rec.Body)
				}
				if !tc.json && !strings.Contains(rec.Header().Get("Content-Type"), "text/html") {
					t.Errorf("a person gets %q, want the error page", rec.Header().Get("Content-Type"))
				}
			}
		})
	}
}

func TestEveryResponseCarriesTheSecurityHeaders(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		baseURL  string
		wantHSTS bool
	}{{"http://localhost:8000", false}, {"https://jobs.example.org", true}} {
		h := edgeServer(t, nil, nil, func(o *server.Options) { o.BaseURL = tc.baseURL })
		for _, path := range []string{"/org1", "/no/such/page", "/api/things", "/static/app.css"} {
			rec := get(t, h, path)
			hd := rec.Header()
			csp := hd.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("%s %s: Content-Security-Policy %q lacks %q", tc.baseURL, path, csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("%s: Content-Security-Policy allows inline script: %q", path, csp)
			}
			if hd.Get("X-Frame-Options") != "DENY" || hd.Get("X-Content-Type-Options") != "nosniff" ||
				hd.Get("Referrer-Policy") != "same-origin" {
				t.Errorf("%s %s: headers %v", tc.baseURL, path, hd)
			}
			if hsts := hd.Get("Strict-Transport-Security"); (hsts != "") != tc.wantHSTS {
				t.Errorf("%s %s: Strict-Transport-Security %q, want one: %v", tc.baseURL, path, hsts, tc.wantHSTS)
			}
		}
	}
}

func TestTheClientAddressComesFromForwardingHeadersOnlyThroughATrustedProxy(t *testing.T) {
	t.Parallel()
	trusted, err := server.ParseTrustedProxies(" 10.0.0.0/8, 192.0.2.1 ,")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.ParseTrustedProxies("10.0.0.0/8,not-an-ip"); err == nil {
		t.Error("ParseTrustedProxies accepted not-an-ip")
	}
	for _, tc := range []struct {
		name, peer, forwardedFor, realIP string
		trusted                          bool
		want                             string
	}{
		{"no proxy is trusted: headers are ignored", "192.0.2.1:4000", "203.0.113.7", "203.0.113.8", false, "192.0.2.1"},
		{"an untrusted peer cannot claim an address", "198.51.100.9:4000", "203.0.113.7", "203.0.113.8", true, "198.51.100.9"},
		{"a trusted proxy names the client", "192.0.2.1:4000", "203.0.113.7", "", true, "203.0.113.7"},
		{"the rightmost untrusted hop is the client", "10.1.1.1:4000", "6.6.6.6, 203.0.113.7, 10.2.2.2", "", true, "203.0.113.7"},
		{"X-Real-IP when there is no X-Forwarded-For", "10.1.1.1:4000", "", "203.0.113.8", true, "203.0.113.8"},
		{"a header that is not an address is ignored", "10.1.1.1:4000", "", "nonsense", true, "10.1.1.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := edgeServer(t, &logs, nil, func(o *server.Options) {
				if tc.trusted {
					o.TrustedProxies = trusted
				}
			})
			req := httptest.NewRequest(http.MethodGet, "/org1", nil)
			req.RemoteAddr = tc.peer
			if tc.forwardedFor != "" {
				req.Header.Set("X-Forwarded-For", tc.forwardedFor)
			}
			if tc.realIP != "" {
				req.Header.Set("X-Real-IP", tc.realIP)
			}
			serveRequest(h, req)
			var line struct{ Remote string }
			if err := json.Unmarshal(bytes.TrimSpace(logs.Bytes()), &line); err != nil {
				t.Fatalf("log %q: %v", logs.String(), err)
			}
			if line.Remote != tc.want {
				t.Errorf("logged client %q, want %q", line.Remote, tc.want)
			}
		})
	}
}

// silentDatabase accepts TCP connections and never answers: a database that hangs.
func silentDatabase(t *testing.T) *pgxpool.Pool {
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
	// No connect_timeout: the request's deadline alone must bound the wait.
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@"+l.Addr().String()+"/jobserver?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		pool.Close()
	})
	return pool
}

func TestAPageAnswers503WithinItsDeadlineWhenTheDatabaseDoesNotAnswer(t *testing.T) {
	t.Parallel()
	h := edgeServer(t, nil, silentDatabase(t), func(o *server.Options) { o.RequestTimeout = 500 * time.Millisecond })
	for _, path := range []string{"/db", "/healthz"} {
		start := time.Now()
		rec := get(t, h, path)
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("%s took %s", path, took)
		}
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "not answering") {
			t.Errorf("%s = %d %s, want 503 saying the database is not answering", path, rec.Code, rec.Body)
		}
	}
}

func TestUnavailableTellsAnOutageFromABadRequest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("no rows in result set"), false},
		{context.Canceled, false},
		{&pgconn.PgError{Code: "23505"}, false}, // unique_violation
		{&pgconn.PgError{Code: "22021"}, false}, // a NUL byte: bad input, not an outage
		{context.DeadlineExceeded, true},
		{&wrapped{context.DeadlineExceeded}, true},
		{&pgconn.PgError{Code: "57014"}, true}, // statement_timeout
		{&pgconn.PgError{Code: "57P03"}, true}, // the server is starting up
		{&pgconn.PgError{Code: "53300"}, true}, // too many connections
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
	} {
		if got := dbstatus.Unavailable(tc.err); got != tc.want {
			t.Errorf("Unavailable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

type wrapped struct{ err error }

func (w *wrapped) Error() string { return "query: " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }

// startServer serves h with the given timeouts on a fresh port and returns its address.
func startServer(t *testing.T, h http.Handler, ts server.Timeouts) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := server.NewHTTPServer(h, ts, slog.New(slog.NewTextHandler(io.Discard, nil)))
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

// closedWithin reports whether the server closes conn within d (reading and discarding what it sends).
func closedWithin(conn net.Conn, d time.Duration) bool {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, conn)
	var netErr net.Error
	return err == nil || !(errors.As(err, &netErr) && netErr.Timeout())
}

func TestABodyTrickledSlowerThanTheReadTimeoutIsCutOff(t *testing.T) {
	t.Parallel()
	read := make(chan error, 1)
	addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		read <- err
	}), server.Timeouts{ReadHeader: time.Second, Read: 300 * time.Millisecond, Write: time.Second, Idle: time.Second})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
	start := time.Now()
	go func() {
		for range 100 {
			if _, err := conn.Write([]byte("a")); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond) // 5s for the whole body
		}
	}()
	select {
	case err := <-read:
		if err == nil {
			t.Fatal("the whole trickled body was read")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the handler was still reading the trickled body after 3s")
	}
	if !closedWithin(conn, 2*time.Second) {
		t.Error("the connection stayed open")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("cut off after %s", took)
	}
}

func TestAnIdleKeepAliveConnectionIsClosed(t *testing.T) {
	t.Parallel()
	addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }),
		server.Timeouts{ReadHeader: 5 * time.Second, Read: 5 * time.Second, Write: 5 * time.Second, Idle: 300 * time.Millisecond})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	// The response, then nothing: the server must hang up on the idle connection well before the 5s read timeouts.
	if !closedWithin(conn, 2*time.Second) {
		t.Fatal("the idle keep-alive connection was still open after 2s")
	}
}

func TestAStreamingResponseExtendsItsOwnWriteDeadline(t *testing.T) {
	t.Parallel()
	stream := func(extend bool) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if extend {
				if err := server.ExtendDeadline(w, 5*time.Second); err != nil {
					t.Error(err)
				}
			}
			for i := range 8 {
				_, _ = io.WriteString(w, strings.Repeat("x", 10)+"\n")
				_ = http.NewResponseController(w).Flush()
				if i < 7 {
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
	ts := server.Timeouts{ReadHeader: time.Second, Read: time.Second, Write: 300 * time.Millisecond, Idle: time.Second}
	for _, extend := range []bool{false, true} {
		// Through the whole router, so the request logger's response writer is in the way too.
		h := edgeServer(t, nil, nil, func(o *server.Options) {
			o.Pages = func(r chi.Router) { r.Get("/stream", stream(extend).ServeHTTP) }
		})
		addr := startServer(t, h, ts)
		resp, err := http.Get("http://" + addr + "/stream")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		complete := err == nil && len(body) == 8*11
		if complete != extend {
			t.Errorf("extended: %v; got the whole stream: %v (%d bytes, %v)", extend, complete, len(body), err)
		}
	}
}

func TestShutdownLetsRequestsInFlightFinish(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		_, _ = io.WriteString(w, "finished")
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := server.NewHTTPServer(h, server.Timeouts{Read: 5 * time.Second, Write: 5 * time.Second}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- server.Serve(ctx, srv, l, 5*time.Second) }()

	answer := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + l.Addr().String() + "/")
		if err != nil {
			answer <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answer <- string(b)
	}()
	<-started
	stop()
	if got := <-answer; got != "finished" {
		t.Errorf("the request in flight got %q", got)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v", err)
	}
	if _, err := http.Get("http://" + l.Addr().String() + "/"); err == nil {
		t.Error("a new request was served after shutdown")
	}
}

func TestShutdownCutsOffRequestsThatOutlastTheGracePeriod(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	cancelled := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done() // a request stuck on the database until its context ends
		close(cancelled)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := server.NewHTTPServer(h, server.Timeouts{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- server.Serve(ctx, srv, l, 300*time.Millisecond) }()
	go func() {
		if resp, err := http.Get("http://" + l.Addr().String() + "/"); err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	start := time.Now()
	stop()
	select {
	case err := <-served:
		if err == nil || !strings.Contains(err.Error(), "cut off") {
			t.Errorf("Serve = %v, want it to say requests were cut off", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Serve had not returned 3s after shutdown began")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("shutdown took %s with a grace of 300ms", took)
	}
	select {
	case <-cancelled:
	default:
		t.Error("Serve returned while the handler was still running")
	}
}
