package web

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// staffUsersLimit is how many users a list shows; a search narrows it down.
const staffUsersLimit = 200

// staffUsersPage is the Data of "staff_users": the users whose login, name or e-mail contains Query.
type staffUsersPage struct {
	Query     string
	Users     []identityviews.User
	Truncated bool // more users match than the list shows
}

// staffUserPage is the Data of "staff_user": one user, their global roles and where they are a member.
type staffUserPage struct {
	User        identityviews.User
	CanEdit     bool // user_manage
	Roles       []Checkbox
	RolesError  string
	Memberships []identityviews.Membership
	Orgs        []identityviews.Org
	Backends    []identityviews.Backend
}

func (a *App) staffUsers(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	users, err := a.Queries.Users(r.Context(), q, staffUsersLimit+1)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	page := staffUsersPage{Query: q, Users: users}
	if len(users) > staffUsersLimit {
		page.Users, page.Truncated = users[:staffUsersLimit], true
	}
	a.renderer.Page(w, r, http.StatusOK, "staff_users", View{
		Title:  "Users",
		Crumbs: staffCrumbs(Crumb{Label: "Users"}),
		Data:   page,
	})
}

func (a *App) staffUser(w http.ResponseWriter, r *http.Request) {
	a.showStaffUser(w, r, http.StatusOK, chi.URLParam(r, "id"), nil, "")
}

// showStaffUser renders a user's page. ticked, when not nil, are the roles a refused post ticked.
func (a *App) showStaffUser(w http.ResponseWriter, r *http.Request, status int, id string, ticked []domain.Role, rolesError string) {
	user, ok := staffLookup(a, w, r, id, a.Queries.User)
	if !ok {
		return
	}
	ctx := r.Context()
	page := staffUserPage{User: user, CanEdit: staffPerms(r).Has(domain.UserManage), RolesError: rolesError}
	var err error
	if page.Memberships, err = a.Queries.MembershipsOfUser(ctx, user.ID); err != nil {
		a.serverError(w, r, err)
		return
	}
	if page.Orgs, err = a.Queries.OrgsOfUser(ctx, user.ID); err != nil {
		a.serverError(w, r, err)
		return
	}
	if page.Backends, err = a.Queries.BackendsOfUser(ctx, user.ID); err != nil {
		a.serverError(w, r, err)
		return
	}
	if ticked == nil {
		ticked = user.GlobalRoles
	}
	page.Roles = roleCheckboxes(domain.AllRoles(), ticked)
	a.renderer.Page(w, r, status, "staff_user", View{
		Title:  "User " + user.Login,
		Crumbs: staffCrumbs(Crumb{Label: "Users", URL: "/staff/users"}, Crumb{Label: user.Login}),
		Data:   page,
	})
}

// staffSaveUserRoles makes the user's global roles the ones ticked, in one command.
func (a *App) staffSaveUserRoles(w http.ResponseWriter, r *http.Request) {
	user, ok := staffLookup(a, w, r, chi.URLParam(r, "id"), a.Queries.User)
	if !ok {
		return
	}
	_ = r.ParseForm()
	ticked := postedRoles(r)
	res, err := a.Identity.SetGlobalRoles.Handle(r.Context(), identity.SetGlobalRoles{Actor: actor(r), UserID: user.ID, Roles: ticked})
	if fields, invalid := fieldErrors(err); invalid {
		a.showStaffUser(w, r, http.StatusUnprocessableEntity, user.ID, ticked, fields["roles"])
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.done(w, r, res, "Roles of "+user.DisplayName()+" saved", "/staff/users/"+user.ID)
}
