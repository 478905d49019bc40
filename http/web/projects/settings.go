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

// The values of the hidden field "form" that says which form of the settings page was posted.
const (
	renameForm    = "rename"
	addMemberForm = "add-member"
)

// projectSettingsPage is the Data of the "project_settings" page.
type projectSettingsPage struct {
	Project identityviews.Project
	URL     string // the settings page, where its forms post
	Members []identityviews.Member

	CanRename      bool // MayEditSettings: the name form
	CanEditMembers bool // MayEditMembers: Edit and Remove per member
	CanAddMembers  bool // project_membership_add (admins): the add-member form

	Name       string            // the name form's value
	NameErrors map[string]string // the name form's field errors
	Add        addMember
}

// addMember is the state of the add-member form.
type addMember struct {
	Login  string
	Roles  []kit.Checkbox
	Errors map[string]string
}

// MemberURL is the page of one member, where their roles are changed.
func (p projectSettingsPage) MemberURL(m identityviews.Member) string {
	return p.URL + "/members/" + m.ID
}

func settingsURL(p identityviews.Project) string { return projectURL(p) + "/settings" }

// projectSettingsPage is "/{org}/{project}/settings": the project's name and members (step 6 of the guide).
// It is refused to those who may use none of its forms.
func (a *Handlers) projectSettingsPage(w http.ResponseWriter, r *http.Request) error {
	v, err := a.projectView(r)
	if err != nil || redirectToCanonical(w, r, settingsURL(v.Project)) {
		return err
	}
	if !mayOpenSettings(v.Viewer) {
		return domain.Refused(noSettingsMessage)
	}
	a.renderProjectSettings(w, r, http.StatusOK, v, projectSettingsPage{Name: v.Project.Name,
		Add: addMember{Roles: kit.RoleCheckboxes(domain.ProjectRoles(), nil)}})
	return nil
}

// renderProjectSettings shows the settings page of the view with the forms' state in page (values and field
// errors); the viewer's permissions decide which forms it shows.
func (a *Handlers) renderProjectSettings(w http.ResponseWriter, r *http.Request, status int, v identityviews.ProjectPage, page projectSettingsPage) {
	page.Project, page.URL, page.Members = v.Project, settingsURL(v.Project), v.Members
	page.CanRename, page.CanEditMembers = v.Viewer.Has(domain.ProjectSettingsEdit), v.Viewer.Has(domain.ProjectMembershipEdit)
	page.CanAddMembers = v.Viewer.Has(domain.ProjectMembershipAdd)
	a.Page(w, r, status, "project_settings", kit.View{
		Title:  "Settings of " + v.Project.Name,
		Crumbs: projectCrumbs(v.Project, kit.Crumb{Label: "Settings"}),
		Data:   page,
	})
}

// projectSettingsForm is a post of one of the settings page's forms, named by the field "form".
func (a *Handlers) projectSettingsForm(w http.ResponseWriter, r *http.Request) error {
	if err := kit.ParseForm(r); err != nil {
		return err
	}
	v, err := a.projectView(r)
	if err != nil {
		return err
	}
	switch r.PostForm.Get("form") {
	case renameForm:
		return a.renameProject(w, r, v)
	case addMemberForm:
		return a.addProjectMember(w, r, v)
	}
	return domain.Invalid("form", "This form is not one of the settings page's. Reload the page and try again.")
}

// renameProject is the project name form.
func (a *Handlers) renameProject(w http.ResponseWriter, r *http.Request, v identityviews.ProjectPage) error {
	name := r.PostForm.Get("name")
	res, err := a.Identity.RenameProject.Handle(r.Context(), identity.RenameProject{Actor: kit.Actor(r), ProjectID: v.Project.ID, Name: name})
	if fields, invalid := kit.FieldErrors(err); invalid {
		a.renderProjectSettings(w, r, http.StatusUnprocessableEntity, v, projectSettingsPage{Name: name, NameErrors: fields,
			Add: addMember{Roles: kit.RoleCheckboxes(domain.ProjectRoles(), nil)}})
		return nil
	}
	if err != nil {
		return err
	}
	message := "Project renamed"
	if !res.Changed() {
		message = "The project is already called \u201c" + v.Project.Name + "\u201d; nothing changed."
	}
	a.Done(w, r, res, message, settingsURL(v.Project), identityviews.ProjectsProjector)
	return nil
}

// addProjectMember is the add-member form: only admins add members (project_membership_add).
func (a *Handlers) addProjectMember(w http.ResponseWriter, r *http.Request, v identityviews.ProjectPage) error {
	login, roles := r.PostForm.Get("login"), kit.PostedRoles(r)
	u, res, fields, err := kit.AddMember(r.Context(), a.Queries, login, func(userID string) (commands.Result, error) {
		return a.Identity.AddProjectMember.Handle(r.Context(), identity.AddProjectMember{Actor: kit.Actor(r), ProjectID: v.Project.ID, UserID: userID, Roles: roles})
	})
	if fields != nil {
		a.renderProjectSettings(w, r, http.StatusUnprocessableEntity, v, projectSettingsPage{Name: v.Project.Name,
			Add: addMember{Login: login, Roles: kit.RoleCheckboxes(domain.ProjectRoles(), roles), Errors: fields}})
		return nil
	}
	if err != nil {
		return err
	}
	a.Done(w, r, res, u.DisplayName()+" added to the project", settingsURL(v.Project), identityviews.ProjectsProjector)
	return nil
}

