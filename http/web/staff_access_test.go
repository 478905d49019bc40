package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/mediciasafely/jobserver/domain"
)

func TestAnonymousVisitorsAreSentToLogInForTheStaffArea(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	for _, path := range []string{"/staff", "/staff/backends", "/staff/users/someone"} {
		p := b.get(path).at("/login").expect(http.StatusOK, "Log in with GitHub")
		if next := p.url.Query().Get("next"); next != path {
			t.Errorf("GET %s: sent to log in with next=%q, want %q", path, next, path)
		}
	}
}

// TestOnlyCoreDevelopersMayUseTheStaffArea follows roles.md: Core Developer is the only role with
// staff_area_access, and it also holds every permission the staff area's forms need. Every other role,
// global though it is, gets the 403 page for the pages and for every form, and changes nothing.
func TestOnlyCoreDevelopersMayUseTheStaffArea(t *testing.T) {
	t.Parallel()
	for _, role := range domain.AllRoles() {
		allowed := role == domain.CoreDeveloper
		t.Run(string(role), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			user := e.user("user", role)
			target := e.user("target")
			b := e.browser()
			b.loginAs(user)

			if allowed {
				b.get("/staff").expect(http.StatusOK, "<h1>Staff area</h1>", `<a href="/staff" aria-current="page">Staff area</a>`)
			} else {
				b.get("/staff").expect(http.StatusForbidden, "The staff area is for MediciaSAFELY admins.").lacks(`href="/staff"`)
			}
			for _, path := range []string{"/staff/backends", "/staff/orgs", "/staff/projects", "/staff/users", "/staff/users/" + target} {
				if allowed {
					b.get(path).expect(http.StatusOK)
				} else {
					b.get(path).expect(http.StatusForbidden, "The staff area is for MediciaSAFELY admins.")
				}
			}

			posts := []struct {
				path   string
				form   url.Values
				landed string // the page an allowed post shows
			}{
				{"/staff/backends", url.Values{"name": {"Backend"}, "slug": {"backend"}}, "Copy this token now"},
				{"/staff/orgs", url.Values{"name": {"Some Org"}}, "Organisation Some Org created"},
				{"/staff/projects", url.Values{"name": {"Some Study"}}, "Project Some Study created"},
				{"/staff/users/" + target, url.Values{"roles": {"data_investigator"}}, "Roles of Target Tester saved"},
			}
			for _, post := range posts {
				if allowed {
					b.post(post.path, post.form).expect(http.StatusOK, post.landed)
				} else {
					b.post(post.path, post.form).expect(http.StatusForbidden, "The staff area is for MediciaSAFELY admins.")
				}
			}
			if !allowed {
				if got := globalRoles(t, e, target); len(got) != 0 {
					t.Errorf("a refused post granted %v", got)
				}
			}
		})
	}
}
