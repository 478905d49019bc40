package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// staffBackendsPage is the Data of "staff_backends": every backend and the form that creates one.
type staffBackendsPage struct {
	Backends  []identityviews.Backend
	CanCreate bool      // backend_manage
	Create    staffForm // slug, name
}

// staffBackendPage is the Data of "staff_backend": one backend, its members, and its new runner token in
// the one response that created or rotated it.
type staffBackendPage struct {
	Backend   identityviews.Backend
	Members   []identityviews.User
	CanManage bool      // backend_manage: rotate the token, add and remove members
	NewToken  string    // set only on the response to a creation or rotation; never stored anywhere
	Created   bool      // NewToken is the backend's first token
	AddMember staffForm // login
	Rotate    staffForm // confirm
}

func (a *App) staffBackends(w http.ResponseWriter, r *http.Request) {
	a.showStaffBackends(w, r, http.StatusOK, staffForm{})
}

func (a *App) showStaffBackends(w http.ResponseWriter, r *http.Request, status int, create staffForm) {
	backends, err := a.Queries.Backends(r.Context())
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	a.renderer.Page(w, r, status, "staff_backends", View{
		Title:  "Backends",
		Crumbs: staffCrumbs(Crumb{Label: "Backends"}),
		Data:   staffBackendsPage{Backends: backends, CanCreate: staffPerms(r).Has(domain.BackendManage), Create: create},
	})
}

// staffCreateBackend creates a backend and shows its runner token on the page it answers with. The token is
// in this response only: not in the session, a flash, a URL or a log, so it can never be shown again.
func (a *App) staffCreateBackend(w http.ResponseWriter, r *http.Request) {
	f := staffPostedForm(r, "slug", "name")
	created, err := a.Identity.CreateBackend.Handle(r.Context(), identity.CreateBackend{
		Actor: actor(r), Slug: f.Values["slug"], Name: f.Values["name"],
	})
	if errs, ok := fieldErrors(err); ok {
		f.Errors = errs
		a.showStaffBackends(w, r, http.StatusUnprocessableEntity, f)
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.waitProjected(r, created.Result)
	a.flash(r, "success", "Backend "+created.Slug+" created")
	a.showStaffBackend(w, r, http.StatusOK, created.BackendID, staffBackendPage{NewToken: created.Token, Created: true})
}

func (a *App) staffBackend(w http.ResponseWriter, r *http.Request) {
	a.showStaffBackend(w, r, http.StatusOK, chi.URLParam(r, "id"), staffBackendPage{})
}

// showStaffBackend renders a backend's page; page carries what the request adds (a new token, a form's
// errors).
func (a *App) showStaffBackend(w http.ResponseWriter, r *http.Request, status int, id string, page staffBackendPage) {
	backend, ok := staffLookup(a, w, r, id, a.Queries.Backend)
	if !ok {
		return
	}
	members, err := a.Queries.BackendMembers(r.Context(), backend.ID)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	page.Backend, page.Members = backend, members
	page.CanManage = staffPerms(r).Has(domain.BackendManage)
	a.renderer.Page(w, r, status, "staff_backend", View{
		Title:  "Backend " + backend.Slug,
		Crumbs: staffCrumbs(Crumb{Label: "Backends", URL: "/staff/backends"}, Crumb{Label: backend.Slug}),
		Data:   page,
	})
}

// staffRotateRunnerToken replaces the backend's runner token, after the admin ticked that they understand the
// old one stops working, and shows the new one once.
func (a *App) staffRotateRunnerToken(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	f := staffPostedForm(r, "confirm")
	if f.Values["confirm"] != "yes" {
		a.showStaffBackend(w, r, http.StatusUnprocessableEntity, id, staffBackendPage{
			Rotate: f.invalid("confirm", "Tick the box to confirm that the current token may stop working."),
		})
		return
	}
	rotated, err := a.Identity.RotateRunnerToken.Handle(r.Context(), identity.RotateRunnerToken{Actor: actor(r), BackendID: id})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.waitProjected(r, rotated.Result)
	a.flash(r, "success", "Runner token rotated: the old token no longer works")
	a.showStaffBackend(w, r, http.StatusOK, id, staffBackendPage{NewToken: rotated.Token})
}

func (a *App) staffAddBackendMember(w http.ResponseWriter, r *http.Request) {
	backend, ok := staffLookup(a, w, r, chi.URLParam(r, "id"), a.Queries.Backend)
	if !ok {
		return
	}
	f := staffPostedForm(r, "login")
	user, message, err := a.userByLogin(r.Context(), f.Values["login"])
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	if message != "" {
		a.showStaffBackend(w, r, http.StatusUnprocessableEntity, backend.ID, staffBackendPage{AddMember: f.invalid("login", message)})
		return
	}
	res, err := a.Identity.AddBackendMember.Handle(r.Context(), identity.AddBackendMember{
		Actor: actor(r), BackendID: backend.ID, UserID: user.ID,
	})
	if errs, ok := fieldErrors(err); ok {
		f.Errors = loginFieldErrors(errs)
		a.showStaffBackend(w, r, http.StatusUnprocessableEntity, backend.ID, staffBackendPage{AddMember: f})
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	message = staffMemberAdded(!!res.Changed(), user.DisplayName(), "backend "+backend.Slug)
	a.done(w, r, res, message, "/staff/backends/"+backend.ID)
}

func (a *App) staffRemoveBackendMember(w http.ResponseWriter, r *http.Request) {
	backend, ok := staffLookup(a, w, r, chi.URLParam(r, "id"), a.Queries.Backend)
	if !ok {
		return
	}
	userID := chi.URLParam(r, "userID")
	res, err := a.Identity.RemoveBackendMember.Handle(r.Context(), identity.RemoveBackendMember{
		Actor: actor(r), BackendID: backend.ID, UserID: userID,
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.done(w, r, res, a.displayName(r, userID)+" removed from backend "+backend.Slug, "/staff/backends/"+backend.ID)
}
