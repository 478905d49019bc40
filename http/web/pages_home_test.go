package web_test

import (
	"net/http"
	"testing"

	"github.com/mediciasafely/jobserver/domain"
)

func TestHomeListsMyProjectsAndAddANewWorkspaceLeadsToMyOrganisation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := setUpMyStudy(e)
	s.addMember(s.newProject("Homeless Study", ""), s.developer, domain.ProjectCollaborator)
	b := s.as(s.developer)

	b.get("/").expect(http.StatusOK,
		"<title>Home · MediciaSAFELY</title>",
		"Your projects",
		`<a href="/mediciaaiorg2/mystudy">MyStudy</a>`,
		`<a href="/mediciaaiorg2">MediciaAIOrg2</a>`,
		`<span class="badge badge-role">Project Developer</span>`,
		// A project that is in no organisation yet has no page to link to.
		`<th scope="row">Homeless Study</th>`,
		"Not in an organisation yet",
		"Your workspaces",
		"You have no workspaces yet.",
		`<a class="button button-primary" href="/mediciaaiorg2">Add a New Workspace</a>`,
	).lacks("OtherStudy", `class="breadcrumbs"`, "Project Coordinator")

	// The guide's step 7: the button leads to the organisation, which lists the project to open.
	b.get("/mediciaaiorg2").expect(http.StatusOK, "<h1>MediciaAIOrg2</h1>", `<a href="/mediciaaiorg2/mystudy">MyStudy</a>`)
}

func TestHomeOffersEveryOrganisationOfAUserInSeveral(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := setUpMyStudy(e)
	s.newOrg("Second Lab", s.developer)

	// Her one project is where the workspace goes: the button leads straight to its form.
	s.as(s.developer).get("/").expect(http.StatusOK,
		`<a class="button button-primary" href="/mediciaaiorg2/mystudy/new-workspace/">Add a New Workspace</a>`,
		"You are in several organisations.",
		`<li><a href="/mediciaaiorg2">MediciaAIOrg2</a></li>`,
		`<li><a href="/second-lab">Second Lab</a></li>`,
	)
}

func TestHomeOfSomeoneInNoOrganisationSaysToAskAnAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	newcomer := e.user("nina")
	b := e.browser()
	b.loginAs(newcomer)

	b.get("/").expect(http.StatusOK,
		"You are not a member of any project yet.",
		"You are not in an organisation yet — ask a MediciaSAFELY admin to add you",
	).lacks("Add a New Workspace</a>")
}

func TestAnonymousVisitorsSeeTheWelcomePageAndMustLogInForTheRest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	setUpMyStudy(e)
	b := e.browser()

	b.get("/").expect(http.StatusOK, "MediciaSAFELY Job Server", "Log in with GitHub").lacks("Your projects")
	for _, path := range []string{"/status", "/mediciaaiorg2", "/mediciaaiorg2/mystudy", "/mediciaaiorg2/mystudy/settings"} {
		sentToLogin(t, b.get(path), path)
	}
	// What can never be an organisation is not worth a login.
	b.get("/favicon.ico").expect(http.StatusNotFound, "Page not found")
	b.get("/status/mystudy").expect(http.StatusNotFound, "Page not found")
}

func TestStatusShowsOnlyTheBackendsIAmAMemberOf(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := setUpMyStudy(e)
	s.newBackend("rcdemo2", "RC Demo 2", s.developer, s.coordinator)
	s.newBackend("tpp", "TPP", s.coordinator)

	s.as(s.developer).get("/status").expect(http.StatusOK,
		"<h1>Status</h1>",
		"<th scope=\"row\">RC Demo 2</th>",
		"<code>rcdemo2</code>",
		"Member since",
		`<time datetime="`,
	).lacks("TPP", "<code>tpp</code>")

	s.as(s.coordinator).get("/status").expect(http.StatusOK, "RC Demo 2", "<code>tpp</code>")

	s.as(s.outsider).get("/status").expect(http.StatusOK,
		"You are not a member of any backend yet — ask an admin").lacks("rcdemo2")
}
