package eventlog

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/http/web/kit"
	eventlogviews "github.com/mediciasafely/jobserver/projections/eventlog"
)

// logPage is the Data of the "event_log" page: the filters' form and the results, drawn on their own.
type logPage struct {
	Filter   eventlogviews.Filter
	Statuses []string
	Menus    chosenMenus
	Live     kit.LiveView
	Results  template.HTML // "event_log_results"
}

// logResults is the Data of "event_log_results": a page of the log's requests.
type logResults struct {
	status
	eventlogviews.LogPage
	Filter eventlogviews.Filter
	// NewerURL and OlderURL are the neighbouring pages with the same filters, "" at either end.
	NewerURL, OlderURL string
	// Loosen names the filters set, for an empty result to say which to loosen.
	Loosen []string
}

// JobsURL is the page of a request's jobs (the "Show jobs" link, and what htmx swaps in).
func (logResults) JobsURL(j eventlogviews.JobRequest) string { return "/event-log/" + j.ID + "/jobs" }

// filterOf reads the filters of the address.
func filterOf(q url.Values) eventlogviews.Filter {
	get := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	f := eventlogviews.Filter{Text: get("q"), Request: get("request"), Backend: get("backend"), User: get("user"),
		Workspace: get("workspace")}
	if s := get("status"); slices.Contains(eventlogviews.Statuses, s) {
		f.Status = s
	}
	return f
}

// filterValues is filter f as the address's query carries it.
func filterValues(f eventlogviews.Filter) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"q": f.Text, "request": f.Request, "backend": f.Backend, "status": f.Status,
		"user": f.User, "workspace": f.Workspace} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// query is the address of the log with filter f and cursor key=value.
func query(f eventlogviews.Filter, key, value string) string {
	q := filterValues(f)
	q.Set(key, value)
	return "/event-log?" + q.Encode()
}

// logPage is "/event-log": every job request across all workspaces, newest first, filtered by the GET
// form's fields (so a filtered page is an address to share, and the back button works), paged by cursor.
// The results are the same for every logged-in user: they are drawn once for everyone who asks for the
// same address (SharedHTML), whether in the whole page or fetched alone by a live page after a change
// (htmx, targeting them); so are the filters' menus, read and drawn once for all pages.
func (a *Handlers) logPage(w http.ResponseWriter, r *http.Request) error {
	readResults := func(ctx context.Context) (any, error) { return a.readLog(ctx, r.URL.Query()) }
	if r.Header.Get("HX-Request") != "" && r.Header.Get("HX-Target") == "log-results" {
		return a.SharedFragment(w, r, eventlogviews.EventLogProjector, "event_log_results", readResults)
	}
	p := logPage{Filter: filterOf(r.URL.Query()), Statuses: eventlogviews.Statuses}
	p.Live = a.liveView(r, "/event-log", filterValues(p.Filter))
	menus, err := kit.Shared(a.Kit, r, eventlogviews.EventLogProjector, "event log menus", func(ctx context.Context) (drawnMenus, error) {
		m, err := a.Views.Menus(ctx)
		return drawMenus(m), err
	})
	if err != nil {
		return err
	}
	p.Menus = menus.choose(p.Filter)
	if p.Results, err = a.SharedHTML(r, eventlogviews.EventLogProjector, "event_log_results", readResults); err != nil {
		return err
	}
	a.Page(w, r, http.StatusOK, "event_log", kit.View{Title: "Event Log", Data: p})
	return nil
}

// readLog reads the requests of the page of the log that the address's query q asks for.
func (a *Handlers) readLog(ctx context.Context, q url.Values) (logResults, error) {
	f := filterOf(q)
	var after, before *eventlogviews.Cursor
	for key, dst := range map[string]**eventlogviews.Cursor{"after": &after, "before": &before} {
		if s := q.Get(key); s != "" {
			c, err := eventlogviews.ParseCursor(s)
			if err != nil {
				return logResults{}, err
			}
			*dst = &c
		}
	}
	v, err := a.Views.Log(ctx, f, after, before, PageSize)
	if err != nil {
		return logResults{}, err
	}
	p := logResults{LogPage: v, Filter: f}
	if v.Newer != nil {
		p.NewerURL = query(f, "before", v.Newer.String())
	}
	if v.Older != nil {
		p.OlderURL = query(f, "after", v.Older.String())
	}
	for _, x := range []struct{ name, value string }{{"action or job", f.Text}, {"job request", f.Request},
		{"backend", f.Backend}, {"status", f.Status}, {"user", f.User}, {"workspace", f.Workspace}} {
		if x.value != "" {
			p.Loosen = append(p.Loosen, x.name+" \u201c"+x.value+"\u201d")
		}
	}
	return p, nil
}

// jobRows is the Data of the "event_log_jobs" page: a request's jobs.
type jobRows struct {
	status
	Request eventlogviews.JobRequest
	Jobs    []eventlogviews.Job
	Now     time.Time
}

// Taken is the time a job took, or has taken so far.
func (p jobRows) Taken(j eventlogviews.Job) string { return p.Duration(j.Runtime(p.Now)) }

// jobsPage is "/event-log/{request}/jobs": the jobs of one request, the rows "Show jobs" expands. htmx
// is sent the table alone, drawn once for everyone who fetches it (live pages fetch it again after every
// change); without JavaScript the link opens this page.
func (a *Handlers) jobsPage(w http.ResponseWriter, r *http.Request) error {
	read := func(ctx context.Context) (jobRows, error) {
		req, jobs, err := a.Views.Jobs(ctx, chi.URLParam(r, "request"))
		return jobRows{status: status{}, Request: req, Jobs: jobs, Now: a.now()}, err
	}
	if r.Header.Get("HX-Request") != "" {
		return a.SharedFragment(w, r, eventlogviews.EventLogProjector, "event_log_jobs_table", func(ctx context.Context) (any, error) {
			return read(ctx)
		})
	}
	rows, err := read(r.Context())
	if err != nil {
		return err
	}
	a.Page(w, r, http.StatusOK, "event_log_jobs", kit.View{Title: "Jobs of " + rows.Request.ID,
		Crumbs: []kit.Crumb{{Label: "Event Log", URL: "/event-log"}, {Label: "Jobs of " + rows.Request.ID}}, Data: rows})
	return nil
}

// latestShown is how many job requests the home page shows.
const latestShown = 5

// latestPage is the Data of the "latest" page.
type latestPage struct {
	status
	Requests []eventlogviews.JobRequest
	Live     kit.LiveView
}

// latestPage is "/event-log/latest": the latest job requests across the user's workspaces, the section
// the home page shows in place (a page of its own, so the home page still reads one view).
func (a *Handlers) latestPage(w http.ResponseWriter, r *http.Request) error {
	live := a.liveView(r, "/event-log/latest", nil)
	requests, err := a.Views.Latest(r.Context(), kit.CurrentUserOf(r).ID, latestShown)
	if err != nil {
		return err
	}
	a.Page(w, r, http.StatusOK, "latest", kit.View{Title: "Your latest job requests",
		Crumbs: []kit.Crumb{{Label: "Event Log", URL: "/event-log"}, {Label: "Your latest job requests"}},
		Data:   latestPage{Requests: requests, Live: live}})
	return nil
}
