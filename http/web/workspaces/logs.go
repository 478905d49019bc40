package workspaces

import (
	"context"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	"github.com/mediciasafely/jobserver/projections/live"
	wsviews "github.com/mediciasafely/jobserver/projections/workspaces"
)

// logsPage is the Data of the "workspace_logs" page.
type logsPage struct {
	workspacePage
	JobRequests []wsviews.JobRequest
	Live        kit.LiveView
}

// CancelURL is the page that asks before cancelling a job request.
func (p logsPage) CancelURL(j wsviews.JobRequest) string { return p.LogsURL + "/" + j.ID + "/cancel" }

// MayCancel reports whether the viewer may cancel the request, and there is something left to cancel: it
// has not finished and not all of it was cancelled.
func (p logsPage) MayCancel(j wsviews.JobRequest) bool {
	return j.Active && j.MayCancel(p.WorkspacePage) && !j.AllCancelled()
}

// logsPage is "/{org}/{project}/{workspace}/logs": the workspace's job requests, newest first.
func (a *Handlers) logsPage(w http.ResponseWriter, r *http.Request) error {
	live := a.LiveView(r, strings.TrimSuffix(r.URL.Path, "/")+"/live", nil, wsviews.WorkspacesProjector)
	v, err := a.Views.LogsPage(r.Context(), chi.URLParam(r, "org"), chi.URLParam(r, "project"), chi.URLParam(r, "workspace"), viewerID(r))
	if err = workspaceNotFound(r, err); err != nil {
		return err
	}
	a.Page(w, r, http.StatusOK, "workspace_logs", kit.View{Title: "Logs of " + v.Workspace.Name,
		Crumbs: workspaceCrumbs(v.WorkspacePage, kit.Crumb{Label: "Logs"}),
		Data:   logsPage{workspacePage: newWorkspacePageData(v.WorkspacePage), JobRequests: v.JobRequests, Live: live}})
	return nil
}

// logsStream is "/{org}/{project}/{workspace}/logs/live": the live updates of the logs page (kit.Stream),
// told of the changes to the workspace's job requests as the workspaces projector commits them.
func (a *Handlers) logsStream(w http.ResponseWriter, r *http.Request) error {
	v, err := a.Views.WorkspacePage(r.Context(), chi.URLParam(r, "org"), chi.URLParam(r, "project"), chi.URLParam(r, "workspace"), viewerID(r))
	if err = workspaceNotFound(r, err); err != nil {
		return err
	}
	return a.Stream(w, r, kit.Live{Page: "workspace-logs", Projector: wsviews.WorkspacesProjector,
		Match: func(context.Context) (func(live.Request) bool, error) {
			return func(c live.Request) bool { return c.WorkspaceID == v.Workspace.ID }, nil
		}})
}

// jobRequestView reads the job request at .../logs/{jobRequest}.
func (a *Handlers) jobRequestView(r *http.Request) (wsviews.JobRequestPage, error) {
	v, err := a.Views.JobRequestPage(r.Context(), chi.URLParam(r, "org"), chi.URLParam(r, "project"),
		chi.URLParam(r, "workspace"), chi.URLParam(r, "jobRequest"), viewerID(r))
	if domain.KindOf(err) == domain.KindNotFound && v.Workspace.ID == "" {
		return v, workspaceNotFound(r, err)
	}
	return v, err
}

// confirmCancel asks before cancelling a job request's actions.
func (a *Handlers) confirmCancel(w http.ResponseWriter, r *http.Request) error {
	v, err := a.jobRequestView(r)
	if err != nil {
		return err
	}
	if !v.JobRequest.MayCancel(v.WorkspacePage) {
		return domain.Forbidden(domain.JobCancel)
	}
	j := v.JobRequest
	a.ConfirmPage(w, r, kit.Confirm{
		Title:       "Cancel jobs",
		Question:    "Cancel the jobs of the request made by " + j.RequestedByName + " on " + j.BackendName + "?",
		Consequence: "The backend's runner stops these actions; those that have finished keep their results:",
		Items:       j.Actions,
		Button:      "Cancel jobs",
		CancelURL:   logsURL(v.Project, v.Workspace),
	}, workspaceCrumbs(v.WorkspacePage, kit.Crumb{Label: "Logs", URL: logsURL(v.Project, v.Workspace)}, kit.Crumb{Label: "Cancel jobs"}))
	return nil
}

// cancel cancels every action of a job request not cancelled yet: the post of the confirmation page.
func (a *Handlers) cancel(w http.ResponseWriter, r *http.Request) error {
	if err := kit.ParseForm(r); err != nil {
		return err
	}
	v, err := a.jobRequestView(r)
	if err != nil {
		return err
	}
	res, err := a.Workspaces.CancelJobs.Handle(r.Context(), workspaces.CancelJobs{Actor: kit.Actor(r), JobRequestID: v.JobRequest.ID})
	if err != nil {
		return err
	}
	a.Done(w, r, res, "Cancellation requested for "+strings.Join(v.JobRequest.Actions, ", ")+".", logsURL(v.Project, v.Workspace),
		wsviews.WorkspacesProjector)
	return nil
}
