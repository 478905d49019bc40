package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mediciasafely/jobserver/domain"
)

// createdID is the id at the end of the page a creation led to, such as /staff/orgs/<id>.
func (p *page) createdID(prefix string) string {
	p.t.Helper()
	id, ok := strings.CutPrefix(p.url.Path, prefix)
	if !ok || id == "" || strings.Contains(id, "/") {
		p.t.Fatalf("ended at %s, want %s<id>", p.url.Path, prefix)
	}
	return id
}

func TestAdminCreatesAnOrganisationAndAddsAMember(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.user("ada", domain.CoreDeveloper)
	bob := e.user("bob")
	b := e.browser()
	b.loginAs(admin)
	b.get("/staff/orgs").expect(http.StatusOK, "<h1>Organisations</h1>", "No organisations yet.", "Create an organisation")

	// Organisations live at /<slug>, so the words the site uses itself are refused.
	b.post("/staff/orgs", url.Values{"name": {"Status Org"}, "slug": {"status"}}).
		expect(http.StatusUnprocessableEntity, "“status” is a reserved word; please choose another slug.", `id="slug-error"`,
			`aria-invalid="true"`, `value="Status Org"`)

	p := b.post("/staff/orgs", url.Values{"name": {"Medicia AI Org"}}).expect(http.StatusOK, "Organisation Medicia AI Org created",
		"<h1>Medicia AI Org</h1>", `href="/medicia-ai-org"`, "No projects in this organisation yet.", "No members yet.")
	org := p.createdID("/staff/orgs/")
	b.post("/staff/orgs", url.Values{"name": {"Another"}, "slug": {"medicia-ai-org"}}).
		expect(http.StatusUnprocessableEntity, "The slug “medicia-ai-org” is already taken", `id="slug-error"`)

	// The add-member form posts to the organisation's own page, where a refusal is shown again.
	page := "/staff/orgs/" + org
	b.post(page, url.Values{"login": {"carol"}}).at(page).
		expect(http.StatusUnprocessableEntity, "Nobody with the GitHub login \u201ccarol\u201d has logged in", `id="login-error"`)
	b.post(page, url.Values{"login": {"bob"}}).at(page).
		expect(http.StatusOK, "Bob Tester added to Medicia AI Org", `href="/staff/users/`+bob+`"`)
	b.post(page, url.Values{"login": {"bob"}}).expect(http.StatusOK, "Bob Tester was already a member of Medicia AI Org")
	b.get("/staff/orgs").expect(http.StatusOK, `href="/staff/orgs/`+org+`"`, "medicia-ai-org")
	b.get("/staff/users/"+bob).expect(http.StatusOK, `href="/staff/orgs/`+org+`">Medicia AI Org</a>`)

	// Remove asks first, saying what happens; asking removes nobody.
	remove := page + "/members/" + bob + "/remove"
	b.get(page).expect(http.StatusOK, `href="`+remove+`">Remove<span`)
	b.get(remove).expect(http.StatusOK, "Remove Bob Tester from Medicia AI Org?",
		"Bob Tester is no longer a member of this organisation.", `<form method="post" action="`+remove+`"`)
	if mine, _ := e.queries.OrgsOfUser(context.Background(), bob); len(mine) != 1 {
		t.Fatal("the page that asks removed the member")
	}
	b.post(remove, nil).at(page).
		expect(http.StatusOK, "Bob Tester removed from Medicia AI Org", "No members yet.")
	if mine, _ := e.queries.OrgsOfUser(context.Background(), bob); len(mine) != 0 {
		t.Fatalf("bob is still a member of %v", mine)
	}
	b.get(remove).expect(http.StatusNotFound)
	b.get("/staff/orgs/no-such-org").expect(http.StatusNotFound)
}

