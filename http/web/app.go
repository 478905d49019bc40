// Package web wires the pages: each slice of the user guide is a package of its own (auth, home, account,
// projects, workspaces, staff) on the page kit (kit); this package mounts them with the middleware every page needs:
// the session, CSRF protection and the logged-in user.
package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5"
	"github.com/gorilla/csrf"
	"github.com/jackc/pgx/v5/pgxpool"

	appcmds "github.com/mediciasafely/jobserver/commands/applications"
	"github.com/mediciasafely/jobserver/commands/identity"
	releasecmds "github.com/mediciasafely/jobserver/commands/releases"
	"github.com/mediciasafely/jobserver/commands/runners"
	"github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/account"
	"github.com/mediciasafely/jobserver/http/web/applicationreview"
	"github.com/mediciasafely/jobserver/http/web/applications"
	auditpages "github.com/mediciasafely/jobserver/http/web/audit"
	"github.com/mediciasafely/jobserver/http/web/auth"
	"github.com/mediciasafely/jobserver/http/web/eventlog"
	"github.com/mediciasafely/jobserver/http/web/home"
	"github.com/mediciasafely/jobserver/http/web/kit"
	"github.com/mediciasafely/jobserver/http/web/projects"
	releasepages "github.com/mediciasafely/jobserver/http/web/releases"
	"github.com/mediciasafely/jobserver/http/web/staff"
	"github.com/mediciasafely/jobserver/http/web/static"
	workspacepages "github.com/mediciasafely/jobserver/http/web/workspaces"
	"github.com/mediciasafely/jobserver/projections"
	appviews "github.com/mediciasafely/jobserver/projections/applications"
	auditviews "github.com/mediciasafely/jobserver/projections/auditview"
	eventlogviews "github.com/mediciasafely/jobserver/projections/eventlog"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
	"github.com/mediciasafely/jobserver/projections/live"
	releaseviews "github.com/mediciasafely/jobserver/projections/releases"
	wsviews "github.com/mediciasafely/jobserver/projections/workspaces"
)

// GitHubLogin is the GitHub side of "Log in with GitHub".
type GitHubLogin = auth.GitHubLogin

// Renderer draws pages and error pages.
type Renderer = kit.Renderer

// StaticPrefix is the URL path the static assets are served under.
const StaticPrefix = static.Prefix

// StaticHandler serves the embedded static files under StaticPrefix.
func StaticHandler() http.Handler { return static.Handler() }

// Deps are what the pages need.
type Deps struct {
	Logger    *slog.Logger
	Pool      *pgxpool.Pool
	Queries   *identityviews.Queries
	Projected projections.Waiter
	Identity  *identity.Commands
	// Workspaces are the commands of workspaces, GitHub tokens and Run Jobs; WorkspaceViews their read models.
	Workspaces     *workspaces.Commands
	WorkspaceViews *wsviews.Queries
	// Releases are the commands of released outputs, ReleaseViews their read model and ReleaseBlobs where
	// the files' bytes are.
	Releases     *releasecmds.Commands
	ReleaseViews *releaseviews.Queries
	ReleaseBlobs releasecmds.Blobs
	GitHub       GitHubLogin
	// Applications are the commands of study applications; ApplicationViews their read model.
	Applications     *appcmds.Commands
	ApplicationViews *appviews.Queries
	// BaseURL is the public URL of the server; an https URL makes cookies Secure.
	BaseURL string
	// SecretKey signs the CSRF cookie.
	SecretKey []byte
	// Development switches the demo login on; production refuses it.
	Development bool
	// Live tells open pages of the changes they show; nil turns live updates off.
	Live *live.Hub
	// Events opens the personal data of events the audit pages write sentences from; nil: the process's
	// keys, as the commands default to.
	Events *domain.Registry
	// TimeTravel draws any page as it was (?as_of=) for auditors; nil turns it off.
	TimeTravel *projections.TimeTravel
	// RAP sets how the server talks to each backend (the staff area's protocol page); nil leaves the page out.
	RAP *runners.RAP
	// Now is the clock a session's idle time is judged by; nil is time.Now.
	Now func() time.Time
}

