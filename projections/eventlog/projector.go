// Package eventlog holds the read model of the event log: every job request across all workspaces with
// its jobs, and its own copies of the names its pages show (workspaces, projects, organisations,
// backends, people and their roles). It is the one projector behind /event-log, the pages of a job
// request and of a job, and the latest job requests of the home page.
package eventlog

import (
	"context"
	"strings"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/projections"
)

// EventLogProjector is the name of the projector behind the event log, job request and job pages, for the
// forms that wait for it after a command.
const EventLogProjector = "eventlog"

// Projector projects job requests and jobs with the names their pages show.
func Projector() projections.Projector {
	h := projections.Handlers{}
	onJobs(h)
	onWorkspaces(h)
	copies.Register(h)
	return projections.Define(EventLogProjector, 7,
		append([]string{"eventlog_requests", "eventlog_definitions", "eventlog_jobs", "eventlog_workspaces", "eventlog_requesters"}, copies.Tables()...),
		schema+copies.Schema(), h)
}

// copies are the names the event log's pages show of what other slices own.
var copies = projections.CopiesNamed("eventlog")

// Projectors are the read models of the event log slice.
func Projectors() []projections.Projector { return []projections.Projector{Projector()} }

// The requests are read newest first by (created_at, id), with or without one filter: each filter has an
// index in that order, so a page of the log is an index range scan from the cursor, as fast on page
// 1,000 as on page 1. The indexes of a backend, a user and a workspace carry the other filters' columns
// after the order's: a scan of one of them tests the others in the index, and reads from the table only
// the rows that match them all (a user's thousand requests tested for a backend and a status without a
// thousand reads of the table, most often to find nothing).
const schema = `
	CREATE TABLE eventlog_requests (
		id                     text PRIMARY KEY,
		workspace_id           text NOT NULL,
		project_id             text NOT NULL,
		backend_id             text NOT NULL,
		requested_actions      text[] NOT NULL,
		requested_by           text NOT NULL,
		sha                    text NOT NULL,
		force_run_dependencies boolean NOT NULL,
		will_notify            boolean NOT NULL,
		status                 text NOT NULL DEFAULT 'pending',
		active                 boolean NOT NULL DEFAULT true,
		cancelled_actions      text[] NOT NULL DEFAULT '{}',
		num_jobs               integer NOT NULL DEFAULT 0,
		job_actions            text[] NOT NULL DEFAULT '{}',
		job_ids                text[] NOT NULL DEFAULT '{}',
		started_at             timestamptz,
		completed_at           timestamptz,
		last_update            timestamptz,
		created_at             timestamptz NOT NULL,
		creation               text NOT NULL DEFAULT ''
	);
	CREATE INDEX eventlog_requests_newest ON eventlog_requests (created_at DESC, id DESC);
	CREATE INDEX eventlog_requests_backend ON eventlog_requests (backend_id, created_at DESC, id DESC, status, requested_by);
	CREATE INDEX eventlog_requests_status ON eventlog_requests (status, created_at DESC, id DESC);
	CREATE INDEX eventlog_requests_user ON eventlog_requests (requested_by, created_at DESC, id DESC, backend_id, status, workspace_id);
	CREATE INDEX eventlog_requests_workspace ON eventlog_requests (workspace_id, created_at DESC, id DESC, status, backend_id, requested_by);
	CREATE INDEX eventlog_requests_project ON eventlog_requests (project_id, created_at DESC, id DESC);
	CREATE INDEX eventlog_requests_text ON eventlog_requests USING gin ((requested_actions || job_actions || job_ids));
	-- A request's project.yaml (a few kilobytes, most of a row once compressed) is read by its own page alone: kept
	-- apart, the requests' table is a quarter of the size, and the rows a filtered page reads stay in memory.
	CREATE TABLE eventlog_definitions (
		job_request_id     text PRIMARY KEY,
		project_definition text NOT NULL
	);
	CREATE TABLE eventlog_jobs (
		id             text PRIMARY KEY,
		job_request_id text NOT NULL,
		action         text NOT NULL,
		run_command    text NOT NULL,
		status         text NOT NULL,
		status_code    text NOT NULL,
		status_message text NOT NULL,
		trace_id       text NOT NULL,
		created_at     timestamptz NOT NULL,
		updated_at     timestamptz,
		started_at     timestamptz,
		completed_at   timestamptz,
		metrics        jsonb NOT NULL DEFAULT '{}'
	);
	CREATE INDEX eventlog_jobs_request ON eventlog_jobs (job_request_id);
	CREATE TABLE eventlog_workspaces (
		id         text PRIMARY KEY,
		project_id text NOT NULL,
		name       text NOT NULL,
		repo_url   text NOT NULL
	);
	CREATE INDEX eventlog_workspaces_name ON eventlog_workspaces (name);
	-- The people who have requested jobs, for the user filter's menu: a scan of the requests for them grows with the log.
	CREATE TABLE eventlog_requesters (user_id text PRIMARY KEY);`

