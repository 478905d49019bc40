// Package workspaces is the pages of steps 7 to 9 of the user guide: creating a workspace in a project, the
// workspace's page (notifications, archiving, a one-time GitHub token), Run Jobs and the workspace's logs.
package workspaces

import (
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	wsviews "github.com/mediciasafely/jobserver/projections/workspaces"
)

// Routes mounts the pages. Every form posts to the address of the page that shows it, and answers 303; what
// destroys (archiving, cancelling) is asked first on a page of its own whose button posts there. The
// workspace's own pages sit under /{org}/{project}/{workspace}: the project's fixed pages (settings,
// new-workspace) are reserved workspace names, and chi prefers a fixed segment to a parameter anyway.
func (a *Handlers) Routes(r chi.Router) {
	r = r.With(kit.RequireLogin)
	r.Get("/{org}/{project}/new-workspace", toSlash)
	r.Get("/{org}/{project}/new-workspace/", a.Handle(a.newWorkspacePage))
	r.Post("/{org}/{project}/new-workspace/", a.Handle(a.createWorkspace))
	r.Get("/{org}/{project}/{workspace}", a.Handle(a.workspacePage))
	r.Post("/{org}/{project}/{workspace}", a.Handle(a.workspaceForm))
	r.Get("/{org}/{project}/{workspace}/archive", a.Handle(a.confirmArchive(true)))
	r.Post("/{org}/{project}/{workspace}/archive", a.Handle(a.archive(true)))
	r.Get("/{org}/{project}/{workspace}/unarchive", a.Handle(a.confirmArchive(false)))
	r.Post("/{org}/{project}/{workspace}/unarchive", a.Handle(a.archive(false)))
	r.Get("/{org}/{project}/{workspace}/run-jobs", toSlash)
	r.Get("/{org}/{project}/{workspace}/run-jobs/", a.Handle(a.runJobsPage))
	r.Post("/{org}/{project}/{workspace}/run-jobs/", a.Handle(a.runJobsForm))
	r.Get("/{org}/{project}/{workspace}/logs", a.Handle(a.logsPage))
	r.Get("/{org}/{project}/{workspace}/logs/", a.Handle(a.logsPage))
	r.Get("/{org}/{project}/{workspace}/logs/live", a.Handle(a.logsStream))
	r.Get("/{org}/{project}/{workspace}/logs/{jobRequest}/cancel", a.Handle(a.confirmCancel))
	r.Post("/{org}/{project}/{workspace}/logs/{jobRequest}/cancel", a.Handle(a.cancel))
}

// toSlash sends an address without its trailing slash to the one with it, as the guide writes them.
func toSlash(w http.ResponseWriter, r *http.Request) {
	target := url.URL{Path: r.URL.Path + "/", RawQuery: r.URL.RawQuery}
	http.Redirect(w, r, target.String(), http.StatusMovedPermanently)
}

// The addresses of a workspace's pages.
func workspaceURL(p wsviews.Project, w wsviews.Workspace) string { return p.URL() + "/" + w.Name }
func runJobsURL(p wsviews.Project, w wsviews.Workspace) string {
	return workspaceURL(p, w) + "/run-jobs/"
}
func logsURL(p wsviews.Project, w wsviews.Workspace) string { return workspaceURL(p, w) + "/logs" }

// NewWorkspaceURL is the address of the form that creates a workspace in the project at /{org}/{project}.
func NewWorkspaceURL(projectURL string) string { return projectURL + "/new-workspace/" }

func viewerID(r *http.Request) string {
	if u := kit.CurrentUserOf(r); u != nil {
		return u.ID
	}
	return ""
}

// crumbs is the trail org › project › more, the last one the current page.
func crumbs(p wsviews.Project, more ...kit.Crumb) []kit.Crumb {
	c := append([]kit.Crumb{{Label: p.OrgName, URL: "/" + p.OrgSlug}, {Label: p.Name, URL: p.URL()}}, more...)
	c[len(c)-1].URL = ""
	return c
}

// workspaceCrumbs is the trail org › project › workspace › more.
func workspaceCrumbs(v wsviews.WorkspacePage, more ...kit.Crumb) []kit.Crumb {
	return crumbs(v.Project, append([]kit.Crumb{{Label: v.Workspace.Name, URL: workspaceURL(v.Project, v.Workspace)}}, more...)...)
}

// projectView reads the project at /{org}/{project}.
func (a *Handlers) projectView(r *http.Request) (wsviews.ProjectPage, error) {
	v, err := a.Views.ProjectPage(r.Context(), chi.URLParam(r, "org"), chi.URLParam(r, "project"), viewerID(r))
	if domain.KindOf(err) == domain.KindNotFound {
		err = domain.NotFound("There is no project \u201c" + chi.URLParam(r, "project") + "\u201d in the organisation \u201c" +
			chi.URLParam(r, "org") + "\u201d. Check the address, or start again from the home page.")
	}
	return v, err
}

