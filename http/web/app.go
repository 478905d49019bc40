package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5"
	"github.com/gorilla/csrf"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/projections"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// GitHubLogin is the GitHub side of "Log in with GitHub".
type GitHubLogin interface {
	// AuthCodeURL is where the browser goes to authorise the app; GitHub sends state back unchanged.
	AuthCodeURL(state string) string
	// Exchange trades the code GitHub returned for the profile of the user who authorised.
	Exchange(ctx context.Context, code string) (domain.GitHubProfile, error)
}

// Deps are what the pages need.
type Deps struct {
	Logger    *slog.Logger
	Pool      *pgxpool.Pool
	Queries   *identityviews.Queries
	Projected projections.Waiter
	Identity  *identity.Commands
	GitHub    GitHubLogin
	// BaseURL is the public URL of the server; an https URL makes cookies Secure.
	BaseURL string
	// SecretKey signs the CSRF cookie.
	SecretKey []byte
	// Development switches the demo login on; production refuses it.
	Development bool
}

// App is the web application: pages and forms for people.
type App struct {
	Deps
	renderer *Renderer
	sessions *scs.SessionManager
	secure   bool
}

// NewApp builds the application and its renderer.
func NewApp(d Deps) (*App, error) {
	base, err := url.Parse(d.BaseURL)
	if err != nil || base.Host == "" {
		return nil, errors.New("web: the base URL must be an absolute URL")
	}
	a := &App{Deps: d, secure: base.Scheme == "https"}
	a.sessions = scs.New()
	a.sessions.Store = pgxstore.NewWithCleanupInterval(d.Pool, 30*time.Minute)
	a.sessions.Lifetime = 14 * 24 * time.Hour
	a.sessions.IdleTimeout = 3 * 24 * time.Hour
	a.sessions.Cookie.Name = "jobserver_session"
	a.sessions.Cookie.HttpOnly = true
	a.sessions.Cookie.SameSite = http.SameSiteLaxMode
	a.sessions.Cookie.Secure = a.secure
	a.renderer, err = NewRenderer(a.chrome)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Renderer draws pages and error pages; the server uses it for its own errors.
func (a *App) Renderer() *Renderer { return a.renderer }

// Routes mounts every page with the middleware pages need: the session, CSRF protection on every form,
// and the logged-in user.
func (a *App) Routes(r chi.Router) {
	r.Use(a.sessions.LoadAndSave, a.csrfProtect(), a.loadUser, noStore)
	a.authRoutes(r)
	a.settingsRoutes(r)
	a.staffRoutes(r)
	a.pageRoutes(r)
}

func (a *App) csrfProtect() func(http.Handler) http.Handler {
	base, _ := url.Parse(a.BaseURL)
	protect := csrf.Protect(a.SecretKey,
		csrf.Secure(a.secure),
		csrf.HttpOnly(true),
		csrf.SameSite(csrf.SameSiteLaxMode),
		csrf.Path("/"),
		csrf.CookieName("jobserver_csrf"),
		csrf.TrustedOrigins([]string{base.Host}),
		csrf.ErrorHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a.Logger.WarnContext(r.Context(), "form refused by CSRF protection", slog.String("reason", csrf.FailureReason(r).Error()))
			a.renderer.Error(w, r, http.StatusForbidden, "This form has expired or did not come from this site. Go back, reload the page and try again.")
		})),
	)
	return func(next http.Handler) http.Handler {
		protected := protect(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !a.secure {
				// Served over plain HTTP (development, tests): the Referer check meant for TLS does not apply.
				r = csrf.PlaintextHTTPRequest(r)
			}
			protected.ServeHTTP(w, r)
		})
	}
}

// noStore keeps pages, which show personal data, out of shared caches and the back-forward cache of
// a browser someone else uses later.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

type (
	userKey    struct{}
	sessionKey struct{} // set on requests whose session is loaded; the server's own 404 page has none
)

const sessionUserID = "user_id"

// loadUser puts the logged-in user, read from the users read model, in the request's context.
func (a *App) loadUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, true))
		id := a.sessions.GetString(r.Context(), sessionUserID)
		if id == "" {
			next.ServeHTTP(w, r)
			return
		}
		u, err := a.Queries.User(r.Context(), id)
		if domain.KindOf(err) == domain.KindNotFound {
			a.sessions.Remove(r.Context(), sessionUserID)
			next.ServeHTTP(w, r)
			return
		}
		if err != nil {
			a.serverError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, &u)))
	})
}

// currentUser is the logged-in user, or nil.
func currentUser(r *http.Request) *identityviews.User {
	u, _ := r.Context().Value(userKey{}).(*identityviews.User)
	return u
}

// actor is who a command runs as.
func actor(r *http.Request) commands.Actor {
	if u := currentUser(r); u != nil {
		return commands.UserActor(u.ID)
	}
	return commands.Anonymous
}

