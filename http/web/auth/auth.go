package web

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
)

const (
	sessionOAuthState = "oauth_state"
	sessionOAuthNext  = "oauth_next"
)

func (a *App) authRoutes(r chi.Router) {
	r.Get("/login", a.loginPage)
	r.Post("/login/github", a.startGitHubLogin)
	r.Get("/login/github/callback", a.finishGitHubLogin)
	r.Post("/login/dev", a.devLogin)
	r.Post("/logout", a.logout)
}

func (a *App) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if currentUser(r) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	page := LoginPage{Next: next}
	if a.Development {
		users, err := a.Queries.Users(r.Context(), "", 100)
		if err != nil {
			a.serverError(w, r, err)
			return
		}
		for _, u := range users {
			page.DemoUsers = append(page.DemoUsers, Option{Value: u.ID, Label: u.Login + " (" + u.DisplayName() + ")"})
		}
	}
	a.renderer.Page(w, r, http.StatusOK, "login", View{Title: "Log in", Data: page})
}

// startGitHubLogin sends the browser to GitHub with a fresh state kept in the session.
func (a *App) startGitHubLogin(w http.ResponseWriter, r *http.Request) {
	if a.GitHub == nil {
		// No OAuth app is configured: `jobserver serve` allows that only in development, where the
		// development login stands in for GitHub.
		message := "GitHub login is not configured on this server."
		if a.Development {
			message = "GitHub login is not configured on this server; use the development login below."
		}
		a.flash(r, "error", message)
		back := "/login"
		if next := safeNext(r.PostFormValue("next")); next != "/" {
			back += "?next=" + url.QueryEscape(next)
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	state := make([]byte, 24)
	if _, err := rand.Read(state); err != nil {
		a.serverError(w, r, err)
		return
	}
	a.sessions.Put(r.Context(), sessionOAuthState, hex.EncodeToString(state))
	a.sessions.Put(r.Context(), sessionOAuthNext, safeNext(r.PostFormValue("next")))
	http.Redirect(w, r, a.GitHub.AuthCodeURL(hex.EncodeToString(state)), http.StatusSeeOther)
}

// finishGitHubLogin is where GitHub sends the browser back: check the state, trade the code for the
// user's profile, register or update the user, and log them in.
func (a *App) finishGitHubLogin(w http.ResponseWriter, r *http.Request) {
	state := a.sessions.PopString(r.Context(), sessionOAuthState)
	next := safeNext(a.sessions.PopString(r.Context(), sessionOAuthNext))
	q := r.URL.Query()
	if state == "" || q.Get("state") != state {
		a.renderer.Error(w, r, http.StatusBadRequest, "This login link has expired or was not started here. Please log in again.")
		return
	}
	if q.Get("error") != "" {
		a.flash(r, "error", "GitHub did not log you in (the authorisation was refused or cancelled). You can try again.")
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if q.Get("code") == "" {
		a.renderer.Error(w, r, http.StatusBadRequest, "GitHub sent no login code. Please log in again.")
		return
	}
	profile, err := a.GitHub.Exchange(r.Context(), q.Get("code"))
	if err != nil {
		a.Logger.WarnContext(r.Context(), "GitHub login failed", slog.Any("error", err))
		a.renderer.Error(w, r, http.StatusBadGateway, "GitHub could not confirm who you are. Please try logging in again.")
		return
	}
	signed, err := a.Identity.SignInWithGitHub.Handle(r.Context(), identity.SignInWithGitHub{
		GitHubID: profile.ID, Login: profile.Login, Name: profile.Name, Email: profile.Email, AvatarURL: profile.AvatarURL,
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.waitProjected(r, signed.Result)
	a.logIn(w, r, signed.UserID, next)
}

// logIn starts a new session for the user (a fresh token, so a session id known before the login is
// worthless after it) and goes on to next.
func (a *App) logIn(w http.ResponseWriter, r *http.Request, userID, next string) {
	if err := a.sessions.RenewToken(r.Context()); err != nil {
		a.serverError(w, r, err)
		return
	}
	a.sessions.Put(r.Context(), sessionUserID, userID)
	u, err := a.Queries.User(r.Context(), userID)
	if err == nil {
		a.flash(r, "success", "Welcome, "+u.DisplayName()+".")
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// devLogin logs in as any registered user without GitHub. It exists only in development mode; in
// production the route answers as if it did not exist.
func (a *App) devLogin(w http.ResponseWriter, r *http.Request) {
	if !a.Development {
		a.notFound(w, r)
		return
	}
	u, err := a.Queries.User(r.Context(), r.PostFormValue("user"))
	if domain.KindOf(err) == domain.KindNotFound {
		a.renderer.Error(w, r, http.StatusBadRequest, "Choose one of the demo users.")
		return
	}
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	a.logIn(w, r, u.ID, safeNext(r.PostFormValue("next")))
}

func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	if err := a.sessions.Destroy(r.Context()); err != nil {
		a.serverError(w, r, err)
		return
	}
	a.flash(r, "info", "You have logged out.")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
