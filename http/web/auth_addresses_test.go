package web_test

import (
	"net/http"
	"testing"
)

// TestTheLoginFormsAddressesOpenTheLoginPage: the addresses the login and logout forms post to answer a GET
// (a reload, a bookmark) with the login page, never 405.
func TestTheLoginFormsAddressesOpenTheLoginPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	for _, path := range []string{"/login/github", "/login/dev", "/logout?next=/status"} {
		b.get(path).expect(http.StatusOK, "Log in").at("/login")
	}
}
