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

// Routes mounts the pages of organisations and projects (steps 5 to 7 of the user guide).
//
// Every form posts to the address of the page that shows it, so a form shown again with its errors (422)
// is at an address that also answers GET: the settings page's forms post to /settings, saying which form
// they are in a hidden field "form"; a member's roles form posts to the member's page; and the removal of a
// member is asked first on a page of its own, .../remove, whose button posts there. A POST answers 303.
//
// Organisations live at /{org}, so these routes come last in chi's eyes: a fixed path such as /status or
// /staff always wins over {org}. A first segment that can never be an organisation's slug (a reserved word,
// /favicon.ico) is answered 404 at once rather than sending an anonymous visitor to log in first.
func (a *Handlers) Routes(r chi.Router) {
	org := r.With(a.orgSlugOnly, kit.RequireLogin)
	org.Get("/{org}", a.Handle(a.orgPage))
	org.Get("/{org}/{project}", a.Handle(a.projectPage))
	org.Get("/{org}/{project}/settings", a.Handle(a.projectSettingsPage))
	org.Post("/{org}/{project}/settings", a.Handle(a.projectSettingsForm))
	org.Get("/{org}/{project}/settings/members/{userID}", a.Handle(a.projectMemberPage))
	org.Post("/{org}/{project}/settings/members/{userID}", a.Handle(a.changeProjectMemberRoles))
	org.Get("/{org}/{project}/settings/members/{userID}/remove", a.Handle(a.confirmRemoveProjectMember))
	org.Post("/{org}/{project}/settings/members/{userID}/remove", a.Handle(a.removeProjectMember))
	// The addresses the settings forms used to post to, opened as pages, lead to the settings page.
	org.Get("/{org}/{project}/settings/name", toFormPage)
	org.Get("/{org}/{project}/settings/members", toFormPage)
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

// viewerID is who is looking at the page.
func viewerID(r *http.Request) string {
	if u := kit.CurrentUserOf(r); u != nil {
		return u.ID
	}
	return ""
}

// orgView reads the view of the organisation at /{org}.
func (a *Handlers) orgView(r *http.Request) (identityviews.OrgPage, error) {
	slug := chi.URLParam(r, "org")
	v, err := a.Queries.OrgPage(r.Context(), slug)
	if domain.KindOf(err) == domain.KindNotFound {
		return v, domain.NotFound("There is no organisation called \u201c" + slug + "\u201d. Check the address, or start again from the home page.")
	}
	return v, err
}

// projectNotFound says which project of which organisation is missing, for a view of a project at
// /{org}/{project} (the slugs matched without regard to case; a project in another organisation is missing
// here).
func projectNotFound(r *http.Request, err error) error {
	if domain.KindOf(err) == domain.KindNotFound {
		return domain.NotFound("There is no project \u201c" + chi.URLParam(r, "project") + "\u201d in the organisation \u201c" +
			chi.URLParam(r, "org") + "\u201d. Check the address, or start again from the home page.")
	}
	return err
}

// projectView reads the view of the project at /{org}/{project} as the user sees it.
func (a *Handlers) projectView(r *http.Request) (identityviews.ProjectPage, error) {
	v, err := a.Queries.ProjectPage(r.Context(), chi.URLParam(r, "org"), chi.URLParam(r, "project"), viewerID(r))
	return v, projectNotFound(r, err)
}

// memberView reads the view of the member at .../settings/members/{userID} as the user sees it.
func (a *Handlers) memberView(r *http.Request) (identityviews.ProjectMemberPage, error) {
	v, err := a.Queries.ProjectMemberPage(r.Context(), chi.URLParam(r, "org"), chi.URLParam(r, "project"),
		chi.URLParam(r, "userID"), viewerID(r))
	return v, projectNotFound(r, err)
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
