package identity

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mediciasafely/jobserver/projections"
)

// DefaultAlertTimeout is how long a backend's runner may go unanswered before the status pages warn (and
// /status/{backend}/ answers 503). Every backend has this one for now: no event sets a backend's own yet;
// BackendStatus.AlertTimeout is where a per-backend value will go.
const DefaultAlertTimeout = 5 * time.Minute

// BackendStatus is what the status pages show of a backend: when its runner was last answered (on any API
// path), its queue, and its runner's flags.
type BackendStatus struct {
	ID, Slug, Name string
	// MemberSince is when the viewer was added to the backend; nil when they are not a member (an admin).
	MemberSince *time.Time
	// LastSeen is when the runner was last answered; zero when never.
	LastSeen     time.Time
	AlertTimeout time.Duration
	// PendingJobs and RunningJobs count the backend's jobs in those statuses; RequestsWithoutJobs its job
	// requests no runner has reported a job of yet.
	PendingJobs, RunningJobs, RequestsWithoutJobs int
	Paused                                        bool
	// DBMaintenance is whether the runner's mode is db-maintenance, set at DBMaintenanceSince.
	DBMaintenance      bool
	DBMaintenanceSince time.Time
}

// Seen reports whether the runner was ever answered.
func (b BackendStatus) Seen() bool { return !b.LastSeen.IsZero() }

// Stale reports whether the runner has not been answered for the alert timeout at now. A backend never seen
// is not stale (as job-server: it reports now).
func (b BackendStatus) Stale(now time.Time) bool {
	return b.Seen() && now.Sub(b.LastSeen) >= b.AlertTimeout
}

// backendStatusSelect reads BackendStatus from backends g, with the last contact from backend_contacts (not
// a read model: operational state the runner API writes) and the counts from the projector's own tables.
const backendStatusSelect = `SELECT g.id, g.slug, g.name, bm.added_at,
		(SELECT max(c.last_seen_at) FROM backend_contacts c WHERE c.backend_id = g.id),
		(SELECT count(*) FROM backend_jobs j WHERE j.backend_id = g.id AND j.status = 'pending'),
		(SELECT count(*) FROM backend_jobs j WHERE j.backend_id = g.id AND j.status = 'running'),
		(SELECT count(*) FROM backend_job_requests r WHERE r.backend_id = g.id
			AND NOT EXISTS (SELECT 1 FROM backend_jobs j WHERE j.job_request_id = r.id)),
		g.paused, g.mode = '` + modeDBMaintenance + `', g.mode_set_at
	FROM backends g LEFT JOIN backend_members bm ON bm.backend_id = g.id AND bm.user_id = $1`

func scanBackendStatus(row pgx.CollectableRow) (BackendStatus, error) {
	var b BackendStatus
	var lastSeen, since *time.Time
	err := row.Scan(&b.ID, &b.Slug, &b.Name, &b.MemberSince, &lastSeen, &b.PendingJobs, &b.RunningJobs, &b.RequestsWithoutJobs,
		&b.Paused, &b.DBMaintenance, &since)
	if lastSeen != nil {
		b.LastSeen = *lastSeen
	}
	if since != nil && b.DBMaintenance {
		b.DBMaintenanceSince = *since
	}
	b.AlertTimeout = DefaultAlertTimeout
	return b, err
}

// BackendStatuses reads the status of the backends a user is a member of, by slug, or of every backend when
// all (the admins, who may see the staff area).
func (q *Queries) BackendStatuses(ctx context.Context, userID string, all bool) ([]BackendStatus, error) {
	var out []BackendStatus
	err := projections.View(ctx, q.pool, func(db querier) error {
		rows, err := db.Query(ctx, backendStatusSelect+` WHERE $2 OR bm.user_id IS NOT NULL ORDER BY g.slug`, userID, all)
		out, err = projections.All(rows, err, scanBackendStatus)
		return err
	})
	return out, err
}

// BackendStatusBySlug reads the status of one backend, for the uptime monitors' pages.
func (q *Queries) BackendStatusBySlug(ctx context.Context, slug string) (BackendStatus, error) {
	var out BackendStatus
	err := projections.View(ctx, q.pool, func(db querier) error {
		rows, err := db.Query(ctx, backendStatusSelect+` WHERE g.slug = lower($2)`, "", slug)
		out, err = projections.One(rows, err, "No such backend.", scanBackendStatus)
		return err
	})
	return out, err
}
