package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// staffProjectsPage is the Data of "staff_projects": every project and the form that creates one.
type staffProjectsPage struct {
	Projects  []identityviews.Project
	CanCreate bool      // project_create
	Create    staffForm // name, slug, org_id
	Orgs      []Option  // the organisation choices of the form, the posted one selected
}

// staffProjectPage is the Data of "staff_project": one project and its members.
type staffProjectPage struct {
	Project      identityviews.Project
	Members      []identityviews.Membership
	CanAddToOrg  bool // project_create; the form shows only while the project has no organisation
	CanAddMember bool // project_membership_add
	Orgs         []Option
	AddToOrg     staffForm     // org_id
	AddMember    staffForm     // login, roles (the error of the role boxes)
	TickedRoles  []domain.Role // the roles a refused add-member post ticked
	MemberRoles  []Checkbox    // the three project roles
}

func (a *App) staffProjects(w http.ResponseWriter, r *http.Request) {
	a.showStaffProjects(w, r, http.StatusOK, staffForm{})
}

func (a *App) showStaffProjects(w http.ResponseWriter, r *http.Request, status int, create staffForm) {
	projects, err := a.Queries.Projects(r.Context())
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	orgs, err := a.staffOrgOptions(r, create.Values["org_id"])
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	a.renderer.Page(w, r, status, "staff_projects", View{
		Title:  "Projects",
		Crumbs: staffCrumbs(Crumb{Label: "Projects"}),
		Data: staffProjectsPage{Projects: projects, CanCreate: staffPerms(r).Has(domain.ProjectCreate),
			Create: create, Orgs: orgs},
	})
}

// staffOrgOptions are the organisations to choose from, by name.
func (a *App) staffOrgOptions(r *http.Request, selected string) ([]Option, error) {
	orgs, err := a.Queries.Orgs(r.Context())
	if err != nil {
		return nil, err
	}
	options := make([]Option, len(orgs))
	for i, o := range orgs {
		options[i] = Option{Value: o.ID, Label: o.Name + " (" + o.Slug + ")", Selected: o.ID == selected}
	}
	return options, nil
}

func (a *App) staffCreateProject(w http.ResponseWriter, r *http.Request) {
	f := staffPostedForm(r, "name", "slug", "org_id")
	created, err := a.Identity.CreateProject.Handle(r.Context(), identity.CreateProject{
		Actor: actor(r), Name: f.Values["name"], Slug: f.Values["slug"], OrgID: f.Values["org_id"],
	})
	if errs, ok := fieldErrors(err); ok {
		f.Errors = errs
		a.showStaffProjects(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.done(w, r, created.Result, "Project "+f.Values["name"]+" created", "/staff/projects/"+created.ID)
}

func (a *App) staffProject(w http.ResponseWriter, r *http.Request) {
	a.showStaffProject(w, r, http.StatusOK, chi.URLParam(r, "id"), staffProjectPage{})
}

// showStaffProject renders a project's page; page carries the forms of a refused post.
func (a *App) showStaffProject(w http.ResponseWriter, r *http.Request, status int, id string, page staffProjectPage) {
	project, ok := staffLookup(a, w, r, id, a.Queries.Project)
	if !ok {
		return
	}
	members, err := a.Queries.ProjectMembers(r.Context(), project.ID)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	perms, err := a.permissions(r, project.ID)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	page.Project, page.Members = project, members
	// The form shows while the project has no organisation, and again beside the error of a refused post.
	page.CanAddToOrg = perms.Has(domain.ProjectCreate) && (project.OrgID == "" || len(page.AddToOrg.Errors) > 0)
	page.CanAddMember = perms.Has(domain.ProjectMembershipAdd)
	if page.CanAddToOrg {
		if page.Orgs, err = a.staffOrgOptions(r, page.AddToOrg.Values["org_id"]); err != nil {
			a.serverError(w, r, err)
			return
		}
	}
	page.MemberRoles = roleCheckboxes(domain.ProjectRoles(), page.TickedRoles)
	a.renderer.Page(w, r, status, "staff_project", View{
		Title:  "Project " + project.Name,
		Crumbs: staffCrumbs(Crumb{Label: "Projects", URL: "/staff/projects"}, Crumb{Label: project.Name}),
		Data:   page,
	})
}

func (a *App) staffAddProjectToOrg(w http.ResponseWriter, r *http.Request) {
	project, ok := staffLookup(a, w, r, chi.URLParam(r, "id"), a.Queries.Project)
	if !ok {
		return
	}
	f := staffPostedForm(r, "org_id")
	if f.Values["org_id"] == "" {
		a.showStaffProject(w, r, http.StatusUnprocessableEntity, project.ID,
			staffProjectPage{AddToOrg: f.invalid("org_id", "Please choose an organisation.")})
		return
	}
	res, err := a.Identity.AddProjectToOrg.Handle(r.Context(), identity.AddProjectToOrg{
		Actor: actor(r), ProjectID: project.ID, OrgID: f.Values["org_id"],
	})
	if errs, ok := fieldErrors(err); ok {
		f.Errors = errs
		a.showStaffProject(w, r, http.StatusUnprocessableEntity, project.ID, staffProjectPage{AddToOrg: f})
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	org, err := a.Queries.Org(r.Context(), f.Values["org_id"])
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	a.done(w, r, res, "Project "+project.Name+" added to "+org.Name, "/staff/projects/"+project.ID)
}

func (a *App) staffAddProjectMember(w http.ResponseWriter, r *http.Request) {
	project, ok := staffLookup(a, w, r, chi.URLParam(r, "id"), a.Queries.Project)
	if !ok {
		return
	}
	f := staffPostedForm(r, "login")
	roles := postedRoles(r)
	user, message, err := a.userByLogin(r.Context(), f.Values["login"])
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	if message != "" {
		a.showStaffProject(w, r, http.StatusUnprocessableEntity, project.ID,
			staffProjectPage{AddMember: f.invalid("login", message), TickedRoles: roles})
		return
	}
	res, err := a.Identity.AddProjectMember.Handle(r.Context(), identity.AddProjectMember{
		Actor: actor(r), ProjectID: project.ID, UserID: user.ID, Roles: roles,
	})
	if errs, ok := fieldErrors(err); ok {
		f.Errors = loginFieldErrors(errs)
		a.showStaffProject(w, r, http.StatusUnprocessableEntity, project.ID, staffProjectPage{AddMember: f, TickedRoles: roles})
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	message = staffMemberAdded(!!res.Changed(), user.DisplayName(), "project "+project.Name)
	a.done(w, r, res, message, "/staff/projects/"+project.ID)
}
