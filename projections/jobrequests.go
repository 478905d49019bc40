package projections

import (
	"context"

	"github.com/mediciasafely/jobserver/domain"
)

// JobRequestStates works out the state of job requests from the read model's own tables: requests (with
// its creation column, what creating the jobs on a rap backend came to) and jobs (their statuses), by
// domain.JobRequestState. It gives the requests found, each one's status and whether it is active, as three
// lists in the same order for one multi-row write.
func JobRequestStates(ctx context.Context, db DB, requests, jobs string, ids []string) (found, statuses []string, actives []bool, err error) {
	rows, err := db.Query(ctx, `SELECT r.id, r.creation,
			coalesce((SELECT array_agg(j.status ORDER BY j.id) FROM `+jobs+` j WHERE j.job_request_id = r.id), '{}')
		FROM `+requests+` r WHERE r.id = ANY($1)`, ids)
	if err != nil {
		return nil, nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, creation string
		var jobStatuses []string
		if err := rows.Scan(&id, &creation, &jobStatuses); err != nil {
			return nil, nil, nil, err
		}
		status, active := domain.JobRequestState(creation, jobStatuses)
		found, statuses, actives = append(found, id), append(statuses, status), append(actives, active)
	}
	return found, statuses, actives, rows.Err()
}
