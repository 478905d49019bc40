package workspaces

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mediciasafely/jobserver/domain"
)

// GitHub is what the slice asks GitHub, with a researcher's token. integrations/github adapts its client
// to it; its errors are *GitHubError.
type GitHub interface {
	// TokenLogin returns the login of the account a token belongs to.
	TokenLogin(ctx context.Context, token string) (string, error)
	// Repository returns the web address of a repository the token can see.
	Repository(ctx context.Context, token, repoURL string) (string, error)
	// BranchHead returns the sha of a branch's head commit.
	BranchHead(ctx context.Context, token, repoURL, branch string) (string, error)
	// File returns a file's bytes at exactly one commit.
	File(ctx context.Context, token, repoURL, path, sha string) ([]byte, error)
}

// GitHubProblem is what went wrong in a call to GitHub, in the terms the pages explain.
type GitHubProblem int

const (
	NoToken GitHubProblem = iota + 1
	BadToken
	BadRepoURL
	RepoNotFound
	BranchNotFound
	CommitNotFound
	FileNotFound
	Forbidden
	RateLimited
	Unavailable
	GitHubFailed
)

// GitHubError is the failure of one call to GitHub, as the port reports it.
type GitHubError struct {
	Problem GitHubProblem
	// RetryAt is when GitHub lets the token call again (RateLimited).
	RetryAt time.Time
	// Err is the adapter's own error, for logs.
	Err error
}

func (e *GitHubError) Error() string { return fmt.Sprintf("github: problem %d: %v", e.Problem, e.Err) }
func (e *GitHubError) Unwrap() error { return e.Err }

// explain turns a failed call to GitHub into a message for the form field it concerns; errors that are
// not GitHub's pass unchanged (and become a 500 page).
func explain(err error, field string, now time.Time) error {
	var ge *GitHubError
	if !errors.As(err, &ge) {
		return err
	}
	var message string
	switch ge.Problem {
	case NoToken:
		message = "MediciaSAFELY needs a GitHub personal access token to read the repository: save one on your settings page, or paste one here."
		field = "token"
	case BadToken:
		message = "GitHub refused the token: it is wrong, revoked or has expired. Save a new one on your settings page."
		field = "token"
	case BadRepoURL:
		message = "Please enter the repository's address on GitHub, such as https://github.com/owner/repository."
	case RepoNotFound:
		message = "GitHub has no repository at this address that your token can see. Check the address, and that the token may read the repository."
	case BranchNotFound:
		message = "The repository has no branch of this name."
	case CommitNotFound:
		message = "GitHub has no such commit in the repository any more (the branch may have been rewritten); reload the page to run the branch's latest commit."
		field = "sha"
	case FileNotFound:
		message = "This branch has no project.yaml at the top of the repository."
	case Forbidden:
		message = "GitHub does not let this token read the repository (the organisation may require single sign-on for the token)."
	case RateLimited:
		message = "GitHub asks us to slow down for this token; please try again " + retryWhen(ge.RetryAt, now) + "."
	case Unavailable:
		message = "GitHub is not answering just now; please try again in a few minutes."
	default:
		message = "GitHub failed to answer; please try again in a few minutes."
	}
	return domain.Invalid(field, message)
}

// retryWhen says when a rate limit ends, in words.
func retryWhen(at, now time.Time) string {
	if at.IsZero() || !at.After(now) {
		return "in a minute"
	}
	minutes := int(at.Sub(now).Round(time.Minute) / time.Minute)
	if minutes <= 1 {
		return "in a minute"
	}
	return fmt.Sprintf("after %s UTC (in %d minutes)", at.UTC().Format("15:04"), minutes)
}