// App is the web application: pages and forms for people.
type App struct {
	Deps
	kit      *kit.Kit
	sessions *scs.SessionManager
	secure   bool
	slices   []interface{ Routes(chi.Router) }
}

// csrfCookie is the cookie gorilla/csrf keeps its secret in; a login replaces it.
const csrfCookie = "jobserver_csrf"

// NewApp builds the application, its slices and the renderer of all their pages.
func NewApp(d Deps) (*App, error) {
	base, err := url.Parse(d.BaseURL)
	if err != nil || base.Host == "" {
		return nil, errors.New("web: the base URL must be an absolute URL")
	}
	a := &App{Deps: d, secure: base.Scheme == "https"}
	a.sessions = scs.New()
	a.sessions.Store = pgxstore.NewWithCleanupInterval(d.Pool, 30*time.Minute)
	// No scs IdleTimeout: it writes the session back on every request to move its expiry, a write (and a
	// flush of the database's log) for every page and every live fetch. keepSessionAlive does its work with
	// a write at most every sessionSeenEvery.
	a.sessions.Lifetime = sessionLifetime
	a.sessions.Cookie.Name = "jobserver_session"
	a.sessions.Cookie.HttpOnly = true
	a.sessions.Cookie.SameSite = http.SameSiteLaxMode
	a.sessions.Cookie.Secure = a.secure
	a.kit = &kit.Kit{Logger: d.Logger, Sessions: a.sessions, Projected: d.Projected, Live: d.Live}
	a.kit.Renderer, err = kit.NewRenderer(a.chrome, auth.Templates, home.Templates, account.Templates, projects.Templates, staff.Templates,
		workspacepages.Templates, eventlog.Templates, releasepages.Templates, applications.Templates, applicationreview.Templates,
		auditpages.Templates)
	if err != nil {
		return nil, err
	}
	slice := kit.Slice{Kit: a.kit, Queries: d.Queries, Identity: d.Identity}
	// Fixed paths first; the projects slice owns /{org}, which chi tries after every fixed path anyway.
	a.slices = []interface{ Routes(chi.Router) }{
		&auth.Handlers{Slice: slice, GitHub: d.GitHub, Development: d.Development, CSRFCookie: csrfCookie},
		&account.Handlers{Slice: slice, Workspaces: d.Workspaces, Views: d.WorkspaceViews},
		&applications.Handlers{Slice: slice, Applications: d.Applications, Views: d.ApplicationViews},
		&applicationreview.Handlers{Slice: slice, Applications: d.Applications, Views: d.ApplicationViews},
		&staff.Handlers{Slice: slice, Researchers: appviews.NewQueries(d.Pool).ResearchersNaming},
		&home.Handlers{Slice: slice},
		&projects.Handlers{Kit: a.kit, Queries: d.Queries, Identity: d.Identity, Workspaces: d.WorkspaceViews},
		&workspacepages.Handlers{Slice: slice, Workspaces: d.Workspaces, Views: d.WorkspaceViews},
		&eventlog.Handlers{Slice: slice, Workspaces: d.Workspaces, Views: eventlogviews.NewQueries(d.Pool)},
		&releasepages.Handlers{Slice: slice, Releases: d.Releases, Views: d.ReleaseViews, Blobs: d.ReleaseBlobs},
		&auditpages.Handlers{Slice: slice, Views: auditviews.NewQueries(d.Pool, d.Events), Pool: d.Pool},
	}
	if d.RAP != nil {
		a.slices = append(a.slices, &staff.Protocols{Slice: slice, RAP: d.RAP})
	}
	return a, nil
}

// Renderer draws pages and error pages; the server uses it for its own errors.
func (a *App) Renderer() *Renderer { return a.kit.Renderer }

// Routes mounts every page with the middleware pages need: the session, CSRF protection on every form,
// and the logged-in user.
func (a *App) Routes(r chi.Router) {
	r.Use(a.sessions.LoadAndSave, a.keepSessionAlive, a.csrfProtect(), a.loadUser, noStore, a.kit.TimeTravel(a.Queries, a.TimeTravel),
		kit.HistoryReaders(auditviews.NewQueries(a.Pool, a.Events)))
	for _, slice := range a.slices {
		slice.Routes(r)
	}
}

