package workspaces

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// SaveGitHubToken keeps a researcher's GitHub personal access token, sealed, for reading their
// repositories. GitHub must accept it first.
type SaveGitHubToken struct {
	commands.Actor
	Token string
}

// saveGitHubToken checks the token with GitHub, then appends GitHubTokenSaved (its fingerprint only) and
// the sealed token in one transaction.
func (h handlers) saveGitHubToken(ctx context.Context, cmd SaveGitHubToken) (commands.Result, error) {
	token := strings.TrimSpace(cmd.Token)
	userID := cmd.ActorID()
	if token != "" && userID != "" {
		if _, err := h.github.TokenLogin(ctx, token); err != nil {
			return commands.Result{}, explain(err, "token", h.log.Now())
		}
	}
	key := domain.GitHubTokenSecretKey(userID)
	return commands.Retry(ctx, func() (commands.Result, error) {
		u, version, err := commands.LoadAggregate[domain.User](ctx, h.log, domain.UserStream(userID))
		if err != nil {
			return commands.Result{}, err
		}
		events, err := u.SaveGitHubToken(domain.Actor{UserID: userID}, token, fingerprint(token))
		if err != nil || len(events) == 0 {
			return commands.Result{}, err
		}
		return h.log.Append(ctx, cmd.Actor, []commands.Write{{Stream: domain.UserStream(userID), Expected: eventstore.Exactly(version), Events: events}},
			eventstore.SecretWrite{Key: key, Value: h.keyring.Seal([]byte(token), []byte(key))})
	})
}

// ClearGitHubToken forgets a researcher's saved token.
type ClearGitHubToken struct {
	commands.Actor
}

func (h handlers) clearGitHubToken(ctx context.Context, cmd ClearGitHubToken) (commands.Result, error) {
	userID := cmd.ActorID()
	return commands.Retry(ctx, func() (commands.Result, error) {
		u, version, err := commands.LoadAggregate[domain.User](ctx, h.log, domain.UserStream(userID))
		if err != nil {
			return commands.Result{}, err
		}
		events, err := u.ClearGitHubToken(domain.Actor{UserID: userID})
		if err != nil || len(events) == 0 {
			return commands.Result{}, err
		}
		return h.log.Append(ctx, cmd.Actor, []commands.Write{{Stream: domain.UserStream(userID), Expected: eventstore.Exactly(version), Events: events}},
			eventstore.SecretWrite{Key: domain.GitHubTokenSecretKey(userID), Delete: true})
	})
}

// fingerprint is a short hash of a token: enough to tell two tokens apart on a page, useless to find it.
func fingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:8])
}

// token is the token a researcher's GitHub calls use: a one-time token they gave for this request, or
// the one they saved. No token at all is NoToken.
func (h handlers) token(ctx context.Context, userID, oneTime string) (string, error) {
	if t := strings.TrimSpace(oneTime); t != "" {
		return t, nil
	}
	if userID == "" {
		return "", &GitHubError{Problem: NoToken}
	}
	key := domain.GitHubTokenSecretKey(userID)
	sealed, ok, err := h.log.Store().Secret(ctx, key)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", &GitHubError{Problem: NoToken}
	}
	token, err := h.keyring.Open(sealed, []byte(key))
	if err != nil {
		return "", err
	}
	return string(token), nil
}

// OneTimeTokenLifetime is how long a one-time token carried in a form stays usable.
const OneTimeTokenLifetime = 15 * time.Minute

// SealOneTimeToken seals a token a researcher gave for one use, to be carried in a form between the Run
// Jobs page and its Submit: stored nowhere, bound to the user and the workspace, and expiring.
func (c *Commands) SealOneTimeToken(userID, workspaceID, token string) string {
	expires := c.log.Now().Add(OneTimeTokenLifetime).Unix()
	plaintext := strconv.FormatInt(expires, 10) + "\n" + strings.TrimSpace(token)
	return base64.RawURLEncoding.EncodeToString(c.keyring.Seal([]byte(plaintext), oneTimeBinding(userID, workspaceID)))
}

// OpenOneTimeToken opens what SealOneTimeToken sealed for the same user and workspace; an altered,
// foreign or expired value is Invalid on "token".
func (c *Commands) OpenOneTimeToken(sealed, userID, workspaceID string) (string, error) {
	expired := domain.Invalid("token", "The one-time token has expired or cannot be read; please paste it again.")
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil {
		return "", expired
	}
	plaintext, err := c.keyring.Open(raw, oneTimeBinding(userID, workspaceID))
	if err != nil {
		return "", expired
	}
	expiry, token, ok := strings.Cut(string(plaintext), "\n")
	unix, err := strconv.ParseInt(expiry, 10, 64)
	if !ok || err != nil || c.log.Now().Unix() > unix {
		return "", expired
	}
	return token, nil
}

func oneTimeBinding(userID, workspaceID string) []byte {
	return []byte("one-time-github-token/" + userID + "/" + workspaceID)
}