// requireLogin sends anonymous visitors to the login page and back here afterwards.
func (a *App) requireLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if currentUser(r) == nil {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// permissions returns what the logged-in user may do on a project ("" for outside any project).
func (a *App) permissions(r *http.Request, projectID string) (domain.PermissionSet, error) {
	u := currentUser(r)
	if u == nil {
		return domain.PermissionSet{}, nil
	}
	return a.Queries.Permissions(r.Context(), u.ID, projectID)
}

func (a *App) chrome(r *http.Request) Chrome {
	c := Chrome{Path: r.URL.Path, DevLogin: a.Development, CSRFToken: csrf.Token(r)}
	if u := currentUser(r); u != nil {
		perms, err := a.permissions(r, "")
		c.User = &CurrentUser{ID: u.ID, Login: u.Login, Name: u.Name, AvatarURL: u.AvatarURL,
			CanSeeStaffArea: err == nil && perms.Has(domain.StaffAreaAccess)}
	}
	if withSession, _ := r.Context().Value(sessionKey{}).(bool); withSession {
		c.Flashes = a.popFlashes(r)
	}
	return c
}

const sessionFlashes = "flashes"

// flash shows a message on the next page the user sees.
func (a *App) flash(r *http.Request, kind, message string) {
	flashes := a.readFlashes(r)
	flashes = append(flashes, Flash{Kind: kind, Message: message})
	b, _ := json.Marshal(flashes)
	a.sessions.Put(r.Context(), sessionFlashes, string(b))
}

func (a *App) readFlashes(r *http.Request) []Flash {
	var flashes []Flash
	if s := a.sessions.GetString(r.Context(), sessionFlashes); s != "" {
		_ = json.Unmarshal([]byte(s), &flashes)
	}
	return flashes
}

func (a *App) popFlashes(r *http.Request) []Flash {
	flashes := a.readFlashes(r)
	if len(flashes) > 0 {
		a.sessions.Remove(r.Context(), sessionFlashes)
	}
	return flashes
}

// done finishes a successful form: wait until the read models show the change, say what happened, and
// go to the next page.
func (a *App) done(w http.ResponseWriter, r *http.Request, res commands.Result, message, next string) {
	a.waitProjected(r, res)
	if message != "" {
		a.flash(r, "success", message)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// waitProjected waits, a bounded time, until the read models reach an append, so the next page shows it.
func (a *App) waitProjected(r *http.Request, res commands.Result) {
	if !res.Changed() {
		return // nothing was appended
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := a.Projected.WaitFor(ctx, res.Position); err != nil {
		a.Logger.WarnContext(r.Context(), "read models did not catch up before the redirect", slog.Any("error", err))
	}
}

// fail shows the page for a command's error: what the user may not do, what does not exist, or a 500.
// Form handlers show field errors themselves (see fieldErrors) and call fail for the rest.
func (a *App) fail(w http.ResponseWriter, r *http.Request, err error) {
	var de *domain.Error
	if !errors.As(err, &de) {
		a.serverError(w, r, err)
		return
	}
	switch de.Kind {
	case domain.KindForbidden:
		a.renderer.Error(w, r, http.StatusForbidden, de.Message)
	case domain.KindNotFound:
		a.renderer.Error(w, r, http.StatusNotFound, de.Message)
	case domain.KindConflict:
		a.renderer.Error(w, r, http.StatusConflict, de.Message)
	default:
		a.renderer.Error(w, r, http.StatusBadRequest, de.Message)
	}
}

// serverError logs an unexpected error and shows the 500 page, without details.
func (a *App) serverError(w http.ResponseWriter, r *http.Request, err error) {
	a.Logger.ErrorContext(r.Context(), "request failed", slog.String("path", r.URL.Path), slog.Any("error", err))
	a.renderer.Error(w, r, http.StatusInternalServerError, "")
}

// notFound answers for a page the user may not know exists: a thing that is missing and a thing they may
// not see look the same.
func (a *App) notFound(w http.ResponseWriter, r *http.Request) {
	a.renderer.Error(w, r, http.StatusNotFound, "")
}

// forbidden answers for a page the user knows exists but may not use.
func (a *App) forbidden(w http.ResponseWriter, r *http.Request, message string) {
	a.renderer.Error(w, r, http.StatusForbidden, message)
}

// fieldErrors returns the per-field messages of an input error, so a form can show them beside its fields;
// ok is false for any other error.
func fieldErrors(err error) (map[string]string, bool) {
	var de *domain.Error
	if !errors.As(err, &de) || (de.Kind != domain.KindInvalid && de.Kind != domain.KindConflict) || len(de.Fields) == 0 {
		return nil, false
	}
	return de.Fields, true
}

// safeNext returns next when it is a path on this site, else "/": a login must never send the user to
// another site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}
