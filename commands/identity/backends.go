package commands

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"

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
	Actor Actor
	Slug  string
	Name  string
}

// NewBackend is a created backend with its runner token, which is shown once and never again.
type NewBackend struct {
	BackendID string
	Slug      string
	Token     string
	Result    eventstore.AppendResult
}

// CreateBackendHandler handles CreateBackend.
type CreateBackendHandler struct {
	log    *EventLog
	access *Access
}

// NewCreateBackendHandler builds the handler.
func NewCreateBackendHandler(log *EventLog) *CreateBackendHandler {
	return &CreateBackendHandler{log: log, access: NewAccess(log)}
}

// Handle creates the backend, reserves its slug (a Conflict on "slug" when taken) and stores the hash of a new
// runner token, all in one append.
func (h *CreateBackendHandler) Handle(ctx context.Context, cmd CreateBackend) (NewBackend, error) {
	if err := h.access.require(ctx, cmd.Actor, domain.BackendManage, "", "Only admins can create backends."); err != nil {
		return NewBackend{}, err
	}
	var out NewBackend
	_, err := Retry(ctx, func() (eventstore.AppendResult, error) {
		id := domain.NewID(h.log.Now())
		created, err := domain.CreateBackend(id, cmd.Slug, cmd.Name)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		var slug domain.Reservation
		slugStream := domain.BackendSlugStream(created.Slug)
		slugVersion, err := h.log.Load(ctx, slugStream, &slug)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		reserved, err := slug.ReserveSlug("slug", domain.ReservedForBackend, created.Slug, id)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		token, hash := newRunnerToken()
		res, err := h.log.Append(ctx, cmd.Actor, []Write{
			{Stream: domain.BackendStream(id), Expected: eventstore.NoStream, Events: []domain.Event{created}},
			{Stream: slugStream, Expected: eventstore.Exactly(slugVersion), Events: reserved},
		}, runnerTokenSecrets(id, hash, "")...)
		out = NewBackend{BackendID: id, Slug: created.Slug, Token: token, Result: res}
		return res, err
	})
	if err != nil {
		return NewBackend{}, err
	}
	return out, nil
}

// RotateRunnerToken replaces a backend's runner token (needs backend_manage).
type RotateRunnerToken struct {
	Actor     Actor
	BackendID string
}

// NewRunnerToken is a backend's new runner token, shown once and never again.
type NewRunnerToken struct {
	Token  string
	Result eventstore.AppendResult
}

// RotateRunnerTokenHandler handles RotateRunnerToken.
type RotateRunnerTokenHandler struct {
	log    *EventLog
	access *Access
}

// NewRotateRunnerTokenHandler builds the handler.
func NewRotateRunnerTokenHandler(log *EventLog) *RotateRunnerTokenHandler {
	return &RotateRunnerTokenHandler{log: log, access: NewAccess(log)}
}

// Handle issues a new token; the old one stops working in the same transaction.
func (h *RotateRunnerTokenHandler) Handle(ctx context.Context, cmd RotateRunnerToken) (NewRunnerToken, error) {
	if err := h.access.require(ctx, cmd.Actor, domain.BackendManage, "", "Only admins can rotate runner tokens."); err != nil {
		return NewRunnerToken{}, err
	}
	var out NewRunnerToken
	_, err := Retry(ctx, func() (eventstore.AppendResult, error) {
		var b domain.Backend
		version, err := h.log.Load(ctx, domain.BackendStream(cmd.BackendID), &b)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		events, err := b.RotateRunnerToken()
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		// Read the old hash after the stream: a rotation that commits in between changes the stream's version
		// too, so this append then fails and is retried with the newer hash.
		oldHash, _, err := h.log.Store().Secret(ctx, backendRunnerTokenKey(cmd.BackendID))
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		token, hash := newRunnerToken()
		res, err := h.log.Append(ctx, cmd.Actor, []Write{
			{Stream: domain.BackendStream(cmd.BackendID), Expected: eventstore.Exactly(version), Events: events},
		}, runnerTokenSecrets(cmd.BackendID, hash, string(oldHash))...)
		out = NewRunnerToken{Token: token, Result: res}
		return res, err
	})
	if err != nil {
		return NewRunnerToken{}, err
	}
	return out, nil
}

// AddBackendMember lets a user see a backend and run jobs on it (needs backend_manage).
type AddBackendMember struct {
	Actor     Actor
	BackendID string
	UserID    string
}

// AddBackendMemberHandler handles AddBackendMember.
type AddBackendMemberHandler struct {
	log    *EventLog
	access *Access
}

// NewAddBackendMemberHandler builds the handler.
func NewAddBackendMemberHandler(log *EventLog) *AddBackendMemberHandler {
	return &AddBackendMemberHandler{log: log, access: NewAccess(log)}
}

// Handle adds the member; a member already there changes nothing (zero result, no error).
func (h *AddBackendMemberHandler) Handle(ctx context.Context, cmd AddBackendMember) (eventstore.AppendResult, error) {
	if err := h.access.require(ctx, cmd.Actor, domain.BackendManage, "", "Only admins can add backend members."); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := requireUser(ctx, h.log, cmd.UserID); err != nil {
		return eventstore.AppendResult{}, err
	}
	return decide(ctx, h.log, cmd.Actor, domain.BackendStream(cmd.BackendID), func(b *domain.Backend) ([]domain.Event, error) {
		return b.AddMember(cmd.UserID)
	})
}

// RemoveBackendMember takes a user's backend membership away (needs backend_manage).
type RemoveBackendMember struct {
	Actor     Actor
	BackendID string
	UserID    string
}

// RemoveBackendMemberHandler handles RemoveBackendMember.
type RemoveBackendMemberHandler struct {
	log    *EventLog
	access *Access
}

// NewRemoveBackendMemberHandler builds the handler.
func NewRemoveBackendMemberHandler(log *EventLog) *RemoveBackendMemberHandler {
	return &RemoveBackendMemberHandler{log: log, access: NewAccess(log)}
}

// Handle removes the member; a user who is not a member is NotFound.
func (h *RemoveBackendMemberHandler) Handle(ctx context.Context, cmd RemoveBackendMember) (eventstore.AppendResult, error) {
	if err := h.access.require(ctx, cmd.Actor, domain.BackendManage, "", "Only admins can remove backend members."); err != nil {
		return eventstore.AppendResult{}, err
	}
	return decide(ctx, h.log, cmd.Actor, domain.BackendStream(cmd.BackendID), func(b *domain.Backend) ([]domain.Event, error) {
		return b.RemoveMember(cmd.UserID)
	})
}
