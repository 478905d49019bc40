package github

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"
)

// Kind is what went wrong in a call to GitHub, in terms a page can explain to the user. Each kind is an
// error itself, so that errors.Is(err, github.ErrBranchNotFound) tells it apart; errors.As with *Error
// gives the details (when to retry, GitHub's own message).
type Kind int

// The kinds of failure of Repos' calls.
const (
	// ErrNoToken: the user has no GitHub token to call with; nothing was sent.
	ErrNoToken Kind = iota + 1
	// ErrBadToken: GitHub answered 401: the token is wrong, revoked or expired.
	ErrBadToken
	// ErrBadRepoURL: the address is not https://<GitHub's host>/<owner>/<repository>; nothing was sent.
	ErrBadRepoURL
	// ErrRepoNotFound: no such repository, or the token may not see it (GitHub answers 404 to both, so
	// as not to tell that a private repository exists).
	ErrRepoNotFound
	// ErrBranchNotFound: the repository has no such branch.
	ErrBranchNotFound
	// ErrCommitNotFound: the repository has no such commit.
	ErrCommitNotFound
	// ErrFileNotFound: the commit has no such file (or it is a directory).
	ErrFileNotFound
	// ErrForbidden: GitHub answered 403 for a reason other than a rate limit, such as an organisation
	// that requires single sign-on authorisation of the token.
	ErrForbidden
	// ErrRateLimited: GitHub's rate limit (primary: 403 with X-RateLimit-Remaining: 0, or secondary: 429
	// or 403 with Retry-After) is reached; Error.RetryAt says when to try again.
	ErrRateLimited
	// ErrUnavailable: GitHub could not be reached, or did not answer in time.
	ErrUnavailable
	// ErrServerError: GitHub answered 5xx.
	ErrServerError
	// ErrUnexpected: GitHub answered something this client does not understand.
	ErrUnexpected
)

var kindTexts = map[Kind]string{
	ErrNoToken:        "no GitHub token is set",
	ErrBadToken:       "GitHub refused the token: it is wrong, revoked or expired",
	ErrBadRepoURL:     "not the address of a repository on GitHub",
	ErrRepoNotFound:   "the repository does not exist, or the token cannot see it",
	ErrBranchNotFound: "the branch does not exist",
	ErrCommitNotFound: "the commit does not exist in the repository",
	ErrFileNotFound:   "the file does not exist at that commit",
	ErrForbidden:      "GitHub refused the token access",
	ErrRateLimited:    "GitHub's rate limit is reached",
	ErrUnavailable:    "GitHub could not be reached",
	ErrServerError:    "GitHub failed with a server error",
	ErrUnexpected:     "GitHub answered something unexpected",
}

// Error describes the kind in a few words.
func (k Kind) Error() string {
	if text, ok := kindTexts[k]; ok {
		return text
	}
	return "github error kind " + strconv.Itoa(int(k))
}

// Error is the failure of one call to GitHub.
type Error struct {
	Kind Kind
	// Op is what was being done, e.g. `read branch "main" of octo/study`.
	Op string
	// Status is GitHub's HTTP status, 0 when no answer came.
	Status int
	// Message is GitHub's own message ("Bad credentials", "Branch not found"), or what went wrong
	// instead: for logs, not for people.
	Message string
	// RetryAt is when GitHub lets the token call again, for ErrRateLimited; RetryAfter is how long that
	// was from the moment the answer came.
	RetryAt    time.Time
	RetryAfter time.Duration
	// Err is the underlying error (go-github's, or the transport's), if any.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("github: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(e.Kind.Error())
	switch {
	case e.Status != 0 && e.Message != "":
		fmt.Fprintf(&b, " (%d %s)", e.Status, e.Message)
	case e.Status != 0:
		fmt.Fprintf(&b, " (%d)", e.Status)
	case e.Message != "":
		fmt.Fprintf(&b, " (%s)", e.Message)
	}
	if !e.RetryAt.IsZero() {
		fmt.Fprintf(&b, "; try again after %s (in %s)", e.RetryAt.UTC().Format(time.RFC3339), e.RetryAfter.Round(time.Second))
	}
	return b.String()
}

// Is makes errors.Is(err, kind) true for the error's kind.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind
}

func (e *Error) Unwrap() error { return e.Err }

// secondaryRateLimitWait is how long to wait after a secondary rate limit that does not say: GitHub's
// documentation asks for at least a minute.
const secondaryRateLimitWait = time.Minute

// fromResponse turns GitHub's answer to a failed request into an *Error; notFound is the kind a 404
// means for this request. now is the moment the answer came.
func fromResponse(op string, resp *http.Response, err error, notFound Kind, now time.Time) *Error {
	e := &Error{Op: op, Status: resp.StatusCode, Message: githubMessage(err), Err: err}
	h := resp.Header
	switch status := resp.StatusCode; {
	case status == http.StatusUnauthorized:
		e.Kind = ErrBadToken
	case status == http.StatusNotFound:
		e.Kind = notFound
	case status == http.StatusForbidden || status == http.StatusTooManyRequests:
		switch {
		case h.Get("X-RateLimit-Remaining") == "0" && h.Get("Retry-After") == "":
			e.Kind = ErrRateLimited
			e.RetryAt = now.Add(secondaryRateLimitWait)
			if reset, perr := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); perr == nil && reset > 0 {
				e.RetryAt = time.Unix(reset, 0)
			}
		case h.Get("Retry-After") != "":
			e.Kind = ErrRateLimited
			e.RetryAt = now.Add(retryAfter(h.Get("Retry-After"), now))
		case status == http.StatusTooManyRequests || isSecondaryRateLimit(err):
			e.Kind = ErrRateLimited
			e.RetryAt = now.Add(secondaryRateLimitWait)
		default:
			e.Kind = ErrForbidden
		}
		if e.Kind == ErrRateLimited {
			e.RetryAfter = max(e.RetryAt.Sub(now), 0)
		}
	case status >= 500:
		e.Kind = ErrServerError
	default:
		e.Kind = ErrUnexpected
	}
	return e
}

// retryAfter reads a Retry-After header: seconds, or (rarely) an HTTP date.
func retryAfter(value string, now time.Time) time.Duration {
	if seconds, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64); err == nil {
		return max(time.Duration(seconds)*time.Second, 0)
	}
	if at, err := http.ParseTime(value); err == nil {
		return max(at.Sub(now), 0)
	}
	return secondaryRateLimitWait
}

func isSecondaryRateLimit(err error) bool {
	if _, ok := err.(*gh.AbuseRateLimitError); ok {
		return true
	}
	return strings.Contains(strings.ToLower(githubMessage(err)), "secondary rate limit")
}

// githubMessage is the "message" of GitHub's error document, or the error's text.
func githubMessage(err error) string {
	switch e := err.(type) {
	case nil:
		return ""
	case *gh.ErrorResponse:
		return e.Message
	case *gh.RateLimitError:
		return e.Message
	case *gh.AbuseRateLimitError:
		return e.Message
	case *gh.TwoFactorAuthError:
		return e.Message
	default:
		return err.Error()
	}
}
