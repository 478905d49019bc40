package web_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/mediciasafely/jobserver/domain"
)

func TestAdminGrantsAndRevokesGlobalRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.user("ada", domain.CoreDeveloper)
	bob := e.user("bob")
	b := e.browser()
	b.loginAs(admin)

	p := b.get("/staff/users/"+bob).expect(http.StatusOK, "<h1>Bob Tester</h1>", "<legend>Roles of Bob Tester on every project</legend>",
		"Not a member of any project.", "Not a member of any organisation.", "Not a member of any backend.")
	for _, role := range domain.AllRoles() {
		p.expect(http.StatusOK, `name="roles" value="`+string(role)+`"`, `>`+role.DisplayName()+`</label>`)
	}

	// The roles form posts to the user's own page; granting alone is saved at once.
	page := "/staff/users/" + bob
	b.get(page).expect(http.StatusOK, `<form class="card" method="post" action="`+page+`"`)
	b.post(page, url.Values{"roles": {"output_checker", "project_developer"}}).at(page).
		expect(http.StatusOK, "Roles of Bob Tester saved", `value="output_checker" checked`, `value="project_developer" checked`,
			`value="core_developer" aria-describedby`)
	if got := globalRoles(t, e, bob); !slices.Equal(got, []domain.Role{domain.OutputChecker, domain.ProjectDeveloper}) {
		t.Fatalf("bob's global roles = %v", got)
	}
	b.get("/staff/users").expect(http.StatusOK, `<span class="badge badge-role">Output Checker</span>`)

	// Taking a role away asks first, naming the role and what it allowed; asking takes nothing away.
	confirm := b.post(page, url.Values{"roles": {"project_developer"}}).at(page+"/roles").
		expect(http.StatusOK, "Take these global roles away from Bob Tester?", "<li>Output Checker: ",
			"Bob Tester loses these roles on every project at once", "keeps or gains: Project Developer.",
			`<form method="post" action="`+page+`/roles"`, `<input type="hidden" name="roles" value="project_developer">`,
			`href="`+page+`">Cancel</a>`)
	if confirm.url.Query().Get("roles") != "project_developer" {
		t.Fatalf("the page that asks is at %s, want the roles in its address", confirm.url)
	}
	if got := globalRoles(t, e, bob); !slices.Equal(got, []domain.Role{domain.OutputChecker, domain.ProjectDeveloper}) {
		t.Fatalf("the page that asks changed bob's roles to %v", got)
	}
	b.post(page+"/roles", url.Values{"roles": {"project_developer"}}).at(page).
		expect(http.StatusOK, "Roles of Bob Tester saved", `value="output_checker" aria-describedby`, `value="project_developer" checked`)
	if got := globalRoles(t, e, bob); !slices.Equal(got, []domain.Role{domain.ProjectDeveloper}) {
		t.Fatalf("after the revocation bob's global roles = %v", got)
	}

	// The command decides which roles exist, on the form's own page.
	b.post(page, url.Values{"roles": {"wizard", "project_developer"}}).at(page).
		expect(http.StatusUnprocessableEntity, "Unknown role \u201cwizard\u201d.")
	b.post(page+"/roles", url.Values{"roles": {"wizard"}}).at(page+"/roles").
		expect(http.StatusUnprocessableEntity, "Unknown role \u201cwizard\u201d.", "Project Developer: ")
	if got := globalRoles(t, e, bob); !slices.Equal(got, []domain.Role{domain.ProjectDeveloper}) {
		t.Fatalf("a refused form changed bob's roles to %v", got)
	}
	b.get("/staff/users/no-such-user").expect(http.StatusNotFound)
}

func globalRoles(t *testing.T, e *env, userID string) []domain.Role {
	t.Helper()
	u, err := e.queries.User(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return u.GlobalRoles
}

func TestAdminSearchesUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.user("ada", domain.CoreDeveloper)
	bob := e.user("bob", domain.OutputChecker)
	carol := e.user("carol")
	b := e.browser()
	b.loginAs(admin)

	b.get("/staff/users").expect(http.StatusOK, "<h1>Users</h1>", `href="/staff/users/`+bob+`"`, `href="/staff/users/`+carol+`"`,
		"bob@example.org", "Core Developer", "Output Checker")
	b.get("/staff/users?q=BOB").expect(http.StatusOK, `href="/staff/users/`+bob+`">bob</a>`, "Bob Tester", "Output Checker").
		lacks(`href="/staff/users/` + carol + `"`)
	b.get("/staff/users?q=carol%40example").expect(http.StatusOK, `href="/staff/users/`+carol+`"`).lacks(`href="/staff/users/` + bob + `"`)
	b.get("/staff/users?q=zzz").expect(http.StatusOK, "No user matches “zzz”.")
}

func TestStaffSearchFindsUsersOrganisationsProjectsAndBackends(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.user("ada", domain.CoreDeveloper)
	rita := e.user("rita")
	b := e.browser()
	b.loginAs(admin)
	b.post("/staff/backends", url.Values{"name": {"Research Backend"}, "slug": {"research-tpp"}}).expect(http.StatusOK)
	org := b.post("/staff/orgs", url.Values{"name": {"Research Org"}}).expect(http.StatusOK).createdID("/staff/orgs/")
	project := b.post("/staff/projects", url.Values{"name": {"Research Study"}, "org_id": {org}}).expect(http.StatusOK).createdID("/staff/projects/")
	b.post("/staff/projects", url.Values{"name": {"Unrelated"}}).expect(http.StatusOK)

	p := b.get("/staff?q=rese").expect(http.StatusOK, "Results for “rese”",
		"<h3>Organisations</h3>", `href="/staff/orgs/`+org+`">Research Org</a>`,
		"<h3>Projects</h3>", `href="/staff/projects/`+project+`">Research Study</a>`, "in Research Org",
		"<h3>Backends</h3>", ">research-tpp</a>").
		lacks("Unrelated", "<h3>Users</h3>")
	backend, err := e.queries.BackendBySlug(context.Background(), "research-tpp")
	if err != nil {
		t.Fatal(err)
	}
	p.expect(http.StatusOK, `href="/staff/backends/`+backend.ID+`"`)

	b.get("/staff?q=RITA").expect(http.StatusOK, "<h3>Users</h3>", `href="/staff/users/`+rita+`">rita</a>`).lacks("<h3>Projects</h3>")
	b.get("/staff?q=nothing-like-this").expect(http.StatusOK, "Nothing matches “nothing-like-this”.")
	b.get("/staff").expect(http.StatusOK, `href="/staff/orgs"`, `href="/staff/projects"`, `href="/staff/users"`).lacks("Results for")
}
