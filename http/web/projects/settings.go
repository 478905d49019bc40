package projects

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// The messages of the settings pages for users who may not use them.
const (
	noSettingsMessage = "Only a Project Coordinator of this project or a MediciaSAFELY admin can change its settings."
	noMembersMessage  = "Only a Project Coordinator of this project or a MediciaSAFELY admin can change its members."
)

// projectSettingsPage is the Data of the "project_settings" page.
type projectSettingsPage struct {
	Project identityviews.Project
	URL     string // the settings page; the forms post below it
	Members []identityviews.Membership

	CanRename      bool // MayEditSettings: the name form
	CanEditMembers bool // MayEditMembers: Edit and Remove per member
	CanAddMembers  bool // project_membership_add (admins): the add-member form

	Name       string            // the name form's value
	NameErrors map[string]string // the name form's field errors
	Add        addMemberForm
}

// addMemberForm is the state of the add-member form.
type addMemberForm struct {
	Login  string
	Roles  []kit.Checkbox
	Errors map[string]string
}

// MemberURL is the page of one member, where their roles are changed.
func (p projectSettingsPage) MemberURL(m identityviews.Membership) string {
	return p.URL + "/members/" + m.User.ID
}

// settingsPerms reads what the user may do on the project, to decide which forms the page shows; a GET of
// the page is refused to those who may use none of them. The commands decide every post.
func (a *Handlers) settingsPerms(r *http.Request, p identityviews.Project) (domain.PermissionSet, error) {
	perms, err := kit.Permissions(r, a.Queries, p.ID)
	if err != nil {
		return nil, err
	}
	if !perms.Has(domain.ProjectMembershipEdit) && !perms.Has(domain.ProjectSettingsEdit) {
		return nil, domain.Refused(noSettingsMessage)
	}
	return perms, nil
}

// projectSettingsPage is "/{org}/{project}/settings": the project's name and members (step 6 of the guide).
func (a *Handlers) projectSettingsPage(w http.ResponseWriter, r *http.Request) error {
	p, err := a.loadProject(r)
	if err != nil || redirectToCanonical(w, r, projectURL(p)+"/settings") {
		return err
	}
	return a.renderProjectSettings(w, r, http.StatusOK, p, projectSettingsPage{Name: p.Name, Add: addMemberForm{Roles: kit.RoleCheckboxes(domain.ProjectRoles(), nil)}})
}

// renderProjectSettings shows the settings page with the forms' state in page (values and field errors).
func (a *Handlers) renderProjectSettings(w http.ResponseWriter, r *http.Request, status int, p identityviews.Project, page projectSettingsPage) error {
	perms, err := a.settingsPerms(r, p)
	if err != nil {
		return err
	}
	members, err := a.Queries.ProjectMembers(r.Context(), p.ID)
	if err != nil {
		return err
	}
	page.Project, page.URL, page.Members = p, projectURL(p)+"/settings", members
	page.CanRename, page.CanEditMembers = perms.Has(domain.ProjectSettingsEdit), perms.Has(domain.ProjectMembershipEdit)
	page.CanAddMembers = perms.Has(domain.ProjectMembershipAdd)
	a.Page(w, r, status, "project_settings", kit.View{
		Title:  "Settings of " + p.Name,
		Crumbs: projectCrumbs(p, kit.Crumb{Label: "Settings"}),
		Data:   page,
	})
	return nil
}

// renameProject is the project name form.
func (a *Handlers) renameProject(w http.ResponseWriter, r *http.Request) error {
	p, err := a.loadProject(r)
	if err != nil {
		return err
	}
	name := r.PostFormValue("name")
	res, err := a.Identity.RenameProject.Handle(r.Context(), identity.RenameProject{Actor: kit.Actor(r), ProjectID: p.ID, Name: name})
	if fields, invalid := kit.FieldErrors(err); invalid {
		return a.renderProjectSettings(w, r, http.StatusUnprocessableEntity, p, projectSettingsPage{Name: name, NameErrors: fields, Add: addMemberForm{Roles: kit.RoleCheckboxes(domain.ProjectRoles(), nil)}})
	}
	if err != nil {
		return err
	}
	message := "Project renamed"
	if !res.Changed() {
		message = "The project is already called \u201c" + p.Name + "\u201d; nothing changed."
	}
	a.Done(w, r, res, message, projectURL(p)+"/settings", identityviews.ProjectsProjector)
	return nil
}

// addProjectMember is the add-member form: only admins add members (project_membership_add).
func (a *Handlers) addProjectMember(w http.ResponseWriter, r *http.Request) error {
	p, err := a.loadProject(r)
	if err != nil {
		return err
	}
	login, roles := r.PostFormValue("login"), kit.PostedRoles(r)
	u, res, fields, err := kit.AddMember(r.Context(), a.Queries, login, func(userID string) (commands.Result, error) {
		return a.Identity.AddProjectMember.Handle(r.Context(), identity.AddProjectMember{Actor: kit.Actor(r), ProjectID: p.ID, UserID: userID, Roles: roles})
	})
	if fields != nil {
		return a.renderProjectSettings(w, r, http.StatusUnprocessableEntity, p, projectSettingsPage{Name: p.Name, Add: addMemberForm{Login: login, Roles: kit.RoleCheckboxes(domain.ProjectRoles(), roles), Errors: fields}})
	}
	if err != nil {
		return err
	}
	a.Done(w, r, res, u.DisplayName()+" added to the project", projectURL(p)+"/settings", identityviews.ProjectsProjector)
	return nil
}

