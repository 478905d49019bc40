package eventlog

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	eventlogviews "github.com/mediciasafely/jobserver/projections/eventlog"
)

// MaxProjectYAML is the longest project.yaml the page shows; a longer one is cut with a note.
const MaxProjectYAML = 10000

// MissingUpdates is how long a running request may go without an update before its page warns.
const MissingUpdates = 30 * time.Minute

// requestPage is the Data of the "job_request" page.
type requestPage struct {
	status
	eventlogviews.RequestPage
	Now  time.Time
	Live kit.LiveView
	// HistoryURL is the request's history, "" for a viewer who may not read it.
	HistoryURL string
}

// RepoURL, ProjectYAMLURL and CommitURL are the request's repository, its project.yaml at its commit and
// the commit on GitHub.
func (p requestPage) RepoURL() string { return strings.TrimSuffix(p.Request.RepoURL, "/") }
func (p requestPage) ProjectYAMLURL() string {
	return p.RepoURL() + "/blob/" + p.Request.SHA + "/project.yaml"
}
func (p requestPage) CommitURL() string { return p.RepoURL() + "/commit/" + p.Request.SHA }

// CancelURL is the page that asks before cancelling the request.
func (p requestPage) CancelURL() string { return p.Request.URL() + "/cancel" }

// JobURL is a job's page.
func (p requestPage) JobURL(j eventlogviews.Job) string { return p.Request.URL() + "/" + j.ID }

// Taken is the time a job took, or has taken so far.
func (p requestPage) Taken(j eventlogviews.Job) string { return p.Duration(j.Runtime(p.Now)) }

// CannotCancel is why Cancel is disabled, "" when the viewer may cancel.
func (p requestPage) CannotCancel() string {
	switch {
	case p.Request.Finished():
		return "This job request has finished: there is nothing left to cancel."
	case !p.MayCancel():
		return "Only the person who requested these jobs, or someone who may cancel jobs in this project, can cancel them."
	}
	return ""
}

// MissingUpdates reports whether a request still running has had no update for 30 minutes.
func (p requestPage) MissingUpdates() bool {
	if p.Request.Finished() {
		return false
	}
	last := p.Request.CreatedAt
	if p.Request.LastUpdate != nil {
		last = *p.Request.LastUpdate
	}
	return p.Now.Sub(last) > MissingUpdates
}

// StatusCounts are the jobs per status, in the order of the log's filter.
func (p requestPage) StatusCounts() []struct {
	Status string
	Count  int
} {
	c := p.Counts()
	out := []struct {
		Status string
		Count  int
	}{}
	for _, s := range eventlogviews.Statuses {
		out = append(out, struct {
			Status string
			Count  int
		}{s, c[s]})
	}
	return out
}

// ProjectYAML is the stored project.yaml, cut at MaxProjectYAML; Truncated says whether it was.
func (p requestPage) ProjectYAML() string {
	if p.Truncated() {
		return p.ProjectDefinition[:MaxProjectYAML]
	}
	return p.ProjectDefinition
}
func (p requestPage) Truncated() bool { return len(p.ProjectDefinition) > MaxProjectYAML }

// Runtime is the time the request's finished jobs took.
func (p requestPage) RuntimeText() string { return p.Duration(p.Runtime()) }

// requestView reads the request at /{org}/{project}/{workspace}/{request}.
func (a *Handlers) requestView(r *http.Request) (requestPage, error) {
	live := a.requestLive(r)
	v, err := a.Views.Request(r.Context(), chi.URLParam(r, "org"), chi.URLParam(r, "project"), chi.URLParam(r, "workspace"),
		chi.URLParam(r, "request"), viewerID(r))
	return requestPage{RequestPage: v, Now: a.now(), Live: live}, err
}

// requestLive is the live part of the pages of a job request and its jobs: the request's stream tells them.
func (a *Handlers) requestLive(r *http.Request) kit.LiveView {
	return a.liveView(r, "/event-log/"+strings.ToLower(chi.URLParam(r, "request")), nil)
}

func requestCrumbs(j eventlogviews.JobRequest, more ...kit.Crumb) []kit.Crumb {
	c := append([]kit.Crumb{{Label: j.OrgName, URL: "/" + j.OrgSlug}, {Label: j.Project, URL: "/" + j.OrgSlug + "/" + j.ProjectSlug},
		{Label: j.Workspace, URL: j.WorkspaceURL()}, {Label: "Job request " + j.ID, URL: j.URL()}}, more...)
	c[len(c)-1].URL = ""
	return c
}

// requestPage is "/{org}/{project}/{workspace}/{request}": a job request, its jobs and its project.yaml.
func (a *Handlers) requestPage(w http.ResponseWriter, r *http.Request) error {
	p, err := a.requestView(r)
	if err != nil {
		return err
	}
	if p.HistoryURL, err = kit.HistoryLink(r, a.Queries, "jobrequest", p.Request.ID); err != nil {
		return err
	}
	a.Page(w, r, http.StatusOK, "job_request", kit.View{Title: "Job request " + p.Request.ID, Crumbs: requestCrumbs(p.Request), Data: p})
	return nil
}

