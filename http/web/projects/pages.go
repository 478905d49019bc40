package projects

import (
	"net/http"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
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
func (a *Handlers) orgPage(w http.ResponseWriter, r *http.Request) error {
	o, err := a.loadOrg(r)
	if err != nil || redirectToCanonical(w, r, orgURL(o.Slug)) {
		return err
	}
	projects, err := a.Queries.ProjectsOfOrg(r.Context(), o.ID)
	if err != nil {
		return err
	}
	a.Page(w, r, http.StatusOK, "org", kit.View{
		Title:  o.Name,
		Crumbs: []kit.Crumb{{Label: o.Name}},
		Data:   orgPage{Org: o, Projects: projects},
	})
	return nil
}

// projectPage is the Data of the "project" page.
type projectPage struct {
	Project     identityviews.Project
	URL         string // the project's page
	Members     []identityviews.Membership
	CanSettings bool // the user may open the settings: change members or rename the project
}

// projectCrumbs is the trail org › project, with more steps after it.
func projectCrumbs(p identityviews.Project, more ...kit.Crumb) []kit.Crumb {
	crumbs := []kit.Crumb{{Label: p.OrgName, URL: orgURL(p.OrgSlug)}, {Label: p.Name, URL: projectURL(p)}}
	crumbs = append(crumbs, more...)
	crumbs[len(crumbs)-1].URL = ""
	return crumbs
}

// projectPage is "/{org}/{project}": the project's workspaces, repositories and researchers.
func (a *Handlers) projectPage(w http.ResponseWriter, r *http.Request) error {
	p, err := a.loadProject(r)
	if err != nil || redirectToCanonical(w, r, projectURL(p)) {
		return err
	}
	members, err := a.Queries.ProjectMembers(r.Context(), p.ID)
	if err != nil {
		return err
	}
	perms, err := kit.Permissions(r, a.Queries, p.ID)
	if err != nil {
		return err
	}
	a.Page(w, r, http.StatusOK, "project", kit.View{
		Title:  p.Name,
		Crumbs: projectCrumbs(p),
		Data: projectPage{Project: p, URL: projectURL(p), Members: members,
			CanSettings: perms.Has(domain.ProjectMembershipEdit) || perms.Has(domain.ProjectSettingsEdit)},
	})
	return nil
}
