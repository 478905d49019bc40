package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/mediciasafely/jobserver/domain"
)

// The guide's step 6: a Project Coordinator edits the members who are already there, but only admins add
// members.
func TestCoordinatorCanChangeRolesButNotAddMembers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := setUpMyStudy(e)
	b := s.as(s.coordinator)

	b.get(s.studyURL).expect(http.StatusOK, `href="/mediciaaiorg2/mystudy/settings">Settings</a>`)
	b.get(s.settingsURL).expect(http.StatusOK,
		"<title>Settings of MyStudy · MediciaSAFELY</title>",
		"<h1>Project settings</h1>",
		`<li><a href="/mediciaaiorg2/mystudy">MyStudy</a></li>`,
		`<span aria-current="page">Settings</span>`,
		"These roles apply to this project only",
		"Roles for all projects are given by a MediciaSAFELY admin.",
		`<th scope="col">GitHub login</th>`,
		"Devon Tester", "Colin Tester",
		`href="/mediciaaiorg2/mystudy/settings/members/`+s.developer+`">Edit<span class="visually-hidden"> the roles of Devon Tester</span></a>`,
		`action="/mediciaaiorg2/mystudy/settings/members/`+s.collaborator+`/remove"`,
		"Only MediciaSAFELY admins can add members to a project.",
	).lacks("Add a member", `name="login"`)

	// Edit: the member's page, with the roles they hold ticked.
	b.get(s.memberURL(s.developer)).expect(http.StatusOK,
		"<h1>Devon Tester</h1>",
		`<span aria-current="page">Devon Tester</span>`,
		`<legend>Roles of Devon Tester in this project</legend>`,
		`value="project_developer" checked`,
		`value="project_collaborator" aria-describedby`,
		"Can create and archive workspaces, run and cancel jobs, and view released outputs.",
		`<button type="submit" class="button button-primary">Save roles</button>`,
		`<button type="submit" class="button button-danger">Remove Devon Tester from the project</button>`,
	)
	b.post(s.memberURL(s.developer), tickRoles(domain.ProjectDeveloper, domain.ProjectCollaborator)).
		at(s.settingsURL).expect(http.StatusOK, "Roles of Devon Tester saved")
	// Read your writes: the very next page shows the new roles.
	b.get(s.memberURL(s.developer)).expect(http.StatusOK, `value="project_collaborator" checked`, `value="project_developer" checked`)

	b.post(s.memberURL(s.collaborator)+"/remove", nil).
		at(s.settingsURL).expect(http.StatusOK, "Colin Tester removed from the project").lacks("Colin Tester</span></th>")
	b.get(s.studyURL).expect(http.StatusOK, "Devon Tester").lacks("Colin Tester")
	b.get(s.memberURL(s.collaborator)).expect(http.StatusNotFound)

	// Adding a member is for admins, whatever the form says.
	b.post(s.settingsURL+"/members", url.Values{"login": {"otto"}, "roles": {string(domain.ProjectDeveloper)}}).
		expect(http.StatusForbidden, "Only admins can add members to a project.")
	b.post(s.settingsURL+"/members", url.Values{"login": {"nobody-here"}}).expect(http.StatusForbidden)
	b.get(s.studyURL).lacks("Otto Tester")
}

func TestDeveloperCannotOpenOrUseTheSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := setUpMyStudy(e)
	b := s.as(s.developer)

	b.get(s.settingsURL).expect(http.StatusForbidden,
		"Access denied", "Only a Project Coordinator of this project or a MediciaSAFELY admin can change its settings.").
		lacks("Project settings")
	b.get(s.memberURL(s.collaborator)).expect(http.StatusForbidden, "can change its members")
	b.post(s.settingsURL+"/name", url.Values{"name": {"Hijacked"}}).expect(http.StatusForbidden, "Only a Project Coordinator of this project or a MediciaSAFELY admin can change its settings.")
	b.post(s.memberURL(s.collaborator), tickRoles(domain.ProjectCoordinator)).expect(http.StatusForbidden)
	b.post(s.memberURL(s.collaborator)+"/remove", nil).expect(http.StatusForbidden)
	b.get(s.studyURL).expect(http.StatusOK, "<h1>MyStudy</h1>", "Colin Tester").lacks("Hijacked")
}

