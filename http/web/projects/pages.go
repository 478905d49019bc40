package web

import (
	"net/http"

	"github.com/mediciasafely/jobserver/domain"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// orgPage is the Data of the "org" page.
type orgPage struct {
	Org      identityviews.Org
	Projects []identityviews.Project
}

// ProjectURL is the address of one of the organisation's projects.
func (orgPage) ProjectURL(p identityviews.Project) string { return projectURL(p) }

// orgPage is "/{org}": the organisation's projects (step 6 of the guide).
func (a *App) orgPage(w http.ResponseWriter, r *http.Request) {
	o, ok := a.loadOrg(w, r)
	if !ok || redirectToCanonical(w, r, orgURL(o.Slug)) {
		return
	}
	projects, err := a.Queries.ProjectsOfOrg(r.Context(), o.ID)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	a.renderer.Page(w, r, http.StatusOK, "org", View{
		Title:  o.Name,
		Crumbs: []Crumb{{Label: o.Name}},
		Data:   orgPage{Org: o, Projects: projects},
	})
}

// projectPage is the Data of the "project" page.
type projectPage struct {
	Project     identityviews.Project
	URL         string // the project's page
	Members     []identityviews.Membership
	CanSettings bool // the user may open the settings: change members or rename the project
}

// projectCrumbs is the trail org › project, with more steps after it.
func projectCrumbs(p identityviews.Project, more ...Crumb) []Crumb {
	crumbs := []Crumb{{Label: p.OrgName, URL: orgURL(p.OrgSlug)}, {Label: p.Name, URL: projectURL(p)}}
	crumbs = append(crumbs, more...)
	crumbs[len(crumbs)-1].URL = ""
	return crumbs
}

// projectPage is "/{org}/{project}": the project's workspaces, repositories and researchers.
func (a *App) projectPage(w http.ResponseWriter, r *http.Request) {
	p, ok := a.loadProject(w, r)
	if !ok || redirectToCanonical(w, r, projectURL(p)) {
		return
	}
	members, err := a.Queries.ProjectMembers(r.Context(), p.ID)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	perms, err := a.permissions(r, p.ID)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	a.renderer.Page(w, r, http.StatusOK, "project", View{
		Title:  p.Name,
		Crumbs: projectCrumbs(p),
		Data: projectPage{Project: p, URL: projectURL(p), Members: members,
			CanSettings: perms.Has(domain.ProjectMembershipEdit) || perms.Has(domain.ProjectSettingsEdit)},
	})
}
