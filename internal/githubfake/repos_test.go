package githubfake_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/mediciasafely/jobserver/domain/projectyaml"
	"github.com/mediciasafely/jobserver/internal/githubfake"
)

const patToken = "ghp_octocatOctocatOctocatOctocat000001"

// newRepoFake is newFake with a personal access token for octocat and the demo study.
func newRepoFake(t *testing.T) (*githubfake.Server, string) {
	fake := newFake(t)
	fake.AddToken(583231, patToken, "repo")
	return fake, fake.AddDemoRepository("opensafely", "bp-study")
}

func decode(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
}

func TestTheRepositoryIsDescribedAsGitHubDoes(t *testing.T) {
	t.Parallel()
	fake, _ := newRepoFake(t)
	resp, body := get(t, fake.APIURL()+"repos/OpenSAFELY/bp-study", "token "+patToken)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var repo gh.Repository
	decode(t, body, &repo)
	if repo.GetFullName() != "opensafely/bp-study" || repo.GetName() != "bp-study" || repo.GetDefaultBranch() != "main" ||
		repo.GetPrivate() || repo.GetVisibility() != "public" || repo.GetHTMLURL() != fake.URL+"/opensafely/bp-study" ||
		repo.GetOwner().GetLogin() != "opensafely" || repo.GetOwner().GetType() != "Organization" || repo.GetID() == 0 {
		t.Errorf("repository %s", body)
	}
	if !strings.Contains(body, `"description":"Antibiotic prescribing`) {
		t.Errorf("description missing: %s", body)
	}
}

func TestABranchNamesItsHeadCommit(t *testing.T) {
	t.Parallel()
	fake, first := newRepoFake(t)
	second := fake.Push("opensafely/bp-study", "main", "Second", githubfake.DemoFiles())
	resp, body := get(t, fake.APIURL()+"repos/opensafely/bp-study/branches/main", "Bearer "+patToken)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var b gh.Branch
	decode(t, body, &b)
	c := b.GetCommit()
	if b.GetName() != "main" || c.GetSHA() != second || c.GetCommit().GetMessage() != "Second" ||
		len(c.Parents) != 1 || c.Parents[0].GetSHA() != first || b.GetProtected() {
		t.Errorf("branch %s", body)
	}

	resp, body = get(t, fake.APIURL()+"repos/opensafely/bp-study/branches/nope", "Bearer "+patToken)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, `"message":"Branch not found"`) {
		t.Errorf("missing branch: %d %s", resp.StatusCode, body)
	}
}

func TestContentsAreBase64InLinesOrRawWhenAsked(t *testing.T) {
	t.Parallel()
	fake, sha := newRepoFake(t)
	want := githubfake.DemoFiles()["project.yaml"]
	target := fake.APIURL() + "repos/opensafely/bp-study/contents/project.yaml?ref=" + sha
	resp, body := get(t, target, "Bearer "+patToken)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var file gh.RepositoryContent
	decode(t, body, &file)
	content, err := file.GetContent()
	if err != nil || content != want || file.GetType() != "file" || file.GetEncoding() != "base64" ||
		file.GetSize() != len(want) || file.GetPath() != "project.yaml" || len(file.GetSHA()) != 40 {
		t.Errorf("file %s (%v)", body, err)
	}
	for _, line := range strings.Split(strings.TrimSuffix(*file.Content, "\n"), "\n") {
		if len(line) > 60 {
			t.Errorf("a base64 line of %d characters", len(line))
		}
	}

	req, _ := http.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Authorization", "Bearer "+patToken)
	req.Header.Set("Accept", "application/vnd.github.raw+json")
	resp, body = send(t, req)
	if resp.StatusCode != http.StatusOK || body != want {
		t.Errorf("raw: %d %s", resp.StatusCode, body)
	}
}

func TestADirectoryIsListedAndMissingThingsAreNotFound(t *testing.T) {
	t.Parallel()
	fake, sha := newRepoFake(t)
	base := fake.APIURL() + "repos/opensafely/bp-study/contents/"
	_, body := get(t, base+"analysis?ref=main", "Bearer "+patToken)
	var entries []*gh.RepositoryContent
	decode(t, body, &entries)
	var names []string
	for _, e := range entries {
		names = append(names, e.GetType()+":"+e.GetPath())
	}
	if got := strings.Join(names, " "); got != "file:analysis/dataset_definition.py file:analysis/describe_cohort.py file:analysis/measure_definitions.py file:analysis/model_prescribing.R file:analysis/report.py" {
		t.Errorf("analysis/ lists %s", got)
	}
	_, body = get(t, base+"?ref="+sha, "Bearer "+patToken)
	if !strings.Contains(body, `"path":"codelists","sha"`) || !strings.Contains(body, `"type":"dir"`) {
		t.Errorf("the root lists %s", body)
	}

	for target, message := range map[string]string{
		base + "nope.yaml?ref=" + sha:                                 "Not Found",
		base + "project.yaml?ref=" + strings.Repeat("a", 40):          "No commit found for the ref " + strings.Repeat("a", 40),
		fake.APIURL() + "repos/opensafely/nope/contents/project.yaml": "Not Found",
	} {
		resp, body := get(t, target, "Bearer "+patToken)
		var e gh.ErrorResponse
		decode(t, body, &e)
		if resp.StatusCode != http.StatusNotFound || e.Message != message || e.DocumentationURL == "" {
			t.Errorf("%s: %d %s", target, resp.StatusCode, body)
		}
	}
}

