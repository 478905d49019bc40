package workspaces

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/domain/projectyaml"
	"github.com/mediciasafely/jobserver/http/web/kit"
	wsviews "github.com/mediciasafely/jobserver/projections/workspaces"
)

// selection is what the Run Jobs form holds: the actions to run, the backend, the flags, the commit it
// was shown at, and a one-time token, sealed (never the token itself).
type selection struct {
	Actions   []string
	BackendID string
	Force     bool
	Notify    bool
	SHA       string
	OneTime   string
}

// runJobsPage is the Data of the "run_jobs" page.
type runJobsPage struct {
	workspacePage
	Selection selection
	// NoToken explains why GitHub could not be read with the user's token (none, or refused).
	NoToken string
	// Problem is another reason the file could not be read (the branch is gone, it has no project.yaml).
	Problem         string
	SHA             string
	ProjectProblems projectyaml.Problems
	Choices         []choice
	Backends        []backendChoice
	Errors          map[string]string
	Other           []string
	Plan            *planView
}

// choice is one action of the form.
type choice struct {
	projectyaml.Choice
	Selected bool
}

// backendChoice is one backend the user may run jobs on.
type backendChoice struct {
	ID, Slug, Name string
	Selected       bool
}

// planView is what "Show what will run" shows.
type planView struct {
	Steps        []projectyaml.Step
	NothingToDo  string
	EmptyHistory bool
}

// ShortSHA is the commit as people quote it.
func (p runJobsPage) ShortSHA() string {
	if len(p.SHA) > 7 {
		return p.SHA[:7]
	}
	return p.SHA
}

// The buttons of the Run Jobs form, the values of its field "form".
const (
	planButton   = "plan"
	submitButton = "submit"
)

// runJobsPage is "/{org}/{project}/{workspace}/run-jobs/" (step 9 of the guide): the actions of the branch's
// project.yaml, read at the branch's head, to choose from. With ?plan=1 (where "Show what will run" leads)
// it also shows what the selection would run.
func (a *Handlers) runJobsPage(w http.ResponseWriter, r *http.Request) error {
	v, err := a.workspaceView(r)
	if err != nil || canonical(w, r, runJobsURL(v.Project, v.Workspace)) {
		return err
	}
	if !v.Viewer.Has(domain.JobRun) {
		return domain.Forbidden(domain.JobRun)
	}
	sel := selection{Notify: v.Workspace.Notify}
	q := r.URL.Query()
	showPlan := q.Get("plan") == "1"
	if showPlan {
		sel.Actions, sel.BackendID = q["action"], q.Get("backend")
		sel.Force, sel.Notify = q.Get("force") == "on", q.Get("notify") == "on"
	}
	return a.renderRunJobs(w, r, http.StatusOK, v, sel, nil, showPlan)
}

// renderRunJobs reads the project file (with the one-time token when the form carries one) and shows the
// form with the selection, the errors of a post, and the plan when asked.
func (a *Handlers) renderRunJobs(w http.ResponseWriter, r *http.Request, status int, v wsviews.WorkspacePage, sel selection,
	errs map[string]string, showPlan bool) error {
	ctx := r.Context()
	page := runJobsPage{workspacePage: newWorkspacePageData(v), Selection: sel, Errors: errs,
		Other: otherErrors(errs, "actions", "backend")}
	render := func() error {
		a.Page(w, r, status, "run_jobs", kit.View{Title: "Run jobs in " + v.Workspace.Name,
			Crumbs: workspaceCrumbs(v, kit.Crumb{Label: "Run jobs"}), Data: page})
		return nil
	}
	if v.Workspace.Archived {
		return render()
	}
	backends, err := a.Queries.BackendsOfUser(ctx, viewerID(r))
	if err != nil {
		return err
	}
	for _, b := range backends {
		page.Backends = append(page.Backends, backendChoice{ID: b.ID, Slug: b.Slug, Name: b.Name,
			Selected: b.ID == sel.BackendID || len(backends) == 1})
	}
	token := ""
	if sel.OneTime != "" {
		if token, err = a.Workspaces.OpenOneTimeToken(sel.OneTime, viewerID(r), v.Workspace.ID); err != nil {
			page.Selection.OneTime = ""
			page.NoToken = tokenMessage(err)
			return render()
		}
	}
	file, err := a.Workspaces.ReadProjectFile(ctx, kit.Actor(r), v.Workspace.ID, token)
	if fields, invalid := kit.FieldErrors(err); invalid {
		if m, ok := fields["token"]; ok {
			// A one-time token the post carried and that could not be opened says so rather than "none".
			page.NoToken = m
			if errs["token"] != "" {
				page.NoToken = errs["token"]
			}
		} else {
			page.Problem = strings.Join(otherErrors(fields), " ")
		}
		return render()
	}
	if err != nil {
		return err
	}
	page.SHA = file.SHA
	if file.Project == nil {
		page.ProjectProblems = file.Problems
		return render()
	}
	for _, c := range file.Project.Choices() {
		page.Choices = append(page.Choices, choice{Choice: c, Selected: slices.Contains(sel.Actions, c.Name)})
	}
	if showPlan && errs == nil {
		history, err := a.Views.History(ctx, v.Workspace.ID)
		if err != nil {
			return err
		}
		plan, err := file.Project.Plan(projectyaml.Request{Actions: sel.Actions, ForceRunDependencies: sel.Force}, history)
		if err != nil {
			page.Errors = map[string]string{"actions": sentence(err.Error())}
		} else {
			page.Plan = &planView{Steps: plan.Steps, NothingToDo: plan.NothingToDo(), EmptyHistory: len(history) == 0}
		}
	}
	return render()
}