// confirmCancelRequest asks before cancelling every unfinished action of the request.
func (a *Handlers) confirmCancelRequest(w http.ResponseWriter, r *http.Request) error {
	p, err := a.requestView(r)
	if err != nil {
		return err
	}
	if !p.MayCancel() {
		return domain.Forbidden(domain.JobCancel)
	}
	a.ConfirmPage(w, r, kit.Confirm{
		Title:       "Cancel jobs",
		Question:    "Cancel the jobs of job request " + p.Request.ID + ", requested by " + p.Request.RequestedBy + " on " + p.Request.Backend + "?",
		Consequence: "The backend's runner stops these actions; those that have finished keep their results:",
		Items:       p.Request.Actions,
		Button:      "Cancel jobs",
		CancelURL:   p.Request.URL(),
	}, requestCrumbs(p.Request, kit.Crumb{Label: "Cancel jobs"}))
	return nil
}

// cancelRequest cancels the request's actions: the post of the confirmation page.
func (a *Handlers) cancelRequest(w http.ResponseWriter, r *http.Request) error {
	if err := kit.ParseForm(r); err != nil {
		return err
	}
	p, err := a.requestView(r)
	if err != nil {
		return err
	}
	res, err := a.Workspaces.CancelJobs.Handle(r.Context(), workspaces.CancelJobs{Actor: kit.Actor(r), JobRequestID: p.Request.ID})
	if err != nil {
		return err
	}
	a.Done(w, r, res, "Cancellation requested for "+strings.Join(p.Request.Actions, ", ")+".", p.Request.URL(),
		eventlogviews.EventLogProjector)
	return nil
}

// jobPage is the Data of the "job" page.
type jobPage struct {
	requestPage
	Job         eventlogviews.Job
	cancellable bool
}

// JobCancelURL is the page that asks before cancelling the job.
func (p jobPage) JobCancelURL() string { return p.JobURL(p.Job) + "/cancel" }

// CannotCancelJob is why Cancel is disabled for this job, "" when the viewer may cancel it.
func (p jobPage) CannotCancelJob() string {
	switch {
	case p.Job.Finished():
		return "This job has finished: there is nothing left to cancel."
	case !p.cancellable:
		return "Cancellation of this job has already been requested."
	case !p.MayCancel():
		return "Only the person who requested this job, or someone who may cancel jobs in this project, can cancel it."
	}
	return ""
}

// LogPath is where a job that exited with an error left its log on the backend.
func (p jobPage) LogPath() string { return "metadata/" + p.Job.Action + ".log" }

// Metric is a measure of the job, formatted, and whether the runner reported it.
func (p jobPage) Metric(name string) string {
	v, ok := p.Job.Metric(name)
	if !ok {
		return "\u2014"
	}
	return strings.TrimRight(strings.TrimRight(strconv.FormatFloat(v, 'f', 2, 64), "0"), ".")
}

func (a *Handlers) jobView(r *http.Request) (jobPage, error) {
	live := a.requestLive(r)
	v, err := a.Views.Job(r.Context(), chi.URLParam(r, "org"), chi.URLParam(r, "project"), chi.URLParam(r, "workspace"),
		chi.URLParam(r, "request"), chi.URLParam(r, "job"), viewerID(r))
	return jobPage{requestPage: requestPage{RequestPage: v.RequestPage, Now: a.now(), Live: live}, Job: v.Job,
		cancellable: v.Cancellable()}, err
}

// jobPage is "/{org}/{project}/{workspace}/{request}/{job}": a job's state, config, timings and metrics.
func (a *Handlers) jobPage(w http.ResponseWriter, r *http.Request) error {
	p, err := a.jobView(r)
	if err != nil {
		return err
	}
	a.Page(w, r, http.StatusOK, "job", kit.View{Title: "Job " + p.Job.Action,
		Crumbs: requestCrumbs(p.Request, kit.Crumb{Label: p.Job.Action}), Data: p})
	return nil
}

// confirmCancelJob asks before cancelling one job's action.
func (a *Handlers) confirmCancelJob(w http.ResponseWriter, r *http.Request) error {
	p, err := a.jobView(r)
	if err != nil {
		return err
	}
	if !p.MayCancel() {
		return domain.Forbidden(domain.JobCancel)
	}
	a.ConfirmPage(w, r, kit.Confirm{
		Title:       "Cancel job",
		Question:    "Cancel the job " + p.Job.Action + " of job request " + p.Request.ID + "?",
		Consequence: "The backend's runner stops this action.",
		Button:      "Cancel job",
		CancelURL:   p.JobURL(p.Job),
	}, requestCrumbs(p.Request, kit.Crumb{Label: p.Job.Action, URL: p.JobURL(p.Job)}, kit.Crumb{Label: "Cancel job"}))
	return nil
}

// cancelJob cancels one job's action: the post of the confirmation page.
func (a *Handlers) cancelJob(w http.ResponseWriter, r *http.Request) error {
	if err := kit.ParseForm(r); err != nil {
		return err
	}
	p, err := a.jobView(r)
	if err != nil {
		return err
	}
	res, err := a.Workspaces.CancelJobs.Handle(r.Context(), workspaces.CancelJobs{Actor: kit.Actor(r), JobRequestID: p.Request.ID,
		Action: p.Job.Action})
	if err != nil {
		return err
	}
	a.Done(w, r, res, "Cancellation requested for "+p.Job.Action+".", p.JobURL(p.Job), eventlogviews.EventLogProjector)
	return nil
}
