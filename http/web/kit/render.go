// Package kit is the page kit every slice of http/web uses: the renderer and its layout, the chrome, flash
// messages, forms, the one mapper from errors to error pages, and the redirect that follows a form.
//
// Every page is a template of a slice (http/web/<slice>/templates/<name>.html) shown inside the kit's
// templates/layout.html,
// which draws the chrome: the top bar, the breadcrumbs, the flash messages and the footer.
// Templates are parsed once, at start-up, from files embedded in the binary.
//
// # Adding a page
//
//  1. Create templates/<name>.html in the slice's package, containing {{define "content"}}…{{end}}, and
//     optionally {{define "head"}}…{{end}} for extra tags in <head>. Open the content with
//     exactly one <h1> and keep headings in order below it.
//  2. Embed the slice's templates and hand them to the renderer (see http/web.NewApp); page names are
//     unique across slices. In the handler call
//     kit.Page(w, req, http.StatusOK, "<name>", kit.View{Title: "…", Crumbs: crumbs, Data: data}).
//  3. Inside the template the dot is the page: .Title, .Crumbs, .Data (the handler's value),
//     and the chrome: .User (nil when anonymous), .Flashes, .CSRFToken, .DevLogin, .Path.
//     Inside {{range}} or {{with}} reach the page through $, e.g. {{$.CSRFToken}}.
//  4. Every POST form carries the token: {{csrfField $.CSRFToken}}. htmx requests get it
//     from the hx-headers attribute the layout puts on <body>.
//  5. Build forms from the partials in templates/partials/, passing their arguments with dict
//     (see below), and lists with nothing in them from "empty".
//  6. Pieces that htmx swaps in, or that several pages of a slice draw, go in the slice's templates/partials/
//     as {{define "<name>"}} (names unique across slices): the page includes
//     them with {{template "<fragment>" $}} and Renderer.Fragment renders them alone. A fragment's dot
//     has the same shape as a page's, with .Data set to the value given to Fragment.
//
// For example:
//
//	{{template "field" (dict "Name" "name" "Label" "Workspace name" "Value" .Data.Name "Error" .Data.Errors.name "Required" true)}}
//	{{template "empty" (dict "Message" "No workspaces yet" "ActionURL" $newURL "ActionLabel" "Create a new workspace")}}
//
// The partials and their arguments:
//   - "field": Name, Label, Value, Type ("text" by default, "textarea" for a text area), Help, Error,
//     Required, Autocomplete, ID (defaults to Name).
//   - "select": Name, Label, Options ([]Option), Placeholder, Help, Error, Required, ID.
//   - "checkboxes": Name, Label (the legend), Options ([]Checkbox), Help, Error, ID.
//   - "field_error": ID, Error; for a hand-made control, with aria-describedby="<ID>-error".
//   - "empty": Message, ActionURL, ActionLabel.
//
// Template functions: asset (versioned static URL), csrfField, dict, join, datetime and timeago
// (time.Time or *time.Time, shown in UTC in a <time> element), hasPrefix, initial, hxHeaders.
// Use the classes of static/app.css (card, table-wrap, page-header, actions, details,
// button button-primary|button-secondary|button-danger, badge badge-role|badge-<status>, …)
// rather than inline styles.
package kit

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"
)

// CurrentUser is the logged-in user as the chrome shows them.
type CurrentUser struct {
	ID, Login, Name, AvatarURL string
	CanSeeStaffArea            bool
	// CanReviewApplications shows the link to the applications' review (application_review or _manage).
	CanReviewApplications bool
	// CanReadAuditLog shows the link to the audit log (audit_log_view).
	CanReadAuditLog bool
}

// Flash is a one-off message shown at the top of the next page.
type Flash struct {
	Kind    string // "success", "info" or "error"
	Message string
}

// Crumb is one step in the breadcrumb trail; the last crumb has URL "" (the current page).
type Crumb struct {
	Label, URL string
}

