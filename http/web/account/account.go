// Package account is the user's own settings (/settings): the GitHub account, the GitHub token that reads
// the user's repositories, and where notifications go.
package account

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/http/web/kit"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
	wsviews "github.com/mediciasafely/jobserver/projections/workspaces"
)

// Routes mounts /settings.
func (a *Handlers) Routes(r chi.Router) {
	r.With(kit.RequireLogin).Get("/settings", a.Handle(a.settingsPage))
	r.With(kit.RequireLogin).Post("/settings", a.Handle(a.saveSettings))
	r.With(kit.RequireLogin).Get("/settings/github-token/remove", a.Handle(a.confirmClearToken))
	r.With(kit.RequireLogin).Post("/settings/github-token/remove", a.Handle(a.clearToken))
}

// tokenForm is the value of the hidden field "form" of the GitHub token form; the notifications form
// has none.
const tokenForm = "github-token"

// settingsPage is the Data of the "settings" page: the GitHub account (read-only, GitHub owns it) and
// the form for where notifications go.
type settingsPage struct {
	Login, Name string
	Email       string            // the notification address, as set or as typed
	Errors      map[string]string // per form field
	// TokenFingerprint tells the saved GitHub token apart ("" when none is saved); the token itself is never
	// shown, not even in a form shown again with its error.
	TokenFingerprint string
	TokenError       string
}

func newSettingsPage(u *identityviews.User) settingsPage {
	return settingsPage{Login: u.Login, Name: u.Name, Email: u.NotifyAddress()}
}

func (a *Handlers) settingsPage(w http.ResponseWriter, r *http.Request) error {
	return a.renderSettings(w, r, http.StatusOK, newSettingsPage(kit.CurrentUserOf(r)))
}

func (a *Handlers) saveSettings(w http.ResponseWriter, r *http.Request) error {
	if err := kit.ParseForm(r); err != nil {
		return err
	}
	if r.PostForm.Get("form") == tokenForm {
		return a.saveToken(w, r)
	}
	u := kit.CurrentUserOf(r)
	email := r.PostFormValue("email")
	res, err := a.Identity.ChangeNotificationEmail.Handle(r.Context(), identity.ChangeNotificationEmail{
		Actor: kit.Actor(r), UserID: u.ID, Email: email,
	})
	if fields, ok := kit.FieldErrors(err); ok {
		page := newSettingsPage(u)
		page.Email, page.Errors = email, fields
		return a.renderSettings(w, r, http.StatusUnprocessableEntity, page)
	}
	if err != nil {
		return err
	}
	// The next page reads the user from the users read model (the chrome's loadUser).
	a.Done(w, r, res, "Settings saved", "/settings", identityviews.UsersProjector)
	return nil
}

func (a *Handlers) renderSettings(w http.ResponseWriter, r *http.Request, status int, page settingsPage) error {
	fingerprint, err := a.Views.GitHubTokenFingerprint(r.Context(), kit.CurrentUserOf(r).ID)
	if err != nil {
		return err
	}
	page.TokenFingerprint = fingerprint
	a.Page(w, r, status, "settings", kit.View{Title: "Settings", Data: page})
	return nil
}

// saveToken is the GitHub token form (step 8 of the guide): GitHub checks the token before it is saved,
// sealed; a refusal is shown beside the field, which comes back empty.
func (a *Handlers) saveToken(w http.ResponseWriter, r *http.Request) error {
	res, err := a.Workspaces.SaveGitHubToken.Handle(r.Context(), workspaces.SaveGitHubToken{Actor: kit.Actor(r), Token: r.PostForm.Get("token")})
	if fields, ok := kit.FieldErrors(err); ok {
		page := newSettingsPage(kit.CurrentUserOf(r))
		page.TokenError = fields["token"]
		return a.renderSettings(w, r, http.StatusUnprocessableEntity, page)
	}
	if err != nil {
		return err
	}
	message := "GitHub token saved"
	if !res.Changed() {
		message = "This GitHub token is the one already saved; nothing changed."
	}
	a.Done(w, r, res, message, "/settings", wsviews.WorkspacesProjector)
	return nil
}

// confirmClearToken asks before forgetting the saved token.
func (a *Handlers) confirmClearToken(w http.ResponseWriter, r *http.Request) error {
	a.ConfirmPage(w, r, kit.Confirm{
		Title:       "Remove GitHub token",
		Question:    "Remove your saved GitHub token?",
		Consequence: "MediciaSAFELY will no longer read your repositories with it: to create workspaces or run jobs you will have to save a token again, or paste a one-time token each time.",
		Button:      "Remove token",
		CancelURL:   "/settings",
	}, []kit.Crumb{{Label: "Settings", URL: "/settings"}, {Label: "Remove GitHub token"}})
	return nil
}

// clearToken forgets the saved token: the post of the confirmation page.
func (a *Handlers) clearToken(w http.ResponseWriter, r *http.Request) error {
	if err := kit.ParseForm(r); err != nil {
		return err
	}
	res, err := a.Workspaces.ClearGitHubToken.Handle(r.Context(), workspaces.ClearGitHubToken{Actor: kit.Actor(r)})
	if err != nil {
		return err
	}
	a.Done(w, r, res, "GitHub token removed", "/settings", wsviews.WorkspacesProjector)
	return nil
}
