package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/applications"
	identitycmd "github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/commands/notifications"
	"github.com/mediciasafely/jobserver/commands/releases"
	"github.com/mediciasafely/jobserver/commands/runners"
	"github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/releaseapi"
	"github.com/mediciasafely/jobserver/http/runnerapi"
	"github.com/mediciasafely/jobserver/http/server"
	"github.com/mediciasafely/jobserver/http/web"
	"github.com/mediciasafely/jobserver/integrations/blobs"
	"github.com/mediciasafely/jobserver/integrations/github"
	"github.com/mediciasafely/jobserver/integrations/mail"
	"github.com/mediciasafely/jobserver/internal/database"
	"github.com/mediciasafely/jobserver/internal/githubfake"
	"github.com/mediciasafely/jobserver/projections"
	appviews "github.com/mediciasafely/jobserver/projections/applications"
	"github.com/mediciasafely/jobserver/projections/audit"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
	"github.com/mediciasafely/jobserver/projections/live"
	releaseviews "github.com/mediciasafely/jobserver/projections/releases"
	wsviews "github.com/mediciasafely/jobserver/projections/workspaces"
)

func serve(ctx context.Context, cfg config, args []string, out output) error {
	if err := flags("serve", out).Parse(args); err != nil {
		return errUsage
	}
	// Before touching the database: a server nobody can log in to should not start at all.
	gitHub, err := gitHubLogin(cfg)
	if err != nil {
		return err
	}
	key, ring, err := secretKeys(cfg.Development)
	if err != nil {
		return err
	}
	auditKey, err := auditSigningKey(cfg.Development)
	if err != nil {
		return err
	}
	// Workspaces read repositories from GitHub; a development server without a GitHub OAuth app reads them
	// from a local fake GitHub holding the demo study, so the guide's steps 7 to 9 work offline.
	var demoGitHub *githubfake.Server
	gitHubURL, gitHubAPIURL := cfg.GitHubURL, cfg.GitHubAPIURL
	if cfg.Development && gitHub == nil {
		// A fixed address, so the demo workspace's repository address still answers after a restart.
		if demoGitHub, err = githubfake.StartAt(demoGitHubAddr); err != nil {
			slog.Warn("the demo GitHub's usual address is taken; the demo workspace will not find its repository after this run", slog.String("addr", demoGitHubAddr), slog.Any("error", err))
			demoGitHub = githubfake.Start()
		}
		defer demoGitHub.Close()
		gitHubURL, gitHubAPIURL = demoGitHub.URL, demoGitHub.APIURL()
	}
	repos, err := github.NewRepos(github.Config{WebURL: gitHubURL, APIURL: gitHubAPIURL})
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	// Web requests are short: the database cuts off a statement that runs away. Long jobs (replay, verify,
	// migrate) are other subcommands and run without the limit.
	if cfg.DatabaseURL, err = database.WithTimeouts(cfg.DatabaseURL, database.Timeouts{Statement: cfg.StatementTimeout}); err != nil {
		return err
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

	logger := slog.Default()
	identity := newIdentity(b.store)
	queries := identityviews.NewQueries(b.pool)
	apps := applications.New(commands.Kit{Log: commands.NewEventLog(b.store, domain.Events, time.Now), Logger: logger})
	ws := workspaces.New(commands.Kit{Log: commands.NewEventLog(b.store, domain.Events, time.Now), Logger: logger},
		github.ForWorkspaces{Repos: repos}, ring)
	// The e-mails (a job's completion; an application submitted, its status set): a reactor with its own
	// checkpoint, which no rebuild runs.
	var mailer notifications.Mailer = mail.NewLog(logger, cfg.MailFrom)
	if cfg.SMTPURL != "" {
		smtpMailer, err := mail.NewSMTP(mail.Config{URL: cfg.SMTPURL, From: cfg.MailFrom, Timeout: cfg.SMTPTimeout})
		if err != nil {
			return err
		}
		mailer = smtpMailer
		logger.Info("e-mail through SMTP", slog.String("server", smtpMailer.Server()), slog.String("from", cfg.MailFrom))
	} else if !cfg.Development {
		logger.Warn("SMTP_URL is not set: the e-mails on job completion and on applications are written to the log, not sent")
	}
	notifier := notifications.New(commands.Kit{Log: commands.NewEventLog(b.store, domain.Events, time.Now), Logger: logger}, mailer, cfg.BaseURL)
	// Released files' bytes, and the reactor that removes those no live file references any more.
	blobStore, err := blobStore(ctx, cfg)
	if err != nil {
		return err
	}
	releaseBlobs := blobs.ForReleases{Store: blobStore}
	releaseKit := commands.Kit{Log: commands.NewEventLog(b.store, domain.Events, time.Now), Logger: logger}
	rels := releases.New(releaseKit, releaseBlobs, cfg.ReleaseFileLimit)
	remover := releases.NewRemover(releaseKit, releaseBlobs)
	reactors := projections.NewReactors(b.pool, b.store, domain.Events, logger, projections.ReactorOptions{},
		projections.DefineReactor(notifications.ReactorName, notifications.Handles(), func(ctx context.Context, e projections.Event) error {
			return notifier.React(ctx, e.Payload, e.ID.String())
		}),
		projections.DefineReactor(releases.RemoverName, releases.RemoverHandles(), func(ctx context.Context, e projections.Event) error {
			return remover.React(ctx, e.Payload, e.ID.String())
		}))
	if err := reactors.Prepare(ctx); err != nil {
		return fmt.Errorf("prepare reactors: %w", err)
	}

	// Open pages hear of the projectors' commits, this process's or another's on the same database.
	liveHub := live.NewHub(b.pool, b.store, domain.Events, logger, b.runner.Projectors()...)
	app, err := web.NewApp(web.Deps{
		Logger: logger, Pool: b.pool, Queries: queries, Projected: b.runner, Identity: identity,
		Workspaces: ws, WorkspaceViews: wsviews.NewQueries(b.pool),
		Releases: rels, ReleaseViews: releaseviews.NewQueries(b.pool), ReleaseBlobs: releaseBlobs,
		Applications: apps, ApplicationViews: appviews.NewQueries(b.pool),
		GitHub: gitHub, BaseURL: cfg.BaseURL, SecretKey: key, Development: cfg.Development, Live: liveHub,
	})
	if err != nil {
		return err
	}
	runnerAPI := runnerapi.Routes(runnerapi.Options{Logger: logger, Views: wsviews.NewQueries(b.pool),
		Runners: runners.New(commands.Kit{Log: commands.NewEventLog(b.store, domain.Events, time.Now), Logger: logger}),
		Authenticate: func(ctx context.Context, token string) (string, bool, error) {
			return identitycmd.BackendForToken(ctx, b.store, token)
		},
		BodyLimit: cfg.APIBodyLimit, BaseURL: cfg.BaseURL})
	releaseAPI := releaseapi.Routes(releaseapi.Options{Logger: logger, Users: queries, Releases: rels,
		Authenticate: func(ctx context.Context, token string) (string, bool, error) {
			return identitycmd.BackendForToken(ctx, b.store, token)
		},
		BodyLimit: cfg.APIBodyLimit, BaseURL: cfg.BaseURL})
	api := func(r chi.Router) {
		runnerAPI(r)
		releaseAPI(r)
	}
	handler := server.New(server.Options{Logger: logger, Pool: b.pool, Renderer: app.Renderer(), Pages: app.Routes, API: api,
		BaseURL: cfg.BaseURL, TrustedProxies: cfg.TrustedProxies, RequestTimeout: cfg.RequestTimeout})

	listener, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	defer listener.Close()
	// Metrics are for the operator's scraper, on a listener of their own (loopback by default).
	var metricsListener net.Listener
	if cfg.MetricsAddr != "" {
		if metricsListener, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return fmt.Errorf("listen on %s for metrics (JOBSERVER_METRICS_ADDR; off turns them off): %w", cfg.MetricsAddr, err)
		}
		defer metricsListener.Close()
	}

	// The projectors stop after the web server has drained, and before the deferred close of the pool.
	projectorsCtx, stopProjectors := context.WithCancel(ctx)
	projectorsStopped := make(chan struct{})
	var projectorsErr error
	go func() {
		projectorsErr = b.runner.Run(projectorsCtx)
		close(projectorsStopped)
	}()
	defer func() {
		stopProjectors()
		<-projectorsStopped
	}()
	// The reactors stop with the projectors; they log and retry their own failures.
	reactorsStopped := make(chan struct{})
	go func() {
		_ = reactors.Run(projectorsCtx)
		close(reactorsStopped)
	}()
	defer func() {
		stopProjectors()
		<-reactorsStopped
	}()
	// The audit sealer chains and signs the log beside it; of several servers on one database one seals.
	sealerStopped := make(chan struct{})
	go func() {
		_ = audit.NewSealer(b.pool, b.store.Notifier(), auditKey, logger, audit.SealerOptions{}).Run(projectorsCtx)
		close(sealerStopped)
	}()
	defer func() {
		stopProjectors()
		<-sealerStopped
	}()
	liveStopped := make(chan struct{})
	go func() {
		_ = liveHub.Run(projectorsCtx)
		close(liveStopped)
	}()
	defer func() {
		stopProjectors()
		<-liveStopped
	}()

	if cfg.Development {
		if err := loadDemoData(ctx, logger, b.store, identity, b.runner); err != nil {
			return err
		}
		if err := loadDemoApplications(ctx, logger, queries, appviews.NewQueries(b.pool), apps, b.runner); err != nil {
			return err
		}
	}
	if demoGitHub != nil {
		repoURL := seedDemoGitHub(demoGitHub)
		if err := loadDemoWorkspace(ctx, logger, b.store, queries, ws, repoURL, b.runner); err != nil {
			return err
		}
		if err := loadDemoRelease(ctx, logger, b.store, queries, rels, b.runner); err != nil {
			return err
		}
		logger.Info("demo GitHub (no GitHub OAuth app is configured)", slog.String("url", demoGitHub.URL),
			slog.String("demo_repository", repoURL), slog.String("demo_researcher_token", "saved for "+demoResearcher))
	}

	// Serving ends when we are told to stop, or when the projectors stop on their own.
	serving, stopServing := context.WithCancel(ctx)
	defer stopServing()
	go func() {
		select {
		case <-projectorsStopped:
		case <-ctx.Done():
		case <-serving.Done():
			return
		}
		logger.Info("shutting down", slog.Duration("grace", cfg.ShutdownTimeout))
		stopServing()
	}()
	if metricsListener != nil {
		metrics := server.NewHTTPServer(server.MetricsHandler(), cfg.HTTPTimeouts, logger)
		metricsDone := make(chan error, 1)
		go func() { metricsDone <- server.Serve(serving, metrics, metricsListener, time.Second) }()
		defer func() {
			stopServing()
			if err := <-metricsDone; err != nil {
				logger.Warn("metrics listener", slog.Any("error", err))
			}
		}()
	}
	logger.Info("serving", slog.String("url", "http://"+listener.Addr().String()), slog.String("base_url", cfg.BaseURL),
		slog.Bool("development", cfg.Development), slog.Bool("github_login", gitHub != nil),
		slog.String("metrics", metricsURL(metricsListener)))

	httpServer := server.NewHTTPServer(handler, cfg.HTTPTimeouts, logger)
	// Open live streams end when shutdown begins (browsers reconnect to the next server), not at its grace.
	httpServer.RegisterOnShutdown(liveHub.Close)
	err = server.Serve(serving, httpServer, listener, cfg.ShutdownTimeout)
	select {
	case <-projectorsStopped:
		if ctx.Err() == nil {
			err = errors.Join(fmt.Errorf("projectors stopped: %w", projectorsErr), err)
		}
	default:
	}
	return err
}

func metricsURL(l net.Listener) string {
	if l == nil {
		return "off"
	}
	return "http://" + l.Addr().String() + "/metrics"
}

// gitHubLogin is "Log in with GitHub" as configured. Without an OAuth app a development server runs with
// the development login alone (nil); production refuses to start, since nobody could log in.
func gitHubLogin(cfg config) (web.GitHubLogin, error) {
	switch {
	case cfg.GitHubClientID == "" && cfg.GitHubClientSecret == "":
		if cfg.Development {
			return nil, nil
		}
		return nil, errors.New(`configuration: GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are required in production: ` +
			`they are the credentials of the GitHub OAuth app behind "Log in with GitHub" ` +
			`(JOBSERVER_ENV=development runs without them, with the development login)`)
	case cfg.GitHubClientID == "" || cfg.GitHubClientSecret == "":
		return nil, errors.New("configuration: set both GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET, or neither")
	}
	login, err := github.NewLogin(github.Config{
		ClientID: cfg.GitHubClientID, ClientSecret: cfg.GitHubClientSecret,
		WebURL: cfg.GitHubURL, APIURL: cfg.GitHubAPIURL,
		RedirectURL: cfg.BaseURL + "/login/github/callback",
	})
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return login, nil
}