// Chrome is what every page shows around its content; the server fills it per request.
type Chrome struct {
	User      *CurrentUser // nil when nobody is logged in
	Flashes   []Flash
	CSRFToken string
	DevLogin  bool   // the development login is switched on: every page warns about it
	Path      string // the request path, to mark the current navigation link
	// Past is set on a page drawn as it was at a time (?as_of=): the layout says so (asof.go).
	Past *pastBanner
}

// View is what a handler passes for one page.
type View struct {
	Title  string // the page's own title; " · MediciaSAFELY" is appended
	Crumbs []Crumb
	Data   any // whatever the page template reads as .Data
}

// Option is one choice of the "select" partial.
type Option struct {
	Value, Label string
	Selected     bool
}

// Checkbox is one tick box of the "checkboxes" partial, such as a role to grant.
type Checkbox struct {
	Value, Label, Description string
	Checked                   bool
}

// errorPage is the Data of the "errors" page.
type errorPage struct {
	Status    int
	Heading   string
	Message   string
	Reference string // the request id of an unexpected error, also in the log
}

// templateData is the dot of every template: the chrome and the view, flattened so that
// templates write .User and .Data rather than .Chrome.User and .View.Data.
type templateData struct {
	Chrome
	View
}

//go:embed templates
var embeddedTemplates embed.FS

// errorPageName is the page Renderer.Error shows; it must exist.
const errorPageName = "errors"

// Renderer renders pages inside the layout, htmx fragments and error pages.
// It is safe for concurrent use.
type Renderer struct {
	chrome    func(*http.Request) Chrome
	pages     map[string]*template.Template // by page name, each a layout+partials clone with its page
	fragments *template.Template            // layout and partials only, for Fragment
	logger    *slog.Logger
	now       func() time.Time // the clock of timeago
}

// NewRenderer parses the kit's layout, partials and error page, and the pages of every slice: each of
// slices holds one <name>.html per page at its root. chrome is called once per rendered response to
// fill in the user, flashes and CSRF token of that request. A template that does not
// parse, or a page name two slices both use, is an error here, at start-up, rather than on the first
// request that needs it.
func NewRenderer(chrome func(*http.Request) Chrome, slices ...fs.FS) (*Renderer, error) {
	templates, err := fs.Sub(embeddedTemplates, "templates")
	if err != nil {
		return nil, fmt.Errorf("kit: opening embedded templates: %w", err)
	}
	return newRenderer(templates, chrome, slices...)
}

// newRenderer parses the templates of any file system, so tests can add broken pages.
func newRenderer(templates fs.FS, chrome func(*http.Request) Chrome, slices ...fs.FS) (*Renderer, error) {
	if chrome == nil {
		return nil, errors.New("kit: NewRenderer needs a chrome function")
	}
	r := &Renderer{chrome: chrome, pages: map[string]*template.Template{}, logger: slog.Default(), now: time.Now}

	funcs := templateFuncs(func() time.Time { return r.now() })
	base, err := template.New("").Funcs(funcs).ParseFS(templates, "layout.html", "partials/*.html")
	if err != nil {
		return nil, fmt.Errorf("kit: parsing layout and partials: %w", err)
	}
	if base.Lookup("layout") == nil {
		return nil, errors.New(`kit: layout.html must define "layout"`)
	}
	for _, slice := range slices {
		if err := addSlicePartials(base, funcs, slice); err != nil {
			return nil, err
		}
	}

	if err := r.parsePages(base, templates, "pages/*.html"); err != nil {
		return nil, err
	}
	for _, slice := range slices {
		if err := r.parsePages(base, slice, "*.html"); err != nil {
			return nil, err
		}
	}
	if r.pages[errorPageName] == nil {
		return nil, fmt.Errorf("kit: missing page %s.html, needed for error pages", errorPageName)
	}
	r.fragments = base
	return r, nil
}

