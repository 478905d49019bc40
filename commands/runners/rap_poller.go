package runners

import (
	"context"
	"time"

	"github.com/mediciasafely/jobserver/domain"
)

// backendStatusPath is the path recorded as a rap backend's contact: its controller's backend/status/
// said when the backend's agent was last seen.
const backendStatusPath = "rap:backend/status/"

// Run polls every rap backend's controller at once and then every PollInterval after the previous pass
// ended, until ctx ends. A pass's failures are logged; the next pass comes all the same.
func (r *RAP) Run(ctx context.Context) error {
	for {
		r.Poll(ctx)
		t := time.NewTimer(r.opts.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// Poll is one pass over the rap backends: for each, the creations whose outcome is unknown and whose
// retry is due are tried again, one rap/status/ call asks about all its active requests, and
// backend/status/ says when its agent was last seen and whether it is paused or in database maintenance.
func (r *RAP) Poll(ctx context.Context) {
	backends, err := r.directory.RAPBackends(ctx)
	if err != nil {
		r.logger.ErrorContext(ctx, "rap poll: cannot list the rap backends", "error", err)
		return
	}
	for _, b := range backends {
		if ctx.Err() != nil {
			return
		}
		if err := r.pollBackend(ctx, b); err != nil {
			r.logger.ErrorContext(ctx, "rap poll of a backend failed", "backend", b.Slug, "error", err)
		}
	}
}

func (r *RAP) pollBackend(ctx context.Context, b RAPBackend) error {
	conn, err := r.connection(ctx, b.ID, b.Slug, b.ControllerURL)
	if err != nil {
		return err
	}
	requests, err := r.directory.ActiveRAPRequests(ctx, b.ID)
	if err != nil {
		return err
	}
	now := r.log.Now()
	byID := make(map[string]ActiveRAPRequest, len(requests))
	ids := make([]string, 0, len(requests))
	for _, q := range requests {
		byID[q.ID] = q
		ids = append(ids, q.ID)
		if r.retryDue(q, now) {
			if err := r.Create(ctx, q.ID); err != nil {
				return err
			}
		}
	}
	statuses, err := r.controller.Status(ctx, conn, ids)
	if err != nil {
		return err
	}
	if err := r.recordStatuses(ctx, b, byID, statuses, now); err != nil {
		return err
	}
	return r.recordBackendState(ctx, b, conn)
}

// retryDue reports whether a request's creation, whose outcome is unknown, is to be tried again now: it
// has no job yet, is young enough for its jobs to be worth creating still, and waited out its backoff.
func (r *RAP) retryDue(q ActiveRAPRequest, now time.Time) bool {
	if q.Creation != domain.CreationUnknownError || q.HasJobs || now.Sub(q.CreatedAt) >= r.opts.UnrecognisedAfter {
		return false
	}
	wait := r.opts.RetryBackoff
	for i := 1; i < q.Attempts && wait < r.opts.MaxRetryBackoff; i++ {
		wait *= 2
	}
	return !now.Before(q.AttemptedAt.Add(min(wait, r.opts.MaxRetryBackoff)))
}

// recordStatuses turns a rap/status/ answer into the same events as a classic runner's report, keeping
// the jobs it leaves out; a request it does not know whose creation had an unknown outcome long enough
// ago fails.
func (r *RAP) recordStatuses(ctx context.Context, b RAPBackend, requests map[string]ActiveRAPRequest, s Statuses, now time.Time) error {
	reports := make([]domain.JobReport, 0, len(s.Jobs))
	for _, j := range s.Jobs {
		reports = append(reports, domain.JobReport{
			JobID: j.Identifier, JobRequestID: j.RapID, Action: j.Action, RunCommand: j.RunCommand, Status: j.Status,
			StatusCode: j.StatusCode, StatusMessage: j.StatusMessage, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
			StartedAt: j.StartedAt, CompletedAt: j.CompletedAt, TraceContext: j.TraceContext, Metrics: j.Metrics,
		})
	}
	if _, err := r.runners.RecordJobStatuses.Handle(ctx, RecordJobStatuses{BackendID: b.ID, Jobs: reports, KeepUnreported: true}); err != nil {
		return err
	}
	for _, id := range s.Unrecognised {
		q, ok := requests[id]
		if !ok || q.Creation != domain.CreationUnknownError || now.Sub(q.CreatedAt) < r.opts.UnrecognisedAfter {
			continue
		}
		if _, err := r.RecordJobCreation.Handle(ctx, RecordJobCreation{JobRequestID: id, Status: domain.CreationFailed,
			Message: domain.UnknownErrorCreatingJobs}); err != nil {
			return err
		}
	}
	return nil
}

// recordBackendState records what backend/status/ says of this backend (matched by slug; the token may
// see others): when its agent was last seen, and its paused and db-maintenance flags as the classic
// runner's Flags header names them, so the status pages read both protocols alike.
func (r *RAP) recordBackendState(ctx context.Context, b RAPBackend, conn Connection) error {
	states, err := r.controller.BackendStatus(ctx, conn)
	if err != nil {
		return err
	}
	for _, s := range states {
		if s.Slug != b.Slug {
			continue
		}
		if s.LastSeen != nil {
			if err := r.directory.BackendSeen(ctx, b.ID, backendStatusPath, *s.LastSeen); err != nil {
				return err
			}
		}
		flags := map[string]domain.RunnerFlag{
			"paused": flagOf(s.Paused, "true"),
			"mode":   flagOf(s.DBMaintenance, "db-maintenance"),
		}
		_, err := r.runners.RecordFlags.Handle(ctx, RecordFlags{BackendID: b.ID, Flags: flags})
		return err
	}
	return nil
}

// flagOf is a backend/status/ flag as a runner flag: value when on, unset when off, since when.
func flagOf(f Flag, value string) domain.RunnerFlag {
	flag := domain.RunnerFlag{}
	if f.On() {
		flag.Value = value
	}
	if f.Since != nil {
		flag.SetAt = *f.Since
	}
	return flag
}
