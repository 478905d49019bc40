package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"
)

// Repos reads what creating a workspace and running its jobs need from GitHub's REST API, each call with
// the token of the user who acts (a personal access token, or a one-time token):
//
//   - CheckToken: whose token it is (GET /user);
//   - Repository: a repository from its address (GET /repos/{owner}/{repo});
//   - Branch: a branch's head commit (GET /repos/{owner}/{repo}/branches/{branch});
//   - File: a file at an exact commit (GET /repos/{owner}/{repo}/contents/{path}?ref={sha}).
//
// Every failure is an *Error whose Kind (ErrNoToken, ErrBadToken, ErrRepoNotFound, ErrBranchNotFound,
// ErrFileNotFound, ErrRateLimited, ErrUnavailable, ErrServerError…) a page turns into a message; test
// it with errors.Is(err, github.ErrRateLimited) and read RetryAt with errors.As. A context that the
// caller cancels gives back the context's error instead.
//
// Repos is safe for concurrent use.
type Repos struct {
	apiURL  *url.URL
	webHost string // host[:port] of GitHub's web address, lower case
	http    *http.Client
	timeout time.Duration
	now     func() time.Time
}

// userAgent names the server to GitHub, which asks every client for one.
const userAgent = "MediciaSAFELY-jobserver"

