package staff

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// staffBackendsPage is the Data of "staff_backends": every backend and the form that creates one.
type staffBackendsPage struct {
	Backends  []identityviews.Backend
	CanCreate bool     // backend_manage
	Create    kit.Form // slug, name
}

// staffBackendPage is the Data of "staff_backend": one backend, its members, and its new runner token in
// the one response that created or rotated it.
type staffBackendPage struct {
	Backend   identityviews.Backend
	Members   []identityviews.User
	CanManage bool     // backend_manage: rotate the token, add and remove members
	NewToken  string   // set only on the response to a creation or rotation; never stored anywhere
	Created   bool     // NewToken is the backend's first token
	AddMember kit.Form // login
	Rotate    kit.Form // confirm
}

func (a *Handlers) staffBackends(w http.ResponseWriter, r *http.Request) error {
	return a.showStaffBackends(w, r, http.StatusOK, kit.Form{})
}

func (a *Handlers) showStaffBackends(w http.ResponseWriter, r *http.Request, status int, create kit.Form) error {
	backends, err := a.Queries.Backends(r.Context())
	if err != nil {
		return err
	}
	a.Page(w, r, status, "staff_backends", kit.View{
		Title:  "Backends",
		Crumbs: staffCrumbs(kit.Crumb{Label: "Backends"}),
		Data:   staffBackendsPage{Backends: backends, CanCreate: staffPerms(r).Has(domain.BackendManage), Create: create},
	})
	return nil
}

// staffCreateBackend creates a backend and redirects to its page, which shows its runner token once: the
// token is held in the session for that one view only, never in a URL, a flash or a log.
func (a *Handlers) staffCreateBackend(w http.ResponseWriter, r *http.Request) error {
	f := kit.PostedForm(r, "slug", "name")
	created, err := a.Identity.CreateBackend.Handle(r.Context(), identity.CreateBackend{
		Actor: kit.Actor(r), Slug: f.Values["slug"], Name: f.Values["name"],
	})
	if errs, ok := kit.FieldErrors(err); ok {
		f.Errors = errs
		return a.showStaffBackends(w, r, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	a.HoldSecret(r, firstTokenSecret+created.BackendID, created.Token)
	a.Done(w, r, created.Result, "Backend "+created.Slug+" created", "/staff/backends/"+created.BackendID,
		identityviews.BackendsProjector)
	return nil
}

// The session names of a runner token waiting to be shown once, followed by the backend's id.
const (
	firstTokenSecret = "first-runner-token-"
	newTokenSecret   = "new-runner-token-"
)

// staffBackend is a backend's page; right after a creation or a rotation it shows the new token, once.
func (a *Handlers) staffBackend(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	page := staffBackendPage{NewToken: a.TakeSecret(r, firstTokenSecret+id), Created: true}
	if page.NewToken == "" {
		page = staffBackendPage{NewToken: a.TakeSecret(r, newTokenSecret+id)}
	}
	return a.showStaffBackend(w, r, http.StatusOK, id, page)
}

// showStaffBackend renders a backend's page; page carries what the request adds (a new token, a form's
// errors).
func (a *Handlers) showStaffBackend(w http.ResponseWriter, r *http.Request, status int, id string, page staffBackendPage) error {
	backend, err := staffLookup(r, id, a.Queries.Backend)
	if err != nil {
		return err
	}
	members, err := a.Queries.BackendMembers(r.Context(), backend.ID)
	if err != nil {
		return err
	}
	page.Backend, page.Members = backend, members
	page.CanManage = staffPerms(r).Has(domain.BackendManage)
	a.Page(w, r, status, "staff_backend", kit.View{
		Title:  "Backend " + backend.Slug,
		Crumbs: staffCrumbs(kit.Crumb{Label: "Backends", URL: "/staff/backends"}, kit.Crumb{Label: backend.Slug}),
		Data:   page,
	})
	return nil
}

// staffRotateRunnerToken replaces the backend's runner token, after the admin ticked that they understand the
// old one stops working, and redirects to the backend's page, which shows the new one once.
func (a *Handlers) staffRotateRunnerToken(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	f := kit.PostedForm(r, "confirm")
	if f.Values["confirm"] != "yes" {
		return a.showStaffBackend(w, r, http.StatusUnprocessableEntity, id, staffBackendPage{
			Rotate: f.Invalid("confirm", "Tick the box to confirm that the current token may stop working."),
		})
	}
	rotated, err := a.Identity.RotateRunnerToken.Handle(r.Context(), identity.RotateRunnerToken{Actor: kit.Actor(r), BackendID: id})
	if err != nil {
		return err
	}
	a.HoldSecret(r, newTokenSecret+id, rotated.Token)
	a.Done(w, r, rotated.Result, "Runner token rotated: the old token no longer works", "/staff/backends/"+id,
		identityviews.BackendsProjector)
	return nil
}

func (a *Handlers) staffAddBackendMember(w http.ResponseWriter, r *http.Request) error {
	backend, err := staffLookup(r, chi.URLParam(r, "id"), a.Queries.Backend)
	if err != nil {
		return err
	}
	f := kit.PostedForm(r, "login")
	user, res, fields, err := kit.AddMember(r.Context(), a.Queries, f.Values["login"], func(userID string) (commands.Result, error) {
		return a.Identity.AddBackendMember.Handle(r.Context(), identity.AddBackendMember{
			Actor: kit.Actor(r), BackendID: backend.ID, UserID: userID,
		})
	})
	if fields != nil {
		f.Errors = fields
		return a.showStaffBackend(w, r, http.StatusUnprocessableEntity, backend.ID, staffBackendPage{AddMember: f})
	}
	if err != nil {
		return err
	}
	a.Done(w, r, res, staffMemberAdded(res.Changed(), user.DisplayName(), "backend "+backend.Slug), "/staff/backends/"+backend.ID,
		identityviews.BackendsProjector)
	return nil
}

func (a *Handlers) staffRemoveBackendMember(w http.ResponseWriter, r *http.Request) error {
	backend, err := staffLookup(r, chi.URLParam(r, "id"), a.Queries.Backend)
	if err != nil {
		return err
	}
	userID := chi.URLParam(r, "userID")
	res, err := a.Identity.RemoveBackendMember.Handle(r.Context(), identity.RemoveBackendMember{
		Actor: kit.Actor(r), BackendID: backend.ID, UserID: userID,
	})
	if err != nil {
		return err
	}
	a.Done(w, r, res, kit.DisplayName(r.Context(), a.Queries, userID)+" removed from backend "+backend.Slug, "/staff/backends/"+backend.ID,
		identityviews.BackendsProjector)
	return nil
}
