// Package projects is organisations and projects as their members see them: /{org}, /{org}/{project}, and
// the project's settings and members.
package projects

import (
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// pageRoutes mounts the pages of steps 3 to 7 of the user guide: the home page, the backends the user is a
// member of, organisations, projects and their settings.
//
// Organisations live at /{org}, so these routes come last in chi's eyes: a fixed path such as /status or
// /staff always wins over {org}. A first segment that can never be an organisation's slug (a reserved word,
// /favicon.ico) is answered 404 at once rather than sending an anonymous visitor to log in first.
func (a *Handlers) Routes(r chi.Router) {
	org := r.With(a.orgSlugOnly, kit.RequireLogin)
	org.Get("/{org}", a.Handle(a.orgPage))
	org.Get("/{org}/{project}", a.Handle(a.projectPage))
	org.Get("/{org}/{project}/settings", a.Handle(a.projectSettingsPage))
	org.Post("/{org}/{project}/settings/name", a.Handle(a.renameProject))
	org.Post("/{org}/{project}/settings/members", a.Handle(a.addProjectMember))
	org.Get("/{org}/{project}/settings/members/{userID}", a.Handle(a.projectMemberPage))
	org.Post("/{org}/{project}/settings/members/{userID}", a.Handle(a.changeProjectMemberRoles))
	org.Post("/{org}/{project}/settings/members/{userID}/remove", a.Handle(a.removeProjectMember))
	// A form's address opened as a page (the login that follows an expired session leads there) goes on to
	// the page that holds the form.
	org.Get("/{org}/{project}/settings/name", toFormPage)
	org.Get("/{org}/{project}/settings/members", toFormPage)
	org.Get("/{org}/{project}/settings/members/{userID}/remove", a.Handle(a.confirmRemoveProjectMember))
}

// toFormPage redirects from a form's address to the page one level up, where the form is.
func toFormPage(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, path.Dir(r.URL.Path), http.StatusSeeOther)
}

// orgSlugOnly answers 404 for a first path segment that cannot be an organisation's slug.
func (a *Handlers) orgSlugOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if domain.ValidateSlug("org", strings.ToLower(chi.URLParam(r, "org")), true) != nil {
			a.Renderer.Error(w, r, http.StatusNotFound, "")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func orgURL(slug string) string                 { return kit.OrgURL(slug) }
func projectURL(p identityviews.Project) string { return kit.ProjectURL(p) }

// loadOrg reads the organisation at /{org}.
func (a *Handlers) loadOrg(r *http.Request) (identityviews.Org, error) {
	slug := chi.URLParam(r, "org")
	o, err := a.Queries.OrgBySlug(r.Context(), slug)
	if domain.KindOf(err) == domain.KindNotFound {
		return o, domain.NotFound("There is no organisation called \u201c" + slug + "\u201d. Check the address, or start again from the home page.")
	}
	return o, err
}

// loadProject reads the project at /{org}/{project}, the slugs matched without regard to case. A project in
// another organisation is missing here.
func (a *Handlers) loadProject(r *http.Request) (identityviews.Project, error) {
	orgSlug, slug := chi.URLParam(r, "org"), chi.URLParam(r, "project")
	p, err := a.Queries.ProjectInOrg(r.Context(), orgSlug, slug)
	if domain.KindOf(err) == domain.KindNotFound {
		return p, domain.NotFound("There is no project \u201c" + slug + "\u201d in the organisation \u201c" + orgSlug + "\u201d. Check the address, or start again from the home page.")
	}
	return p, err
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
