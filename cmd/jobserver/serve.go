package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mediciasafely/jobserver/http/server"
	"github.com/mediciasafely/jobserver/http/web"
)

func serve(ctx context.Context, cfg config, args []string) error {
	if err := flags("serve").Parse(args); err != nil {
		return errUsage
	}
	b, err := openBackend(ctx, cfg)
	if err != nil {
		return err
	}
	defer b.close()
	if err := b.runner.Prepare(ctx); err != nil {
		return fmt.Errorf("prepare read models: %w", err)
	}
	if err := prometheus.Register(b.runner.Collector()); err != nil {
		return err
	}

	renderer, err := web.NewRenderer(func(r *http.Request) web.Chrome { return web.Chrome{Path: r.URL.Path} })
	if err != nil {
		return err
	}
	handler := server.New(server.Options{Logger: slog.Default(), Pool: b.pool, Renderer: renderer})

	listener, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}

	projectorsDone := make(chan error, 1)
	go func() { projectorsDone <- b.runner.Run(ctx) }()
	serverDone := make(chan error, 1)
	go func() { serverDone <- srv.Serve(listener) }()
	slog.Info("serving", "url", "http://"+listener.Addr().String(), "development", cfg.Development)

	select {
	case <-ctx.Done():
	case err := <-serverDone:
		return err
	case err := <-projectorsDone:
		if ctx.Err() == nil {
			return fmt.Errorf("projectors stopped: %w", err)
		}
	}
	slog.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