// workspaceView reads the workspace at /{org}/{project}/{workspace}.
func (a *Handlers) workspaceView(r *http.Request) (wsviews.WorkspacePage, error) {
	v, err := a.Views.WorkspacePage(r.Context(), chi.URLParam(r, "org"), chi.URLParam(r, "project"),
		chi.URLParam(r, "workspace"), viewerID(r))
	return v, workspaceNotFound(r, err)
}

func workspaceNotFound(r *http.Request, err error) error {
	if domain.KindOf(err) == domain.KindNotFound {
		return domain.NotFound("There is no workspace \u201c" + chi.URLParam(r, "workspace") + "\u201d in the project \u201c" +
			chi.URLParam(r, "project") + "\u201d. Check the address, or start again from the project's page.")
	}
	return err
}

// canonical sends a GET on to the page's one address (lower case); it reports whether it did.
func canonical(w http.ResponseWriter, r *http.Request, path string) bool {
	if r.Method != http.MethodGet || r.URL.Path == path {
		return false
	}
	target := url.URL{Path: path, RawQuery: r.URL.RawQuery}
	http.Redirect(w, r, target.String(), http.StatusMovedPermanently)
	return true
}

// newWorkspacePage is the Data of the "new_workspace" page.
type newWorkspacePage struct {
	Project wsviews.Project
	URL     string
	Values  map[string]string // name, repo, branch: never the token
	Errors  map[string]string
	Other   []string // messages about no field of the form
}

// newWorkspacePage is "/{org}/{project}/new-workspace/" (step 7 of the guide).
func (a *Handlers) newWorkspacePage(w http.ResponseWriter, r *http.Request) error {
	v, err := a.projectView(r)
	if err != nil || canonical(w, r, NewWorkspaceURL(v.Project.URL())) {
		return err
	}
	if !v.Viewer.Has(domain.WorkspaceCreate) {
		return domain.Forbidden(domain.WorkspaceCreate)
	}
	a.renderNewWorkspace(w, r, http.StatusOK, v.Project, newWorkspacePage{Values: map[string]string{"branch": "main"}})
	return nil
}

func (a *Handlers) renderNewWorkspace(w http.ResponseWriter, r *http.Request, status int, p wsviews.Project, page newWorkspacePage) {
	page.Project, page.URL = p, NewWorkspaceURL(p.URL())
	a.Page(w, r, status, "new_workspace", kit.View{Title: "New workspace in " + p.Name,
		Crumbs: crumbs(p, kit.Crumb{Label: "New workspace"}), Data: page})
}

// createWorkspace is the post of the new workspace form. A token typed into the form is used for this one
// creation and never shown again, not even when the form comes back with errors.
func (a *Handlers) createWorkspace(w http.ResponseWriter, r *http.Request) error {
	if err := kit.ParseForm(r); err != nil {
		return err
	}
	v, err := a.projectView(r)
	if err != nil {
		return err
	}
	f := kit.PostedForm(r, "name", "repo", "branch")
	created, err := a.Workspaces.CreateWorkspace.Handle(r.Context(), workspaces.CreateWorkspace{
		Actor: kit.Actor(r), ProjectID: v.Project.ID, Name: f.Values["name"], RepoURL: f.Values["repo"],
		Branch: f.Values["branch"], Token: r.PostFormValue("token"),
	})
	if fields, invalid := kit.FieldErrors(err); invalid {
		a.renderNewWorkspace(w, r, http.StatusUnprocessableEntity, v.Project,
			newWorkspacePage{Values: f.Values, Errors: fields, Other: otherErrors(fields, "name", "repo", "branch", "token")})
		return nil
	}
	if err != nil {
		return err
	}
	a.Done(w, r, created.Result, "Workspace created", v.Project.URL()+"/"+created.Name, wsviews.WorkspacesProjector)
	return nil
}

