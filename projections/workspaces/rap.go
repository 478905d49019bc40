package workspaces

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mediciasafely/jobserver/projections"
)

// ActiveRAPRequest is an active job request as the RAP poller reads it: when it was made, what creating
// its jobs came to so far, and whether any job of it is known.
type ActiveRAPRequest struct {
	ID          string
	CreatedAt   time.Time
	Creation    string
	Attempts    int
	AttemptedAt *time.Time
	HasJobs     bool
}

// ActiveRAPRequests reads the active job requests of a backend, oldest first.
func (q *Queries) ActiveRAPRequests(ctx context.Context, backendID string) ([]ActiveRAPRequest, error) {
	rows, err := q.pool.Query(ctx, `SELECT j.id, j.created_at, j.creation, j.creation_attempts, j.creation_attempted_at,
			EXISTS (SELECT 1 FROM workspace_jobs w WHERE w.job_request_id = j.id)
		FROM workspace_job_requests j WHERE j.backend_id = $1 AND j.active ORDER BY j.created_at, j.id`, backendID)
	return projections.All(rows, err, pgx.RowToStructByPos[ActiveRAPRequest])
}
