package web_test

import (
	"net/http"
	"net/url"
	"strings"
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
		`href="/mediciaaiorg2/mystudy/settings/members/`+s.collaborator+`/remove">Remove<span class="visually-hidden"> Colin Tester from the project</span></a>`,
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
		`<a class="button button-danger" href="/mediciaaiorg2/mystudy/settings/members/`+s.developer+`/remove">Remove Devon Tester from the project</a>`,
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
	b.post(s.settingsURL, addMemberForm("otto", string(domain.ProjectDeveloper))).
		expect(http.StatusForbidden, "Only admins can add members to a project.")
	b.post(s.settingsURL, addMemberForm("nobody-here")).expect(http.StatusForbidden)
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
	b.post(s.settingsURL, renameForm("Hijacked")).expect(http.StatusForbidden, "Only a Project Coordinator of this project or a MediciaSAFELY admin can change its settings.")
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
	b.post(s.settingsURL, addMemberForm("Otto", "project_collaborator", "project_developer")).
		at(s.settingsURL).expect(http.StatusOK, "Otto Tester added to the project", "Otto Tester</span></th>")
	b.get(s.studyURL).expect(http.StatusOK, "Otto Tester")
	b.get(s.memberURL(s.outsider)).expect(http.StatusOK, `value="project_collaborator" checked`, `value="project_developer" checked`).
		lacks(`value="project_coordinator" checked`)
	s.as(s.outsider).get("/").expect(http.StatusOK, `<a href="/mediciaaiorg2/mystudy">MyStudy</a>`, "Project Developer")

	// Someone who has never logged in, or nobody at all, is named beside the login field.
	b.post(s.settingsURL, addMemberForm("ghost", "project_developer")).
		expect(http.StatusUnprocessableEntity,
			`<p class="field-error" id="login-error"><span class="visually-hidden">Error: </span>Nobody with the GitHub login “ghost” has logged in to MediciaSAFELY yet.`,
			`value="ghost"`, `aria-invalid="true"`, `value="project_developer" checked`)
	b.post(s.settingsURL, addMemberForm("")).
		expect(http.StatusUnprocessableEntity, "Please enter the GitHub login of the person to add.")
	// A member already there is changed on their own page, not added twice.
	b.post(s.settingsURL, addMemberForm("devon", "project_coordinator")).
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
	b.post(s.settingsURL, renameForm("otherstudy")).expect(http.StatusUnprocessableEntity,
		`<p class="field-error" id="name-error"><span class="visually-hidden">Error: </span>The name “otherstudy” is already taken; please choose another.</p>`,
		`value="otherstudy"`, `aria-invalid="true"`, "<h1>Project settings</h1>", "Devon Tester")
	b.post(s.settingsURL, renameForm("   ")).expect(http.StatusUnprocessableEntity, "Please enter a name.")

	b.post(s.settingsURL, renameForm("My Great Study")).
		at(s.settingsURL).expect(http.StatusOK, "Project renamed", `value="My Great Study"`, `<p class="eyebrow">My Great Study</p>`)
	// The address stays; every page shows the new name at once.
	b.get(s.studyURL).expect(http.StatusOK, "<h1>My Great Study</h1>")
	b.get("/mediciaaiorg2").expect(http.StatusOK, `<a href="/mediciaaiorg2/mystudy">My Great Study</a>`).lacks(">MyStudy<")
	b.post(s.settingsURL, renameForm("My Great Study")).at(s.settingsURL).expect(http.StatusOK, "nothing changed")
	// The old name is free again.
	s.as(s.otherCoordinator).post("/mediciaaiorg2/otherstudy/settings", renameForm("MyStudy")).
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
	admin.post(s.settingsURL, addMemberForm("otto", "output_checker")).
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

	rename := b.post(s.settingsURL, renameForm("Anonymous")).at("/login")
	b.post(s.memberURL(s.developer)+"/remove", nil).at("/login")
	s.as(s.developer).get(s.studyURL).expect(http.StatusOK, "<h1>MyStudy</h1>", "Devon Tester")

	// Once logged in, the form's address is the page of the form, to fill in again.
	b.post("/login/dev", url.Values{"user": {s.coordinator}, "next": {rename.url.Query().Get("next")}}).
		at(s.settingsURL).expect(http.StatusOK, `value="MyStudy"`)
	// The remove address opened as a page asks first; the removal happens only from its button.
	b.get(s.memberURL(s.developer)+"/remove").at(s.memberURL(s.developer)+"/remove").expect(http.StatusOK,
		"<h1>Remove Devon Tester</h1>", "Remove Devon Tester from MyStudy?",
		`action="`+s.memberURL(s.developer)+`/remove"`, "Remove Devon Tester from the project")
	b.get(s.studyURL).expect(http.StatusOK, "Devon Tester")
	b.post(s.memberURL(s.developer)+"/remove", nil).at(s.settingsURL).expect(http.StatusOK, "Devon Tester removed from the project")
}

