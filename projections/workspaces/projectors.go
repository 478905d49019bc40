// Package workspaces holds the read models of workspaces and their job requests (steps 7 to 9 of the user
// guide) and the queries their pages read them with.
package workspaces

import (
	"context"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/projections"
)

// Projector projects workspaces and their job requests. It is the one projector behind the pages of a
// workspace, its Run Jobs page and its logs, so it keeps its own copy of everything they show or decide
// buttons with: the people (names, global roles, whether they saved a GitHub token), the organisations and
// projects (slugs for addresses, names), the projects' members with their roles, and the backends' names.
func Projector() projections.Projector {
	h := projections.Handlers{}
	onWorkspaces(h)
	onJobRequests(h)
	copies.Register(h)
	onGitHubTokens(h)
	return projections.Define(WorkspacesProjector, 4,
		append([]string{"workspaces", "workspace_job_requests", "workspace_jobs"}, copies.Tables()...),
		schema+copies.Schema()+`
	ALTER TABLE workspace_people ADD COLUMN github_token_fingerprint text NOT NULL DEFAULT '';`, h)
}

// copies are the names the workspaces pages show of what other slices own.
var copies = projections.CopiesNamed("workspace")

// Projectors are the read models of the workspaces slice.
func Projectors() []projections.Projector { return []projections.Projector{Projector()} }

const schema = `
	CREATE TABLE workspaces (
		id         text PRIMARY KEY,
		project_id text NOT NULL,
		name       text NOT NULL UNIQUE,
		repo_url   text NOT NULL,
		branch     text NOT NULL,
		archived   boolean NOT NULL DEFAULT false,
		notify     boolean NOT NULL,
		created_by text NOT NULL,
		created_at timestamptz NOT NULL
	);
	CREATE INDEX workspaces_project ON workspaces (project_id);
	CREATE TABLE workspace_job_requests (
		id                     text PRIMARY KEY,
		workspace_id           text NOT NULL,
		backend_id             text NOT NULL,
		requested_actions      text[] NOT NULL,
		requested_by           text NOT NULL,
		sha                    text NOT NULL,
		force_run_dependencies boolean NOT NULL,
		will_notify            boolean NOT NULL,
		status                 text NOT NULL DEFAULT 'pending',
		active                 boolean NOT NULL DEFAULT true,
		cancelled_actions      text[] NOT NULL DEFAULT '{}',
		database_name          text NOT NULL DEFAULT 'default',
		codelists_ok           boolean NOT NULL DEFAULT true,
		created_at             timestamptz NOT NULL,
		creation               text NOT NULL DEFAULT '',
		creation_message       text NOT NULL DEFAULT '',
		creation_attempts      integer NOT NULL DEFAULT 0,
		creation_attempted_at  timestamptz
	);
	CREATE INDEX workspace_job_requests_workspace ON workspace_job_requests (workspace_id, created_at DESC);
	CREATE INDEX workspace_job_requests_active ON workspace_job_requests (backend_id, created_at DESC) WHERE active;
	CREATE TABLE workspace_jobs (
		id             text PRIMARY KEY,
		job_request_id text NOT NULL,
		action         text NOT NULL,
		run_command    text NOT NULL,
		status         text NOT NULL,
		status_code    text NOT NULL,
		status_message text NOT NULL,
		created_at     timestamptz NOT NULL,
		updated_at     timestamptz,
		started_at     timestamptz,
		completed_at   timestamptz,
		metrics        jsonb NOT NULL DEFAULT '{}'
	);
	CREATE INDEX workspace_jobs_request ON workspace_jobs (job_request_id);`