// A project role applies to its project only.
func TestCoordinatorOfAnotherProjectCannotChangeThisOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := setUpMyStudy(e)
	b := s.as(s.otherCoordinator)

	b.get("/mediciaaiorg2/otherstudy/settings").expect(http.StatusOK, "<h1>Project settings</h1>", "Olga Tester")
	b.get(s.settingsURL).expect(http.StatusForbidden, "Only a Project Coordinator of this project")
	b.get(s.memberURL(s.developer)).expect(http.StatusForbidden)
	b.post(s.memberURL(s.developer)+"/remove", nil).expect(http.StatusForbidden)
	b.post(s.memberURL(s.developer), tickRoles(domain.ProjectCoordinator)).expect(http.StatusForbidden)
	s.as(s.coordinator).get(s.settingsURL).expect(http.StatusOK, "Devon Tester")
}

// An admin (a global Core Developer) adds members: the guide's step 5.
func TestAdminAddsAMemberWithRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := setUpMyStudy(e)
	b := s.as(s.admin)

	b.get(s.settingsURL).expect(http.StatusOK,
		`<h2 id="add-heading">Add a member</h2>`,
		`<label for="login">GitHub login <span class="required" aria-hidden="true">*</span></label>`,
		`<legend>Roles in this project</legend>`,
		`<input type="checkbox" id="add-roles-project_collaborator" name="roles" value="project_collaborator"`,
		`<label for="add-roles-project_coordinator">Project Coordinator</label>`,
		`<label for="add-roles-project_developer">Project Developer</label>`,
		`<button type="submit" class="button button-primary">Add member</button>`,
		`<button type="submit" class="button button-primary">Rename project</button>`,
	).lacks(`value="core_developer"`, `value="output_checker"`)

	// Logins match without regard to case, as on GitHub.
	b.post(s.settingsURL+"/members", url.Values{"login": {"Otto"}, "roles": {"project_collaborator", "project_developer"}}).
		at(s.settingsURL).expect(http.StatusOK, "Otto Tester added to the project", "Otto Tester</span></th>")
	b.get(s.studyURL).expect(http.StatusOK, "Otto Tester")
	b.get(s.memberURL(s.outsider)).expect(http.StatusOK, `value="project_collaborator" checked`, `value="project_developer" checked`).
		lacks(`value="project_coordinator" checked`)
	s.as(s.outsider).get("/").expect(http.StatusOK, `<a href="/mediciaaiorg2/mystudy">MyStudy</a>`, "Project Developer")

	// Someone who has never logged in, or nobody at all, is named beside the login field.
	b.post(s.settingsURL+"/members", url.Values{"login": {"ghost"}, "roles": {"project_developer"}}).
		expect(http.StatusUnprocessableEntity,
			`<p class="field-error" id="login-error"><span class="visually-hidden">Error: </span>Nobody with the GitHub login “ghost” has logged in to MediciaSAFELY yet.`,
			`value="ghost"`, `aria-invalid="true"`, `value="project_developer" checked`)
	b.post(s.settingsURL+"/members", url.Values{"login": {""}}).
		expect(http.StatusUnprocessableEntity, "Please enter the GitHub login of the person to add.")
	// A member already there is changed on their own page, not added twice.
	b.post(s.settingsURL+"/members", url.Values{"login": {"devon"}, "roles": {"project_coordinator"}}).
		expect(http.StatusUnprocessableEntity, `id="login-error"`, "already a member of the project")

	// Admins may also change and remove, like a Coordinator.
	b.post(s.memberURL(s.outsider), tickRoles(domain.ProjectCoordinator)).at(s.settingsURL).expect(http.StatusOK, "Roles of Otto Tester saved")
	b.post(s.memberURL(s.outsider)+"/remove", nil).at(s.settingsURL).expect(http.StatusOK, "Otto Tester removed from the project")
	b.get(s.studyURL).lacks("Otto Tester")
}