func TestAPrivateRepositoryIsNotFoundForOthers(t *testing.T) {
	t.Parallel()
	fake, _ := newRepoFake(t)
	fake.AddUser(githubfake.User{ID: 9, Login: "mallory"})
	fake.AddToken(9, "ghp_mallory")
	fake.AddRepository(githubfake.Repository{Owner: "octocat", Name: "secret", Private: true})
	for token, status := range map[string]int{patToken: http.StatusOK, "ghp_mallory": http.StatusNotFound} {
		if resp, body := get(t, fake.APIURL()+"repos/octocat/secret", "token "+token); resp.StatusCode != status {
			t.Errorf("%s: %d %s", token, resp.StatusCode, body)
		}
	}
	fake.AddRepository(githubfake.Repository{Owner: "octocat", Name: "secret", Private: true, Collaborators: []string{"Mallory"}})
	if resp, body := get(t, fake.APIURL()+"repos/octocat/secret", "token ghp_mallory"); resp.StatusCode != http.StatusOK {
		t.Errorf("a collaborator: %d %s", resp.StatusCode, body)
	}
}

func TestEveryAnswerCountsAgainstTheRateLimit(t *testing.T) {
	t.Parallel()
	fake, _ := newRepoFake(t)
	var remaining []string
	for range 2 {
		resp, _ := get(t, fake.APIURL()+"user", "Bearer "+patToken)
		remaining = append(remaining, resp.Header.Get("X-RateLimit-Remaining"))
		if resp.Header.Get("X-RateLimit-Limit") != "5000" || resp.Header.Get("X-RateLimit-Reset") == "" {
			t.Errorf("headers %v", resp.Header)
		}
	}
	if remaining[0] != "4999" || remaining[1] != "4998" {
		t.Errorf("remaining %v", remaining)
	}
}

func TestTheRateLimitsAnswerAsGitHubDoes(t *testing.T) {
	t.Parallel()
	fake, _ := newRepoFake(t)
	reset := time.Now().Add(time.Hour).Truncate(time.Second)
	fake.RateLimitUntil(reset)
	resp, body := get(t, fake.APIURL()+"repos/opensafely/bp-study", "Bearer "+patToken)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-RateLimit-Remaining") != "0" ||
		resp.Header.Get("X-RateLimit-Reset") != strconv.FormatInt(reset.Unix(), 10) || !strings.Contains(body, "API rate limit exceeded") {
		t.Errorf("primary: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	// A bad token is refused before any limit, as on GitHub.
	if resp, _ := get(t, fake.APIURL()+"user", "Bearer ghp_unknown"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("bad token under a rate limit: %d", resp.StatusCode)
	}
	fake.RateLimitUntil(time.Time{})

	fake.SecondaryRateLimitFor(2 * time.Minute)
	resp, body = get(t, fake.APIURL()+"user", "Bearer "+patToken)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "120" || !strings.Contains(body, "secondary rate limit") {
		t.Errorf("secondary: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	fake.SecondaryRateLimitFor(0)
	if resp, _ := get(t, fake.APIURL()+"user", "Bearer "+patToken); resp.StatusCode != http.StatusOK {
		t.Errorf("after the limits were lifted: %d", resp.StatusCode)
	}
}

func TestServerErrorsAndDelays(t *testing.T) {
	t.Parallel()
	fake, _ := newRepoFake(t)
	fake.FailWith(http.StatusBadGateway)
	if resp, body := get(t, fake.APIURL()+"user", "Bearer "+patToken); resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "Bad Gateway") {
		t.Errorf("502: %d %s", resp.StatusCode, body)
	}
	fake.FailWith(0)
	fake.Delay(150 * time.Millisecond)
	start := time.Now()
	if resp, _ := get(t, fake.APIURL()+"user", "Bearer "+patToken); resp.StatusCode != http.StatusOK || time.Since(start) < 150*time.Millisecond {
		t.Errorf("delay: %d after %s", resp.StatusCode, time.Since(start))
	}
}

func TestTheDemoStudyIsTheDomainsExampleAndParses(t *testing.T) {
	t.Parallel()
	files := githubfake.DemoFiles()
	domains, err := os.ReadFile("../../domain/projectyaml/testdata/project.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if files["project.yaml"] != string(domains) {
		t.Error("demo/project.yaml differs from domain/projectyaml/testdata/project.yaml: copy it again")
	}
	project, err := projectyaml.Parse([]byte(files["project.yaml"]))
	if err != nil {
		t.Fatalf("the demo project.yaml does not parse: %v", err)
	}
	if got := strings.Join(project.ActionNames(), " "); got != "generate_dataset generate_measures describe_cohort model_prescribing report" {
		t.Errorf("actions %s", got)
	}
	// Every script an action runs is in the repository.
	for _, script := range []string{
		"analysis/dataset_definition.py", "analysis/measure_definitions.py", "analysis/describe_cohort.py",
		"analysis/model_prescribing.R", "analysis/report.py",
	} {
		if !strings.Contains(files["project.yaml"], script) || files[script] == "" {
			t.Errorf("%s is not both run and present", script)
		}
	}
}
