package eventlog

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/http/web/kit"
	eventlogviews "github.com/mediciasafely/jobserver/projections/eventlog"
	"github.com/mediciasafely/jobserver/projections/live"
)

// The streams of the live pages (kit.Stream): each tells its page, as the event log's projector commits,
// that a job request the page shows has changed, and the page fetches its live part again. Every
// logged-in user may read the whole event log and every job request's page; the latest job requests are
// those of the user's own projects, and so are the notices of their stream.

// streamPath is the address of the stream of the page at pagePath.
func streamPath(pagePath string) string { return strings.TrimSuffix(pagePath, "/") + "/live" }

// liveView is the live part of an event log page, whose stream reads the page's own query.
func (a *Handlers) liveView(r *http.Request, pagePath string, query url.Values) kit.LiveView {
	return a.LiveView(r, streamPath(pagePath), query, eventlogviews.EventLogProjector)
}

// logStream is "/event-log/live": the changes a page of the log with these filters may show. A change
// to a request whose backend, requester, workspace or id the filters exclude is not told.
func (a *Handlers) logStream(w http.ResponseWriter, r *http.Request) error {
	f := filterOf(r.URL.Query())
	return a.Stream(w, r, kit.Live{Page: "event-log", Projector: eventlogviews.EventLogProjector,
		Match: func(ctx context.Context) (func(live.Request) bool, error) {
			ids, err := a.Views.FilterIDs(ctx, f)
			if err != nil {
				return nil, err
			}
			return func(c live.Request) bool {
				return (ids.Request == "" || c.ID == ids.Request) && among(ids.Backends, c.BackendID) &&
					among(ids.Users, c.RequestedBy) && among(ids.Workspaces, c.WorkspaceID)
			}, nil
		}})
}

// among reports whether id is one of ids; nil ids is any id.
func among(ids []string, id string) bool { return ids == nil || slices.Contains(ids, id) }

// latestStream is "/event-log/latest/live": the changes to job requests of the user's projects.
func (a *Handlers) latestStream(w http.ResponseWriter, r *http.Request) error {
	userID := kit.CurrentUserOf(r).ID
	return a.Stream(w, r, kit.Live{Page: "latest", Projector: eventlogviews.EventLogProjector,
		Match: func(ctx context.Context) (func(live.Request) bool, error) {
			projects, err := a.Views.MemberProjects(ctx, userID)
			return func(c live.Request) bool { return slices.Contains(projects, c.ProjectID) }, err
		}})
}

// requestStream is "/event-log/{request}/live": the changes to one job request, for its page and its
// jobs' pages.
func (a *Handlers) requestStream(w http.ResponseWriter, r *http.Request) error {
	id := strings.ToLower(chi.URLParam(r, "request"))
	return a.Stream(w, r, kit.Live{Page: "job-request", Projector: eventlogviews.EventLogProjector,
		Match: func(context.Context) (func(live.Request) bool, error) {
			return func(c live.Request) bool { return c.ID == id }, nil
		}})
}
