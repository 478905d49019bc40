package github

import (
	"context"
	"errors"
	"strings"

	"github.com/mediciasafely/jobserver/commands/workspaces"
)

// maxProjectFile is the largest project.yaml read: a real one is a few kilobytes.
const maxProjectFile = 1 << 20

// ForWorkspaces is the GitHub port of the workspaces slice, answered by Repos.
type ForWorkspaces struct{ Repos *Repos }

var _ workspaces.GitHub = ForWorkspaces{}

// unsendable is the error for a token that cannot travel in an HTTP header (a control character, such
// as a line break pasted in its middle, or a character beyond ASCII): no GitHub token has one, so it is
// a bad token, not GitHub failing to answer. Its text holds no part of the token.
func unsendable(token string) error {
	bad := strings.ContainsFunc(strings.TrimSpace(token), func(r rune) bool { return r < ' ' || r > '~' })
	if !bad {
		return nil
	}
	return &workspaces.GitHubError{Problem: workspaces.BadToken, Err: errors.New("the token holds a character no GitHub token has")}
}

func (g ForWorkspaces) TokenLogin(ctx context.Context, token string) (string, error) {
	if err := unsendable(token); err != nil {
		return "", err
	}
	u, err := g.Repos.CheckToken(ctx, token)
	return u.Login, portError(err)
}

func (g ForWorkspaces) Repository(ctx context.Context, token, repoURL string) (string, error) {
	if err := unsendable(token); err != nil {
		return "", err
	}
	r, err := g.Repos.Repository(ctx, token, repoURL)
	return r.HTMLURL, portError(err)
}

func (g ForWorkspaces) BranchHead(ctx context.Context, token, repoURL, branch string) (string, error) {
	if err := unsendable(token); err != nil {
		return "", err
	}
	b, err := g.Repos.Branch(ctx, token, repoURL, branch)
	return b.SHA, portError(err)
}

func (g ForWorkspaces) File(ctx context.Context, token, repoURL, path, sha string) ([]byte, error) {
	if err := unsendable(token); err != nil {
		return nil, err
	}
	f, err := g.Repos.File(ctx, token, repoURL, path, sha)
	if err != nil {
		return nil, portError(err)
	}
	if len(f.Content) > maxProjectFile {
		return nil, &workspaces.GitHubError{Problem: workspaces.GitHubFailed, Err: errors.New("project.yaml is larger than 1 MiB")}
	}
	return f.Content, nil
}

// portProblems are the port's words for this package's kinds.
var portProblems = map[Kind]workspaces.GitHubProblem{
	ErrNoToken:        workspaces.NoToken,
	ErrBadToken:       workspaces.BadToken,
	ErrBadRepoURL:     workspaces.BadRepoURL,
	ErrRepoNotFound:   workspaces.RepoNotFound,
	ErrBranchNotFound: workspaces.BranchNotFound,
	ErrCommitNotFound: workspaces.CommitNotFound,
	ErrFileNotFound:   workspaces.FileNotFound,
	ErrForbidden:      workspaces.Forbidden,
	ErrRateLimited:    workspaces.RateLimited,
	ErrUnavailable:    workspaces.Unavailable,
	ErrServerError:    workspaces.GitHubFailed,
}

// portError turns an *Error into the port's; other errors (a cancelled context) pass unchanged.
func portError(err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	problem, ok := portProblems[e.Kind]
	if !ok {
		problem = workspaces.GitHubFailed
	}
	return &workspaces.GitHubError{Problem: problem, RetryAt: e.RetryAt, Err: err}
}
