package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
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
	Roles  []Checkbox
	Errors map[string]string
}

// MemberURL is the page of one member, where their roles are changed.
func (p projectSettingsPage) MemberURL(m identityviews.Membership) string {
	return p.URL + "/members/" + m.User.ID
}

// settingsAccess reads the user's permissions on the project and answers 403 unless they may use its
// settings; ok is false when the request has been answered.
func (a *App) settingsAccess(w http.ResponseWriter, r *http.Request, p identityviews.Project) (domain.PermissionSet, bool) {
	perms, err := a.permissions(r, p.ID)
	if err != nil {
		a.serverError(w, r, err)
		return nil, false
	}
	if !perms.Has(domain.ProjectMembershipEdit) && !perms.Has(domain.ProjectSettingsEdit) {
		a.forbidden(w, r, noSettingsMessage)
		return nil, false
	}
	return perms, true
}

// projectSettingsPage is "/{org}/{project}/settings": the project's name and members (step 6 of the guide).
func (a *App) projectSettingsPage(w http.ResponseWriter, r *http.Request) {
	p, ok := a.loadProject(w, r)
	if !ok || redirectToCanonical(w, r, projectURL(p)+"/settings") {
		return
	}
	perms, ok := a.settingsAccess(w, r, p)
	if !ok {
		return
	}
	a.renderProjectSettings(w, r, http.StatusOK, p, perms, projectSettingsPage{Name: p.Name, Add: addMemberForm{Roles: roleCheckboxes(domain.ProjectRoles(), nil)}})
}

// renderProjectSettings shows the settings page with the forms' state in page (values and field errors).
func (a *App) renderProjectSettings(w http.ResponseWriter, r *http.Request, status int, p identityviews.Project, perms domain.PermissionSet, page projectSettingsPage) {
	members, err := a.Queries.ProjectMembers(r.Context(), p.ID)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	page.Project, page.URL, page.Members = p, projectURL(p)+"/settings", members
	page.CanRename, page.CanEditMembers = perms.Has(domain.ProjectSettingsEdit), perms.Has(domain.ProjectMembershipEdit)
	page.CanAddMembers = perms.Has(domain.ProjectMembershipAdd)
	a.renderer.Page(w, r, status, "project_settings", View{
		Title:  "Settings of " + p.Name,
		Crumbs: projectCrumbs(p, Crumb{Label: "Settings"}),
		Data:   page,
	})
}