func onWorkspaces(h projections.Handlers) {
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.WorkspaceCreated) error {
		return db.Exec(ctx, `INSERT INTO workspaces (id, project_id, name, repo_url, branch, notify, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
			ev.WorkspaceID, ev.ProjectID, ev.Name, ev.RepoURL, ev.Branch, ev.Notify, ev.CreatedBy, e.RecordedAt)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.WorkspaceArchived) error {
		return db.Exec(ctx, `UPDATE workspaces SET archived = true WHERE id = $1`, ev.WorkspaceID)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.WorkspaceUnarchived) error {
		return db.Exec(ctx, `UPDATE workspaces SET archived = false WHERE id = $1`, ev.WorkspaceID)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.WorkspaceNotificationsChanged) error {
		return db.Exec(ctx, `UPDATE workspaces SET notify = $2 WHERE id = $1`, ev.WorkspaceID, ev.Notify)
	})
}

func onJobRequests(h projections.Handlers) {
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.JobRequested) error {
		actions := ev.RequestedActions
		if actions == nil {
			actions = []string{}
		}
		database := ev.DatabaseName
		if database == "" {
			database = domain.DefaultDatabaseName
		}
		return db.Exec(ctx, `INSERT INTO workspace_job_requests (id, workspace_id, backend_id, requested_actions, requested_by, sha,
				force_run_dependencies, will_notify, database_name, codelists_ok, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING`,
			ev.JobRequestID, ev.WorkspaceID, ev.BackendID, actions, ev.RequestedBy, ev.SHA,
			ev.ForceRunDependencies, ev.WillNotify, database, ev.CodelistsOK, e.RecordedAt)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.JobStatusChanged) error {
		metrics := ev.Metrics
		if metrics == nil {
			metrics = map[string]any{}
		}
		if err := db.Exec(ctx, `INSERT INTO workspace_jobs (id, job_request_id, action, run_command, status, status_code,
				status_message, created_at, updated_at, started_at, completed_at, metrics)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (id) DO UPDATE SET job_request_id = $2, action = $3, run_command = $4, status = $5, status_code = $6,
				status_message = $7, created_at = $8, updated_at = $9, started_at = $10, completed_at = $11, metrics = $12`,
			ev.JobID, ev.JobRequestID, ev.Action, ev.RunCommand, ev.Status, ev.StatusCode, ev.StatusMessage,
			ev.CreatedAt, ev.UpdatedAt, ev.StartedAt, ev.CompletedAt, metrics); err != nil {
			return err
		}
		return deriveStatus(ctx, db, ev.JobRequestID)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.JobsRemoved) error {
		if err := db.Exec(ctx, `DELETE FROM workspace_jobs WHERE job_request_id = $1 AND id = ANY($2)`,
			ev.JobRequestID, ev.JobIDs); err != nil {
			return err
		}
		return deriveStatus(ctx, db, ev.JobRequestID)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.JobCreationRecorded) error {
		if err := db.Exec(ctx, `UPDATE workspace_job_requests SET creation = $2, creation_message = $3, creation_attempts = $4,
				creation_attempted_at = $5 WHERE id = $1`, ev.JobRequestID, ev.Status, ev.Message, ev.Attempts, e.RecordedAt); err != nil {
			return err
		}
		return deriveStatus(ctx, db, ev.JobRequestID)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.JobActionsCancelled) error {
		return db.Exec(ctx, `UPDATE workspace_job_requests
			SET cancelled_actions = ARRAY(SELECT DISTINCT unnest(cancelled_actions || $2::text[]) ORDER BY 1) WHERE id = $1`,
			ev.JobRequestID, ev.Actions)
	})
}

func onGitHubTokens(h projections.Handlers) {
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.GitHubTokenSaved) error {
		return db.Exec(ctx, `UPDATE workspace_people SET github_token_fingerprint = $2 WHERE id = $1`, ev.UserID, ev.Fingerprint)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.GitHubTokenCleared) error {
		return db.Exec(ctx, `UPDATE workspace_people SET github_token_fingerprint = '' WHERE id = $1`, ev.UserID)
	})
}

// deriveStatus has a job request's status and whether it is active set once the events being applied are.
func deriveStatus(ctx context.Context, db projections.DB, jobRequestID string) error {
	return projections.Settle(ctx, db, "workspaces.requests", jobRequestID, deriveStatuses)
}

// deriveStatuses sets job requests' statuses and whether they are active from their jobs' statuses and what
// creating them on a rap backend came to, in one read and one write.
func deriveStatuses(ctx context.Context, db projections.DB, jobRequestIDs []string) error {
	ids, statuses, actives, err := projections.JobRequestStates(ctx, db, "workspace_job_requests", "workspace_jobs", jobRequestIDs)
	if err != nil || len(ids) == 0 {
		return err
	}
	return db.Exec(ctx, `UPDATE workspace_job_requests r SET status = d.status, active = d.active
		FROM unnest($1::text[], $2::text[], $3::boolean[]) AS d(id, status, active) WHERE r.id = d.id`, ids, statuses, actives)
}