// addSlicePartials adds a slice's partials/*.html to base, so every page of the slice can draw them (a
// field several pages show, an htmx fragment). Every page sees them, so a name another template already
// has is an error rather than a silent replacement.
func addSlicePartials(base *template.Template, funcs template.FuncMap, files fs.FS) error {
	names, err := fs.Glob(files, "partials/*.html")
	if err != nil || len(names) == 0 {
		return err
	}
	probe, err := template.New("").Funcs(funcs).ParseFS(files, names...)
	if err != nil {
		return fmt.Errorf("kit: parsing a slice's partials: %w", err)
	}
	for _, t := range probe.Templates() {
		if t.Name() != "" && base.Lookup(t.Name()) != nil {
			return fmt.Errorf("kit: two partials are called %s", t.Name())
		}
	}
	if _, err := base.ParseFS(files, names...); err != nil {
		return fmt.Errorf("kit: parsing a slice's partials: %w", err)
	}
	return nil
}

// parsePages adds the pages matching pattern in files, each on a clone of base.
func (r *Renderer) parsePages(base *template.Template, files fs.FS, pattern string) error {
	pageFiles, err := fs.Glob(files, pattern)
	if err != nil {
		return fmt.Errorf("kit: listing pages: %w", err)
	}
	for _, file := range pageFiles {
		name := strings.TrimSuffix(path.Base(file), ".html")
		if r.pages[name] != nil {
			return fmt.Errorf("kit: two pages are called %s", name)
		}
		// A clone per page, so each page's "content" and "head" replace the layout's own
		// without colliding with other pages. Cloning must happen before base is executed.
		clone, err := base.Clone()
		if err != nil {
			return fmt.Errorf("kit: cloning layout for page %s: %w", name, err)
		}
		parsed, err := clone.ParseFS(files, file)
		if err != nil {
			return fmt.Errorf("kit: parsing page %s: %w", name, err)
		}
		if parsed.Lookup("content") == nil {
			return fmt.Errorf(`kit: page %s must define "content"`, name)
		}
		r.pages[name] = parsed
	}
	return nil
}

// Page renders the named page (templates/pages/<page>.html) inside the layout with the given status.
func (r *Renderer) Page(w http.ResponseWriter, req *http.Request, status int, page string, v View) {
	chrome := r.chromeOf(req)
	tmpl, ok := r.pages[page]
	if !ok {
		r.logger.ErrorContext(req.Context(), "rendering an unknown page", slog.String("page", page))
		r.renderError(w, req, chrome, http.StatusInternalServerError, "")
		return
	}
	if err := r.write(w, req, status, tmpl, "layout", pageData(chrome, v)); err != nil {
		r.logger.ErrorContext(req.Context(), "rendering page", slog.String("page", page), slog.Any("error", err))
		r.renderError(w, req, chrome, http.StatusInternalServerError, "")
	}
}

// Fragment renders one template defined in templates/partials/, without the layout,
// for htmx to swap into the page. Its dot is shaped like a page's, with .Data = data.
func (r *Renderer) Fragment(w http.ResponseWriter, req *http.Request, status int, name string, data any) {
	chrome := r.chromeOf(req)
	if r.fragments.Lookup(name) == nil {
		r.logger.ErrorContext(req.Context(), "rendering an unknown fragment", slog.String("fragment", name))
		r.renderError(w, req, chrome, http.StatusInternalServerError, "")
		return
	}
	if err := r.write(w, req, status, r.fragments, name, pageData(chrome, View{Data: data})); err != nil {
		r.logger.ErrorContext(req.Context(), "rendering fragment", slog.String("fragment", name), slog.Any("error", err))
		r.renderError(w, req, chrome, http.StatusInternalServerError, "")
	}
}

// Error renders the error page for status (400, 403, 404, 500, …) inside the layout.
// message is shown to the user, so it must be safe to read; "" gives the status's usual wording.
func (r *Renderer) Error(w http.ResponseWriter, req *http.Request, status int, message string) {
	r.renderError(w, req, r.chromeOf(req), status, message)
}

