// Package server assembles the HTTP side: middleware, health, static assets, the pages and the machine APIs,
// all on one chi router; and the http.Server around it, with its timeouts and graceful shutdown. Metrics are
// not public: MetricsHandler is for a listener of their own.
package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/http/web"
)

// Options are what the router is built from.
type Options struct {
	Logger   *slog.Logger
	Pool     *pgxpool.Pool
	Renderer *web.Renderer
	// Pages mounts the page routes (and their own middleware) on the router.
	Pages func(chi.Router)
	// API mounts machine APIs (the runner API) on the router, outside the pages' sessions and CSRF.
	API func(chi.Router)
	// BaseURL is the public URL of the server; an https URL turns on Strict-Transport-Security.
	BaseURL string
	// TrustedProxies are the addresses whose X-Forwarded-For and X-Real-IP headers name the client.
	// From anyone else those headers are ignored and the client is the socket's peer.
	TrustedProxies []netip.Prefix
	// RequestTimeout is the deadline of each request's context, and so of its database work; 0 means none.
	RequestTimeout time.Duration
}

// New returns the service's handler.
func New(o Options) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID, tagRequest, clientIP(o.TrustedProxies), logRequests(o.Logger),
		securityHeaders(strings.HasPrefix(o.BaseURL, "https://")), recoverPanics(o.Logger, o.Renderer),
		refuseBadBytes(o.Renderer), deadline(o.RequestTimeout))

	r.Get("/healthz", health(o.Pool))
	r.Handle(web.StaticPrefix+"*", web.StaticHandler())

	notFound := func(w http.ResponseWriter, req *http.Request) { fail(w, req, o.Renderer, http.StatusNotFound, "") }
	notAllowed := func(w http.ResponseWriter, req *http.Request) {
		fail(w, req, o.Renderer, http.StatusMethodNotAllowed, "")
	}
	r.NotFound(notFound)
	r.MethodNotAllowed(notAllowed)
	if o.API != nil {
		o.API(r)
	}
	if o.Pages != nil {
		r.Group(func(r chi.Router) {
			o.Pages(r)
			// Set after the pages' middleware, so a page that does not exist still knows who is logged in.
			r.NotFound(notFound)
			r.MethodNotAllowed(notAllowed)
		})
	}
	return r
}

// fail answers with an error in the form the caller reads: JSON with a detail for machine APIs, the error
// page for people.
func fail(w http.ResponseWriter, r *http.Request, renderer *web.Renderer, status int, message string) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		if message == "" {
			message = http.StatusText(status)
		}
		WriteJSON(w, status, map[string]string{"detail": message})
		return
	}
	renderer.Error(w, r, status, message)
}

// WriteJSON writes v as the JSON body of a response.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// OperatorHandler serves what an operator reads off a running server: the Prometheus metrics at /metrics
// and Go's profiles at /debug/pprof/ (where its CPU goes, under a real load). Mount it on a listener of its
// own, never on the public router: profiles show the server's insides.
func OperatorHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

func health(pool *pgxpool.Pool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := pool.Ping(ctx); err != nil {
			WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "detail": "the database is not answering"})
			return
		}
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}
}

// tagRequest gives the response the request's id, for a user to quote, and tags the events the request's
// commands append with it: the request both starts the chain (correlation) and causes the events.
func tagRequest(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := middleware.GetReqID(r.Context())
		w.Header().Set("X-Request-Id", id)
		ctx := commands.WithCausationID(commands.WithCorrelationID(r.Context(), id), id)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// logRequests writes one structured line per request.
func logRequests(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			status := ww.Status()
			if status == 0 {
				status = http.StatusOK
			}
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			logger.LogAttrs(r.Context(), level, "request",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Int("bytes", ww.BytesWritten()),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
				slog.String("request_id", middleware.GetReqID(r.Context())),
				slog.String("remote", remoteIP(r)),
			)
		})
	}
}

// remoteIP is the client's address without the port (see clientIP).
func remoteIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// recoverPanics turns a panic into the 500 page (or JSON); the stack goes to the log, never to the user.
func recoverPanics(logger *slog.Logger, renderer *web.Renderer) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				p := recover()
				if p == nil || p == http.ErrAbortHandler {
					if p != nil {
						panic(p)
					}
					return
				}
				logger.ErrorContext(r.Context(), "panic serving request", slog.Any("panic", p),
					slog.String("path", r.URL.Path), slog.String("request_id", middleware.GetReqID(r.Context())),
					slog.String("stack", string(debug.Stack())))
				fail(w, r, renderer, http.StatusInternalServerError, "")
			}()
			next.ServeHTTP(w, r)
		})
	}
}
