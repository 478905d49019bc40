package github_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mediciasafely/jobserver/integrations/github"
)

// What a page might say for each failure of Branch: the kinds are errors to test with errors.Is, and
// *Error carries when to retry after a rate limit.
func ExampleRepos_Branch() {
	repos, err := github.NewRepos(github.Config{WebURL: "https://github.com", APIURL: "https://api.github.com/"})
	if err != nil {
		panic(err)
	}
	branch, err := repos.Branch(context.Background(), "ghp_…", "https://github.com/opensafely/bp-study", "main")
	var e *github.Error
	switch {
	case err == nil:
		fmt.Println("main is at", branch.SHA)
	case errors.Is(err, github.ErrNoToken), errors.Is(err, github.ErrBadToken):
		fmt.Println("Set a valid GitHub token in your settings.")
	case errors.Is(err, github.ErrRepoNotFound):
		fmt.Println("No such repository, or your token cannot see it.")
	case errors.Is(err, github.ErrBranchNotFound):
		fmt.Println("The repository has no branch main.")
	case errors.As(err, &e) && e.Kind == github.ErrRateLimited:
		fmt.Println("GitHub asks us to wait; try again at", e.RetryAt.Format(time.Kitchen))
	case errors.Is(err, github.ErrUnavailable), errors.Is(err, github.ErrServerError):
		fmt.Println("GitHub is not answering; try again in a few minutes.")
	default:
		fmt.Println("Something went wrong:", err)
	}
}