// ErrorWithReference renders the 500 page with the reference a person can quote to whoever reads the log.
func (r *Renderer) ErrorWithReference(w http.ResponseWriter, req *http.Request, status int, reference string) {
	r.renderPage(w, req, r.chromeOf(req), status, "", reference)
}

// renderError takes the chrome already read, because reading it may consume the
// session's flashes; a page that fails keeps them for the error page.
func (r *Renderer) renderError(w http.ResponseWriter, req *http.Request, chrome Chrome, status int, message string) {
	r.renderPage(w, req, chrome, status, message, "")
}

func (r *Renderer) renderPage(w http.ResponseWriter, req *http.Request, chrome Chrome, status int, message, reference string) {
	heading, defaultMessage := describeStatus(status)
	if message == "" {
		message = defaultMessage
	}
	view := View{Title: heading, Data: errorPage{Status: status, Heading: heading, Message: message, Reference: reference}}
	if err := r.write(w, req, status, r.pages[errorPageName], "layout", pageData(chrome, view)); err != nil {
		// The error page itself is broken: plain text is all that is left, and still no details.
		r.logger.ErrorContext(req.Context(), "rendering error page", slog.Int("status", status), slog.Any("error", err))
		http.Error(w, heading, status)
	}
}

// chromeOf is the chrome of the request's page, with the banner of a page drawn as it was.
func (r *Renderer) chromeOf(req *http.Request) Chrome {
	c := r.chrome(req)
	c.Past = bannerOf(req)
	return c
}

// write executes the template into a buffer first, so a failing template never
// sends half a page; nothing is written to w unless it succeeded. A page drawn as it was keeps as_of in
// its links.
func (r *Renderer) write(w http.ResponseWriter, req *http.Request, status int, tmpl *template.Template, name string, data templateData) error {
	var body bytes.Buffer
	if err := tmpl.ExecuteTemplate(&body, name, data); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(keepAsOf(body.Bytes(), req)) // a write error means the client went away; there is no one left to tell
	return nil
}

func pageData(chrome Chrome, v View) templateData {
	return templateData{Chrome: chrome, View: v}
}

// statusWords are the heading and the default explanation of each error status a page may show.
var statusWords = map[int]struct{ heading, message string }{
	http.StatusBadRequest:          {"Bad request", "The request could not be understood. Check what you entered and try again."},
	http.StatusUnauthorized:        {"Log in required", "You need to log in to see this page."},
	http.StatusForbidden:           {"Access denied", "You do not have permission to see this page or to do this."},
	http.StatusNotFound:            {"Page not found", "There is no page at this address. Check the address, or start again from the home page."},
	http.StatusMethodNotAllowed:    {"Not allowed", "This page cannot be used that way."},
	http.StatusConflict:            {"Something changed", "Someone else changed this at the same time. Reload the page and try again."},
	http.StatusUnprocessableEntity: {"Could not be done", "What was asked cannot be done. Go back, check and try again."},
	http.StatusServiceUnavailable:  {"Service unavailable", "The service is busy or down for maintenance. Please try again shortly."},
}

// describeStatus gives the heading and the default explanation of an error status.
func describeStatus(status int) (heading, message string) {
	if words, ok := statusWords[status]; ok {
		return words.heading, words.message
	}
	if status >= 500 {
		return "Something went wrong", "An unexpected error happened on our side. It has been logged; please try again later."
	}
	if text := http.StatusText(status); text != "" {
		return text, text + "."
	}
	return "Error", "The request could not be completed."
}

// Value is one value of a table cell or a list of details, for the "value" partial: Text (a link when URL is
// set), or a time (time.Time or *time.Time) shown as a date, or as "3 days ago" when Ago.
type Value struct {
	Label     string // the name of its column or detail
	Text, URL string
	Time      any
	Ago       bool
	Numeric   bool // a count, aligned to the right in a table
}
