package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/eventstore"
)

// KeyWrapper wraps data keys under the server's secret key for storage (commands.Keyring does).
type KeyWrapper interface {
	Seal(plaintext, bound []byte) []byte
	Open(sealed, bound []byte) ([]byte, error)
}

// keyLookupTimeout bounds one read or write of the keys table: sealing and opening happen while an event
// is encoded or decoded, where no context is passed.
const keyLookupTimeout = 10 * time.Second

// PersonalKeys keeps the data keys of personal data in the personal_keys table (migration 00005), wrapped
// by the server's key. Every seal and open reads the table: a key cached in one process would keep opening
// a person's data after another process forgot them, and seal new data under a key already destroyed.
type PersonalKeys struct {
	pool    *pgxpool.Pool
	wrapper KeyWrapper

	// pseudonyms is the key of the pseudonyms, never forgotten, so kept once read (under pseudonymsMu).
	pseudonymsMu sync.Mutex
	pseudonyms   *eventstore.DataKey
}

// NewPersonalKeys returns the keys stored in pool's database, wrapped by wrapper.
func NewPersonalKeys(pool *pgxpool.Pool, wrapper KeyWrapper) *PersonalKeys {
	return &PersonalKeys{pool: pool, wrapper: wrapper}
}

// SealPersonal seals plaintext under subject's key, making and storing the key on the subject's first use.
func (p *PersonalKeys) SealPersonal(subject string, plaintext []byte) ([]byte, error) {
	k, err := p.subjectKey(subject)
	if err != nil {
		return nil, err
	}
	return k.Seal(plaintext), nil
}

// subjectKey reads subject's key, storing a fresh one first when the subject has none. The key is stored
// before the event that uses it is appended, under the subject's name: a crash between the two leaves a
// key nothing uses, which the subject's next event takes up. Of two processes making the subject's first
// key at once, one row wins and both use it.
func (p *PersonalKeys) subjectKey(subject string) (eventstore.DataKey, error) {
	ctx, cancel := context.WithTimeout(context.Background(), keyLookupTimeout)
	defer cancel()
	fresh, err := eventstore.NewDataKey()
	if err != nil {
		return eventstore.DataKey{}, err
	}
	freshWrapped := p.wrapper.Seal(fresh.Raw(), fresh.ID[:])
	var id, wrapped []byte
	// The statement's snapshot misses a row another process commits while the insert waits for it: then
	// no row comes back, and a second try reads that row.
	for range 2 {
		err = p.pool.QueryRow(ctx, `WITH made AS (
				INSERT INTO personal_keys (subject, key_id, wrapped) VALUES ($1, $2, $3)
				ON CONFLICT (subject) DO NOTHING RETURNING key_id, wrapped)
			SELECT key_id, wrapped FROM made
			UNION ALL SELECT key_id, wrapped FROM personal_keys WHERE subject = $1
			LIMIT 1`, subject, fresh.ID[:], freshWrapped).Scan(&id, &wrapped)
		if !errors.Is(err, pgx.ErrNoRows) {
			break
		}
	}
	if err != nil {
		return eventstore.DataKey{}, fmt.Errorf("personal keys: %w", err)
	}
	return p.unwrap(id, wrapped)
}

func (p *PersonalKeys) unwrap(id, wrapped []byte) (eventstore.DataKey, error) {
	if len(id) != len(eventstore.KeyID{}) {
		return eventstore.DataKey{}, fmt.Errorf("personal keys: a key id of %d bytes", len(id))
	}
	raw, err := p.wrapper.Open(wrapped, id)
	if err != nil {
		return eventstore.DataKey{}, fmt.Errorf("personal keys: unwrap: %w", err)
	}
	return eventstore.DataKeyOf(eventstore.KeyID(id), raw)
}

// OpenPersonal opens a sealed value; forgotten is true when its key was deleted.
func (p *PersonalKeys) OpenPersonal(sealed []byte) ([]byte, string, bool, error) {
	id, err := eventstore.SealedKeyID(sealed)
	if err != nil {
		return nil, "", false, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), keyLookupTimeout)
	defer cancel()
	var subject *string
	var wrapped []byte
	var forgotten bool
	if err := p.pool.QueryRow(ctx, `SELECT k.subject, k.wrapped, EXISTS (SELECT 1 FROM forgotten_personal_keys WHERE key_id = $1)
		FROM (SELECT 1) AS one LEFT JOIN personal_keys k ON k.key_id = $1`, id[:]).Scan(&subject, &wrapped, &forgotten); err != nil {
		return nil, "", false, fmt.Errorf("personal keys: %w", err)
	}
	switch {
	case forgotten:
		return nil, "", true, nil
	case subject == nil:
		return nil, "", false, eventstore.ErrUnknownPersonalKey
	}
	k, err := p.unwrap(id[:], wrapped)
	if err != nil {
		return nil, "", false, err
	}
	plaintext, err := k.Open(sealed)
	return plaintext, *subject, false, err
}

