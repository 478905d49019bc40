package kit

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/server/dbstatus"
	"github.com/mediciasafely/jobserver/projections"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
	"github.com/mediciasafely/jobserver/projections/live"
)

// Kit is what every page handler shares: the renderer, the session, and the wait for the read models.
type Kit struct {
	Logger    *slog.Logger
	Sessions  *scs.SessionManager
	Projected projections.Waiter
	Renderer  *Renderer
	// Live tells live pages of changes; nil turns live updates off.
	Live *live.Hub

	shared sharedValues // what every viewer is shown alike, read once for all (shared.go)
}

// HandlerFunc is a page or form handler: it answers the request, or returns the error that Fail turns into
// the error page.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handle adapts a handler that returns an error to net/http: every error goes through Fail.
func (k *Kit) Handle(h HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			k.Fail(w, r, err)
		}
	}
}

// Fail is the one place errors become pages: a thing that does not exist is 404, a refusal 403 with its
// message, input that cannot be used 422, a database that is not answering 503, and anything else 500 with
// a reference (the request id, also logged) and no detail.
func (k *Kit) Fail(w http.ResponseWriter, r *http.Request, err error) {
	var de *domain.Error
	switch {
	case errors.As(err, &de) && de.Kind == domain.KindNotFound:
		k.Renderer.Error(w, r, http.StatusNotFound, de.Message)
	case errors.As(err, &de) && de.Kind == domain.KindForbidden:
		k.Renderer.Error(w, r, http.StatusForbidden, de.Message)
	case errors.As(err, &de) && (de.Kind == domain.KindInvalid || de.Kind == domain.KindConflict):
		k.Renderer.Error(w, r, http.StatusUnprocessableEntity, de.Message)
	case dbstatus.Unavailable(err):
		k.Logger.WarnContext(r.Context(), "the database is not answering", slog.String("path", r.URL.Path), slog.Any("error", err))
		k.Renderer.Error(w, r, http.StatusServiceUnavailable, dbstatus.Message)
	default:
		reference := middleware.GetReqID(r.Context())
		k.Logger.ErrorContext(r.Context(), "request failed", slog.String("path", r.URL.Path),
			slog.String("reference", reference), slog.Any("error", err))
		k.Renderer.ErrorWithReference(w, r, http.StatusInternalServerError, reference)
	}
}

// Page renders a page of a slice inside the layout.
func (k *Kit) Page(w http.ResponseWriter, r *http.Request, status int, page string, v View) {
	k.Renderer.Page(w, r, status, page, v)
}

// FieldErrors returns the per-field messages of an input error, so a form can show them beside its fields;
// ok is false for any other error.
func FieldErrors(err error) (map[string]string, bool) {
	var de *domain.Error
	if !errors.As(err, &de) || (de.Kind != domain.KindInvalid && de.Kind != domain.KindConflict) || len(de.Fields) == 0 {
		return nil, false
	}
	return de.Fields, true
}

// Done finishes a successful form: wait (bounded) until the named projectors, the ones the next page reads,
// show the change; say what happened; and redirect (303) to the next page.
func (k *Kit) Done(w http.ResponseWriter, r *http.Request, res commands.Result, message, next string, projectors ...string) {
	k.Wait(r, res, projectors...)
	if message != "" {
		k.Flash(r, "success", message)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// Wait waits, a bounded time, until the named projectors reach an append. It never waits for every
// projector: with none named it returns at once.
func (k *Kit) Wait(r *http.Request, res commands.Result, projectors ...string) {
	if !res.Changed() || len(projectors) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := k.Projected.WaitFor(ctx, res.Position, projectors...); err != nil {
		k.Logger.WarnContext(r.Context(), "read models did not catch up before the redirect",
			slog.Any("projectors", projectors), slog.Any("error", err))
	}
}

const (
	sessionFlashes = "flashes"
	sessionSecret  = "secret."
)

// Flash shows a message on the next page the user sees.
func (k *Kit) Flash(r *http.Request, kind, message string) {
	flashes := k.readFlashes(r)
	flashes = append(flashes, Flash{Kind: kind, Message: message})
	b, _ := json.Marshal(flashes)
	k.Sessions.Put(r.Context(), sessionFlashes, string(b))
}

func (k *Kit) readFlashes(r *http.Request) []Flash {
	var flashes []Flash
	if s := k.Sessions.GetString(r.Context(), sessionFlashes); s != "" {
		_ = json.Unmarshal([]byte(s), &flashes)
	}
	return flashes
}

// PopFlashes returns the flashes waiting for this page and forgets them.
func (k *Kit) PopFlashes(r *http.Request) []Flash {
	flashes := k.readFlashes(r)
	if len(flashes) > 0 {
		k.Sessions.Remove(r.Context(), sessionFlashes)
	}
	return flashes
}

// HoldSecret keeps a one-time secret (a new runner token) in the session for the one page view the redirect
// after a form leads to; TakeSecret then shows it and forgets it, so a reload shows it no more.
func (k *Kit) HoldSecret(r *http.Request, name, secret string) {
	k.Sessions.Put(r.Context(), sessionSecret+name, secret)
}

// TakeSecret returns the secret held under name, once.
func (k *Kit) TakeSecret(r *http.Request, name string) string {
	return k.Sessions.PopString(r.Context(), sessionSecret+name)
}

// ParseForm reads a posted form; one that cannot be read is an input error.
func ParseForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return domain.Refused("The form could not be read. Go back, reload the page and try again.")
	}
	return nil
}

