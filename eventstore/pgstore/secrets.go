package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/eventstore"
)

// Secrets keeps the secrets table for an event log kept elsewhere (KurrentDB): the values that must never
// enter an event stay in Postgres with the read models.
type Secrets struct{ pool *pgxpool.Pool }

// NewSecrets returns the secrets table of pool as an eventstore.SecretKeeper.
func NewSecrets(pool *pgxpool.Pool) *Secrets { return &Secrets{pool: pool} }

func (s *Secrets) Secret(ctx context.Context, key string) ([]byte, bool, error) {
	var v []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM secrets WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read secret: %w", err)
	}
	return v, true, nil
}

// WriteSecrets applies writes in one transaction, having locked and read what each key held, and returns
// the writes that put that back.
func (s *Secrets) WriteSecrets(ctx context.Context, writes []eventstore.SecretWrite) ([]eventstore.SecretWrite, error) {
	var undo []eventstore.SecretWrite
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		undo = make([]eventstore.SecretWrite, 0, len(writes))
		for _, w := range writes {
			var old []byte
			err := tx.QueryRow(ctx, `SELECT value FROM secrets WHERE key = $1 FOR UPDATE`, w.Key).Scan(&old)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				undo = append(undo, eventstore.SecretWrite{Key: w.Key, Delete: true})
			case err != nil:
				return fmt.Errorf("write secret: %w", err)
			default:
				undo = append(undo, eventstore.SecretWrite{Key: w.Key, Value: old})
			}
		}
		return writeSecrets(ctx, tx, writes)
	})
	slices.Reverse(undo)
	return undo, err
}
