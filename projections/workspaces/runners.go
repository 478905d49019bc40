package workspaces

import (
	"context"
	"time"

	"github.com/mediciasafely/jobserver/projections"
)

// RunnerJobRequest is a job request as a backend's runner reads it (the classic sync protocol's
// job-requests list): every field the runner needs, none null.
type RunnerJobRequest struct {
	ID                   string
	BackendSlug          string
	SHA                  string
	RequestedActions     []string
	CancelledActions     []string
	ForceRunDependencies bool
	CodelistsOK          bool
	DatabaseName         string
	CreatedBy            string // the requester's login
	CreatedAt            time.Time
	WorkspaceName        string
	WorkspaceRepo        string
	WorkspaceBranch      string
	WorkspaceCreatedBy   string // the workspace creator's login
	WorkspaceCreatedAt   time.Time
	ProjectSlug          string
	OrgSlugs             []string
}

// ActiveJobRequests reads the active job requests of a backend (no job reported yet, or a job pending or
// running), newest first, limit of them after offset, and how many there are in all.
func (q *Queries) ActiveJobRequests(ctx context.Context, backendID string, limit, offset int) ([]RunnerJobRequest, int, error) {
	var out []RunnerJobRequest
	var count int
	err := projections.View(ctx, q.pool, func(db querier) error {
		if err := db.QueryRow(ctx, `SELECT count(*) FROM workspace_job_requests WHERE backend_id = $1 AND active`,
			backendID).Scan(&count); err != nil {
			return err
		}
		rows, err := db.Query(ctx, `SELECT j.id, coalesce(b.slug, ''), j.sha, j.requested_actions, j.cancelled_actions,
				j.force_run_dependencies, j.codelists_ok, j.database_name, coalesce(u.login, ''), j.created_at,
				coalesce(w.name, ''), coalesce(w.repo_url, ''), coalesce(w.branch, ''), coalesce(wu.login, ''),
				coalesce(w.created_at, j.created_at), coalesce(p.slug, ''),
				CASE WHEN o.slug IS NULL THEN '{}'::text[] ELSE ARRAY[o.slug] END
			FROM workspace_job_requests j
			LEFT JOIN workspace_backends b ON b.id = j.backend_id
			LEFT JOIN workspace_people u ON u.id = j.requested_by
			LEFT JOIN workspaces w ON w.id = j.workspace_id
			LEFT JOIN workspace_people wu ON wu.id = w.created_by
			LEFT JOIN workspace_projects p ON p.id = w.project_id
			LEFT JOIN workspace_orgs o ON o.id = p.org_id
			WHERE j.backend_id = $1 AND j.active
			ORDER BY j.created_at DESC, j.id DESC LIMIT $2 OFFSET $3`, backendID, limit, offset)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r RunnerJobRequest
			if err := rows.Scan(&r.ID, &r.BackendSlug, &r.SHA, &r.RequestedActions, &r.CancelledActions,
				&r.ForceRunDependencies, &r.CodelistsOK, &r.DatabaseName, &r.CreatedBy, &r.CreatedAt,
				&r.WorkspaceName, &r.WorkspaceRepo, &r.WorkspaceBranch, &r.WorkspaceCreatedBy, &r.WorkspaceCreatedAt,
				&r.ProjectSlug, &r.OrgSlugs); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, count, err
}

// BackendSeen records that a backend's runner was answered on path, at when: operational state (how
// recently a runner called), not history, so it is kept outside the event log in a table of its own that
// no projector owns and no rebuild drops.
func (q *Queries) BackendSeen(ctx context.Context, backendID, path string, when time.Time) error {
	_, err := q.pool.Exec(ctx, `INSERT INTO backend_contacts (backend_id, path, last_seen_at) VALUES ($1, $2, $3)
		ON CONFLICT (backend_id, path) DO UPDATE SET last_seen_at = greatest(backend_contacts.last_seen_at, $3)`,
		backendID, path, when)
	return err
}

// BackendLastSeen is when the backend's runner was last answered on any path; ok is false if never.
func (q *Queries) BackendLastSeen(ctx context.Context, backendID string) (when time.Time, ok bool, err error) {
	var t *time.Time
	if err := q.pool.QueryRow(ctx, `SELECT max(last_seen_at) FROM backend_contacts WHERE backend_id = $1`, backendID).Scan(&t); err != nil {
		return time.Time{}, false, err
	}
	if t == nil {
		return time.Time{}, false, nil
	}
	return *t, true, nil
}