// projectMemberPage is the Data of the "project_member" page.
type projectMemberPage struct {
	Project     identityviews.Project
	SettingsURL string
	URL         string // this page; the roles form posts here
	Member      identityviews.Membership
	Roles       []kit.Checkbox
	Errors      map[string]string
}

// loadMember reads the member at .../settings/members/{userID} of a project the user may edit the members
// of, for the pages that show it: 403 without MayEditMembers, then 404 for someone who is not a member.
func (a *Handlers) loadMember(r *http.Request, p identityviews.Project) (identityviews.Membership, error) {
	perms, err := kit.Permissions(r, a.Queries, p.ID)
	if err != nil {
		return identityviews.Membership{}, err
	}
	if !perms.Has(domain.ProjectMembershipEdit) {
		return identityviews.Membership{}, domain.Refused(noMembersMessage)
	}
	m, err := a.Queries.ProjectMember(r.Context(), p.ID, chi.URLParam(r, "userID"))
	if domain.KindOf(err) == domain.KindNotFound {
		return m, domain.NotFound("This person is not a member of " + p.Name + ".")
	}
	return m, err
}

// projectMemberPage is "/{org}/{project}/settings/members/{userID}": one member's project roles.
func (a *Handlers) projectMemberPage(w http.ResponseWriter, r *http.Request) error {
	p, err := a.loadProject(r)
	if err != nil || redirectToCanonical(w, r, projectURL(p)+"/settings/members/"+chi.URLParam(r, "userID")) {
		return err
	}
	m, err := a.loadMember(r, p)
	if err != nil {
		return err
	}
	a.renderProjectMember(w, r, http.StatusOK, p, m, kit.RoleCheckboxes(domain.ProjectRoles(), m.Roles), nil)
	return nil
}

func (a *Handlers) renderProjectMember(w http.ResponseWriter, r *http.Request, status int, p identityviews.Project, m identityviews.Membership, roles []kit.Checkbox, errs map[string]string) {
	settings := projectURL(p) + "/settings"
	a.Page(w, r, status, "project_member", kit.View{
		Title:  m.User.DisplayName() + " in " + p.Name,
		Crumbs: projectCrumbs(p, kit.Crumb{Label: "Settings", URL: settings}, kit.Crumb{Label: m.User.DisplayName()}),
		Data: projectMemberPage{Project: p, SettingsURL: settings, URL: settings + "/members/" + m.User.ID,
			Member: m, Roles: roles, Errors: errs},
	})
}

// changeProjectMemberRoles is the roles form of a member's page.
func (a *Handlers) changeProjectMemberRoles(w http.ResponseWriter, r *http.Request) error {
	p, err := a.loadProject(r)
	if err != nil {
		return err
	}
	userID := chi.URLParam(r, "userID")
	roles := kit.PostedRoles(r)
	res, err := a.Identity.ChangeProjectMemberRoles.Handle(r.Context(), identity.ChangeProjectMemberRoles{Actor: kit.Actor(r), ProjectID: p.ID, UserID: userID, Roles: roles})
	if fields, invalid := kit.FieldErrors(err); invalid {
		m, err := a.loadMember(r, p)
		if err != nil {
			return err
		}
		a.renderProjectMember(w, r, http.StatusUnprocessableEntity, p, m, kit.RoleCheckboxes(domain.ProjectRoles(), roles), fields)
		return nil
	}
	if err != nil {
		return err
	}
	a.Done(w, r, res, "Roles of "+kit.DisplayName(r.Context(), a.Queries, userID)+" saved", projectURL(p)+"/settings", identityviews.ProjectsProjector)
	return nil
}

// confirmRemoveProjectMember asks before removing a member: the page the Remove buttons lead to.
func (a *Handlers) confirmRemoveProjectMember(w http.ResponseWriter, r *http.Request) error {
	p, err := a.loadProject(r)
	if err != nil {
		return err
	}
	m, err := a.loadMember(r, p)
	if err != nil {
		return err
	}
	settings := projectURL(p) + "/settings"
	name := m.User.DisplayName()
	a.ConfirmPage(w, r, kit.Confirm{
		Title:       "Remove " + name,
		Question:    "Remove " + name + " from " + p.Name + "?",
		Consequence: name + " loses every role in this project and can no longer see it. An admin can add them again.",
		Action:      settings + "/members/" + m.User.ID + "/remove",
		Button:      "Remove " + name + " from the project",
		CancelURL:   settings + "/members/" + m.User.ID,
	}, projectCrumbs(p, kit.Crumb{Label: "Settings", URL: settings}, kit.Crumb{Label: "Remove " + name}))
	return nil
}

// removeProjectMember is the button of the confirmation page.
func (a *Handlers) removeProjectMember(w http.ResponseWriter, r *http.Request) error {
	p, err := a.loadProject(r)
	if err != nil {
		return err
	}
	userID := chi.URLParam(r, "userID")
	name := kit.DisplayName(r.Context(), a.Queries, userID)
	res, err := a.Identity.RemoveProjectMember.Handle(r.Context(), identity.RemoveProjectMember{Actor: kit.Actor(r), ProjectID: p.ID, UserID: userID})
	if err != nil {
		return err
	}
	a.Done(w, r, res, name+" removed from the project", projectURL(p)+"/settings", identityviews.ProjectsProjector)
	return nil
}