// NewRepos checks the configuration (WebURL, APIURL, Timeout and Now; the OAuth fields are not used)
// and returns the client.
func NewRepos(c Config) (*Repos, error) {
	webURL, err := absoluteURL("web URL", c.WebURL)
	if err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	apiURL, err := absoluteURL("API URL", c.APIURL)
	if err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	if !strings.HasSuffix(apiURL.Path, "/") {
		apiURL.Path += "/"
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	return &Repos{
		apiURL:  apiURL,
		webHost: strings.ToLower(webURL.Host),
		// Each request's context carries the timeout (see call), which also bounds reading the body.
		http:    &http.Client{Transport: transport},
		timeout: timeout,
		now:     now,
	}, nil
}

// TokenUser is the GitHub account a token belongs to.
type TokenUser struct {
	ID    int64 // the account; logins can be renamed and reused
	Login string
}

// Repository is a repository the token can see.
type Repository struct {
	ID            int64
	Owner         string
	Name          string
	FullName      string // owner/name, as GitHub spells it now (it may differ in case from the address)
	DefaultBranch string
	HTMLURL       string
	Private       bool
}

// Branch is a branch and the commit at its head.
type Branch struct {
	Name string
	SHA  string // of the head commit
}

// File is a file's content at a commit.
type File struct {
	Path    string
	SHA     string // git's blob id of the content
	Content []byte
}

// CheckToken asks GitHub whose token it is: a token that GitHub refuses gives ErrBadToken.
func (r *Repos) CheckToken(ctx context.Context, token string) (TokenUser, error) {
	const op = "check the token"
	client, err := r.client(op, token)
	if err != nil {
		return TokenUser{}, err
	}
	var user *gh.User
	err = r.call(ctx, op, ErrUnexpected, func(ctx context.Context) (*gh.Response, error) {
		var resp *gh.Response
		var err error
		user, resp, err = client.Users.Get(ctx, "")
		return resp, err
	})
	if err != nil {
		return TokenUser{}, err
	}
	if user.GetID() == 0 || user.GetLogin() == "" {
		return TokenUser{}, &Error{Kind: ErrUnexpected, Op: op, Message: "the user has no id or login"}
	}
	return TokenUser{ID: user.GetID(), Login: user.GetLogin()}, nil
}

// Repository finds the repository at repoURL (https://github.com/owner/repo, with or without .git or a
// trailing slash, on the configured GitHub's host).
func (r *Repos) Repository(ctx context.Context, token, repoURL string) (Repository, error) {
	owner, name, err := r.ParseRepoURL(repoURL)
	if err != nil {
		return Repository{}, err
	}
	op := fmt.Sprintf("read the repository %s/%s", owner, name)
	client, err := r.client(op, token)
	if err != nil {
		return Repository{}, err
	}
	return r.repository(ctx, client, op, owner, name)
}

func (r *Repos) repository(ctx context.Context, client *gh.Client, op, owner, name string) (Repository, error) {
	var repo *gh.Repository
	err := r.call(ctx, op, ErrRepoNotFound, func(ctx context.Context) (*gh.Response, error) {
		var resp *gh.Response
		var err error
		repo, resp, err = client.Repositories.Get(ctx, owner, name)
		return resp, err
	})
	if err != nil {
		return Repository{}, err
	}
	if repo.GetFullName() == "" || repo.GetDefaultBranch() == "" {
		return Repository{}, &Error{Kind: ErrUnexpected, Op: op, Message: "the repository has no full name or default branch"}
	}
	return Repository{
		ID: repo.GetID(), Owner: repo.GetOwner().GetLogin(), Name: repo.GetName(), FullName: repo.GetFullName(),
		DefaultBranch: repo.GetDefaultBranch(), HTMLURL: repo.GetHTMLURL(), Private: repo.GetPrivate(),
	}, nil
}

// Branch finds a branch of the repository at repoURL and its head commit. A missing branch gives
// ErrBranchNotFound, a missing repository ErrRepoNotFound (GitHub answers 404 to both: a second request
// tells which).
func (r *Repos) Branch(ctx context.Context, token, repoURL, branch string) (Branch, error) {
	owner, name, err := r.ParseRepoURL(repoURL)
	if err != nil {
		return Branch{}, err
	}
	op := fmt.Sprintf("read the branch %q of %s/%s", branch, owner, name)
	client, err := r.client(op, token)
	if err != nil {
		return Branch{}, err
	}
	if strings.TrimSpace(branch) == "" {
		return Branch{}, &Error{Kind: ErrBranchNotFound, Op: op, Message: "no branch named"}
	}
	var b gh.Branch
	err = r.call(ctx, op, ErrBranchNotFound, func(ctx context.Context) (*gh.Response, error) {
		// Not client.Repositories.GetBranch: in go-github v60 it skips the client's error handling.
		req, err := client.NewRequest(http.MethodGet, fmt.Sprintf("repos/%s/%s/branches/%s", owner, name, url.PathEscape(branch)), nil)
		if err != nil {
			return nil, err
		}
		return client.Do(ctx, req, &b)
	})
	if errors.Is(err, ErrBranchNotFound) {
		return Branch{}, r.notFoundIn(ctx, client, op, owner, name, err)
	}
	if err != nil {
		return Branch{}, err
	}
	if b.GetCommit().GetSHA() == "" {
		return Branch{}, &Error{Kind: ErrUnexpected, Op: op, Message: "the branch has no head commit"}
	}
	return Branch{Name: b.GetName(), SHA: b.GetCommit().GetSHA()}, nil
}

// File reads the file at filePath (project.yaml, say) as it is in the commit sha of the repository at
// repoURL. A missing file gives ErrFileNotFound; a missing commit ErrCommitNotFound.
func (r *Repos) File(ctx context.Context, token, repoURL, filePath, sha string) (File, error) {
	owner, name, err := r.ParseRepoURL(repoURL)
	if err != nil {
		return File{}, err
	}
	op := fmt.Sprintf("read %s at %s in %s/%s", filePath, shortSHA(sha), owner, name)
	client, err := r.client(op, token)
	if err != nil {
		return File{}, err
	}
	clean := strings.Trim(filePath, "/")
	if clean == "" || path.Clean(clean) != clean || strings.HasPrefix(clean, "../") || clean == ".." {
		return File{}, &Error{Kind: ErrFileNotFound, Op: op, Message: "not a path inside a repository"}
	}
	if strings.TrimSpace(sha) == "" {
		return File{}, &Error{Kind: ErrCommitNotFound, Op: op, Message: "no commit named"}
	}
	var file *gh.RepositoryContent
	var dir []*gh.RepositoryContent
	err = r.call(ctx, op, ErrFileNotFound, func(ctx context.Context) (*gh.Response, error) {
		var resp *gh.Response
		var err error
		file, dir, resp, err = client.Repositories.GetContents(ctx, owner, name, clean, &gh.RepositoryContentGetOptions{Ref: sha})
		return resp, err
	})
	var e *Error
	if errors.As(err, &e) && e.Kind == ErrFileNotFound {
		// GitHub's messages tell a missing commit ("No commit found for the ref …") from a missing
		// repository or file ("Not Found"), which only a second request tells apart.
		if strings.HasPrefix(e.Message, "No commit found") || e.Message == "This repository is empty." {
			e.Kind = ErrCommitNotFound
			return File{}, e
		}
		return File{}, r.notFoundIn(ctx, client, op, owner, name, err)
	}
	if err != nil {
		return File{}, err
	}
	if file == nil || dir != nil || file.GetType() != "file" {
		return File{}, &Error{Kind: ErrFileNotFound, Op: op, Message: "not a file but a " + typeOf(file, dir)}
	}
	content, err := file.GetContent()
	if err != nil {
		return File{}, &Error{Kind: ErrUnexpected, Op: op, Message: "the file's content: " + err.Error(), Err: err}
	}
	return File{Path: file.GetPath(), SHA: file.GetSHA(), Content: []byte(content)}, nil
}

func typeOf(file *gh.RepositoryContent, dir []*gh.RepositoryContent) string {
	if dir != nil || file == nil {
		return "directory"
	}
	return file.GetType()
}

// notFoundIn keeps notFound, a 404 for something inside the repository, unless the repository itself is
// what is missing.
func (r *Repos) notFoundIn(ctx context.Context, client *gh.Client, op, owner, name string, notFound error) error {
	_, err := r.repository(ctx, client, op, owner, name)
	if err != nil {
		return err
	}
	return notFound
}

// client is a go-github client calling with the token.
func (r *Repos) client(op, token string) (*gh.Client, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, &Error{Kind: ErrNoToken, Op: op}
	}
	c := gh.NewClient(r.http).WithAuthToken(token)
	c.BaseURL = r.apiURL
	c.UserAgent = userAgent
	return c, nil
}

