package staff

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// staffProjectsPage is the Data of "staff_projects": every project and the form that creates one.
type staffProjectsPage struct {
	Projects  []identityviews.Project
	CanCreate bool         // project_create
	Create    kit.Form     // name, slug, org_id
	Orgs      []kit.Option // the organisation choices of the form, the posted one selected
}

// staffProjectPage is the Data of "staff_project": one project and its members.
type staffProjectPage struct {
	Project      identityviews.Project
	Members      []identityviews.Membership
	CanAddToOrg  bool           // project_create, while the project has no organisation: a link to the form's page
	CanAddMember bool           // project_membership_add
	AddMember    kit.Form       // login, roles (the error of the role boxes)
	TickedRoles  []domain.Role  // the roles a refused add-member post ticked
	MemberRoles  []kit.Checkbox // the three project roles
}

func (a *Handlers) staffProjects(w http.ResponseWriter, r *http.Request) error {
	return a.showStaffProjects(w, r, http.StatusOK, kit.Form{})
}

func (a *Handlers) showStaffProjects(w http.ResponseWriter, r *http.Request, status int, create kit.Form) error {
	projects, err := a.Queries.Projects(r.Context())
	if err != nil {
		return err
	}
	orgs, err := kit.OrgOptions(r.Context(), a.Queries, create.Values["org_id"])
	if err != nil {
		return err
	}
	a.Page(w, r, status, "staff_projects", kit.View{
		Title:  "Projects",
		Crumbs: staffCrumbs(kit.Crumb{Label: "Projects"}),
		Data: staffProjectsPage{Projects: projects, CanCreate: staffPerms(r).Has(domain.ProjectCreate),
			Create: create, Orgs: orgs},
	})
	return nil
}

func (a *Handlers) staffCreateProject(w http.ResponseWriter, r *http.Request) error {
	f := kit.PostedForm(r, "name", "slug", "org_id")
	created, err := a.Identity.CreateProject.Handle(r.Context(), identity.CreateProject{
		Actor: kit.Actor(r), Name: f.Values["name"], Slug: f.Values["slug"], OrgID: f.Values["org_id"],
	})
	if errs, ok := kit.FieldErrors(err); ok {
		f.Errors = errs
		return a.showStaffProjects(w, r, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	a.Done(w, r, created.Result, "Project "+f.Values["name"]+" created", "/staff/projects/"+created.ID, identityviews.ProjectsProjector)
	return nil
}

func (a *Handlers) staffProject(w http.ResponseWriter, r *http.Request) error {
	return a.showStaffProject(w, r, http.StatusOK, chi.URLParam(r, "id"), staffProjectPage{})
}

// showStaffProject renders a project's page; page carries the forms of a refused post.
func (a *Handlers) showStaffProject(w http.ResponseWriter, r *http.Request, status int, id string, page staffProjectPage) error {
	project, err := staffLookup(r, id, a.Queries.Project)
	if err != nil {
		return err
	}
	members, err := a.Queries.ProjectMembers(r.Context(), project.ID)
	if err != nil {
		return err
	}
	perms, err := kit.Permissions(r, a.Queries, project.ID)
	if err != nil {
		return err
	}
	page.Project, page.Members = project, members
	page.CanAddToOrg = perms.Has(domain.ProjectCreate) && project.OrgID == ""
	page.CanAddMember = perms.Has(domain.ProjectMembershipAdd)
	page.MemberRoles = kit.RoleCheckboxes(domain.ProjectRoles(), page.TickedRoles)
	a.Page(w, r, status, "staff_project", kit.View{
		Title:  "Project " + project.Name,
		Crumbs: staffCrumbs(kit.Crumb{Label: "Projects", URL: "/staff/projects"}, kit.Crumb{Label: project.Name}),
		Data:   page,
	})
	return nil
}

// staffProjectOrgPage is the Data of "staff_project_org": the form that puts a project in an organisation.
type staffProjectOrgPage struct {
	Project identityviews.Project
	Orgs    []kit.Option
	Form    kit.Form // org_id
}

// staffProjectOrg is the page of the form that puts a project in an organisation, for good.
func (a *Handlers) staffProjectOrg(w http.ResponseWriter, r *http.Request) error {
	return a.showStaffProjectOrg(w, r, http.StatusOK, kit.Form{})
}

func (a *Handlers) showStaffProjectOrg(w http.ResponseWriter, r *http.Request, status int, f kit.Form) error {
	project, err := staffLookup(r, chi.URLParam(r, "id"), a.Queries.Project)
	if err != nil {
		return err
	}
	orgs, err := kit.OrgOptions(r.Context(), a.Queries, f.Values["org_id"])
	if err != nil {
		return err
	}
	a.Page(w, r, status, "staff_project_org", kit.View{
		Title: "Add " + project.Name + " to an organisation",
		Crumbs: staffCrumbs(kit.Crumb{Label: "Projects", URL: "/staff/projects"},
			kit.Crumb{Label: project.Name, URL: "/staff/projects/" + project.ID}, kit.Crumb{Label: "Add to organisation"}),
		Data: staffProjectOrgPage{Project: project, Orgs: orgs, Form: f},
	})
	return nil
}

// staffAddProjectToOrg puts the project in the organisation chosen; the command refuses no choice, or a
// project already in one, beside the field.
func (a *Handlers) staffAddProjectToOrg(w http.ResponseWriter, r *http.Request) error {
	project, err := staffLookup(r, chi.URLParam(r, "id"), a.Queries.Project)
	if err != nil {
		return err
	}
	f := kit.PostedForm(r, "org_id")
	res, err := a.Identity.AddProjectToOrg.Handle(r.Context(), identity.AddProjectToOrg{
		Actor: kit.Actor(r), ProjectID: project.ID, OrgID: f.Values["org_id"],
	})
	if errs, ok := kit.FieldErrors(err); ok {
		f.Errors = errs
		return a.showStaffProjectOrg(w, r, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	a.Done(w, r, res, "Project "+project.Name+" added to "+a.orgName(r, f.Values["org_id"]), "/staff/projects/"+project.ID, identityviews.ProjectsProjector)
	return nil
}

// orgName is how a flash names an organisation: its name, or "the organisation" if it cannot be read.
func (a *Handlers) orgName(r *http.Request, id string) string {
	org, err := a.Queries.Org(r.Context(), id)
	if err != nil {
		return "the organisation"
	}
	return org.Name
}

func (a *Handlers) staffAddProjectMember(w http.ResponseWriter, r *http.Request) error {
	project, err := staffLookup(r, chi.URLParam(r, "id"), a.Queries.Project)
	if err != nil {
		return err
	}
	f := kit.PostedForm(r, "login")
	roles := kit.PostedRoles(r)
	user, res, fields, err := kit.AddMember(r.Context(), a.Queries, f.Values["login"], func(userID string) (commands.Result, error) {
		return a.Identity.AddProjectMember.Handle(r.Context(), identity.AddProjectMember{
			Actor: kit.Actor(r), ProjectID: project.ID, UserID: userID, Roles: roles,
		})
	})
	if fields != nil {
		f.Errors = fields
		return a.showStaffProject(w, r, http.StatusUnprocessableEntity, project.ID, staffProjectPage{AddMember: f, TickedRoles: roles})
	}
	if err != nil {
		return err
	}
	a.Done(w, r, res, staffMemberAdded(res.Changed(), user.DisplayName(), "project "+project.Name), "/staff/projects/"+project.ID,
		identityviews.ProjectsProjector)
	return nil
}
