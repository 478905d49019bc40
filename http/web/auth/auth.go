// Package auth is logging in and out: the login page, "Log in with GitHub" and its callback, the development
// login, and logout.
package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// GitHubLogin is the GitHub side of "Log in with GitHub".
type GitHubLogin interface {
	// AuthCodeURL is where the browser goes to authorise the app; GitHub sends state back unchanged.
	AuthCodeURL(state string) string
	// Exchange trades the code GitHub returned for the profile of the user who authorised.
	Exchange(ctx context.Context, code string) (domain.GitHubProfile, error)
}

// SessionUserID is the session key of the logged-in user's id.
const SessionUserID = "user_id"

// loginPage is the Data of the "login" page. The GitHub form posts "next" to /login/github;
// the development form (shown only when Chrome.DevLogin is set) posts "next" and "user",
// the Value of the chosen demo user, to /login/dev.
type loginPage struct {
	Next      string       // where to go after logging in; the handler must check it is a local path
	DemoUsers []kit.Option // the users of the development login
}

const (
	sessionOAuthState = "oauth_state"
	sessionOAuthNext  = "oauth_next"
)

// Routes mounts the login and logout pages.
func (a *Handlers) Routes(r chi.Router) {
	r.Get("/login", a.Handle(a.loginPage))
	r.Post("/login/github", a.Handle(a.startGitHubLogin))
	r.Get("/login/github/callback", a.Handle(a.finishGitHubLogin))
	r.Post("/login/dev", a.Handle(a.devLogin))
	r.Post("/logout", a.Handle(a.logout))
	// The addresses the login and logout forms post to, opened as pages (a reload, a bookmark), lead to the
	// login page rather than answering 405.
	for _, path := range []string{"/login/github", "/login/dev", "/logout"} {
		r.Get(path, toLoginPage)
	}
}

// toLoginPage sends a GET of a form's address to the login page, keeping where to go afterwards.
func toLoginPage(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/login?next="+url.QueryEscape(kit.SafeNext(r.URL.Query().Get("next"))), http.StatusSeeOther)
}

func (a *Handlers) loginPage(w http.ResponseWriter, r *http.Request) error {
	next := kit.SafeNext(r.URL.Query().Get("next"))
	if kit.CurrentUserOf(r) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	page := loginPage{Next: next}
	if a.Development {
		users, err := a.Queries.Users(r.Context(), "", 100)
		if err != nil {
			return err
		}
		for _, u := range users {
			page.DemoUsers = append(page.DemoUsers, kit.Option{Value: u.ID, Label: u.Login + " (" + u.DisplayName() + ")"})
		}
	}
	a.Page(w, r, http.StatusOK, "login", kit.View{Title: "Log in", Data: page})
	return nil
}

// startGitHubLogin sends the browser to GitHub with a fresh state kept in the session.
func (a *Handlers) startGitHubLogin(w http.ResponseWriter, r *http.Request) error {
	if a.GitHub == nil {
		// No OAuth app is configured: `jobserver serve` allows that only in development, where the
		// development login stands in for GitHub.
		message := "GitHub login is not configured on this server."
		if a.Development {
			message = "GitHub login is not configured on this server; use the development login below."
		}
		a.Flash(r, "error", message)
		back := "/login"
		if next := kit.SafeNext(r.PostFormValue("next")); next != "/" {
			back += "?next=" + url.QueryEscape(next)
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
		return nil
	}
	state := make([]byte, 24)
	if _, err := rand.Read(state); err != nil {
		return err
	}
	a.Sessions.Put(r.Context(), sessionOAuthState, hex.EncodeToString(state))
	a.Sessions.Put(r.Context(), sessionOAuthNext, kit.SafeNext(r.PostFormValue("next")))
	http.Redirect(w, r, a.GitHub.AuthCodeURL(hex.EncodeToString(state)), http.StatusSeeOther)
	return nil
}

// finishGitHubLogin is where GitHub sends the browser back: check the state, trade the code for the
// user's profile, register or update the user, and log them in.
func (a *Handlers) finishGitHubLogin(w http.ResponseWriter, r *http.Request) error {
	state := a.Sessions.PopString(r.Context(), sessionOAuthState)
	next := kit.SafeNext(a.Sessions.PopString(r.Context(), sessionOAuthNext))
	q := r.URL.Query()
	if state == "" || q.Get("state") != state {
		a.Renderer.Error(w, r, http.StatusBadRequest, "This login link has expired or was not started here. Please log in again.")
		return nil
	}
	if q.Get("error") != "" {
		a.Flash(r, "error", "GitHub did not log you in (the authorisation was refused or cancelled). You can try again.")
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	if q.Get("code") == "" {
		a.Renderer.Error(w, r, http.StatusBadRequest, "GitHub sent no login code. Please log in again.")
		return nil
	}
	profile, err := a.GitHub.Exchange(r.Context(), q.Get("code"))
	if err != nil {
		a.Logger.WarnContext(r.Context(), "GitHub login failed", slog.Any("error", err))
		a.Renderer.Error(w, r, http.StatusBadGateway, "GitHub could not confirm who you are. Please try logging in again.")
		return nil
	}
	signed, err := a.Identity.SignInWithGitHub.Handle(r.Context(), identity.SignInWithGitHub{
		GitHubID: profile.ID, Login: profile.Login, Name: profile.Name, Email: profile.Email, AvatarURL: profile.AvatarURL,
	})
	if err != nil {
		return err
	}
	// The next pages read the user (the chrome) from the users read model.
	a.Wait(r, signed.Result, identityviews.UsersProjector)
	return a.logIn(w, r, signed.UserID, next)
}

// logIn starts a new session for the user (a fresh token, so a session id known before the login is
// worthless after it), drops the CSRF secret (so a form token planted before the login is worthless after
// it: the next page gets a fresh secret), and goes on to next.
func (a *Handlers) logIn(w http.ResponseWriter, r *http.Request, userID, next string) error {
	if err := a.Sessions.RenewToken(r.Context()); err != nil {
		return err
	}
	if a.CSRFCookie != "" {
		http.SetCookie(w, &http.Cookie{Name: a.CSRFCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
			Secure: a.Sessions.Cookie.Secure, SameSite: http.SameSiteLaxMode})
	}
	a.Sessions.Put(r.Context(), SessionUserID, userID)
	u, err := a.Queries.User(r.Context(), userID)
	if err == nil {
		a.Flash(r, "success", "Welcome, "+u.DisplayName()+".")
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// devLogin logs in as any registered user without GitHub. It exists only in development mode; in
// production the route answers as if it did not exist.
func (a *Handlers) devLogin(w http.ResponseWriter, r *http.Request) error {
	if !a.Development {
		return domain.NotFound("")
	}
	u, err := a.Queries.User(r.Context(), r.PostFormValue("user"))
	if domain.KindOf(err) == domain.KindNotFound {
		return domain.Invalid("user", "Choose one of the demo users.")
	}
	if err != nil {
		return err
	}
	return a.logIn(w, r, u.ID, kit.SafeNext(r.PostFormValue("next")))
}

func (a *Handlers) logout(w http.ResponseWriter, r *http.Request) error {
	if err := a.Sessions.Destroy(r.Context()); err != nil {
		return err
	}
	a.Flash(r, "info", "You have logged out.")
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}
