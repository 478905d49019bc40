package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mediciasafely/jobserver/commands/notifications"
	"github.com/mediciasafely/jobserver/commands/releases"
	"github.com/mediciasafely/jobserver/commands/runners"
	"github.com/mediciasafely/jobserver/http/server"
	"github.com/mediciasafely/jobserver/integrations/blobs"
	"github.com/mediciasafely/jobserver/integrations/mail"
	"github.com/mediciasafely/jobserver/internal/database"
	"github.com/mediciasafely/jobserver/projections"
	"github.com/mediciasafely/jobserver/projections/audit"
)

// project is `jobserver project`: the projectors, the reactors and the audit sealer without the web
// server, for deployments that run them apart from web-only replicas (`serve --no-projectors`).
func project(ctx context.Context, cfg config, args []string, out output) error {
	if err := flags("project", out).Parse(args); err != nil {
		return errUsage
	}
	auditKey, err := auditSigningKey(cfg.Development)
	if err != nil {
		return err
	}
	// The RAP poller opens the rap backends' sealed client tokens.
	_, ring, err := secretKeys(cfg.Development)
	if err != nil {
		return err
	}
	b, err := openServing(ctx, cfg)
	if err != nil {
		return err
	}
	defer b.close()
	blobStore, err := blobStore(ctx, cfg)
	if err != nil {
		return err
	}
	stopMetrics, err := serveMetrics(ctx, cfg, slog.Default())
	if err != nil {
		return err
	}
	defer stopMetrics()
	stop, err := startBackground(ctx, cfg, b, slog.Default(), auditKey, blobs.ForReleases{Store: blobStore},
		newRAP(cfg, b, slog.Default(), ring))
	if err != nil {
		return err
	}
	slog.Info("projecting: the projectors, reactors and audit sealer run here, each in one process at a time",
		slog.String("metrics", cfg.MetricsAddr))
	<-ctx.Done()
	stop()
	return nil
}

// openServing opens the database as the long-running subcommands (serve, project) do: a statement that
// runs away is cut off (replay, verify and migrate run without the limit), the read models are prepared,
// and the projectors' lag is exported as metrics.
func openServing(ctx context.Context, cfg config) (*backend, error) {
	var err error
	if cfg.DatabaseURL, err = database.WithTimeouts(cfg.DatabaseURL, database.Timeouts{Statement: cfg.StatementTimeout}); err != nil {
		return nil, err
	}
	b, err := openBackend(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := b.runner.Prepare(ctx); err != nil {
		b.close()
		return nil, fmt.Errorf("prepare read models: %w", err)
	}
	if err := prometheus.Register(b.runner.Collector()); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

// startBackground starts what follows the log beside the pages: the projectors, the reactors (the
// e-mails, the removal of released files' bytes) and the audit sealer. Each runs in one process at a time
// across every server on the database (an advisory lock each), so any number of servers may start them:
// one works, the others stand by and take over within seconds when it stops. stop ends them all and
// waits.
func startBackground(ctx context.Context, cfg config, b *backend, logger *slog.Logger, auditKey ed25519.PrivateKey,
	releaseBlobs blobs.ForReleases, rap *runners.RAP) (stop func(), err error) {
	// The e-mails (a job's completion; an application submitted, its status set): a reactor with its own
	// checkpoint, which no rebuild runs.
	var mailer notifications.Mailer = mail.NewLog(logger, cfg.MailFrom)
	if cfg.SMTPURL != "" {
		smtpMailer, err := mail.NewSMTP(mail.Config{URL: cfg.SMTPURL, From: cfg.MailFrom, Timeout: cfg.SMTPTimeout})
		if err != nil {
			return nil, err
		}
		mailer = smtpMailer
		logger.Info("e-mail through SMTP", slog.String("server", smtpMailer.Server()), slog.String("from", cfg.MailFrom))
	} else if !cfg.Development {
		logger.Warn("SMTP_URL is not set: the e-mails on job completion and on applications are written to the log, not sent")
	}
	notifier := notifications.New(b.kit(logger), mailer, cfg.BaseURL)
	// The reactor that removes released files' bytes no live file references any more.
	remover := releases.NewRemover(b.kit(logger), releaseBlobs)
	reactors := projections.NewReactors(b.pool, b.store, b.events, logger, projections.ReactorOptions{}, append([]projections.Reactor{
		projections.DefineReactor(notifications.ReactorName, notifications.Handles(), func(ctx context.Context, e projections.Event) error {
			return notifier.React(ctx, e.Payload, e.ID.String())
		}),
		projections.DefineReactor(releases.RemoverName, releases.RemoverHandles(), func(ctx context.Context, e projections.Event) error {
			return remover.React(ctx, e.Payload, e.ID.String())
		}),
	}, rapReactors(rap)...)...)
	if err := reactors.Prepare(ctx); err != nil {
		return nil, fmt.Errorf("prepare reactors: %w", err)
	}
	sealer := audit.NewSealer(b.pool, b.store.Notifier(), auditKey, logger, audit.SealerOptions{})

	runCtx, cancel := context.WithCancel(ctx)
	var stopped []chan struct{}
	// The RAP poller and the sweep of orphan blobs, like the projectors, run in one process at a time, on a
	// lock connection of their own.
	sweeper := releases.NewSweeper(b.kit(logger), releaseBlobs)
	pollRAP := func(ctx context.Context) error {
		return projections.NewExclusive(b.pool, logger, 0).Run(ctx, rapPoller(rap), projections.Job{Name: releases.SweeperName, Run: sweeper.Run})
	}
	for _, run := range append([]func(context.Context) error{b.runner.Run, reactors.Run, sealer.Run, pollRAP}, b.log.background(b.pool, logger)...) {
		done := make(chan struct{})
		stopped = append(stopped, done)
		go func() {
			defer close(done)
			_ = run(runCtx) // each logs and retries its own failures until runCtx ends
		}()
	}
	return func() {
		cancel()
		for _, done := range stopped {
			<-done
		}
	}, nil
}

// serveMetrics serves the Prometheus metrics and the Go profiles (server.OperatorHandler) on their own
// listener (JOBSERVER_METRICS_ADDR, loopback by default, kept off the public one) until stop is called.
func serveMetrics(ctx context.Context, cfg config, logger *slog.Logger) (stop func(), err error) {
	if cfg.MetricsAddr == "" {
		return func() {}, nil
	}
	listener, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s for metrics (JOBSERVER_METRICS_ADDR; off turns them off): %w", cfg.MetricsAddr, err)
	}
	serving, stopServing := context.WithCancel(ctx)
	metrics := server.NewHTTPServer(server.OperatorHandler(), cfg.HTTPTimeouts, logger)
	done := make(chan error, 1)
	go func() { done <- server.Serve(serving, metrics, listener, time.Second) }()
	return func() {
		stopServing()
		if err := <-done; err != nil {
			logger.Warn("metrics listener", slog.Any("error", err))
		}
		listener.Close()
	}, nil
}