// call makes one request with the configured timeout and turns its failure into an *Error; notFound
// is the kind a 404 means.
func (r *Repos) call(ctx context.Context, op string, notFound Kind, request func(context.Context) (*gh.Response, error)) error {
	callCtx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	resp, err := request(callCtx)
	if err == nil {
		return nil
	}
	if resp != nil && resp.Response != nil && resp.StatusCode >= 300 {
		return fromResponse(op, resp.Response, err, notFound, r.now())
	}
	if resp != nil && resp.Response != nil {
		// A success whose body did not decode.
		return &Error{Kind: ErrUnexpected, Op: op, Status: resp.StatusCode, Message: err.Error(), Err: err}
	}
	if ctx.Err() != nil {
		// The caller gave up: nobody is waiting for a message about GitHub.
		return fmt.Errorf("github: %s: %w", op, ctx.Err())
	}
	if callCtx.Err() != nil {
		return &Error{Kind: ErrUnavailable, Op: op, Message: fmt.Sprintf("no answer within %s", r.timeout), Err: err}
	}
	return &Error{Kind: ErrUnavailable, Op: op, Message: err.Error(), Err: err}
}

var (
	ownerPattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$`)
	repoPattern  = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
)

// ParseRepoURL reads owner and repository from a repository's address on the configured GitHub:
// https://github.com/owner/repo, with or without .git or a trailing slash. Any other address, including
// one on another host, gives ErrBadRepoURL. It makes no request.
func (r *Repos) ParseRepoURL(repoURL string) (owner, name string, err error) {
	bad := func(why string) (string, string, error) {
		return "", "", &Error{Kind: ErrBadRepoURL, Op: fmt.Sprintf("read the repository address %q", repoURL), Message: why}
	}
	u, perr := url.Parse(strings.TrimSpace(repoURL))
	if perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return bad("not an http(s) address")
	}
	if !strings.EqualFold(u.Host, r.webHost) {
		return bad("not on " + r.webHost)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return bad("not the plain address of a repository")
	}
	parts := strings.Split(strings.TrimSuffix(strings.TrimPrefix(u.Path, "/"), "/"), "/")
	if len(parts) != 2 {
		return bad("not of the form /owner/repository")
	}
	owner, name = parts[0], strings.TrimSuffix(parts[1], ".git")
	if !ownerPattern.MatchString(owner) || !repoPattern.MatchString(name) || name == "." || name == ".." {
		return bad("not a valid owner and repository name")
	}
	return owner, name, nil
}

func shortSHA(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
