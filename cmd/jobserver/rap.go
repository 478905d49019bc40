package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/runners"
	"github.com/mediciasafely/jobserver/integrations/rap"
	"github.com/mediciasafely/jobserver/projections"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
	wsviews "github.com/mediciasafely/jobserver/projections/workspaces"
)

// rapPollerName names the RAP poller's lock: one process polls the controllers at a time.
const rapPollerName = "rap-poller"

// newRAP builds the use cases of backends that speak the RAP API: their controllers are called through
// integrations/rap, the poller reads the read models, and what the controllers report is recorded by the
// same commands as the classic runners' reports.
func newRAP(cfg config, b *backend, logger *slog.Logger, ring *commands.Keyring) *runners.RAP {
	kit := b.kit(logger)
	return runners.NewRAP(kit, ring, rap.New(rap.Config{Timeout: cfg.RAPTimeout, Logger: logger}),
		rapDirectory{identity: identityviews.NewQueries(b.pool), workspaces: wsviews.NewQueries(b.pool)},
		runners.New(kit), runners.RAPOptions{PollInterval: cfg.RAPPollInterval, UnrecognisedAfter: cfg.RAPUnrecognisedAfter})
}

// rapReactors are the reactors that create and cancel jobs on rap backends' controllers.
func rapReactors(r *runners.RAP) []projections.Reactor {
	react := func(ctx context.Context, e projections.Event) error { return r.React(ctx, e.Payload) }
	return []projections.Reactor{
		projections.DefineReactor(runners.CreatorName, runners.CreatorHandles(), react),
		projections.DefineReactor(runners.CancellerName, runners.CancellerHandles(), react),
	}
}

// rapPoller is the poller as a job that runs in one process at a time.
func rapPoller(r *runners.RAP) projections.Job {
	return projections.Job{Name: rapPollerName, Run: r.Run}
}

// rapDirectory is what the poller reads: the rap backends from the identity read model, their active
// requests from the workspaces one, and where a backend's last contact is kept.
type rapDirectory struct {
	identity   *identityviews.Queries
	workspaces *wsviews.Queries
}

func (d rapDirectory) RAPBackends(ctx context.Context) ([]runners.RAPBackend, error) {
	found, err := d.identity.RAPBackends(ctx)
	out := make([]runners.RAPBackend, len(found))
	for i, b := range found {
		out[i] = runners.RAPBackend(b)
	}
	return out, err
}

func (d rapDirectory) ActiveRAPRequests(ctx context.Context, backendID string) ([]runners.ActiveRAPRequest, error) {
	found, err := d.workspaces.ActiveRAPRequests(ctx, backendID)
	out := make([]runners.ActiveRAPRequest, len(found))
	for i, q := range found {
		out[i] = runners.ActiveRAPRequest{ID: q.ID, CreatedAt: q.CreatedAt, Creation: q.Creation, Attempts: q.Attempts, HasJobs: q.HasJobs}
		if q.AttemptedAt != nil {
			out[i].AttemptedAt = *q.AttemptedAt
		}
	}
	return out, err
}

func (d rapDirectory) BackendSeen(ctx context.Context, backendID, path string, when time.Time) error {
	return d.workspaces.BackendSeen(ctx, backendID, path, when)
}
