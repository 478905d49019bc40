// Package home is the home page (/) and the status of the user's backends (/status).
package home

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// Routes mounts / and /status.
func (a *Handlers) Routes(r chi.Router) {
	r.Get("/", a.Handle(a.homePage))
	r.With(kit.RequireLogin).Get("/status", a.Handle(a.statusPage))
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

// statusPage is "/status": the backends the user is a member of (step 3 of the guide).
func (a *Handlers) statusPage(w http.ResponseWriter, r *http.Request) error {
	backends, err := a.Queries.BackendMembershipsOfUser(r.Context(), kit.CurrentUserOf(r).ID)
	if err != nil {
		return err
	}
	a.Page(w, r, http.StatusOK, "status", kit.View{Title: "Status", Data: backends})
	return nil
}
