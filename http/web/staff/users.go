package staff

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
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
	Roles       []kit.Checkbox
	RolesError  string
	Memberships []identityviews.Membership
	Orgs        []identityviews.Org
	Backends    []identityviews.Backend
}

func (a *Handlers) staffUsers(w http.ResponseWriter, r *http.Request) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	users, err := a.Queries.Users(r.Context(), q, staffUsersLimit+1)
	if err != nil {
		return err
	}
	page := staffUsersPage{Query: q, Users: users}
	if len(users) > staffUsersLimit {
		page.Users, page.Truncated = users[:staffUsersLimit], true
	}
	a.Page(w, r, http.StatusOK, "staff_users", kit.View{
		Title:  "Users",
		Crumbs: staffCrumbs(kit.Crumb{Label: "Users"}),
		Data:   page,
	})
	return nil
}

func (a *Handlers) staffUser(w http.ResponseWriter, r *http.Request) error {
	return a.showStaffUser(w, r, http.StatusOK, chi.URLParam(r, "id"), nil, "")
}

// showStaffUser renders a user's page. ticked, when not nil, are the roles a refused post ticked.
func (a *Handlers) showStaffUser(w http.ResponseWriter, r *http.Request, status int, id string, ticked []domain.Role, rolesError string) error {
	user, err := staffLookup(r, id, a.Queries.User)
	if err != nil {
		return err
	}
	ctx := r.Context()
	page := staffUserPage{User: user, CanEdit: staffPerms(r).Has(domain.UserManage), RolesError: rolesError}

	if page.Memberships, err = a.Queries.MembershipsOfUser(ctx, user.ID); err != nil {
		return err
	}
	if page.Orgs, err = a.Queries.OrgsOfUser(ctx, user.ID); err != nil {
		return err
	}
	if page.Backends, err = a.Queries.BackendsOfUser(ctx, user.ID); err != nil {
		return err
	}
	if ticked == nil {
		ticked = user.GlobalRoles
	}
	page.Roles = kit.RoleCheckboxes(domain.AllRoles(), ticked)
	a.Page(w, r, status, "staff_user", kit.View{
		Title:  "User " + user.Login,
		Crumbs: staffCrumbs(kit.Crumb{Label: "Users", URL: "/staff/users"}, kit.Crumb{Label: user.Login}),
		Data:   page,
	})
	return nil
}

// staffSaveUserRoles makes the user's global roles the ones ticked, in one command.
func (a *Handlers) staffSaveUserRoles(w http.ResponseWriter, r *http.Request) error {
	user, err := staffLookup(r, chi.URLParam(r, "id"), a.Queries.User)
	if err != nil {
		return err
	}
	_ = r.ParseForm()
	ticked := kit.PostedRoles(r)
	res, err := a.Identity.SetGlobalRoles.Handle(r.Context(), identity.SetGlobalRoles{Actor: kit.Actor(r), UserID: user.ID, Roles: ticked})
	if fields, invalid := kit.FieldErrors(err); invalid {
		return a.showStaffUser(w, r, http.StatusUnprocessableEntity, user.ID, ticked, fields["roles"])
	}
	if err != nil {
		return err
	}
	a.Done(w, r, res, "Roles of "+user.DisplayName()+" saved", "/staff/users/"+user.ID, identityviews.UsersProjector)
	return nil
}