func TestAdminCreatesAProjectAddsItToAnOrganisationAndAddsAMember(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.user("ada", domain.CoreDeveloper)
	bob := e.user("bob")
	b := e.browser()
	b.loginAs(admin)
	org := b.post("/staff/orgs", url.Values{"name": {"Medicia AI Org"}}).expect(http.StatusOK).createdID("/staff/orgs/")

	b.get("/staff/projects").expect(http.StatusOK, "<h1>Projects</h1>", "No projects yet.", "Create a project",
		`<option value="`+org+`">Medicia AI Org (medicia-ai-org)</option>`)
	b.post("/staff/projects", url.Values{"name": {""}}).expect(http.StatusUnprocessableEntity, `id="name-error"`)
	p := b.post("/staff/projects", url.Values{"name": {"My Study"}, "slug": {"mystudy"}}).
		expect(http.StatusOK, "Project My Study created", "<h1>My Study</h1>", "Not in an organisation",
			"<h2 id=\"add-to-org-heading\">Add to organisation</h2>")
	project := p.createdID("/staff/projects/")
	b.get("/staff/projects").expect(http.StatusOK, `href="/staff/projects/`+project+`"`, "not in an organisation")

	// Before its organisation, the project has no page of its own.
	// The form that puts it in one has a page of its own; no choice is refused by the command, on that page.
	b.get("/staff/projects/"+project).expect(http.StatusOK, `href="/staff/projects/`+project+`/org"`).lacks(`href="/medicia-ai-org/mystudy"`)
	b.get("/staff/projects/"+project+"/org").expect(http.StatusOK, "Add My Study to an organisation",
		`<form class="card" method="post" action="/staff/projects/`+project+`/org"`, `<option value="`+org+`">Medicia AI Org (medicia-ai-org)</option>`)
	b.post("/staff/projects/"+project+"/org", url.Values{"org_id": {""}}).at("/staff/projects/"+project+"/org").
		expect(http.StatusUnprocessableEntity, "Please choose an organisation.", `id="org_id-error"`)
	b.post("/staff/projects/"+project+"/org", url.Values{"org_id": {org}}).at("/staff/projects/"+project).
		expect(http.StatusOK, "Project My Study added to Medicia AI Org", `href="/medicia-ai-org/mystudy"`,
			`href="/medicia-ai-org/mystudy/settings"`, `href="/staff/orgs/`+org+`">Medicia AI Org</a>`).
		lacks("add-to-org-heading")
	b.get("/staff/orgs/"+org).expect(http.StatusOK, `href="/staff/projects/`+project+`">My Study</a>`, `href="/medicia-ai-org/mystudy"`)

	// Only the three project roles are offered, and only they can be given.
	b.get("/staff/projects/"+project).expect(http.StatusOK, "<legend>Roles in this project</legend>",
		`value="project_collaborator"`, `value="project_coordinator"`, `value="project_developer"`).
		lacks(`value="core_developer"`, `value="output_checker"`)
	// The add-member form posts to the project's own page, where a refusal is shown again.
	b.get("/staff/projects/"+project).expect(http.StatusOK, `<form class="card" method="post" action="/staff/projects/`+project+`"`)
	b.post("/staff/projects/"+project, url.Values{"login": {"bob"}, "roles": {"core_developer"}}).at("/staff/projects/"+project).
		expect(http.StatusUnprocessableEntity, "Core Developer can only be granted on all projects, by an admin.", `id="member-roles-error"`)
	b.post("/staff/projects/"+project, url.Values{"login": {"nobody"}, "roles": {"project_developer"}}).
		expect(http.StatusUnprocessableEntity, "Nobody with the GitHub login \u201cnobody\u201d has logged in", `id="login-error"`,
			`value="project_developer" checked`)

	b.post("/staff/projects/"+project, url.Values{"login": {"bob"}, "roles": {"project_coordinator", "project_developer"}}).
		at("/staff/projects/"+project).
		expect(http.StatusOK, "Bob Tester added to project My Study", `href="/staff/users/`+bob+`">Bob Tester</a>`,
			`<span class="badge badge-role">Project Coordinator</span>`, `<span class="badge badge-role">Project Developer</span>`).
		lacks(`<span class="badge badge-role">Project Collaborator</span>`)
	b.post("/staff/projects/"+project, url.Values{"login": {"bob"}, "roles": {"project_collaborator"}}).
		expect(http.StatusUnprocessableEntity, "This user is already a member of the project; change their roles instead.", `id="login-error"`)
	b.get("/staff/users/"+bob).expect(http.StatusOK, `href="/staff/projects/`+project+`">My Study</a>`, "Project Coordinator")

	b.get("/staff/projects/no-such-project").expect(http.StatusNotFound)
}
