package web_test

import (
	"net/http"
	"testing"
)

// TestAdminForgetsAUserAfterAskingAndEveryPageShowsAForgottenUser: the staff page asks first, saying what
// is lost; forgetting ends the person's sessions, and their name and addresses are on no page any more.
func TestAdminForgetsAUserAfterAskingAndEveryPageShowsAForgottenUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := setUpMyStudy(e)
	admin, devon := s.as(s.admin), s.as(s.developer)
	page := "/staff/users/" + s.developer
	admin.get(page).expect(http.StatusOK, "<h1>Devon Tester</h1>", `href="`+page+`/forget">Forget this user</a>`)
	s.as(s.coordinator).get(s.settingsURL).expect(http.StatusOK, "Devon Tester")

	// Asking forgets nothing.
	admin.get(page+"/forget").at(page+"/forget").expect(http.StatusOK, "Forget Devon Tester for good?",
		"their name, e-mail addresses and GitHub login", `<form method="post" action="`+page+`/forget"`, `href="`+page+`">Cancel</a>`)
	devon.get("/settings").at("/settings").expect(http.StatusOK, `value="devon@example.org"`)

	admin.post(page+"/forget", nil).at(page).expect(http.StatusOK, "The user was forgotten", "<h1>forgotten user</h1>",
		"This user was forgotten").lacks("Devon Tester", "devon@example.org", "Forget this user")
	admin.get("/staff/users").expect(http.StatusOK, "forgotten user").lacks("Devon Tester")
	s.as(s.coordinator).get(s.settingsURL).expect(http.StatusOK, "forgotten user").lacks("Devon Tester", "devon@example.org")
	// Their sessions ended: nobody acts as them any more.
	devon.get("/settings").at("/login")
	// Asking again about a forgotten user leads back to their page.
	admin.get(page + "/forget").at(page)

	// The last Core Developer is not forgotten: the refusal says why.
	admin.post("/staff/users/"+s.admin+"/forget", nil).expect(http.StatusForbidden, "Ada Tester is the last Core Developer")
	admin.get("/staff/users/"+s.admin).expect(http.StatusOK, "<h1>Ada Tester</h1>")
}
