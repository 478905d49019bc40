package web_test

import (
	"net/http"
	"regexp"
	"testing"
)

func TestOrganisationPageListsItsProjectsWithTheirMembers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := setUpMyStudy(e)
	elsewhere := s.newOrg("Elsewhere Lab")
	s.newProject("Faraway Study", elsewhere)
	b := s.as(s.outsider)

	org := b.get("/mediciaaiorg2").expect(http.StatusOK,
		"<title>MediciaAIOrg2 · MediciaSAFELY</title>",
		"<h1>MediciaAIOrg2</h1>",
		`<span aria-current="page">MediciaAIOrg2</span>`,
		`<th scope="row"><a href="/mediciaaiorg2/mystudy">MyStudy</a></th>`,
		`<th scope="row"><a href="/mediciaaiorg2/otherstudy">OtherStudy</a></th>`,
	).lacks("Faraway Study")
	// MyStudy has three members, OtherStudy one.
	if !regexp.MustCompile(`MyStudy</a></th>\s*<td class="numeric">3</td>`).MatchString(org.body) ||
		!regexp.MustCompile(`OtherStudy</a></th>\s*<td class="numeric">1</td>`).MatchString(org.body) {
		t.Errorf("member counts missing:\n%s", excerpt(org.body))
	}

	b.get("/elsewhere-lab").expect(http.StatusOK, "Faraway Study").lacks("MyStudy")
	s.newOrg("Empty Lab")
	b.get("/empty-lab").expect(http.StatusOK, "This organisation has no projects yet.")
}

func TestProjectPageShowsItsResearchersWithTheirRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := setUpMyStudy(e)

	s.as(s.developer).get(s.studyURL).expect(http.StatusOK,
		"<title>MyStudy · MediciaSAFELY</title>",
		"<h1>MyStudy</h1>",
		`<li><a href="/mediciaaiorg2">MediciaAIOrg2</a></li>`,
		`<span aria-current="page">MyStudy</span>`,
		`<h2 id="workspaces-heading">Workspaces</h2>`,
		"This project has no workspaces yet.",
		`<h2 id="repositories-heading">Repos</h2>`,
		`<h2 id="researchers-heading">Researchers</h2>`,
		`<img class="avatar" src="https://avatars.example.org/cora" alt=""`,
		`<span class="person-name">Cora Tester</span>`,
		`<span class="person-login muted">cora</span>`,
		`<span class="badge badge-role">Project Coordinator</span>`,
		"Devon Tester", "Colin Tester",
		`<span class="badge badge-role">Project Collaborator</span>`,
	).lacks(
		"Olga Tester", "Otto Tester", // members of the other project, and of none
		`href="/mediciaaiorg2/mystudy/settings"`, // a Developer may not change the settings
	)
}

func TestSettingsButtonShowsForCoordinatorsAndAdminsOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := setUpMyStudy(e)
	settings := `<a class="button button-secondary" href="/mediciaaiorg2/mystudy/settings">Settings</a>`

	s.as(s.coordinator).get(s.studyURL).expect(http.StatusOK, settings)
	s.as(s.admin).get(s.studyURL).expect(http.StatusOK, settings)
	for _, who := range []string{s.developer, s.collaborator, s.otherCoordinator, s.outsider} {
		s.as(who).get(s.studyURL).expect(http.StatusOK, "<h1>MyStudy</h1>").lacks(settings)
	}
}

func TestUnknownOrganisationsAndProjectsAreNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := setUpMyStudy(e)
	elsewhere := s.newOrg("Elsewhere Lab")
	s.newProject("Faraway Study", elsewhere)
	s.newProject("Homeless Study", "")
	b := s.as(s.admin)

	b.get("/no-such-org").expect(http.StatusNotFound, "There is no organisation called “no-such-org”.")
	b.get("/no-such-org/mystudy").expect(http.StatusNotFound, "Page not found")
	b.get("/mediciaaiorg2/no-such-study").expect(http.StatusNotFound, "There is no project “no-such-study”")
	// A project of another organisation, or of none, is not at this address.
	b.get("/mediciaaiorg2/faraway-study").expect(http.StatusNotFound)
	b.get("/mediciaaiorg2/homeless-study").expect(http.StatusNotFound)
	b.get("/mediciaaiorg2/faraway-study/settings").expect(http.StatusNotFound)
	b.get("/elsewhere-lab/faraway-study").expect(http.StatusOK, "<h1>Faraway Study</h1>")
	// The pages of people who are not members are not found either.
	b.get(s.memberURL(s.outsider)).expect(http.StatusNotFound, "This person is not a member of MyStudy.")
	b.get(s.memberURL("01NOSUCHUSER")).expect(http.StatusNotFound)
}

func TestAddressesMatchWithoutRegardToCaseAndLeadToTheLowerCaseOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := setUpMyStudy(e)
	b := s.as(s.coordinator)

	// The guide's own address, https://demo.mediciaresearch.cloud/mediciaaiorg2/MyStudy.
	b.get("/mediciaaiorg2/MyStudy").expect(http.StatusOK, "<h1>MyStudy</h1>").at("/mediciaaiorg2/mystudy")
	b.get("/MediciaAIOrg2").expect(http.StatusOK, "<h1>MediciaAIOrg2</h1>").at("/mediciaaiorg2")
	b.get("/MediciaAIOrg2/MyStudy/settings").expect(http.StatusOK, "Project settings").at(s.settingsURL)
	b.get("/MediciaAIOrg2/MyStudy/settings/members/"+s.developer).expect(http.StatusOK, "<h1>Devon Tester</h1>").at(s.memberURL(s.developer))
}
