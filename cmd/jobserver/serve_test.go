package main

import (
	"strings"
	"testing"
)

func TestGitHubLoginFollowsTheConfiguration(t *testing.T) {
	t.Parallel()
	configured := config{
		BaseURL: "https://jobs.example", GitHubURL: "https://github.com", GitHubAPIURL: "https://api.github.com/",
		GitHubClientID: "id", GitHubClientSecret: "s3cr3t-value",
	}
	for _, tc := range []struct {
		name        string
		change      func(*config)
		wantLogin   bool
		wantProblem string
	}{
		{"configured", func(*config) {}, true, ""},
		{"configured in development", func(c *config) { c.Development = true }, true, ""},
		{"development without an OAuth app", func(c *config) { c.Development, c.GitHubClientID, c.GitHubClientSecret = true, "", "" }, false, ""},
		{"production without an OAuth app", func(c *config) { c.GitHubClientID, c.GitHubClientSecret = "", "" }, false,
			"GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are required in production"},
		{"a secret without its id", func(c *config) { c.Development, c.GitHubClientID = true, "" }, false, "set both"},
		{"a bad API URL", func(c *config) { c.GitHubAPIURL = "api.github.com" }, false, "API URL"},
	} {
		cfg := configured
		tc.change(&cfg)
		login, err := gitHubLogin(cfg)
		if (login != nil) != tc.wantLogin {
			t.Errorf("%s: login %v, want one: %v", tc.name, login, tc.wantLogin)
		}
		if tc.wantProblem == "" && err != nil || tc.wantProblem != "" && (err == nil || !strings.Contains(err.Error(), tc.wantProblem)) {
			t.Errorf("%s: error %v, want one about %q", tc.name, err, tc.wantProblem)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t-value") {
			t.Errorf("%s: the error shows the client secret: %v", tc.name, err)
		}
	}
}
