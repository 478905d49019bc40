package applications

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/mediciasafely/jobserver/projections"
)

// ResearchersNaming lists the researcher entries of applications that name a person, by their GitHub
// login or e-mail address (either, ignoring case; "" matches nothing): the entries forgetting that person
// forgets with them.
func (q *Queries) ResearchersNaming(ctx context.Context, login, email string) ([]string, error) {
	rows, err := q.pool.Query(ctx, `SELECT DISTINCT id FROM application_researchers
		WHERE ($1 <> '' AND lower(details->>'GitHubUsername') = lower($1)) OR ($2 <> '' AND lower(details->>'Email') = lower($2))
		ORDER BY id`, login, email)
	return projections.All(rows, err, pgx.RowTo[string])
}