// otherErrors are the messages of fields a form does not show, so that none is lost.
func otherErrors(fields map[string]string, shown ...string) []string {
	var out []string
	for field, message := range fields {
		if !contains(shown, field) {
			out = append(out, message)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// workspacePage is the Data of the "workspace" page.
type workspacePage struct {
	wsviews.WorkspacePage
	URL, RunJobsURL, LogsURL, ReleasesURL string
	CanArchive, CanNotify, CanRun         bool
	TokenError                            string
	// HistoryURL is the workspace's history, "" for a viewer who may not read it.
	HistoryURL string
}

func newWorkspacePageData(v wsviews.WorkspacePage) workspacePage {
	u := workspaceURL(v.Project, v.Workspace)
	return workspacePage{WorkspacePage: v, URL: u, RunJobsURL: runJobsURL(v.Project, v.Workspace),
		LogsURL: logsURL(v.Project, v.Workspace), ReleasesURL: u + "/releases",
		CanArchive: v.Viewer.Has(domain.WorkspaceArchive), CanNotify: v.Viewer.Has(domain.WorkspaceToggleNotifications),
		CanRun: v.Viewer.Has(domain.JobRun)}
}

// workspacePage is "/{org}/{project}/{workspace}".
func (a *Handlers) workspacePage(w http.ResponseWriter, r *http.Request) error {
	v, err := a.workspaceView(r)
	if err != nil || canonical(w, r, workspaceURL(v.Project, v.Workspace)) {
		return err
	}
	a.renderWorkspace(w, r, http.StatusOK, newWorkspacePageData(v))
	return nil
}

func (a *Handlers) renderWorkspace(w http.ResponseWriter, r *http.Request, status int, page workspacePage) {
	var err error
	if page.HistoryURL, err = kit.HistoryLink(r, a.Queries, "workspace", page.Workspace.ID); err != nil {
		a.Fail(w, r, err)
		return
	}
	a.Page(w, r, status, "workspace", kit.View{Title: page.Workspace.Name, Crumbs: workspaceCrumbs(page.WorkspacePage), Data: page})
}

// The forms of the workspace page, named by the hidden field "form".
const (
	notificationsForm = "notifications"
	oneTimeTokenForm  = "one-time-token"
)

// workspaceForm is a post of one of the workspace page's forms.
func (a *Handlers) workspaceForm(w http.ResponseWriter, r *http.Request) error {
	if err := kit.ParseForm(r); err != nil {
		return err
	}
	v, err := a.workspaceView(r)
	if err != nil {
		return err
	}
	switch r.PostForm.Get("form") {
	case notificationsForm:
		notify := r.PostForm.Get("notify") == "on"
		res, err := a.Workspaces.SetNotifications.Handle(r.Context(), workspaces.SetNotifications{
			Actor: kit.Actor(r), WorkspaceID: v.Workspace.ID, Notify: notify})
		if err != nil {
			return err
		}
		message := "Notifications disabled: job requests of this workspace send no e-mail unless asked."
		if notify {
			message = "Notifications enabled: you will get an e-mail when each job of this workspace finishes."
		}
		a.Done(w, r, res, message, workspaceURL(v.Project, v.Workspace), wsviews.WorkspacesProjector)
		return nil
	}
	return domain.Invalid("form", "This form is not one of the workspace page's. Reload the page and try again.")
}

// confirmArchive asks before archiving (or unarchiving) the workspace.
func (a *Handlers) confirmArchive(archive bool) kit.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, err := a.workspaceView(r)
		if err != nil {
			return err
		}
		if !v.Viewer.Has(domain.WorkspaceArchive) {
			return domain.Forbidden(domain.WorkspaceArchive)
		}
		a.ConfirmPage(w, r, archiveConfirm(v, archive), workspaceCrumbs(v, kit.Crumb{Label: archiveWord(archive)}))
		return nil
	}
}

func archiveWord(archive bool) string {
	if archive {
		return "Archive workspace"
	}
	return "Unarchive workspace"
}

func archiveConfirm(v wsviews.WorkspacePage, archive bool) kit.Confirm {
	c := kit.Confirm{Title: archiveWord(archive), Button: archiveWord(archive), CancelURL: workspaceURL(v.Project, v.Workspace)}
	if archive {
		c.Question = "Archive the workspace \u201c" + v.Workspace.Name + "\u201d?"
		c.Consequence = "Nobody can run jobs in an archived workspace. Its job history and released outputs stay, and it can be unarchived later."
	} else {
		c.Question = "Unarchive the workspace \u201c" + v.Workspace.Name + "\u201d?"
		c.Consequence = "Its project's developers can run jobs in it again."
	}
	return c
}

// archive archives (or unarchives) the workspace: the post of the confirmation page.
func (a *Handlers) archive(archive bool) kit.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := kit.ParseForm(r); err != nil {
			return err
		}
		v, err := a.workspaceView(r)
		if err != nil {
			return err
		}
		res, err := a.Workspaces.ArchiveWorkspace.Handle(r.Context(), workspaces.ArchiveWorkspace{
			Actor: kit.Actor(r), WorkspaceID: v.Workspace.ID, Archived: archive})
		if err != nil {
			return err
		}
		message := "Workspace unarchived: its jobs can run again."
		if archive {
			message = "Workspace archived: it cannot run jobs until it is unarchived."
		}
		a.Done(w, r, res, message, workspaceURL(v.Project, v.Workspace), wsviews.WorkspacesProjector)
		return nil
	}
}
