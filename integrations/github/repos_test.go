package github_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/integrations/github"
	"github.com/mediciasafely/jobserver/internal/githubfake"
)

const (
	adaToken   = "ghp_adaAdaAdaAdaAdaAdaAdaAdaAdaAdaAda01"
	bobToken   = "github_pat_11BOB0000000000000000000"
	studyName  = "opensafely/bp-study"
	secretName = "ada/secret-study"
)

// world is a fake GitHub where ada (id 101) owns a private study and the organisation opensafely holds
// the public demo study, bob (id 102) collaborates on nothing; and a client of it.
type world struct {
	fake     *githubfake.Server
	repos    *github.Repos
	studySHA string // head of the demo study's main
	studyURL string
}

func newWorld(t *testing.T, configure ...func(*github.Config)) *world {
	t.Helper()
	fake := githubfake.New(t)
	fake.AddUser(githubfake.User{ID: 101, Login: "ada", Name: "Ada Lovelace"})
	fake.AddUser(githubfake.User{ID: 102, Login: "bob"})
	fake.AddToken(101, adaToken, "repo")
	fake.AddToken(102, bobToken)
	sha := fake.AddDemoRepository("opensafely", "bp-study")
	fake.AddRepository(githubfake.Repository{Owner: "ada", Name: "secret-study", Private: true, DefaultBranch: "develop"})
	fake.Push(secretName, "develop", "Start", map[string]string{"project.yaml": "version: '4.0'\nactions: {}\n"})

	cfg := github.Config{WebURL: fake.URL, APIURL: fake.APIURL()}
	for _, c := range configure {
		c(&cfg)
	}
	repos, err := github.NewRepos(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &world{fake: fake, repos: repos, studySHA: sha, studyURL: fake.URL + "/" + studyName}
}

// at fixes the client's clock.
func at(now time.Time) func(*github.Config) {
	return func(c *github.Config) { c.Now = func() time.Time { return now } }
}

// requireKind fails unless err is an *Error of the kind.
func requireKind(t *testing.T, err error, kind github.Kind) *github.Error {
	t.Helper()
	var e *github.Error
	if !errors.As(err, &e) || !errors.Is(err, kind) {
		t.Fatalf("error %v (%T), want kind %q", err, err, kind)
	}
	return e
}

// apiRequests is how many requests the fake's API answered in all.
func apiRequests(fake *githubfake.Server) int {
	n := 0
	for _, e := range []string{githubfake.EndpointUser, githubfake.EndpointRepository, githubfake.EndpointBranch, githubfake.EndpointContents} {
		n += fake.Requests(e)
	}
	return n
}

// calls are the four calls, each with a token, against the demo study.
func (w *world) calls(token string) map[string]func() error {
	ctx := context.Background()
	return map[string]func() error{
		"CheckToken": func() error { _, err := w.repos.CheckToken(ctx, token); return err },
		"Repository": func() error { _, err := w.repos.Repository(ctx, token, w.studyURL); return err },
		"Branch":     func() error { _, err := w.repos.Branch(ctx, token, w.studyURL, "main"); return err },
		"File":       func() error { _, err := w.repos.File(ctx, token, w.studyURL, "project.yaml", w.studySHA); return err },
	}
}

func TestCheckTokenNamesTheAccountItBelongsTo(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	user, err := w.repos.CheckToken(context.Background(), adaToken)
	if err != nil {
		t.Fatal(err)
	}
	if user != (github.TokenUser{ID: 101, Login: "ada"}) {
		t.Errorf("token user %+v", user)
	}
}

func TestARevokedOrUnknownTokenIsABadToken(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.fake.RevokeToken(adaToken)
	for _, token := range []string{adaToken, "ghp_never_issued"} {
		for name, call := range w.calls(token) {
			e := requireKind(t, call(), github.ErrBadToken)
			if e.Status != http.StatusUnauthorized || e.Message != "Bad credentials" {
				t.Errorf("%s: %+v", name, e)
			}
		}
	}
}

func TestWithoutATokenNothingIsSent(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, token := range []string{"", "   "} {
		for name, call := range w.calls(token) {
			if err := call(); !errors.Is(err, github.ErrNoToken) {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
	if n := apiRequests(w.fake); n != 0 {
		t.Errorf("%d requests without a token", n)
	}
}

func TestARepositoryIsFoundFromItsAddressInEveryUsualForm(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, address := range []string{
		w.fake.URL + "/opensafely/bp-study",
		w.fake.URL + "/opensafely/bp-study/",
		w.fake.URL + "/opensafely/bp-study.git",
		w.fake.URL + "/opensafely/bp-study.git/",
		"  " + w.fake.URL + "/OpenSAFELY/BP-Study  ",
	} {
		repo, err := w.repos.Repository(context.Background(), bobToken, address)
		if err != nil {
			t.Errorf("%s: %v", address, err)
			continue
		}
		want := github.Repository{
			ID: repo.ID, Owner: "opensafely", Name: "bp-study", FullName: studyName, DefaultBranch: "main",
			HTMLURL: w.fake.URL + "/" + studyName,
		}
		if repo != want || repo.ID == 0 {
			t.Errorf("%s: %+v, want %+v", address, repo, want)
		}
	}
}

func TestAddressesThatAreNotRepositoriesOnThisGitHubAreRefusedWithoutARequest(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, address := range []string{
		"",
		"opensafely/bp-study",
		"https://gitlab.com/opensafely/bp-study",
		"https://github.com.evil.example/opensafely/bp-study",
		strings.Replace(w.fake.URL, "127.0.0.1", "localhost", 1) + "/opensafely/bp-study",
		"ftp://" + strings.TrimPrefix(w.fake.URL, "http://") + "/opensafely/bp-study",
		w.fake.URL + "/opensafely",
		w.fake.URL + "/opensafely/bp-study/tree/main",
		w.fake.URL + "/opensafely/bp-study?tab=readme",
		w.fake.URL + "/-opensafely/bp-study",
		w.fake.URL + "/opensafely/..",
		w.fake.URL + "/opensafely/bp study",
	} {
		_, err := w.repos.Repository(context.Background(), adaToken, address)
		requireKind(t, err, github.ErrBadRepoURL)
		if _, _, err := w.repos.ParseRepoURL(address); !errors.Is(err, github.ErrBadRepoURL) {
			t.Errorf("ParseRepoURL(%q): %v", address, err)
		}
	}
	if n := apiRequests(w.fake); n != 0 {
		t.Errorf("%d requests for bad addresses", n)
	}
}

func TestAPrivateRepositoryIsNotFoundByThoseWhoCannotSeeIt(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	secretURL := w.fake.URL + "/" + secretName

	repo, err := w.repos.Repository(ctx, adaToken, secretURL)
	if err != nil {
		t.Fatal(err)
	}
	if !repo.Private || repo.DefaultBranch != "develop" {
		t.Errorf("ada's own repository: %+v", repo)
	}
	_, err = w.repos.Repository(ctx, bobToken, secretURL)
	if e := requireKind(t, err, github.ErrRepoNotFound); e.Status != http.StatusNotFound {
		t.Errorf("status %d", e.Status)
	}
	_, err = w.repos.Branch(ctx, bobToken, secretURL, "develop")
	requireKind(t, err, github.ErrRepoNotFound)

	w.fake.AddRepository(githubfake.Repository{Owner: "ada", Name: "secret-study", Private: true, DefaultBranch: "develop", Collaborators: []string{"bob"}})
	if _, err := w.repos.Branch(ctx, bobToken, secretURL, "develop"); err != nil {
		t.Errorf("bob as a collaborator: %v", err)
	}
}

func TestADeletedRepositoryIsNotFoundWhateverIsAskedOfIt(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.fake.DeleteRepository(studyName)
	for name, call := range w.calls(adaToken) {
		if name == "CheckToken" {
			continue
		}
		requireKind(t, call(), github.ErrRepoNotFound)
	}
}

func TestABranchGivesItsHeadCommit(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	b, err := w.repos.Branch(ctx, adaToken, w.studyURL, "main")
	if err != nil {
		t.Fatal(err)
	}
	if b != (github.Branch{Name: "main", SHA: w.studySHA}) {
		t.Errorf("branch %+v, want head %s", b, w.studySHA)
	}

	files := githubfake.DemoFiles()
	files["analysis/extra.py"] = "print('more')\n"
	feature := w.fake.Push(studyName, "feature/sensitivity-analysis", "Add a sensitivity analysis", files)
	b, err = w.repos.Branch(ctx, adaToken, w.studyURL, "feature/sensitivity-analysis")
	if err != nil {
		t.Fatal(err)
	}
	if b.SHA != feature || b.Name != "feature/sensitivity-analysis" || feature == w.studySHA {
		t.Errorf("branch with a slash: %+v, want head %s", b, feature)
	}
}

func TestAMissingBranchIsNotFoundAndTheRepositoryIsStillThere(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	for _, branch := range []string{"mian", "Main", ""} {
		_, err := w.repos.Branch(ctx, adaToken, w.studyURL, branch)
		requireKind(t, err, github.ErrBranchNotFound)
		if errors.Is(err, github.ErrRepoNotFound) {
			t.Errorf("%q: %v", branch, err)
		}
	}
	w.fake.DeleteBranch(studyName, "main")
	_, err := w.repos.Branch(ctx, adaToken, w.studyURL, "main")
	requireKind(t, err, github.ErrBranchNotFound)
}

func TestAFileIsReadAtAnExactCommit(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	original := githubfake.DemoFiles()["project.yaml"]
	if !strings.Contains(original, "generate_dataset:") || !strings.Contains(original, "needs: [generate_dataset]") {
		t.Fatalf("the demo project.yaml is not the study expected:\n%s", original)
	}

	changed := githubfake.DemoFiles()
	changed["project.yaml"] = original + "\n  # a later change\n"
	later := w.fake.Push(studyName, "main", "Change the actions", changed)

	for sha, want := range map[string]string{w.studySHA: original, later: changed["project.yaml"]} {
		f, err := w.repos.File(ctx, adaToken, w.studyURL, "project.yaml", sha)
		if err != nil {
			t.Fatal(err)
		}
		if string(f.Content) != want || f.Path != "project.yaml" || f.SHA != blobSHA(want) {
			t.Errorf("at %s: path %q sha %s content\n%s", sha, f.Path, f.SHA, f.Content)
		}
	}
	f, err := w.repos.File(ctx, adaToken, w.studyURL, "/analysis/report.py", later)
	if err != nil || string(f.Content) != changed["analysis/report.py"] || f.Path != "analysis/report.py" {
		t.Errorf("a file in a directory: %+v, %v", f, err)
	}
}

// blobSHA is git's id for a file's content.
func blobSHA(content string) string {
	sum := sha1.Sum([]byte(fmt.Sprintf("blob %d\x00%s", len(content), content)))
	return hex.EncodeToString(sum[:])
}

func TestAMissingFileOrCommitHasItsOwnError(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	for _, p := range []string{"projects.yaml", "analysis", "analysis/missing.py", "../etc/passwd", ""} {
		_, err := w.repos.File(ctx, adaToken, w.studyURL, p, w.studySHA)
		requireKind(t, err, github.ErrFileNotFound)
	}
	_, err := w.repos.File(ctx, adaToken, w.studyURL, "project.yaml", strings.Repeat("0", 40))
	requireKind(t, err, github.ErrCommitNotFound)
}

func TestAnExhaustedRateLimitSaysWhenToRetry(t *testing.T) {
	t.Parallel()
	reset := time.Now().Add(30 * time.Minute).Truncate(time.Second)
	now := reset.Add(-30 * time.Minute)
	w := newWorld(t, at(now))
	w.fake.RateLimitUntil(reset)
	for name, call := range w.calls(adaToken) {
		e := requireKind(t, call(), github.ErrRateLimited)
		if e.Status != http.StatusForbidden || !e.RetryAt.Equal(reset) || e.RetryAfter != 30*time.Minute {
			t.Errorf("%s: %+v", name, e)
		}
		if !strings.Contains(e.Error(), "try again after "+reset.UTC().Format(time.RFC3339)+" (in 30m0s)") {
			t.Errorf("%s: %s", name, e)
		}
	}
	w.fake.RateLimitUntil(time.Time{})
	if _, err := w.repos.Branch(context.Background(), adaToken, w.studyURL, "main"); err != nil {
		t.Errorf("after the limit was lifted: %v", err)
	}
}

func TestASecondaryRateLimitSaysWhenToRetry(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	w := newWorld(t, at(now))
	w.fake.SecondaryRateLimitFor(90 * time.Second)
	for name, call := range w.calls(adaToken) {
		e := requireKind(t, call(), github.ErrRateLimited)
		if e.Status != http.StatusTooManyRequests || e.RetryAfter != 90*time.Second || !e.RetryAt.Equal(now.Add(90*time.Second)) {
			t.Errorf("%s: %+v", name, e)
		}
	}
}

func TestServerErrorsAreServerErrors(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable} {
		w := newWorld(t)
		w.fake.FailWith(status)
		for name, call := range w.calls(adaToken) {
			if e := requireKind(t, call(), github.ErrServerError); e.Status != status {
				t.Errorf("%d %s: %+v", status, name, e)
			}
		}
	}
}

func TestAnUnreachableGitHubIsUnavailable(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.fake.Close()
	for name, call := range w.calls(adaToken) {
		if e := requireKind(t, call(), github.ErrUnavailable); e.Status != 0 {
			t.Errorf("%s: %+v", name, e)
		}
	}
}

func TestASlowGitHubIsUnavailableAfterTheTimeout(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(c *github.Config) { c.Timeout = 100 * time.Millisecond })
	w.fake.Delay(5 * time.Second)
	for name, call := range w.calls(adaToken) {
		start := time.Now()
		e := requireKind(t, call(), github.ErrUnavailable)
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Errorf("%s: gave up after %s", name, elapsed)
		}
		if !strings.Contains(e.Message, "no answer within 100ms") {
			t.Errorf("%s: %+v", name, e)
		}
	}
}

func TestACallerWhoGivesUpGetsTheContextsError(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.fake.Delay(5 * time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err := w.repos.Branch(ctx, adaToken, w.studyURL, "main")
	var e *github.Error
	if !errors.Is(err, context.Canceled) || errors.As(err, &e) {
		t.Errorf("error %v (%T)", err, err)
	}
}

func TestNewReposRefusesAddressesThatAreNotURLs(t *testing.T) {
	t.Parallel()
	for _, cfg := range []github.Config{
		{WebURL: "github.com", APIURL: "https://api.github.com/"},
		{WebURL: "https://github.com", APIURL: ""},
	} {
		if _, err := github.NewRepos(cfg); err == nil {
			t.Errorf("%+v was accepted", cfg)
		}
	}
	if _, err := github.NewRepos(github.Config{WebURL: "https://github.com", APIURL: "https://api.github.com"}); err != nil {
		t.Error(err)
	}
}

func TestAnOrganisationRequiringSSOForbidsTheToken(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.fake.RequireSSO("OpenSAFELY")
	for name, call := range w.calls(adaToken) {
		err := call()
		if name == "CheckToken" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if e := requireKind(t, err, github.ErrForbidden); e.Status != http.StatusForbidden || !strings.Contains(e.Message, "SAML") {
			t.Errorf("%s: %+v", name, e)
		}
	}
}
