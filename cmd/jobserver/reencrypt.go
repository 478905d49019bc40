package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
)

// sealedSecretPrefixes are the keys of the secrets table whose values are sealed with the keyring (and
// bound to their own key); runner token hashes are not sealed and are left alone.
var sealedSecretPrefixes = []string{"github-token/", domain.RAPClientTokenSecretPrefix}

// adminReencryptSecrets moves every sealed secret that an older key sealed to the current key, each in a
// transaction of its own, so it can be stopped and run again. The old key can leave
// JOBSERVER_OLD_SECRET_KEYS once it reports nothing left to move.
func adminReencryptSecrets(ctx context.Context, cfg config, args []string, out output) error {
	fs := adminFlags("reencrypt-secrets", "reencrypt-secrets", out)
	if err := parseTask(fs, args); err != nil {
		return err
	}
	_, ring, err := secretKeys(cfg.Development)
	if err != nil {
		return err
	}
	b, err := openBackend(ctx, cfg)
	if err != nil {
		return err
	}
	defer b.close()
	moved, current, err := reencryptSecrets(ctx, b.pool, ring)
	if err != nil {
		return err
	}
	fmt.Fprintf(out.stdout, "Re-encrypted %d secret(s) under the current key; %d already were.\n", moved, current)
	return nil
}

// reencryptSecrets reseals the sealed secrets not under the current key and counts what it moved and what
// was already current. A secret no listed key opens stops it with an error naming the secret's key.
func reencryptSecrets(ctx context.Context, pool *pgxpool.Pool, ring *commands.Keyring) (moved, current int, err error) {
	for _, prefix := range sealedSecretPrefixes {
		rows, err := pool.Query(ctx, `SELECT key FROM secrets WHERE starts_with(key, $1) ORDER BY key`, prefix)
		if err != nil {
			return moved, current, err
		}
		keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return moved, current, err
		}
		for _, key := range keys {
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				var sealed []byte
				if err := tx.QueryRow(ctx, `SELECT value FROM secrets WHERE key = $1 FOR UPDATE`, key).Scan(&sealed); err != nil {
					return err
				}
				if ring.SealedUnderCurrent(sealed) {
					current++
					return nil
				}
				plain, err := ring.Open(sealed, []byte(key))
				if err != nil {
					return fmt.Errorf("secret %s: %w (is the key it was sealed under listed in JOBSERVER_OLD_SECRET_KEYS?)", key, err)
				}
				moved++
				_, err = tx.Exec(ctx, `UPDATE secrets SET value = $2, updated_at = now() WHERE key = $1`, key, ring.Seal(plain, []byte(key)))
				return err
			})
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return moved, current, err
			}
		}
	}
	return moved, current, nil
}
