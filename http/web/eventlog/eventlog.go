// Package eventlog is the pages of the event log of the user guide: /event-log (every job request across
// all workspaces, filtered and paged), the jobs of one request, a job request's page and a job's page,
// with Cancel for whoever may.
package eventlog

import (
	"embed"
	"html/template"
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

// Handlers serve the event log, job request and job pages.
type Handlers struct {
	kit.Slice
	Workspaces *workspaces.Commands
	Views      *eventlogviews.Queries
	// Now is the clock the pages judge running times and missing updates by; nil is time.Now.
	Now func() time.Time
}

// Templates are the slice's pages, for the renderer.
var Templates = kit.Templates(templates)

//go:embed templates
var templates embed.FS

// PageSize is the number of job requests on a page of the event log.
const PageSize = 25

// Routes mounts the pages, for logged-in users only. The job request's page sits under its workspace,
// /{org}/{project}/{workspace}/{request}: the workspace slice's own pages there (run-jobs, logs, archive,
// unarchive, releases) are fixed segments, which chi prefers to a parameter.
func (a *Handlers) Routes(r chi.Router) {
	r = r.With(kit.RequireLogin)
	r.Get("/event-log", a.Handle(a.logPage))
	r.Get("/event-log/", a.Handle(a.logPage))
	r.Get("/event-log/latest", a.Handle(a.latestPage))
	r.Get("/event-log/{request}/jobs", a.Handle(a.jobsPage))
	r.Get("/event-log/live", a.Handle(a.logStream))
	r.Get("/event-log/latest/live", a.Handle(a.latestStream))
	r.Get("/event-log/{request}/live", a.Handle(a.requestStream))
	r.Get("/{org}/{project}/{workspace}/{request}", a.Handle(a.requestPage))
	r.Get("/{org}/{project}/{workspace}/{request}/cancel", a.Handle(a.confirmCancelRequest))
	r.Post("/{org}/{project}/{workspace}/{request}/cancel", a.Handle(a.cancelRequest))
	r.Get("/{org}/{project}/{workspace}/{request}/{job}", a.Handle(a.jobPage))
	r.Get("/{org}/{project}/{workspace}/{request}/{job}/cancel", a.Handle(a.confirmCancelJob))
	r.Post("/{org}/{project}/{workspace}/{request}/{job}/cancel", a.Handle(a.cancelJob))
}

func (a *Handlers) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

func viewerID(r *http.Request) string {
	if u := kit.CurrentUserOf(r); u != nil {
		return u.ID
	}
	return ""
}

// status is what every page of the slice shows of a status: an icon and the word, never colour alone.
type status struct{}

// Icon is the mark of a status, beside its word; the word carries the meaning.
func (status) Icon(s string) template.HTML {
	mark := map[string]string{domain.JobSucceeded: "\u2714", domain.JobFailed: "\u2716", domain.JobRunning: "\u25b6",
		domain.JobPending: "\u23f8"}[s]
	if mark == "" {
		mark = "?"
	}
	return template.HTML(`<span class="badge badge-` + template.HTMLEscapeString(s) + `"><span aria-hidden="true">` + mark +
		`</span> ` + template.HTMLEscapeString(s) + `</span>`)
}

// Duration is a time taken as people read it: "1h 2m 3s", "—" for none.
func (status) Duration(d time.Duration) string {
	if d <= 0 {
		return "\u2014"
	}
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	var parts []string
	if h > 0 {
		parts = append(parts, strconv.Itoa(h)+"h")
	}
	if m > 0 {
		parts = append(parts, strconv.Itoa(m)+"m")
	}
	if s > 0 || len(parts) == 0 {
		parts = append(parts, strconv.Itoa(s)+"s")
	}
	return strings.Join(parts, " ")
}
