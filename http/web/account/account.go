// Package account is the user's own settings (/settings): the GitHub account and where notifications go.
package account

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/http/web/kit"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// Routes mounts /settings.
func (a *Handlers) Routes(r chi.Router) {
	r.With(kit.RequireLogin).Get("/settings", a.Handle(a.settingsPage))
	r.With(kit.RequireLogin).Post("/settings", a.Handle(a.saveSettings))
}

// settingsPage is the Data of the "settings" page: the GitHub account (read-only, GitHub owns it) and
// the form for where notifications go.
type settingsPage struct {
	Login, Name string
	Email       string            // the notification address, as set or as typed
	Errors      map[string]string // per form field
}

func newSettingsPage(u *identityviews.User) settingsPage {
	return settingsPage{Login: u.Login, Name: u.Name, Email: u.NotifyAddress()}
}

func (a *Handlers) settingsPage(w http.ResponseWriter, r *http.Request) error {
	a.renderSettings(w, r, http.StatusOK, newSettingsPage(kit.CurrentUserOf(r)))
	return nil
}

func (a *Handlers) saveSettings(w http.ResponseWriter, r *http.Request) error {
	u := kit.CurrentUserOf(r)
	email := r.PostFormValue("email")
	res, err := a.Identity.ChangeNotificationEmail.Handle(r.Context(), identity.ChangeNotificationEmail{
		Actor: kit.Actor(r), UserID: u.ID, Email: email,
	})
	if fields, ok := kit.FieldErrors(err); ok {
		page := newSettingsPage(u)
		page.Email, page.Errors = email, fields
		a.renderSettings(w, r, http.StatusUnprocessableEntity, page)
		return nil
	}
	if err != nil {
		return err
	}
	// The next page reads the user from the users read model (the chrome's loadUser).
	a.Done(w, r, res, "Settings saved", "/settings", identityviews.UsersProjector)
	return nil
}

func (a *Handlers) renderSettings(w http.ResponseWriter, r *http.Request, status int, page settingsPage) {
	a.Page(w, r, status, "settings", kit.View{Title: "Settings", Data: page})
}
