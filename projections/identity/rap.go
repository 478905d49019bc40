package identity

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/projections"
)

// onBackendProtocols keeps how the server talks to each backend: its protocol, a rap backend's controller
// URL, and when its client token was last set (the token itself is sealed in the secrets table).
func onBackendProtocols(h projections.Handlers) {
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.BackendProtocolSet) error {
		return db.Exec(ctx, `UPDATE backends SET protocol = $2, controller_url = $3,
				client_token_set_at = CASE WHEN $4 THEN $5::timestamptz ELSE client_token_set_at END
			WHERE id = $1`, ev.BackendID, ev.Protocol, ev.ControllerURL, ev.ClientTokenSet, e.RecordedAt)
	})
}

// RAPBackend is a backend whose protocol is rap, as the poller reaches it.
type RAPBackend struct {
	ID, Slug, ControllerURL string
}

// RAPBackends lists the backends whose protocol is rap, by slug.
func (q *Queries) RAPBackends(ctx context.Context) ([]RAPBackend, error) {
	rows, err := q.pool.Query(ctx, `SELECT id, slug, controller_url FROM backends WHERE protocol = $1 ORDER BY slug`, domain.ProtocolRAP)
	return projections.All(rows, err, pgx.RowToStructByPos[RAPBackend])
}
