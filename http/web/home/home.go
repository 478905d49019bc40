package web

import (
	"net/http"

	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// homePage is the Data of the "home" page: the user's projects and the organisations whose pages lead to
// a new workspace (step 7 of the guide: "Add a New Workspace" goes to the user's organisation).
type homePage struct {
	Memberships []identityviews.Membership
	Orgs        []identityviews.Org
}

// FirstOrgURL is where "Add a New Workspace" leads: the page of the user's first organisation.
func (h homePage) FirstOrgURL() string {
	if len(h.Orgs) == 0 {
		return ""
	}
	return orgURL(h.Orgs[0].Slug)
}

// ProjectURL is the address of a project's page, "" when it is in no organisation yet.
func (homePage) ProjectURL(p identityviews.Project) string { return projectURL(p) }

// homePage is "/": the welcome page for visitors, the user's projects once they have logged in.
func (a *App) homePage(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	if u == nil {
		a.renderer.Page(w, r, http.StatusOK, "home_anonymous", View{})
		return
	}
	memberships, err := a.Queries.MembershipsOfUser(r.Context(), u.ID)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	orgs, err := a.Queries.OrgsOfUser(r.Context(), u.ID)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	a.renderer.Page(w, r, http.StatusOK, "home", View{Title: "Home", Data: homePage{Memberships: memberships, Orgs: orgs}})
}

// statusPage is "/status": the backends the user is a member of (step 3 of the guide).
func (a *App) statusPage(w http.ResponseWriter, r *http.Request) {
	backends, err := a.Queries.BackendMembershipsOfUser(r.Context(), currentUser(r).ID)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	a.renderer.Page(w, r, http.StatusOK, "status", View{Title: "Status", Data: backends})
}