// tokenMessage is the message of a token that could not be used.
func tokenMessage(err error) string {
	if fields, ok := kit.FieldErrors(err); ok && fields["token"] != "" {
		return fields["token"]
	}
	return "The one-time token cannot be used; please paste it again."
}

// sentence starts a message with a capital and ends it with a full stop.
func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// runJobsForm is a post of the Run Jobs form: "Show what will run" (the same page with the plan) or
// Submit (the request, then the workspace's logs).
func (a *Handlers) runJobsForm(w http.ResponseWriter, r *http.Request) error {
	if err := kit.ParseForm(r); err != nil {
		return err
	}
	v, err := a.workspaceView(r)
	if err != nil {
		return err
	}
	f := r.PostForm
	sel := selection{Actions: f["action"], BackendID: f.Get("backend"), Force: f.Get("force") == "on",
		Notify: f.Get("notify") == "on", SHA: f.Get("sha"), OneTime: f.Get("one_time_token")}
	switch {
	case f.Get("form") == oneTimeTokenForm:
		// A token given for this Run Jobs only is stored nowhere, not even in the session: the page is the
		// answer to this post, and carries the token sealed in its own form to Submit.
		token := strings.TrimSpace(f.Get("token"))
		if token == "" {
			page := newWorkspacePageData(v)
			page.TokenError = "Please paste a GitHub personal access token."
			a.renderWorkspace(w, r, http.StatusUnprocessableEntity, page)
			return nil
		}
		sel = selection{Notify: v.Workspace.Notify, OneTime: a.Workspaces.SealOneTimeToken(viewerID(r), v.Workspace.ID, token)}
		return a.renderRunJobs(w, r, http.StatusOK, v, sel, nil, false)
	case f.Get("form") == planButton && sel.OneTime != "":
		// The plan of a selection read with a one-time token: shown as the answer, for the same reason.
		return a.renderRunJobs(w, r, http.StatusOK, v, sel, nil, true)
	case f.Get("form") == planButton:
		// The plan is shown by the page itself (GET): the selection goes in the address.
		q := url.Values{"plan": {"1"}, "action": sel.Actions}
		if sel.BackendID != "" {
			q.Set("backend", sel.BackendID)
		}
		if sel.Force {
			q.Set("force", "on")
		}
		if sel.Notify {
			q.Set("notify", "on")
		}
		http.Redirect(w, r, runJobsURL(v.Project, v.Workspace)+"?"+q.Encode(), http.StatusSeeOther)
		return nil
	}
	token := ""
	if sel.OneTime != "" {
		if token, err = a.Workspaces.OpenOneTimeToken(sel.OneTime, viewerID(r), v.Workspace.ID); err != nil {
			sel.OneTime = ""
			return a.renderRunJobs(w, r, http.StatusUnprocessableEntity, v, sel, map[string]string{"token": tokenMessage(err)}, false)
		}
	}
	requested, err := a.Workspaces.RequestJobs.Handle(r.Context(), workspaces.RequestJobs{
		Actor: kit.Actor(r), WorkspaceID: v.Workspace.ID, BackendID: sel.BackendID, SHA: sel.SHA, Actions: sel.Actions,
		ForceRunDependencies: sel.Force, WillNotify: sel.Notify, Token: token,
	})
	if fields, invalid := kit.FieldErrors(err); invalid {
		return a.renderRunJobs(w, r, http.StatusUnprocessableEntity, v, sel, fields, false)
	}
	if err != nil {
		return err
	}
	a.Done(w, r, requested.Result, "Requested actions have been scheduled to run.", logsURL(v.Project, v.Workspace),
		wsviews.WorkspacesProjector)
	return nil
}