// Removing a member asks first, on a page of its own that says what will happen; the Remove buttons of the
// settings page and of the member's page are links to it, and nothing is removed until its button is used.
func TestRemovingAMemberAsksFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := setUpMyStudy(e)
	b := s.as(s.coordinator)
	confirm := s.memberURL(s.collaborator) + "/remove"

	b.get(s.settingsURL).expect(http.StatusOK, `href="`+confirm+`">Remove<span class="visually-hidden"> Colin Tester from the project</span></a>`).
		lacks(`action="` + confirm + `"`)
	b.get(s.memberURL(s.collaborator)).expect(http.StatusOK, `href="`+confirm+`">Remove Colin Tester from the project</a>`).
		lacks(`action="` + confirm + `"`)
	b.get(confirm).at(confirm).expect(http.StatusOK,
		"<title>Remove Colin Tester · MediciaSAFELY</title>",
		"<h1>Remove Colin Tester</h1>",
		"Remove Colin Tester from MyStudy?",
		"Colin Tester loses every role in this project and can no longer see it. An admin can add them again.",
		`<form method="post" action="`+confirm+`"`,
		`<button type="submit" class="button button-danger">Remove Colin Tester from the project</button>`,
		`href="`+s.memberURL(s.collaborator)+`">Cancel</a>`,
	)
	b.get(s.studyURL).expect(http.StatusOK, "Colin Tester")
	b.post(confirm, nil).at(s.settingsURL).expect(http.StatusOK, "Colin Tester removed from the project")
	b.get(s.studyURL).lacks("Colin Tester")
	// The page of someone who is no longer a member is not found, nor is the question.
	b.get(confirm).expect(http.StatusNotFound, "This person is not a member of MyStudy.")

	// Those who may not change the members are not asked.
	s.as(s.developer).get(s.memberURL(s.coordinator)+"/remove").expect(http.StatusForbidden, noMembers)
}

const noMembers = "Only a Project Coordinator of this project or a MediciaSAFELY admin can change its members."

// Every address a form of the project's pages posts to is a page too (GET 200), so the address bar never
// holds an address that answers 405; a form shown again with its errors (422) is at its page's address; and
// every post that works answers 303.
func TestEveryProjectFormPostsToTheAddressOfItsPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := setUpMyStudy(e)
	b := s.as(s.admin)

	pages := []string{s.settingsURL, s.memberURL(s.developer), s.memberURL(s.developer) + "/remove"}
	for _, page := range pages {
		p := b.get(page).expect(http.StatusOK)
		actions := formAction.FindAllStringSubmatch(p.body, -1)
		for _, a := range actions {
			if a[1] == "/logout" {
				continue
			}
			if a[1] != page {
				t.Errorf("a form of %s posts to %s", page, a[1])
			}
			b.get(a[1]).expect(http.StatusOK).at(a[1])
		}
	}
	// Shown again with its errors, each form is at the address of its page.
	b.post(s.settingsURL, renameForm("OtherStudy")).expect(http.StatusUnprocessableEntity, `id="name-error"`).at(s.settingsURL)
	b.post(s.settingsURL, addMemberForm("ghost")).expect(http.StatusUnprocessableEntity, `id="login-error"`).at(s.settingsURL)
	b.post(s.memberURL(s.developer), tickRoles("made_up")).expect(http.StatusUnprocessableEntity, "Unknown role").at(s.memberURL(s.developer))
	// A post that names no form of the page is refused.
	b.post(s.settingsURL, url.Values{"name": {"Nameless"}}).expect(http.StatusUnprocessableEntity)
	// The addresses the forms used to post to lead to the page of the form.
	b.get(s.settingsURL+"/name").expect(http.StatusOK, "<h1>Project settings</h1>").at(s.settingsURL)
	b.get(s.settingsURL+"/members").expect(http.StatusOK, "<h1>Project settings</h1>").at(s.settingsURL)

	for _, post := range []struct {
		path string
		form url.Values
	}{
		{s.settingsURL, renameForm("My Study")},
		{s.settingsURL, addMemberForm("otto", "project_developer")},
		{s.memberURL(s.outsider), tickRoles(domain.ProjectCollaborator)},
		{s.memberURL(s.outsider) + "/remove", nil},
	} {
		if status, location := b.postWithoutFollowing(post.path, post.form); status != http.StatusSeeOther || location != s.settingsURL {
			t.Errorf("POST %s %v: %d to %q, want 303 to the settings", post.path, post.form, status, location)
		}
	}
}

// postWithoutFollowing posts a form as post does, and returns the status and Location of the answer itself.
func (b *browser) postWithoutFollowing(path string, form url.Values) (int, string) {
	b.t.Helper()
	b.get(path) // the page of the form, for a fresh CSRF token
	if form == nil {
		form = url.Values{}
	}
	form.Set("gorilla.csrf.Token", b.csrf)
	client := *b.client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequest(http.MethodPost, b.env.server.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}