// projectMemberPage is the Data of the "project_member" page.
type projectMemberPage struct {
	Project     identityviews.Project
	SettingsURL string
	URL         string // this page; the roles form posts here, and Remove leads to URL/remove
	Member      identityviews.Member
	Roles       []kit.Checkbox
	Errors      map[string]string
}

// memberToShow is the member of the view, for the pages that show one: 403 for a viewer who may not edit
// the members, then 404 for someone who is not a member.
func memberToShow(v identityviews.ProjectMemberPage) (identityviews.Member, error) {
	if !v.Viewer.Has(domain.ProjectMembershipEdit) {
		return identityviews.Member{}, domain.Refused(noMembersMessage)
	}
	if !v.IsMember {
		return identityviews.Member{}, domain.NotFound("This person is not a member of " + v.Project.Name + ".")
	}
	return v.Member, nil
}

func memberURL(p identityviews.Project, userID string) string {
	return settingsURL(p) + "/members/" + userID
}

// projectMemberPage is "/{org}/{project}/settings/members/{userID}": one member's project roles.
func (a *Handlers) projectMemberPage(w http.ResponseWriter, r *http.Request) error {
	v, err := a.memberView(r)
	if err != nil || redirectToCanonical(w, r, memberURL(v.Project, chi.URLParam(r, "userID"))) {
		return err
	}
	m, err := memberToShow(v)
	if err != nil {
		return err
	}
	a.renderProjectMember(w, r, http.StatusOK, v.Project, m, kit.RoleCheckboxes(domain.ProjectRoles(), m.Roles), nil)
	return nil
}

func (a *Handlers) renderProjectMember(w http.ResponseWriter, r *http.Request, status int, p identityviews.Project, m identityviews.Member, roles []kit.Checkbox, errs map[string]string) {
	a.Page(w, r, status, "project_member", kit.View{
		Title:  m.DisplayName() + " in " + p.Name,
		Crumbs: projectCrumbs(p, kit.Crumb{Label: "Settings", URL: settingsURL(p)}, kit.Crumb{Label: m.DisplayName()}),
		Data: projectMemberPage{Project: p, SettingsURL: settingsURL(p), URL: memberURL(p, m.ID),
			Member: m, Roles: roles, Errors: errs},
	})
}

// memberName is how a flash names the member of a view.
func memberName(v identityviews.ProjectMemberPage) string {
	if !v.IsMember {
		return "The member"
	}
	return v.Member.DisplayName()
}

// changeProjectMemberRoles is the roles form of a member's page.
func (a *Handlers) changeProjectMemberRoles(w http.ResponseWriter, r *http.Request) error {
	if err := kit.ParseForm(r); err != nil {
		return err
	}
	v, err := a.memberView(r)
	if err != nil {
		return err
	}
	roles := kit.PostedRoles(r)
	res, err := a.Identity.ChangeProjectMemberRoles.Handle(r.Context(), identity.ChangeProjectMemberRoles{Actor: kit.Actor(r),
		ProjectID: v.Project.ID, UserID: chi.URLParam(r, "userID"), Roles: roles})
	if fields, invalid := kit.FieldErrors(err); invalid && v.IsMember {
		a.renderProjectMember(w, r, http.StatusUnprocessableEntity, v.Project, v.Member, kit.RoleCheckboxes(domain.ProjectRoles(), roles), fields)
		return nil
	}
	if err != nil {
		return err
	}
	a.Done(w, r, res, "Roles of "+memberName(v)+" saved", settingsURL(v.Project), identityviews.ProjectsProjector)
	return nil
}

// confirmRemoveProjectMember asks before removing a member: the page the Remove buttons lead to. Its
// button posts to its own address.
func (a *Handlers) confirmRemoveProjectMember(w http.ResponseWriter, r *http.Request) error {
	v, err := a.memberView(r)
	if err != nil {
		return err
	}
	m, err := memberToShow(v)
	if err != nil {
		return err
	}
	p, name, member := v.Project, m.DisplayName(), memberURL(v.Project, m.ID)
	a.ConfirmPage(w, r, kit.Confirm{
		Title:       "Remove " + name,
		Question:    "Remove " + name + " from " + p.Name + "?",
		Consequence: name + " loses every role in this project and can no longer see it. An admin can add them again.",
		Action:      member + "/remove",
		Button:      "Remove " + name + " from the project",
		CancelURL:   member,
	}, projectCrumbs(p, kit.Crumb{Label: "Settings", URL: settingsURL(p)}, kit.Crumb{Label: name, URL: member}, kit.Crumb{Label: "Remove"}))
	return nil
}

// removeProjectMember is the button of the confirmation page.
func (a *Handlers) removeProjectMember(w http.ResponseWriter, r *http.Request) error {
	v, err := a.memberView(r)
	if err != nil {
		return err
	}
	res, err := a.Identity.RemoveProjectMember.Handle(r.Context(), identity.RemoveProjectMember{Actor: kit.Actor(r),
		ProjectID: v.Project.ID, UserID: chi.URLParam(r, "userID")})
	if err != nil {
		return err
	}
	a.Done(w, r, res, memberName(v)+" removed from the project", settingsURL(v.Project), identityviews.ProjectsProjector)
	return nil
}
