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
	"github.com/mediciasafely/jobserver/integrations/github"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
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
	key, err := secretKey(cfg.Development)
	if err != nil {
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
	app, err := web.NewApp(web.Deps{
		Logger: logger, Pool: b.pool, Queries: identityviews.NewQueries(b.pool), Projected: b.runner, Identity: identity,
		GitHub: gitHub, BaseURL: cfg.BaseURL, SecretKey: key, Development: cfg.Development,
	})
	if err != nil {
		return err
	}
	handler := server.New(server.Options{Logger: logger, Pool: b.pool, Renderer: app.Renderer(), Pages: app.Routes})

	listener, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}

	// The projectors stop before the deferred close of the pool they write through.
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

	if cfg.Development {
		if err := loadDemoData(ctx, logger, b.store, identity, b.runner); err != nil {
			listener.Close()
			return err
		}
	}

	serverDone := make(chan error, 1)
	go func() { serverDone <- srv.Serve(listener) }()
	logger.Info("serving", slog.String("url", "http://"+listener.Addr().String()), slog.String("base_url", cfg.BaseURL),
		slog.Bool("development", cfg.Development), slog.Bool("github_login", gitHub != nil))

	var failure error
	select {
	case <-ctx.Done():
	case err := <-serverDone:
		return fmt.Errorf("web server: %w", err)
	case <-projectorsStopped:
		if ctx.Err() == nil {
			failure = fmt.Errorf("projectors stopped: %w", projectorsErr)
		}
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return errors.Join(failure, fmt.Errorf("shut down the web server: %w", err))
	}
	return failure
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