// KeysFor reads the keys of every sealed value given in one query and returns what opens those values
// without reading the table again (a value it was not given is opened by OpenPersonal). It is for decoding one
// batch of events, and must live no longer: a person forgotten while the batch is decoded is forgotten
// at most one batch late, and the PersonForgotten event that follows in the log blanks the rows anyway.
// It is not a cache, and there is none: a key kept longer would keep opening a forgotten person's data.
func (p *PersonalKeys) KeysFor(sealed [][]byte) (func(sealed []byte) (plaintext []byte, subject string, forgotten bool, err error), error) {
	batch := &batchKeys{keys: p, byID: map[eventstore.KeyID]batchKey{}}
	var ids [][]byte
	for _, s := range sealed {
		id, err := eventstore.SealedKeyID(s)
		if _, seen := batch.byID[id]; err != nil || seen {
			continue // a value that names no key fails when opened, as one at a time
		}
		batch.byID[id] = batchKey{err: eventstore.ErrUnknownPersonalKey}
		ids = append(ids, id[:])
	}
	if len(ids) == 0 {
		return batch.OpenPersonal, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), keyLookupTimeout)
	defer cancel()
	rows, err := p.pool.Query(ctx, `SELECT i.id, k.subject, k.wrapped, f.key_id IS NOT NULL
		FROM unnest($1::bytea[]) AS i(id)
		LEFT JOIN personal_keys k ON k.key_id = i.id
		LEFT JOIN forgotten_personal_keys f ON f.key_id = i.id`, ids)
	if err != nil {
		return nil, fmt.Errorf("personal keys: %w", err)
	}
	var id, wrapped []byte
	var subject *string
	var forgotten bool
	if _, err := pgx.ForEachRow(rows, []any{&id, &subject, &wrapped, &forgotten}, func() error {
		var k batchKey
		switch {
		case forgotten:
			k.forgotten = true
		case subject == nil:
			k.err = eventstore.ErrUnknownPersonalKey
		default:
			k.subject = *subject
			k.key, k.err = p.unwrap(id, wrapped)
		}
		batch.byID[eventstore.KeyID(id)] = k
		return nil
	}); err != nil {
		return nil, fmt.Errorf("personal keys: %w", err)
	}
	return batch.OpenPersonal, nil
}

// batchKeys are the keys of one batch's sealed values (KeysFor), read only while the batch is decoded.
type batchKeys struct {
	keys *PersonalKeys
	byID map[eventstore.KeyID]batchKey
}

// batchKey is one key as KeysFor read it: unwrapped, forgotten, or an error (unknown, or not unwrapped).
type batchKey struct {
	subject   string
	key       eventstore.DataKey
	forgotten bool
	err       error
}

// OpenPersonal opens a sealed value with the batch's keys, answering as PersonalKeys.OpenPersonal does.
func (b *batchKeys) OpenPersonal(sealed []byte) ([]byte, string, bool, error) {
	id, err := eventstore.SealedKeyID(sealed)
	if err != nil {
		return nil, "", false, err
	}
	k, read := b.byID[id]
	switch {
	case !read:
		return b.keys.OpenPersonal(sealed)
	case k.forgotten:
		return nil, "", true, nil
	case k.err != nil:
		return nil, "", false, k.err
	}
	plaintext, err := k.key.Open(sealed)
	return plaintext, k.subject, false, err
}

type storedKey struct {
	id      []byte
	wrapped []byte
}

// Pseudonym names value by a keyed hash under a key of the database's own (never forgotten), so that it
// stays the same when the server's secret key is rotated.
func (p *PersonalKeys) Pseudonym(value string) (string, error) {
	p.pseudonymsMu.Lock()
	defer p.pseudonymsMu.Unlock()
	if p.pseudonyms == nil {
		k, err := p.subjectKey(eventstore.PseudonymSubject)
		if err != nil {
			return "", err
		}
		p.pseudonyms = &k
	}
	return p.pseudonyms.Pseudonym(value), nil
}

// ForgetSubjects deletes the subjects' keys, keeping only their ids as forgotten, in one statement.
func (p *PersonalKeys) ForgetSubjects(ctx context.Context, subjects ...string) error {
	if slices.Contains(subjects, eventstore.PseudonymSubject) {
		return errors.New("forget personal keys: the pseudonyms' key is nobody's")
	}
	if _, err := p.pool.Exec(ctx, `WITH gone AS (DELETE FROM personal_keys WHERE subject = ANY($1) RETURNING key_id)
		INSERT INTO forgotten_personal_keys (key_id) SELECT key_id FROM gone ON CONFLICT DO NOTHING`, subjects); err != nil {
		return fmt.Errorf("forget personal keys: %w", err)
	}
	return nil
}

// RewrapPersonalKeys wraps again, under the current server key, every data key that an older one wrapped;
// rewrap returns the new wrapping, or nil when the key already is under the current one. It reports how
// many it moved.
func RewrapPersonalKeys(ctx context.Context, pool *pgxpool.Pool, rewrap func(wrapped, keyID []byte) ([]byte, error)) (int, error) {
	rows, err := pool.Query(ctx, `SELECT key_id, wrapped FROM personal_keys ORDER BY key_id`)
	if err != nil {
		return 0, err
	}
	all, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (storedKey, error) {
		var s storedKey
		return s, row.Scan(&s.id, &s.wrapped)
	})
	if err != nil {
		return 0, err
	}
	moved := 0
	for _, s := range all {
		again, err := rewrap(s.wrapped, s.id)
		if err != nil {
			return moved, fmt.Errorf("personal key %x: %w", s.id, err)
		}
		if again == nil {
			continue
		}
		if _, err := pool.Exec(ctx, `UPDATE personal_keys SET wrapped = $2 WHERE key_id = $1 AND wrapped = $3`, s.id, again, s.wrapped); err != nil {
			return moved, err
		}
		moved++
	}
	return moved, nil
}
