// Package staff is the staff area is where MediciaSAFELY admins set people up (steps 3 to 5 of the user guide): backends and
// their runner tokens, organisations, projects, the members of each, and the global roles of users.
//
// The whole area needs staff_area_access. Every action needs its own permission as well (backend_manage,
// org_create, project_create, project_membership_add, user_manage): the commands check it, a direct post
// without it gets the 403 page, and the pages leave out the forms of actions the admin may not take.
//
// The area is split by section: search.go (the start page), backends.go, orgs.go, projects.go and users.go.
package staff

import (
	"context"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
)

// Routes mounts the staff area under /staff. Every form posts to the address of the page that shows it, so
// the address bar never holds an address that only answers POST, and a refused form is shown again there;
// every destructive action is a page of its own that asks first, and its button posts to it.
func (a *Handlers) Routes(r chi.Router) {
	r.Route("/staff", func(r chi.Router) {
		r.Use(kit.RequireLogin, a.requireStaff)
		r.Get("/", a.Handle(a.staffIndex))

		backends := a.backends()
		backends.routes(r)
		r.Get("/backends/{id}/rotate-token", a.Handle(backends.confirmRotateRunnerToken))
		r.Post("/backends/{id}/rotate-token", a.Handle(backends.rotateRunnerToken))
		a.orgs().routes(r)

		r.Get("/projects", a.Handle(a.staffProjects))
		r.Post("/projects", a.Handle(a.staffCreateProject))
		r.Get("/projects/{id}", a.Handle(a.staffProject))
		r.Post("/projects/{id}", a.Handle(a.staffAddProjectMember))
		r.Get("/projects/{id}/org", a.Handle(a.staffProjectOrg))
		r.Post("/projects/{id}/org", a.Handle(a.staffAddProjectToOrg))

		r.Get("/users", a.Handle(a.staffUsers))
		r.Get("/users/{id}", a.Handle(a.staffUser))
		r.Post("/users/{id}", a.Handle(a.staffSaveUserRoles))
		r.Get("/users/{id}/roles", a.Handle(a.staffConfirmUserRoles))
		r.Post("/users/{id}/roles", a.Handle(a.staffSetUserRoles))
		r.Get("/users/{id}/forget", a.Handle(a.staffConfirmForgetUser))
		r.Post("/users/{id}/forget", a.Handle(a.staffForgetUser))
	})
}

// staffDenied is what a logged-in user without staff_area_access reads on every staff page.
const staffDenied = "The staff area is for MediciaSAFELY admins."

type staffPermsKey struct{}

// requireStaff lets only holders of staff_area_access in, and keeps their permissions (outside any
// project) in the request for the pages to decide which forms to show.
func (a *Handlers) requireStaff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		perms, err := kit.Permissions(r, a.Queries, "")
		if err != nil {
			a.Fail(w, r, err)
			return
		}
		if !perms.Has(domain.StaffAreaAccess) {
			a.Fail(w, r, domain.Refused(staffDenied))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), staffPermsKey{}, perms)))
	})
}

// staffPerms is what the admin may do outside any project.
func staffPerms(r *http.Request) domain.PermissionSet {
	perms, _ := r.Context().Value(staffPermsKey{}).(domain.PermissionSet)
	return perms
}

// staffCrumbs is the trail Staff area › section › item; the last crumb given is the current page.
func staffCrumbs(trail ...kit.Crumb) []kit.Crumb {
	if len(trail) == 0 {
		return []kit.Crumb{{Label: "Staff area"}}
	}
	return append([]kit.Crumb{{Label: "Staff area", URL: "/staff"}}, trail...)
}

// staffMemberAdded is the flash after an add-member form: an append added them; no append means they
// were a member already.
func staffMemberAdded(added bool, name, where string) string {
	if added {
		return name + " added to " + where
	}
	return name + " was already a member of " + where
}

// staffLookup reads the one thing a staff page is about, by id: a thing that does not exist is the 404 page.
func staffLookup[T any](r *http.Request, id string, read func(context.Context, string) (T, error)) (T, error) {
	v, err := read(r.Context(), id)
	if domain.KindOf(err) == domain.KindNotFound {
		return v, domain.NotFound("")
	}
	return v, err
}

// staffContainsFold reports whether any of the values contains text, ignoring case.
func staffContainsFold(text string, values ...string) bool {
	text = strings.ToLower(text)
	for _, v := range values {
		if strings.Contains(strings.ToLower(v), text) {
			return true
		}
	}
	return false
}
