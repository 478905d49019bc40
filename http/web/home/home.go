// Package home is the home page (/) and the status of the backends: /status for people, and
// /status/{backend}/ and /status/{backend}/db-availability/ for uptime monitors.
package home

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// Routes mounts /, /status and the status pages of each backend (no login: uptime monitors read them).
func (a *Handlers) Routes(r chi.Router) {
	r.Get("/", a.Handle(a.homePage))
	r.With(kit.RequireLogin).Get("/status", a.Handle(a.statusPage))
	r.Get("/status/{backend}/", a.Handle(a.backendLastSeen))
	r.Get("/status/{backend}/db-availability/", a.Handle(a.backendDBAvailability))
}

// homePage is the Data of the "home" page: the user's projects and the organisations whose pages lead to
// a new workspace (step 7 of the guide: "Add a New Workspace" goes to the user's organisation).
type homePage struct{ identityviews.HomePage }

// FirstOrgURL is where "Add a New Workspace" leads: the page of the user's first organisation.
func (h homePage) FirstOrgURL() string {
	if len(h.Orgs) == 0 {
		return ""
	}
	return kit.OrgURL(h.Orgs[0].Slug)
}

// AddWorkspaceURL is where "Add a New Workspace" leads: straight to the form of the user's one project when
// they have a single project, in an organisation, where they may create workspaces; else their first
// organisation's page, where they choose the project.
func (h homePage) AddWorkspaceURL() string {
	if len(h.Memberships) == 1 {
		m := h.Memberships[0]
		if u := kit.ProjectURL(m.Project); u != "" && domain.PermissionsOf(m.User.GlobalRoles, m.Roles).Has(domain.WorkspaceCreate) {
			return u + "/new-workspace/"
		}
	}
	return h.FirstOrgURL()
}

// ProjectURL is the address of a project's page, "" when it is in no organisation yet.
func (homePage) ProjectURL(p identityviews.Project) string { return kit.ProjectURL(p) }

// homePage is "/": the welcome page for visitors, the user's projects once they have logged in.
func (a *Handlers) homePage(w http.ResponseWriter, r *http.Request) error {
	u := kit.CurrentUserOf(r)
	if u == nil {
		a.Page(w, r, http.StatusOK, "home_anonymous", kit.View{})
		return nil
	}
	v, err := a.Queries.HomePage(r.Context(), u.ID)
	if err != nil {
		return err
	}
	a.Page(w, r, http.StatusOK, "home", kit.View{Title: "Home", Data: homePage{v}})
	return nil
}

// statusPage is "/status": the backends the user is a member of (step 3 of the guide), every backend for
// admins, each with when its runner was last seen, its queue and its runner's flags.
func (a *Handlers) statusPage(w http.ResponseWriter, r *http.Request) error {
	u := kit.CurrentUserOf(r)
	all := domain.PermissionsOf(u.GlobalRoles, nil).Has(domain.StaffAreaAccess)
	backends, err := a.Queries.BackendStatuses(r.Context(), u.ID, all)
	if err != nil {
		return err
	}
	a.Page(w, r, http.StatusOK, "status", kit.View{Title: "Status", Data: statusPage{
		Backends: backends, All: all, now: a.now()}})
	return nil
}

// statusPage is the Data of the "status" page.
type statusPage struct {
	Backends []identityviews.BackendStatus
	All      bool // the viewer sees every backend
	now      time.Time
}

// Stale reports whether b's runner has not been seen for its alert timeout.
func (p statusPage) Stale(b identityviews.BackendStatus) bool { return b.Stale(p.now) }

// AlertMinutes is b's alert timeout in minutes, for the warning.
func (statusPage) AlertMinutes(b identityviews.BackendStatus) int {
	return int(b.AlertTimeout / time.Minute)
}

// backendLastSeen is "/status/{backend}/", for uptime monitors: when the backend's runner was last seen
// (ISO 8601), 503 once that is older than its alert timeout. A backend never seen reports now, 200, as
// job-server does.
func (a *Handlers) backendLastSeen(w http.ResponseWriter, r *http.Request) error {
	b, err := a.Queries.BackendStatusBySlug(r.Context(), chi.URLParam(r, "backend"))
	if err != nil {
		return err
	}
	now := a.now()
	seen, status := now, http.StatusOK
	if b.Seen() {
		seen = b.LastSeen
	}
	if b.Stale(now) {
		status = http.StatusServiceUnavailable
	}
	plain(w, status, seen.UTC().Format(time.RFC3339Nano))
	return nil
}

// backendDBAvailability is "/status/{backend}/db-availability/", for uptime monitors: 503 while the
// backend's runner reports its database in maintenance, 200 otherwise.
func (a *Handlers) backendDBAvailability(w http.ResponseWriter, r *http.Request) error {
	b, err := a.Queries.BackendStatusBySlug(r.Context(), chi.URLParam(r, "backend"))
	if err != nil {
		return err
	}
	if b.DBMaintenance {
		plain(w, http.StatusServiceUnavailable, "DB maintenance mode on (since "+b.DBMaintenanceSince.UTC().Format(time.RFC3339Nano)+")")
		return nil
	}
	plain(w, http.StatusOK, "DB maintenance mode off")
	return nil
}

// plain writes a text/plain body that no cache keeps: monitors must read the state of now.
func plain(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
