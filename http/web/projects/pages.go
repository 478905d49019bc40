package projects

import (
	"net/http"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
	wsviews "github.com/mediciasafely/jobserver/projections/workspaces"
)

// orgPage is the Data of the "org" page: the view, and the addresses of its projects.
type orgPage struct {
	identityviews.OrgPage
	// HistoryURL is the organisation's history, "" for a viewer who may not read it.
	HistoryURL string
}

// ProjectURL is the address of one of the organisation's projects.
func (orgPage) ProjectURL(p identityviews.Project) string { return projectURL(p) }

// orgPage is "/{org}": the organisation's projects (step 6 of the guide).
func (a *Handlers) orgPage(w http.ResponseWriter, r *http.Request) error {
	v, err := a.orgView(r)
	if err != nil || redirectToCanonical(w, r, orgURL(v.Org.Slug)) {
		return err
	}
	page := orgPage{OrgPage: v}
	if page.HistoryURL, err = kit.HistoryLink(r, a.Queries, "org", v.Org.ID); err != nil {
		return err
	}
	a.Page(w, r, http.StatusOK, "org", kit.View{
		Title:  v.Org.Name,
		Crumbs: []kit.Crumb{{Label: v.Org.Name}},
		Data:   page,
	})
	return nil
}

// projectPage is the Data of the "project" page.
type projectPage struct {
	Project     identityviews.Project
	URL         string // the project's page
	Members     []identityviews.Member
	CanSettings bool // the user may open the settings: change members or rename the project
	// Workspaces are the project's workspaces and their repositories (the workspaces projector's view).
	Workspaces wsviews.ProjectWorkspaces
	// NewWorkspaceURL is the form that creates a workspace, "" for a user who may not (workspace_create).
	NewWorkspaceURL string
	// HistoryURL is the project's history, "" for a viewer who may not read it.
	HistoryURL string
}

// WorkspaceURL is the address of one of the project's workspaces.
func (p projectPage) WorkspaceURL(w wsviews.Workspace) string { return p.URL + "/" + w.Name }

// projectCrumbs is the trail org › project, with more steps after it.
func projectCrumbs(p identityviews.Project, more ...kit.Crumb) []kit.Crumb {
	crumbs := []kit.Crumb{{Label: p.OrgName, URL: orgURL(p.OrgSlug)}, {Label: p.Name, URL: projectURL(p)}}
	crumbs = append(crumbs, more...)
	crumbs[len(crumbs)-1].URL = ""
	return crumbs
}

// mayOpenSettings reports whether the settings page has a form for the viewer.
func mayOpenSettings(perms domain.PermissionSet) bool {
	return perms.Has(domain.ProjectMembershipEdit) || perms.Has(domain.ProjectSettingsEdit)
}

// projectPage is "/{org}/{project}": the project's workspaces, repositories and researchers.
func (a *Handlers) projectPage(w http.ResponseWriter, r *http.Request) error {
	v, err := a.projectView(r)
	if err != nil || redirectToCanonical(w, r, projectURL(v.Project)) {
		return err
	}
	page := projectPage{Project: v.Project, URL: projectURL(v.Project), Members: v.Members, CanSettings: mayOpenSettings(v.Viewer)}
	if page.Workspaces, err = a.Workspaces.ProjectWorkspaces(r.Context(), v.Project.ID); err != nil {
		return err
	}
	if v.Viewer.Has(domain.WorkspaceCreate) {
		page.NewWorkspaceURL = page.URL + "/new-workspace/"
	}
	if page.HistoryURL, err = kit.HistoryLink(r, a.Queries, "project", v.Project.ID); err != nil {
		return err
	}
	a.Page(w, r, http.StatusOK, "project", kit.View{
		Title:  v.Project.Name,
		Crumbs: projectCrumbs(v.Project),
		Data:   page,
	})
	return nil
}
