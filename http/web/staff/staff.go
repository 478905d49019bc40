package web

// The staff area is where MediciaSAFELY admins set people up (steps 3 to 5 of the user guide): backends and
// their runner tokens, organisations, projects, the members of each, and the global roles of users.
//
// The whole area needs staff_area_access. Every action needs its own permission as well (backend_manage,
// org_create, project_create, project_membership_add, user_manage): the commands check it, a direct post
// without it gets the 403 page, and the pages leave out the forms of actions the admin may not take.
//
// The area is split by section: staff_search.go (the start page), staff_backends.go, staff_orgs.go,
// staff_projects.go and staff_users.go.

import (
	"context"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/domain"
)

func (a *App) staffRoutes(r chi.Router) {
	r.Route("/staff", func(r chi.Router) {
		r.Use(a.requireLogin, a.requireStaff)
		r.Get("/", a.staffIndex)

		r.Get("/backends", a.staffBackends)
		r.Post("/backends", a.staffCreateBackend)
		r.Get("/backends/{id}", a.staffBackend)
		r.Post("/backends/{id}/rotate-token", a.staffRotateRunnerToken)
		r.Post("/backends/{id}/members", a.staffAddBackendMember)
		r.Post("/backends/{id}/members/{userID}/remove", a.staffRemoveBackendMember)

		r.Get("/orgs", a.staffOrgs)
		r.Post("/orgs", a.staffCreateOrg)
		r.Get("/orgs/{id}", a.staffOrg)
		r.Post("/orgs/{id}/members", a.staffAddOrgMember)
		r.Post("/orgs/{id}/members/{userID}/remove", a.staffRemoveOrgMember)

		r.Get("/projects", a.staffProjects)
		r.Post("/projects", a.staffCreateProject)
		r.Get("/projects/{id}", a.staffProject)
		r.Post("/projects/{id}/org", a.staffAddProjectToOrg)
		r.Post("/projects/{id}/members", a.staffAddProjectMember)

		r.Get("/users", a.staffUsers)
		r.Get("/users/{id}", a.staffUser)
		r.Post("/users/{id}/roles", a.staffSaveUserRoles)
	})
}

// staffDenied is what a logged-in user without staff_area_access reads on every staff page.
const staffDenied = "The staff area is for MediciaSAFELY admins."

type staffPermsKey struct{}

// requireStaff lets only holders of staff_area_access in, and keeps their permissions (outside any
// project) in the request for the pages to decide which forms to show.
func (a *App) requireStaff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		perms, err := a.permissions(r, "")
		if err != nil {
			a.serverError(w, r, err)
			return
		}
		if !perms.Has(domain.StaffAreaAccess) {
			a.forbidden(w, r, staffDenied)
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
func staffCrumbs(trail ...Crumb) []Crumb {
	if len(trail) == 0 {
		return []Crumb{{Label: "Staff area"}}
	}
	return append([]Crumb{{Label: "Staff area", URL: "/staff"}}, trail...)
}

// staffForm is a form as a staff page shows it: what was entered, and the message beside each field a post
// got wrong. Templates read .Values.name and .Errors.name; both are empty on a fresh form.
type staffForm struct {
	Values map[string]string
	Errors map[string]string
}

// staffPostedForm reads the named fields of a post, trimmed.
func staffPostedForm(r *http.Request, fields ...string) staffForm {
	f := staffForm{Values: map[string]string{}}
	for _, name := range fields {
		f.Values[name] = strings.TrimSpace(r.PostFormValue(name))
	}
	return f
}

// invalid returns the form with one field's message set.
func (f staffForm) invalid(field, message string) staffForm {
	f.Errors = map[string]string{field: message}
	return f
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
func staffLookup[T any](a *App, w http.ResponseWriter, r *http.Request, id string,
	read func(context.Context, string) (T, error)) (T, bool) {
	v, err := read(r.Context(), id)
	if domain.KindOf(err) == domain.KindNotFound {
		a.notFound(w, r)
		return v, false
	}
	if err != nil {
		a.serverError(w, r, err)
		return v, false
	}
	return v, true
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
