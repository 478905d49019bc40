package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// Secret keys of runner tokens. The token itself is never stored: runner-token/<sha256 hex of the token>
// holds the backend id (to authenticate a runner), backend-runner-token/<backend id> holds the hash (so a
// rotation can delete the old lookup).
const (
	runnerTokenKeyPrefix        = "runner-token/"
	backendRunnerTokenKeyPrefix = "backend-runner-token/"
)

func runnerTokenKey(hash string) string             { return runnerTokenKeyPrefix + hash }
func backendRunnerTokenKey(backendID string) string { return backendRunnerTokenKeyPrefix + backendID }

// newRunnerToken returns a new token (32 random bytes, hex) and its SHA-256 (hex).
func newRunnerToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	token = hex.EncodeToString(b)
	return token, hashRunnerToken(token)
}

func hashRunnerToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// runnerTokenSecrets stores the lookups of a new token and deletes those of the old one, if any.
func runnerTokenSecrets(backendID, hash, oldHash string) []eventstore.SecretWrite {
	var writes []eventstore.SecretWrite
	if oldHash != "" && oldHash != hash {
		writes = append(writes, eventstore.SecretWrite{Key: runnerTokenKey(oldHash), Delete: true})
	}
	return append(writes,
		eventstore.SecretWrite{Key: runnerTokenKey(hash), Value: []byte(backendID)},
		eventstore.SecretWrite{Key: backendRunnerTokenKey(backendID), Value: []byte(hash)},
	)
}

// BackendForToken returns the id of the backend whose current runner token is token; ok is false for an
// unknown, rotated-away or empty token. The runner API authenticates with it.
func BackendForToken(ctx context.Context, store eventstore.Store, token string) (backendID string, ok bool, err error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return "", false, nil
	}
	v, ok, err := store.Secret(ctx, runnerTokenKey(hashRunnerToken(token)))
	if err != nil || !ok {
		return "", false, err
	}
	return string(v), true, nil
}

// CreateBackend creates a backend (needs backend_manage). Slug is derived from Name when empty.
type CreateBackend struct {
	commands.Actor
	Slug string
	Name string
}

// NewBackend is a created backend with its runner token, which is shown once and never again.
type NewBackend struct {
	BackendID string
	Slug      string
	Token     string
	commands.Result
}

// createBackend creates the backend, reserves its slug (a Conflict on "slug" when taken) and stores the
// hash of a new runner token, all in one append.
func (h handlers) createBackend(ctx context.Context, cmd CreateBackend) (NewBackend, error) {
	return commands.Retry(ctx, func() (NewBackend, error) {
		by, err := cmd.Decider(ctx, h.log)
		if err != nil {
			return NewBackend{}, err
		}
		id := domain.NewID(h.log.Now())
		created, err := domain.CreateBackend(by, id, cmd.Slug, cmd.Name)
		if err != nil {
			return NewBackend{}, err
		}
		slug, err := h.log.Reserve(ctx, domain.BackendSlugStream(created.Slug), func(r *domain.Reservation) ([]domain.Event, error) {
			return r.ReserveSlug("slug", domain.ReservedForBackend, created.Slug, id)
		})
		if err != nil {
			return NewBackend{}, err
		}
		token, hash := newRunnerToken()
		res, err := h.log.Append(ctx, cmd.Actor, []commands.Write{
			{Stream: domain.BackendStream(id), Expected: eventstore.NoStream, Events: []domain.Event{created}}, slug,
		}, runnerTokenSecrets(id, hash, "")...)
		return NewBackend{BackendID: id, Slug: created.Slug, Token: token, Result: res}, err
	})
}

// RotateRunnerToken replaces a backend's runner token (needs backend_manage).
type RotateRunnerToken struct {
	commands.Actor
	BackendID string
}

// NewRunnerToken is a backend's new runner token, shown once and never again.
type NewRunnerToken struct {
	Token string
	commands.Result
}

// rotateRunnerToken issues a new token; the old one stops working in the same transaction.
func (h handlers) rotateRunnerToken(ctx context.Context, cmd RotateRunnerToken) (NewRunnerToken, error) {
	return commands.Retry(ctx, func() (NewRunnerToken, error) {
		var b domain.Backend
		version, err := h.log.Load(ctx, domain.BackendStream(cmd.BackendID), &b)
		if err != nil {
			return NewRunnerToken{}, err
		}
		by, err := cmd.Decider(ctx, h.log)
		if err != nil {
			return NewRunnerToken{}, err
		}
		events, err := b.RotateRunnerToken(by)
		if err != nil {
			return NewRunnerToken{}, err
		}
		// Read the old hash after the stream: a rotation that commits in between changes the stream's version
		// too, so this append then fails and is retried with the newer hash.
		oldHash, _, err := h.log.Store().Secret(ctx, backendRunnerTokenKey(cmd.BackendID))
		if err != nil {
			return NewRunnerToken{}, err
		}
		token, hash := newRunnerToken()
		res, err := h.log.Append(ctx, cmd.Actor, []commands.Write{
			{Stream: domain.BackendStream(cmd.BackendID), Expected: eventstore.Exactly(version), Events: events},
		}, runnerTokenSecrets(cmd.BackendID, hash, string(oldHash))...)
		return NewRunnerToken{Token: token, Result: res}, err
	})
}

// AddBackendMember lets a user see a backend and run jobs on it (needs backend_manage).
type AddBackendMember struct {
	commands.Actor
	BackendID string
	UserID    string
}

// addBackendMember adds the member; a member already there changes nothing.
func (h handlers) addBackendMember(ctx context.Context, cmd AddBackendMember) (commands.Result, error) {
	return commands.Decide(ctx, h.log, cmd.Actor, domain.BackendStream(cmd.BackendID), func(b *domain.Backend, by domain.Actor) ([]domain.Event, error) {
		return ifUserExists(ctx, h.log, cmd.UserID)(b.AddMember(by, cmd.UserID))
	})
}

// RemoveBackendMember takes a user's backend membership away (needs backend_manage).
type RemoveBackendMember struct {
	commands.Actor
	BackendID string
	UserID    string
}

// removeBackendMember removes the member; a user who is not a member is NotFound.
func (h handlers) removeBackendMember(ctx context.Context, cmd RemoveBackendMember) (commands.Result, error) {
	return commands.Decide(ctx, h.log, cmd.Actor, domain.BackendStream(cmd.BackendID), func(b *domain.Backend, by domain.Actor) ([]domain.Event, error) {
		return b.RemoveMember(by, cmd.UserID)
	})
}
