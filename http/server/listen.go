package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Timeouts bound how long a connection may take over each part of its life, so that a slow or idle client
// cannot hold a connection (and a goroutine) for good.
type Timeouts struct {
	// ReadHeader bounds reading a request's headers.
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included. A handler that takes a large upload extends its
	// own deadline with ExtendDeadline.
	Read time.Duration
	// Write bounds writing the response, from the end of the request's headers. A streaming response
	// extends its own deadline with ExtendDeadline.
	Write time.Duration
	// Idle bounds how long a keep-alive connection waits for its next request.
	Idle time.Duration
}

// NewHTTPServer returns the http.Server for handler, with every timeout set. Its own complaints (a bad TLS
// handshake, a panic outside the router) go to logger.
func NewHTTPServer(handler http.Handler, t Timeouts, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// ExtendDeadline gives a response that legitimately takes long (a stream, a large download or upload) d
// more from now to read the request and write the response, past the server's Read and Write timeouts.
func ExtendDeadline(w http.ResponseWriter, d time.Duration) error {
	rc := http.NewResponseController(w)
	at := time.Now().Add(d)
	if err := rc.SetWriteDeadline(at); err != nil {
		return fmt.Errorf("extend the write deadline: %w", err)
	}
	if err := rc.SetReadDeadline(at); err != nil {
		return fmt.Errorf("extend the read deadline: %w", err)
	}
	return nil
}

// Serve serves srv on l until ctx is done, then shuts down gracefully: it stops accepting connections, closes
// idle ones, and waits up to grace for the requests in flight to finish. Requests still running then are cut
// off (their connections closed, their contexts cancelled) and Serve says so. It returns once no handler
// runs any more (or, for handlers that ignore their context, after another grace at most), so what they use
// (the database pool) can be closed after it.
func Serve(ctx context.Context, srv *http.Server, l net.Listener, grace time.Duration) error {
	// Handlers' contexts derive from this one, so cutting requests off also cancels their work.
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	srv.BaseContext = func(net.Listener) context.Context { return base }
	var running sync.WaitGroup
	handler := srv.Handler
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		running.Add(1)
		defer running.Done()
		handler.ServeHTTP(w, r)
	})

	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case err := <-served:
		return fmt.Errorf("web server: %w", err)
	case <-ctx.Done():
	}

	shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if err != nil {
		cancelBase()
		_ = srv.Close()
		err = fmt.Errorf("requests still running %s after shutdown began were cut off", grace)
		finished := make(chan struct{})
		go func() { running.Wait(); close(finished) }()
		select {
		case <-finished:
		case <-time.After(grace):
			err = fmt.Errorf("%w; some of them had not returned %s later", err, grace)
		}
	}
	if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}