// Form is a form as a page shows it: what was entered, and the message beside each field a post got wrong.
// Templates read .Values.name and .Errors.name; both are empty on a fresh form.
type Form struct {
	Values map[string]string
	Errors map[string]string
}

// PostedForm reads the named fields of a post, trimmed.
func PostedForm(r *http.Request, fields ...string) Form {
	f := Form{Values: map[string]string{}}
	for _, name := range fields {
		f.Values[name] = strings.TrimSpace(r.PostFormValue(name))
	}
	return f
}

// Invalid returns the form with one field's message set.
func (f Form) Invalid(field, message string) Form {
	f.Errors = map[string]string{field: message}
	return f
}

// Confirm is the page that asks before a destructive action. It works without JavaScript: the action's own
// address answers GET with this page and POST by doing it, so its button posts Fields back to the page's URL.
type Confirm struct {
	Title       string   // the heading and the page's title
	Question    string   // "Remove Colin Tester from MyStudy?"
	Consequence string   // what will happen, in a sentence
	Items       []string // what will be taken away, listed under the consequence (roles, say)
	Action      string   // where the form posts; "" is the page's own address
	Fields      map[string][]string
	Button      string // the label of the button that does it
	CancelURL   string
	Error       string // why the action was refused, when the page is shown again after its post
}

// ConfirmPage shows the confirmation page.
func (k *Kit) ConfirmPage(w http.ResponseWriter, r *http.Request, c Confirm, crumbs []Crumb) {
	status := http.StatusOK
	if c.Error != "" {
		status = http.StatusUnprocessableEntity
	}
	if c.Action == "" {
		c.Action = r.URL.Path
	}
	k.Page(w, r, status, "confirm", View{Title: c.Title, Crumbs: crumbs, Data: c})
}

type (
	userKey    struct{}
	sessionKey struct{}
)

// WithUser is the request's context with the logged-in user, for CurrentUser.
func WithUser(ctx context.Context, u *identityviews.User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// WithSession marks a request whose session is loaded; the server's own 404 page has none.
func WithSession(ctx context.Context) context.Context {
	return context.WithValue(ctx, sessionKey{}, true)
}

// HasSession reports whether the request's session is loaded.
func HasSession(r *http.Request) bool {
	ok, _ := r.Context().Value(sessionKey{}).(bool)
	return ok
}

// CurrentUserOf is the logged-in user, or nil.
func CurrentUserOf(r *http.Request) *identityviews.User {
	u, _ := r.Context().Value(userKey{}).(*identityviews.User)
	return u
}

// Actor is who a command runs as.
func Actor(r *http.Request) commands.Actor {
	if u := CurrentUserOf(r); u != nil {
		return commands.UserActor(u.ID)
	}
	return commands.Anonymous
}

// RequireLogin sends anonymous visitors to the login page and back here afterwards.
func RequireLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if CurrentUserOf(r) == nil {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// SafeNext returns next when it is a path on this site, else "/": a login must never send the user to
// another site.
func SafeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}
