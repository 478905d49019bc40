package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands/identity"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

func (a *App) settingsRoutes(r chi.Router) {
	r.With(a.requireLogin).Get("/settings", a.settingsPage)
	r.With(a.requireLogin).Post("/settings", a.saveSettings)
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

func (a *App) settingsPage(w http.ResponseWriter, r *http.Request) {
	a.renderSettings(w, r, http.StatusOK, newSettingsPage(currentUser(r)))
}

func (a *App) saveSettings(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	email := r.PostFormValue("email")
	res, err := a.Identity.ChangeNotificationEmail.Handle(r.Context(), identity.ChangeNotificationEmail{
		Actor: actor(r), UserID: u.ID, Email: email,
	})
	if fields, ok := fieldErrors(err); ok {
		page := newSettingsPage(u)
		page.Email, page.Errors = email, fields
		a.renderSettings(w, r, http.StatusUnprocessableEntity, page)
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.done(w, r, res, "Settings saved", "/settings")
}

func (a *App) renderSettings(w http.ResponseWriter, r *http.Request, status int, page settingsPage) {
	a.renderer.Page(w, r, status, "settings", View{Title: "Settings", Data: page})
}
