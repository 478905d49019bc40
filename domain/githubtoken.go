package domain

import "strings"

// GitHubTokenSaved records that a user saved a GitHub personal access token. The token itself is never in
// an event: it is sealed in the secrets table, written in the same transaction. Fingerprint is a short
// hash of it, enough to tell two tokens apart and useless to anyone who has neither.
type GitHubTokenSaved struct {
	UserID      string
	Fingerprint string
}

func (GitHubTokenSaved) EventType() string { return "GitHubTokenSaved" }

// GitHubTokenCleared records that a user removed their saved token.
type GitHubTokenCleared struct {
	UserID string
}

func (GitHubTokenCleared) EventType() string { return "GitHubTokenCleared" }

// SaveGitHubToken decides saving a token for the user, which GitHub has accepted (the caller checked it).
// Only the user themself may; the same token again needs no event.
func (u *User) SaveGitHubToken(by Actor, token, fingerprint string) ([]Event, error) {
	if !by.Is(u.id) {
		return nil, Refused("You can only save your own GitHub token.")
	}
	if err := u.mustExist(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(token) == "" {
		return nil, Invalid("token", "Please paste a GitHub personal access token.")
	}
	if fingerprint == u.tokenFingerprint {
		return nil, nil
	}
	return []Event{GitHubTokenSaved{UserID: u.id, Fingerprint: fingerprint}}, nil
}

// ClearGitHubToken decides removing the user's saved token; no token needs no event.
func (u *User) ClearGitHubToken(by Actor) ([]Event, error) {
	if !by.Is(u.id) {
		return nil, Refused("You can only remove your own GitHub token.")
	}
	if err := u.mustExist(); err != nil {
		return nil, err
	}
	if u.tokenFingerprint == "" {
		return nil, nil
	}
	return []Event{GitHubTokenCleared{UserID: u.id}}, nil
}

// GitHubTokenFingerprint is the fingerprint of the user's saved token, or "" when none is saved.
func (u *User) GitHubTokenFingerprint() string { return u.tokenFingerprint }

// GitHubTokenStream is not a stream: the sealed token lives in the secrets table under this key.
func GitHubTokenSecretKey(userID string) string { return "github-token/" + userID }
