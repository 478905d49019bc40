package web

import (
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/domain"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// pageRoutes mounts the pages of steps 3 to 7 of the user guide: the home page, the backends the user is a
// member of, organisations, projects and their settings.
//
// Organisations live at /{org}, so these routes come last in chi's eyes: a fixed path such as /status or
// /staff always wins over {org}. A first segment that can never be an organisation's slug (a reserved word,
// /favicon.ico) is answered 404 at once rather than sending an anonymous visitor to log in first.
func (a *App) pageRoutes(r chi.Router) {
	r.Get("/", a.homePage)
	r.With(a.requireLogin).Get("/status", a.statusPage)

	org := r.With(a.orgSlugOnly, a.requireLogin)
	org.Get("/{org}", a.orgPage)
	org.Get("/{org}/{project}", a.projectPage)
	org.Get("/{org}/{project}/settings", a.projectSettingsPage)
	org.Post("/{org}/{project}/settings/name", a.renameProject)
	org.Post("/{org}/{project}/settings/members", a.addProjectMember)
	org.Get("/{org}/{project}/settings/members/{userID}", a.projectMemberPage)
	org.Post("/{org}/{project}/settings/members/{userID}", a.changeProjectMemberRoles)
	org.Post("/{org}/{project}/settings/members/{userID}/remove", a.removeProjectMember)
	// A form's address opened as a page (the login that follows an expired session leads there) goes on to
	// the page that holds the form.
	org.Get("/{org}/{project}/settings/name", toFormPage)
	org.Get("/{org}/{project}/settings/members", toFormPage)
	org.Get("/{org}/{project}/settings/members/{userID}/remove", toFormPage)
}

// toFormPage redirects from a form's address to the page one level up, where the form is.
func toFormPage(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, path.Dir(r.URL.Path), http.StatusSeeOther)
}

// orgSlugOnly answers 404 for a first path segment that cannot be an organisation's slug.
func (a *App) orgSlugOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if domain.ValidateSlug("org", strings.ToLower(chi.URLParam(r, "org")), true) != nil {
			a.notFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// orgURL is the address of an organisation's page.
func orgURL(slug string) string { return "/" + slug }

// projectURL is the address of a project's page; "" for a project in no organisation, which has no page.
func projectURL(p identityviews.Project) string {
	if p.OrgSlug == "" {
		return ""
	}
	return "/" + p.OrgSlug + "/" + p.Slug
}

// loadOrg reads the organisation at /{org}. When it is missing, or reading fails, it answers the request
// and returns false.
func (a *App) loadOrg(w http.ResponseWriter, r *http.Request) (identityviews.Org, bool) {
	slug := chi.URLParam(r, "org")
	o, err := a.Queries.OrgBySlug(r.Context(), slug)
	if domain.KindOf(err) == domain.KindNotFound {
		a.renderer.Error(w, r, http.StatusNotFound, "There is no organisation called \u201c"+slug+"\u201d. Check the address, or start again from the home page.")
		return o, false
	}
	if err != nil {
		a.serverError(w, r, err)
		return o, false
	}
	return o, true
}

// loadProject reads the project at /{org}/{project}, the slugs matched without regard to case. A project in
// another organisation is missing here. When it is missing, or reading fails, it answers the request and
// returns false.
func (a *App) loadProject(w http.ResponseWriter, r *http.Request) (identityviews.Project, bool) {
	orgSlug, slug := chi.URLParam(r, "org"), chi.URLParam(r, "project")
	p, err := a.Queries.ProjectInOrg(r.Context(), orgSlug, slug)
	if domain.KindOf(err) == domain.KindNotFound {
		a.renderer.Error(w, r, http.StatusNotFound, "There is no project \u201c"+slug+"\u201d in the organisation \u201c"+orgSlug+"\u201d. Check the address, or start again from the home page.")
		return p, false
	}
	if err != nil {
		a.serverError(w, r, err)
		return p, false
	}
	return p, true
}

// redirectToCanonical sends a GET for /MediciaAIOrg2/MyStudy on to /mediciaaiorg2/mystudy, so every page has
// one address; it reports whether it did. Other methods are served where they are.
func redirectToCanonical(w http.ResponseWriter, r *http.Request, canonical string) bool {
	if r.Method != http.MethodGet || r.URL.Path == canonical {
		return false
	}
	target := url.URL{Path: canonical, RawQuery: r.URL.RawQuery}
	http.Redirect(w, r, target.String(), http.StatusMovedPermanently)
	return true
}