func onJobs(h projections.Handlers) {
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.JobRequested) error {
		actions := ev.RequestedActions
		if actions == nil {
			actions = []string{}
		}
		if err := db.Exec(ctx, `INSERT INTO eventlog_requests (id, workspace_id, project_id, backend_id, requested_actions, requested_by,
				sha, force_run_dependencies, will_notify, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`,
			ev.JobRequestID, ev.WorkspaceID, ev.ProjectID, ev.BackendID, actions, ev.RequestedBy, ev.SHA,
			ev.ForceRunDependencies, ev.WillNotify, e.RecordedAt); err != nil {
			return err
		}
		if err := db.Exec(ctx, `INSERT INTO eventlog_definitions (job_request_id, project_definition) VALUES ($1, $2)
			ON CONFLICT (job_request_id) DO NOTHING`, ev.JobRequestID, ev.ProjectDefinition); err != nil {
			return err
		}
		return db.Exec(ctx, `INSERT INTO eventlog_requesters (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING`, ev.RequestedBy)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.JobStatusChanged) error {
		metrics := ev.Metrics
		if metrics == nil {
			metrics = map[string]any{}
		}
		if err := db.Exec(ctx, `INSERT INTO eventlog_jobs (id, job_request_id, action, run_command, status, status_code,
				status_message, trace_id, created_at, updated_at, started_at, completed_at, metrics)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			ON CONFLICT (id) DO UPDATE SET job_request_id = $2, action = $3, run_command = $4, status = $5, status_code = $6,
				status_message = $7, trace_id = $8, created_at = $9, updated_at = $10, started_at = $11, completed_at = $12,
				metrics = $13`,
			ev.JobID, ev.JobRequestID, ev.Action, ev.RunCommand, ev.Status, ev.StatusCode, ev.StatusMessage,
			TraceID(ev.TraceContext), ev.CreatedAt, ev.UpdatedAt, ev.StartedAt, ev.CompletedAt, metrics); err != nil {
			return err
		}
		return derive(ctx, db, ev.JobRequestID)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.JobsRemoved) error {
		if err := db.Exec(ctx, `DELETE FROM eventlog_jobs WHERE job_request_id = $1 AND id = ANY($2)`,
			ev.JobRequestID, ev.JobIDs); err != nil {
			return err
		}
		return derive(ctx, db, ev.JobRequestID)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.JobCreationRecorded) error {
		if err := db.Exec(ctx, `UPDATE eventlog_requests SET creation = $2 WHERE id = $1`, ev.JobRequestID, ev.Status); err != nil {
			return err
		}
		return derive(ctx, db, ev.JobRequestID)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.JobActionsCancelled) error {
		return db.Exec(ctx, `UPDATE eventlog_requests
			SET cancelled_actions = ARRAY(SELECT DISTINCT unnest(cancelled_actions || $2::text[]) ORDER BY 1) WHERE id = $1`,
			ev.JobRequestID, ev.Actions)
	})
}

// TraceID is the trace id of a job's W3C trace context ("traceparent": version-traceid-spanid-flags), ""
// when it has none.
func TraceID(tc map[string]any) string {
	tp, _ := tc["traceparent"].(string)
	parts := strings.Split(tp, "-")
	if len(parts) < 3 {
		return ""
	}
	return parts[1]
}

// derive has what a job request shows of its jobs set once the events being applied are: see deriveRequests.
func derive(ctx context.Context, db projections.DB, jobRequestID string) error {
	return projections.Settle(ctx, db, "eventlog.requests", jobRequestID, deriveRequests)
}

// deriveRequests sets what job requests show of their jobs: their status and whether they are active (from
// their jobs and what creating them on a rap backend came to, domain.JobRequestState), the number of jobs,
// their actions and ids (for the text filter), when the first started, when the last completed once all
// have, and the last update. One read and one write for all of them.
func deriveRequests(ctx context.Context, db projections.DB, jobRequestIDs []string) error {
	ids, statuses, actives, err := projections.JobRequestStates(ctx, db, "eventlog_requests", "eventlog_jobs", jobRequestIDs)
	if err != nil || len(ids) == 0 {
		return err
	}
	return db.Exec(ctx, `UPDATE eventlog_requests r SET status = d.status, active = d.active, num_jobs = j.n,
			job_actions = j.actions, job_ids = j.ids, started_at = j.started,
			completed_at = CASE WHEN d.active THEN NULL ELSE j.completed END, last_update = j.updated
		FROM unnest($1::text[], $2::text[], $3::boolean[]) AS d(id, status, active),
			LATERAL (SELECT count(*)::int AS n, coalesce(array_agg(DISTINCT action), '{}') AS actions,
				coalesce(array_agg(id ORDER BY id), '{}') AS ids, min(started_at) AS started, max(completed_at) AS completed,
				max(updated_at) AS updated
			FROM eventlog_jobs WHERE job_request_id = d.id) j
		WHERE r.id = d.id`, ids, statuses, actives)
}

func onWorkspaces(h projections.Handlers) {
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.WorkspaceCreated) error {
		return db.Exec(ctx, `INSERT INTO eventlog_workspaces (id, project_id, name, repo_url) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO NOTHING`, ev.WorkspaceID, ev.ProjectID, ev.Name, ev.RepoURL)
	})
}