func (a *App) csrfProtect() func(http.Handler) http.Handler {
	base, _ := url.Parse(a.BaseURL)
	protect := csrf.Protect(a.SecretKey,
		csrf.Secure(a.secure),
		csrf.HttpOnly(true),
		csrf.SameSite(csrf.SameSiteLaxMode),
		csrf.Path("/"),
		csrf.CookieName(csrfCookie),
		csrf.TrustedOrigins([]string{base.Host}),
		csrf.ErrorHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a.Logger.WarnContext(r.Context(), "form refused by CSRF protection", slog.String("reason", csrf.FailureReason(r).Error()))
			a.kit.Renderer.Error(w, r, http.StatusForbidden, "This form has expired or did not come from this site. Go back, reload the page and try again.")
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

// A session ends sessionLifetime after it began, or once it has not been used for sessionIdleTimeout. When
// it was last used is kept in the session itself (sessionSeenAt), written again only when it is
// sessionSeenEvery old, so a page being read writes nothing.
const (
	sessionLifetime    = 14 * 24 * time.Hour
	sessionIdleTimeout = 3 * 24 * time.Hour
	sessionSeenEvery   = 10 * time.Minute
	sessionSeenAt      = "seen_at" // Unix seconds
)

// keepSessionAlive ends a session idle for longer than sessionIdleTimeout and notes the use of any other. A
// visitor without a session gets none from it.
func (a *App) keepSessionAlive(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if len(a.sessions.Keys(ctx)) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		now := time.Now()
		if a.Now != nil {
			now = a.Now()
		}
		seen := time.Unix(a.sessions.GetInt64(ctx, sessionSeenAt), 0)
		switch {
		case a.sessions.Exists(ctx, sessionSeenAt) && now.Sub(seen) > sessionIdleTimeout:
			if err := a.sessions.Destroy(ctx); err != nil {
				a.kit.Fail(w, r, err)
				return
			}
		case now.Sub(seen) >= sessionSeenEvery:
			a.sessions.Put(ctx, sessionSeenAt, now.Unix())
		}
		next.ServeHTTP(w, r)
	})
}

// loadUser puts the logged-in user, read from the users read model, in the request's context.
func (a *App) loadUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(kit.WithSession(r.Context()))
		id := a.sessions.GetString(r.Context(), auth.SessionUserID)
		if id == "" {
			next.ServeHTTP(w, r)
			return
		}
		u, err := a.Queries.User(r.Context(), id)
		// A forgotten user's sessions end: nobody can act as them any more.
		if domain.KindOf(err) == domain.KindNotFound || (err == nil && u.Forgotten) {
			a.sessions.Remove(r.Context(), auth.SessionUserID)
			next.ServeHTTP(w, r)
			return
		}
		if err != nil {
			a.kit.Fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(kit.WithUser(r.Context(), &u)))
	})
}

// chrome is what every page shows around its content for this request.
func (a *App) chrome(r *http.Request) kit.Chrome {
	c := kit.Chrome{Path: r.URL.Path, DevLogin: a.Development, CSRFToken: csrf.Token(r)}
	if u := kit.CurrentUserOf(r); u != nil {
		perms, err := kit.Permissions(r, a.Queries, "")
		c.User = &kit.CurrentUser{ID: u.ID, Login: u.Login, Name: u.Name, AvatarURL: u.AvatarURL,
			CanSeeStaffArea:       err == nil && perms.Has(domain.StaffAreaAccess),
			CanReviewApplications: err == nil && (perms.Has(domain.ApplicationReview) || perms.Has(domain.ApplicationManage)),
			CanReadAuditLog:       err == nil && perms.Has(domain.AuditLogView)}
	}
	// A part of a page fetched by htmx (Show jobs, a live update) leaves the messages to the next whole page.
	if kit.HasSession(r) && r.Header.Get("HX-Request") == "" {
		c.Flashes = a.kit.PopFlashes(r)
	}
	return c
}

// Chrome is what every page shows around its content.
type Chrome = kit.Chrome

// NewRenderer is the renderer of the kit's own pages (the layout and the error page) alone, for a server
// without the slices' pages.
func NewRenderer(chrome func(*http.Request) Chrome) (*Renderer, error) {
	return kit.NewRenderer(chrome)
}
