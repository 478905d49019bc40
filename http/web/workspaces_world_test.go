package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/workspaces"
)

// wsWorld is MyStudy (setUpMyStudy) with what workspaces need: the demo study in a repository on the test's
// GitHub, a backend whose member is the project's developer, and a GitHub token for the developer.
type wsWorld struct {
	myStudy
	backend string
	repoURL string
	token   string // Devon's personal access token on the test's GitHub
}

func setUpWorkspaces(e *env) wsWorld {
	e.t.Helper()
	s := setUpMyStudy(e)
	w := wsWorld{myStudy: s}
	w.backend = s.newBackend("rcdemo2", "RC Demo 2", s.developer)
	e.gh.AddDemoRepository("MediciaAI", "TestTeam")
	w.repoURL = e.gh.URL + "/MediciaAI/TestTeam"
	w.token = e.gitHubAccount("devon")
	return w
}

// saveToken saves Devon's token, as his settings page would.
func (w wsWorld) saveToken() {
	w.e.t.Helper()
	w.e.must(w.e.ws.SaveGitHubToken.Handle(context.Background(), workspaces.SaveGitHubToken{
		Actor: commands.UserActor(w.developer), Token: w.token}))
}

// workspace creates a workspace on the demo repository as Devon, with his token given once, and returns
// its page's address.
func (w wsWorld) workspace(name string) string {
	w.e.t.Helper()
	created, err := w.e.ws.CreateWorkspace.Handle(context.Background(), workspaces.CreateWorkspace{
		Actor: commands.UserActor(w.developer), ProjectID: w.project, Name: name, RepoURL: w.repoURL, Branch: "main", Token: w.token})
	w.e.must(created.Result, err)
	return w.studyURL + "/" + created.Name
}

var shaField = regexp.MustCompile(`name="sha" value="([0-9a-f]+)"`)

// runJobsForm is the Run Jobs form as the page shows it: its commit (and sealed one-time token, if any).
func runJobsForm(t *testing.T, p *page) url.Values {
	t.Helper()
	m := shaField.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("%s: no commit in the Run Jobs form\n%s", p.url, excerpt(p.body))
	}
	form := url.Values{"sha": {m[1]}}
	if m := regexp.MustCompile(`name="one_time_token" value="([^"]+)"`).FindStringSubmatch(p.body); m != nil {
		form.Set("one_time_token", m[1])
	}
	return form
}

// with returns a copy of form with more values.
func with(form url.Values, pairs ...string) url.Values {
	out := url.Values{}
	for k, v := range form {
		out[k] = append([]string(nil), v...)
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		out.Add(pairs[i], pairs[i+1])
	}
	return out
}

// noSecret fails if the text shows the secret.
func noSecret(t *testing.T, where, text, secret string) {
	t.Helper()
	if strings.Contains(text, secret) {
		t.Errorf("%s shows the GitHub token", where)
	}
}

var _ = http.StatusOK
