package projections

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/domain"
)

// One collects exactly one row of a query; no row is the domain's NotFound with the message missing, the
// one not-found error that pages and commands share.
func One[T any](rows pgx.Rows, err error, missing string, scan func(pgx.CollectableRow) (T, error)) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	v, err := pgx.CollectExactlyOneRow(rows, scan)
	if errors.Is(err, pgx.ErrNoRows) {
		return zero, domain.NotFound(missing)
	}
	return v, err
}

// All collects every row of a query.
func All[T any](rows pgx.Rows, err error, scan func(pgx.CollectableRow) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scan)
}

// Roles reads roles stored as text, in the user guide's order.
func Roles(ss []string) []domain.Role {
	roles := make([]domain.Role, len(ss))
	for i, s := range ss {
		roles[i] = domain.Role(s)
	}
	return domain.SortRoles(roles)
}

// Querier is a pool, or the transaction a view reads in.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// View runs read in one read-only snapshot, so everything a page shows comes from one position of the
// tables its projector wrote; under a context of InSchema, the snapshot reads that schema's tables.
func View(ctx context.Context, pool *pgxpool.Pool, read func(db Querier) error) error {
	return pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			if schema := schemaOf(ctx); schema != "" {
				if err := useSchema(ctx, tx, schema); err != nil {
					return err
				}
			}
			return read(tx)
		})
}