func TestRenameShowsATakenNameBesideTheFieldAndThenRenames(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := setUpMyStudy(e)
	b := s.as(s.coordinator)

	b.get(s.settingsURL).expect(http.StatusOK, `<input id="name" name="name" type="text" value="MyStudy"`)
	b.post(s.settingsURL+"/name", url.Values{"name": {"otherstudy"}}).expect(http.StatusUnprocessableEntity,
		`<p class="field-error" id="name-error"><span class="visually-hidden">Error: </span>The name “otherstudy” is already taken; please choose another.</p>`,
		`value="otherstudy"`, `aria-invalid="true"`, "<h1>Project settings</h1>", "Devon Tester")
	b.post(s.settingsURL+"/name", url.Values{"name": {"   "}}).expect(http.StatusUnprocessableEntity, "Please enter a name.")

	b.post(s.settingsURL+"/name", url.Values{"name": {"My Great Study"}}).
		at(s.settingsURL).expect(http.StatusOK, "Project renamed", `value="My Great Study"`, `<p class="eyebrow">My Great Study</p>`)
	// The address stays; every page shows the new name at once.
	b.get(s.studyURL).expect(http.StatusOK, "<h1>My Great Study</h1>")
	b.get("/mediciaaiorg2").expect(http.StatusOK, `<a href="/mediciaaiorg2/mystudy">My Great Study</a>`).lacks(">MyStudy<")
	b.post(s.settingsURL+"/name", url.Values{"name": {"My Great Study"}}).at(s.settingsURL).expect(http.StatusOK, "nothing changed")
	// The old name is free again.
	s.as(s.otherCoordinator).post("/mediciaaiorg2/otherstudy/settings/name", url.Values{"name": {"MyStudy"}}).
		at("/mediciaaiorg2/otherstudy/settings").expect(http.StatusOK, "Project renamed")
}

// The seven global-only roles are given on all projects, by an admin: never on one project.
func TestAGlobalOnlyRoleCannotBeGivenOnAProject(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := setUpMyStudy(e)

	coordinator := s.as(s.coordinator)
	coordinator.get(s.memberURL(s.developer)).expect(http.StatusOK, `value="project_developer"`).
		lacks(`value="core_developer"`, `value="output_checker"`, `value="technical_reviewer"`)
	coordinator.post(s.memberURL(s.developer), tickRoles(domain.ProjectDeveloper, domain.CoreDeveloper)).
		expect(http.StatusUnprocessableEntity,
			`<p class="field-error" id="roles-error"><span class="visually-hidden">Error: </span>Core Developer can only be granted on all projects, by an admin.</p>`,
			"<h1>Devon Tester</h1>", `value="project_developer" checked`)
	coordinator.post(s.memberURL(s.developer), tickRoles("made_up")).expect(http.StatusUnprocessableEntity, "Unknown role")

	admin := s.as(s.admin)
	admin.post(s.settingsURL+"/members", url.Values{"login": {"otto"}, "roles": {"output_checker"}}).
		expect(http.StatusUnprocessableEntity, `id="add-roles-error"`, "Output Checker can only be granted on all projects, by an admin.", `value="otto"`)
	admin.get(s.studyURL).lacks("Otto Tester")
	coordinator.get(s.memberURL(s.developer)).expect(http.StatusOK, `value="project_developer" checked`).lacks("Core Developer")
}

func TestGlobalRolesOfAMemberAreShownButNotEditedOnTheProject(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := setUpMyStudy(e)
	checker := e.user("oscar", domain.OutputChecker)
	s.addMember(s.project, checker, domain.ProjectCollaborator)

	s.as(s.coordinator).get(s.memberURL(checker)).expect(http.StatusOK,
		"Roles on all projects, given by an admin:", `<span class="badge badge-role">Output Checker</span>`,
		`value="project_collaborator" checked`)
}

func TestAnonymousFormsAreSentToLogIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := setUpMyStudy(e)
	b := e.browser()

	rename := b.post(s.settingsURL+"/name", url.Values{"name": {"Anonymous"}}).at("/login")
	b.post(s.memberURL(s.developer)+"/remove", nil).at("/login")
	s.as(s.developer).get(s.studyURL).expect(http.StatusOK, "<h1>MyStudy</h1>", "Devon Tester")

	// Once logged in, the form's address leads to the page of the form, to fill in again.
	b.post("/login/dev", url.Values{"user": {s.coordinator}, "next": {rename.url.Query().Get("next")}}).
		at(s.settingsURL).expect(http.StatusOK, `value="MyStudy"`)
	// The remove address opened as a page asks first; the removal happens only from its button.
	b.get(s.memberURL(s.developer)+"/remove").at(s.memberURL(s.developer)+"/remove").expect(http.StatusOK,
		"<h1>Remove Devon Tester</h1>", "Remove Devon Tester from MyStudy?",
		`action="`+s.memberURL(s.developer)+`/remove"`, "Remove Devon Tester from the project")
	b.get(s.studyURL).expect(http.StatusOK, "Devon Tester")
	b.post(s.memberURL(s.developer)+"/remove", nil).at(s.settingsURL).expect(http.StatusOK, "Devon Tester removed from the project")
}
