package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands/applications"
	identitycmd "github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/commands/releases"
	"github.com/mediciasafely/jobserver/commands/runners"
	"github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/http/releaseapi"
	"github.com/mediciasafely/jobserver/http/runnerapi"
	"github.com/mediciasafely/jobserver/http/server"
	"github.com/mediciasafely/jobserver/http/web"
	"github.com/mediciasafely/jobserver/integrations/blobs"
	"github.com/mediciasafely/jobserver/integrations/github"
	"github.com/mediciasafely/jobserver/internal/githubfake"
	"github.com/mediciasafely/jobserver/projections"
	appviews "github.com/mediciasafely/jobserver/projections/applications"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
	"github.com/mediciasafely/jobserver/projections/live"
	releaseviews "github.com/mediciasafely/jobserver/projections/releases"
	wsviews "github.com/mediciasafely/jobserver/projections/workspaces"
)

func serve(ctx context.Context, cfg config, args []string, out output) error {
	fs := flags("serve", out)
	webOnly := fs.Bool("no-projectors", false, "serve pages and the APIs only; the projectors, reactors and audit sealer run in `jobserver project` or other replicas")
	if err := fs.Parse(args); err != nil {
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
	b, err := openServing(ctx, cfg)
	if err != nil {
		return err
	}
	defer b.close()

	logger := slog.Default()
	identity := identitycmd.New(b.kit(logger))
	queries := identityviews.NewQueries(b.pool)
	apps := applications.New(b.kit(logger))
	// Backends that speak the RAP API: the staff area sets how each is reached, the background calls them.
	rapCmds := newRAP(cfg, b, logger, ring)
	runnerCmds := runners.New(b.kit(logger))
	ws := workspaces.New(b.kit(logger),
		github.ForWorkspaces{Repos: repos}, ring)
	// Released files' bytes.
	blobStore, err := blobStore(ctx, cfg)
	if err != nil {
		return err
	}
	releaseBlobs := blobs.ForReleases{Store: blobStore}
	rels := releases.New(b.kit(logger), releaseBlobs, cfg.ReleaseFileLimit)

	// Open pages hear of the projectors' commits, this process's or another's on the same database.
	liveHub := live.NewHub(b.pool, b.store, b.events, logger, b.runner.Projectors()...)
	// Auditors' pages as they were (?as_of=): the read models replayed up to a time, a few kept.
	past := projections.NewTimeTravel(b.runner, 4)
	defer past.Close()
	app, err := web.NewApp(web.Deps{
		Logger: logger, Pool: b.pool, Events: b.events, Queries: queries, Projected: b.projected(), Identity: identity,
		Workspaces: ws, WorkspaceViews: wsviews.NewQueries(b.pool),
		Releases: rels, ReleaseViews: releaseviews.NewQueries(b.pool), ReleaseBlobs: releaseBlobs,
		Applications: apps, ApplicationViews: appviews.NewQueries(b.pool),
		GitHub: gitHub, BaseURL: cfg.BaseURL, SecretKey: key, Development: cfg.Development, Live: liveHub,
		TimeTravel: past, RAP: rapCmds,
	})
	if err != nil {
		return err
	}
	runnerAPI := runnerapi.Routes(runnerapi.Options{Logger: logger, Views: wsviews.NewQueries(b.pool),
		Runners: runnerCmds,
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
	stopMetrics, err := serveMetrics(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer stopMetrics()

	// The projectors, reactors and sealer stop after the web server has drained, and before the deferred
	// close of the pool. A web-only replica leaves them to `jobserver project` or to other replicas.
	if !*webOnly {
		stopBackground, err := startBackground(ctx, cfg, b, logger, auditKey, releaseBlobs, rapCmds)
		if err != nil {
			return err
		}
		defer stopBackground()
	}
	liveCtx, stopLive := context.WithCancel(ctx)
	liveStopped := make(chan struct{})
	go func() {
		_ = liveHub.Run(liveCtx)
		close(liveStopped)
	}()
	defer func() {
		stopLive()
		<-liveStopped
	}()

	if cfg.Development {
		if err := loadDemoData(ctx, logger, b.log.store, identity, b.projected()); err != nil {
			return err
		}
		if err := loadDemoApplications(ctx, logger, queries, appviews.NewQueries(b.pool), apps, b.projected()); err != nil {
			return err
		}
	}
	if demoGitHub != nil {
		repoURL, head := seedDemoGitHub(demoGitHub)
		created, err := loadDemoWorkspace(ctx, logger, b.log.store, queries, ws, repoURL, b.projected())
		if err != nil {
			return err
		}
		if created != "" {
			if err := loadDemoJobs(ctx, logger, queries, ws, runnerCmds, created, head, b.projected()); err != nil {
				return err
			}
		}
		if err := loadDemoRelease(ctx, logger, b.log.store, queries, rels, b.projected()); err != nil {
			return err
		}
		logger.Info("demo GitHub (no GitHub OAuth app is configured)", slog.String("url", demoGitHub.URL),
			slog.String("demo_repository", repoURL), slog.String("demo_researcher_token", "saved for "+demoResearcher))
	}

	// Serving ends when we are told to stop.
	go func() {
		<-ctx.Done()
		logger.Info("shutting down", slog.Duration("grace", cfg.ShutdownTimeout))
	}()
	logger.Info("serving", slog.String("url", "http://"+listener.Addr().String()), slog.String("base_url", cfg.BaseURL),
		slog.Bool("development", cfg.Development), slog.Bool("github_login", gitHub != nil),
		slog.String("metrics", metricsURL(cfg.MetricsAddr)), slog.Bool("projectors", !*webOnly))

	httpServer := server.NewHTTPServer(handler, cfg.HTTPTimeouts, logger)
	// Open live streams end when shutdown begins (browsers reconnect to the next server), not at its grace.
	httpServer.RegisterOnShutdown(liveHub.Close)
	return server.Serve(ctx, httpServer, listener, cfg.ShutdownTimeout)
}

func metricsURL(addr string) string {
	if addr == "" {
		return "off"
	}
	return "http://" + addr + "/metrics"
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
