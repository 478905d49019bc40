package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/internal/database"
	"github.com/mediciasafely/jobserver/projections"
	appviews "github.com/mediciasafely/jobserver/projections/applications"
	auditviews "github.com/mediciasafely/jobserver/projections/auditview"
	eventlogviews "github.com/mediciasafely/jobserver/projections/eventlog"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
	releaseviews "github.com/mediciasafely/jobserver/projections/releases"
	wsviews "github.com/mediciasafely/jobserver/projections/workspaces"
)

// backend is the database side every command works with. events seals and opens the personal data in
// events with the keys table, whose keys the server's secret key wraps.
type backend struct {
	pool   *pgxpool.Pool
	store  *pgstore.Store
	runner *projections.Runner
	events *domain.Registry
	// log is what commands append to: store, or KurrentDB mirrored into store (cmd/jobserver/eventstore.go).
	log logOfRecord
}

// openBackend connects, creating the database and applying migrations as needed.
func openBackend(ctx context.Context, cfg config) (*backend, error) {
	// Every command reads or writes personal data, sealed under keys the server's secret key wraps.
	_, ring, err := secretKeys(cfg.Development)
	if err != nil {
		return nil, err
	}
	if err := database.EnsureExists(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}
	pool, err := database.Open(ctx, cfg.DatabaseURL, 0)
	if err != nil {
		return nil, err
	}
	n, err := database.Migrate(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	if n > 0 {
		slog.Info("applied migrations", "count", n)
	}
	store := pgstore.New(pool)
	events := domain.Events.WithKeys(pgstore.NewPersonalKeys(pool, ring))
	runner := projections.NewRunner(pool, store, events, slog.Default(), projectors()...)
	log, err := openLog(ctx, cfg, pool, store)
	if err != nil {
		store.Close()
		pool.Close()
		return nil, err
	}
	return &backend{pool: pool, store: store, log: log, runner: runner, events: events}, nil
}

// projectors are every read model the server keeps.
func projectors() []projections.Projector {
	return slices.Concat(identityviews.Projectors(), wsviews.Projectors(), eventlogviews.Projectors(),
		releaseviews.Projectors(), appviews.Projectors(), auditviews.Projectors())
}

// kit is the command kit on the backend's log.
func (b *backend) kit(logger *slog.Logger) commands.Kit {
	return commands.Kit{Log: commands.NewEventLog(b.log.store, b.events, time.Now), Logger: logger}
}

func (b *backend) close() {
	b.log.close()
	b.store.Close()
	b.pool.Close()
}

func migrate(ctx context.Context, cfg config, args []string, out output) error {
	if err := flags("migrate", out).Parse(args); err != nil {
		return errUsage
	}
	if err := database.EnsureExists(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	pool, err := database.Open(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	n, err := database.Migrate(ctx, pool)
	if err != nil {
		return err
	}
	fmt.Fprintf(out.stdout, "applied %d migration(s); the database is up to date\n", n)
	return nil
}