// renameProject is the project name form.
func (a *App) renameProject(w http.ResponseWriter, r *http.Request) {
	p, ok := a.loadProject(w, r)
	if !ok || !a.parseForm(w, r) {
		return
	}
	name := r.PostFormValue("name")
	res, err := a.Identity.RenameProject.Handle(r.Context(), identity.RenameProject{Actor: actor(r), ProjectID: p.ID, Name: name})
	if fields, invalid := fieldErrors(err); invalid {
		a.reshowProjectSettings(w, r, p, projectSettingsPage{Name: name, NameErrors: fields, Add: addMemberForm{Roles: roleCheckboxes(domain.ProjectRoles(), nil)}})
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	message := "Project renamed"
	if !res.Changed() {
		message = "The project is already called \u201c" + p.Name + "\u201d; nothing changed."
	}
	a.done(w, r, res, message, projectURL(p)+"/settings")
}

// addProjectMember is the add-member form: only admins add members (project_membership_add).
func (a *App) addProjectMember(w http.ResponseWriter, r *http.Request) {
	p, ok := a.loadProject(w, r)
	if !ok || !a.parseForm(w, r) {
		return
	}
	login := r.PostFormValue("login")
	roles := postedRoles(r)
	u, unknown, err := a.userByLogin(r.Context(), login)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	// An unknown login leaves the user id empty: the command still decides first whether the actor may add
	// members at all, and only then finds that there is no such user.
	userID := u.ID
	res, err := a.Identity.AddProjectMember.Handle(r.Context(), identity.AddProjectMember{Actor: actor(r), ProjectID: p.ID, UserID: userID, Roles: roles})
	fields, invalid := fieldErrors(err)
	if unknown != "" && err != nil && domain.KindOf(err) != domain.KindForbidden {
		fields, invalid = map[string]string{"login": unknown}, true
	}
	if invalid {
		a.reshowProjectSettings(w, r, p, projectSettingsPage{Name: p.Name, Add: addMemberForm{Login: login, Roles: roleCheckboxes(domain.ProjectRoles(), roles), Errors: loginFieldErrors(fields)}})
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.done(w, r, res, a.displayName(r, userID)+" added to the project", projectURL(p)+"/settings")
}

// reshowProjectSettings shows the settings page again, with status 422, for a form whose fields need
// correcting.
func (a *App) reshowProjectSettings(w http.ResponseWriter, r *http.Request, p identityviews.Project, page projectSettingsPage) {
	perms, err := a.permissions(r, p.ID)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	a.renderProjectSettings(w, r, http.StatusUnprocessableEntity, p, perms, page)
}

// projectMemberPage is the Data of the "project_member" page.
type projectMemberPage struct {
	Project     identityviews.Project
	SettingsURL string
	URL         string // this page; the roles form posts here
	Member      identityviews.Membership
	Roles       []Checkbox
	Errors      map[string]string
}

// loadMember reads the member at .../settings/members/{userID} of a project the user may edit the members
// of: 403 without MayEditMembers, then 404 for someone who is not a member. ok is false when the request
// has been answered.
func (a *App) loadMember(w http.ResponseWriter, r *http.Request, p identityviews.Project) (identityviews.Membership, bool) {
	perms, err := a.permissions(r, p.ID)
	if err != nil {
		a.serverError(w, r, err)
		return identityviews.Membership{}, false
	}
	if !perms.Has(domain.ProjectMembershipEdit) {
		a.forbidden(w, r, noMembersMessage)
		return identityviews.Membership{}, false
	}
	m, err := a.Queries.ProjectMember(r.Context(), p.ID, chi.URLParam(r, "userID"))
	if domain.KindOf(err) == domain.KindNotFound {
		a.renderer.Error(w, r, http.StatusNotFound, "This person is not a member of "+p.Name+".")
		return m, false
	}
	if err != nil {
		a.serverError(w, r, err)
		return m, false
	}
	return m, true
}

// projectMemberPage is "/{org}/{project}/settings/members/{userID}": one member's project roles.
func (a *App) projectMemberPage(w http.ResponseWriter, r *http.Request) {
	p, ok := a.loadProject(w, r)
	if !ok || redirectToCanonical(w, r, projectURL(p)+"/settings/members/"+chi.URLParam(r, "userID")) {
		return
	}
	m, ok := a.loadMember(w, r, p)
	if !ok {
		return
	}
	a.renderProjectMember(w, r, http.StatusOK, p, m, roleCheckboxes(domain.ProjectRoles(), m.Roles), nil)
}

func (a *App) renderProjectMember(w http.ResponseWriter, r *http.Request, status int, p identityviews.Project, m identityviews.Membership, roles []Checkbox, errs map[string]string) {
	settings := projectURL(p) + "/settings"
	a.renderer.Page(w, r, status, "project_member", View{
		Title:  m.User.DisplayName() + " in " + p.Name,
		Crumbs: projectCrumbs(p, Crumb{Label: "Settings", URL: settings}, Crumb{Label: m.User.DisplayName()}),
		Data: projectMemberPage{Project: p, SettingsURL: settings, URL: settings + "/members/" + m.User.ID,
			Member: m, Roles: roles, Errors: errs},
	})
}

// changeProjectMemberRoles is the roles form of a member's page.
func (a *App) changeProjectMemberRoles(w http.ResponseWriter, r *http.Request) {
	p, ok := a.loadProject(w, r)
	if !ok || !a.parseForm(w, r) {
		return
	}
	userID := chi.URLParam(r, "userID")
	roles := postedRoles(r)
	res, err := a.Identity.ChangeProjectMemberRoles.Handle(r.Context(), identity.ChangeProjectMemberRoles{Actor: actor(r), ProjectID: p.ID, UserID: userID, Roles: roles})
	if fields, invalid := fieldErrors(err); invalid {
		m, ok := a.loadMember(w, r, p)
		if ok {
			a.renderProjectMember(w, r, http.StatusUnprocessableEntity, p, m, roleCheckboxes(domain.ProjectRoles(), roles), fields)
		}
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.done(w, r, res, "Roles of "+a.displayName(r, userID)+" saved", projectURL(p)+"/settings")
}

// removeProjectMember is the Remove button of the settings page and of a member's page.
func (a *App) removeProjectMember(w http.ResponseWriter, r *http.Request) {
	p, ok := a.loadProject(w, r)
	if !ok || !a.parseForm(w, r) {
		return
	}
	userID := chi.URLParam(r, "userID")
	name := a.displayName(r, userID)
	res, err := a.Identity.RemoveProjectMember.Handle(r.Context(), identity.RemoveProjectMember{Actor: actor(r), ProjectID: p.ID, UserID: userID})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.done(w, r, res, name+" removed from the project", projectURL(p)+"/settings")
}

// parseForm reads a posted form; a form that cannot be read is answered 400 and false returned.
func (a *App) parseForm(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil {
		a.renderer.Error(w, r, http.StatusBadRequest, "The form could not be read. Go back, reload the page and try again.")
		return false
	}
	return true
}
