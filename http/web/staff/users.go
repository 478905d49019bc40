package staff

import (
	"net/http"
	"net/url"
	"slices"
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
	HistoryURL  string // "" when the viewer may not read the user's history
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
	if page.HistoryURL, err = kit.HistoryLink(r, a.Queries, "user", user.ID); err != nil {
		return err
	}
	a.Page(w, r, status, "staff_user", kit.View{
		Title:  "User " + user.Login,
		Crumbs: staffCrumbs(kit.Crumb{Label: "Users", URL: "/staff/users"}, kit.Crumb{Label: user.Login}),
		Data:   page,
	})
	return nil
}

// staffSaveUserRoles is the roles form of a user's page. Roles only granted are saved at once; a form that
// would take roles away goes first to the page that asks, naming them (staffConfirmUserRoles).
func (a *Handlers) staffSaveUserRoles(w http.ResponseWriter, r *http.Request) error {
	user, err := staffLookup(r, chi.URLParam(r, "id"), a.Queries.User)
	if err != nil {
		return err
	}
	_ = r.ParseForm()
	ticked := kit.PostedRoles(r)
	if len(revokedRoles(user, ticked)) > 0 {
		http.Redirect(w, r, rolesURL(user.ID, ticked), http.StatusSeeOther)
		return nil
	}
	return a.setUserRoles(w, r, user, ticked, func(fields map[string]string) error {
		return a.showStaffUser(w, r, http.StatusUnprocessableEntity, user.ID, ticked, fields["roles"])
	})
}

// rolesURL is the page that asks before giving the user exactly these global roles.
func rolesURL(userID string, roles []domain.Role) string {
	q := url.Values{}
	for _, role := range roles {
		q.Add("roles", string(role))
	}
	return "/staff/users/" + userID + "/roles?" + q.Encode()
}

// revokedRoles are the global roles the user holds that are not among roles.
func revokedRoles(user identityviews.User, roles []domain.Role) []domain.Role {
	var revoked []domain.Role
	for _, held := range user.GlobalRoles {
		if !slices.Contains(roles, held) {
			revoked = append(revoked, held)
		}
	}
	return revoked
}

// staffConfirmUserRoles asks before taking global roles away, naming each one and what it allowed.
func (a *Handlers) staffConfirmUserRoles(w http.ResponseWriter, r *http.Request) error {
	return a.confirmUserRoles(w, r, "")
}

func (a *Handlers) confirmUserRoles(w http.ResponseWriter, r *http.Request, refused string) error {
	user, err := staffLookup(r, chi.URLParam(r, "id"), a.Queries.User)
	if err != nil {
		return err
	}
	roles := kit.Roles(r.URL.Query()["roles"])
	if r.Method == http.MethodPost {
		roles = kit.PostedRoles(r)
	}
	name := user.DisplayName()
	c := kit.Confirm{
		Title:     "Change the global roles of " + name,
		Question:  "Take these global roles away from " + name + "?",
		Fields:    map[string][]string{"roles": kit.RoleValues(roles)},
		Button:    "Save the roles of " + name,
		CancelURL: "/staff/users/" + user.ID,
		Error:     refused,
	}
	revoked := revokedRoles(user, roles)
	for _, role := range revoked {
		c.Items = append(c.Items, role.DisplayName()+": "+kit.RoleDescription(role))
	}
	if len(revoked) > 0 {
		c.Consequence = name + " loses these roles on every project at once, and with them what they allowed:"
	} else {
		c.Question = "Give " + name + " these global roles?"
	}
	if kept := kit.RoleNames(roles); kept != "" {
		c.Consequence += " " + name + " keeps or gains: " + kept + "."
	}
	a.ConfirmPage(w, r, c, staffCrumbs(kit.Crumb{Label: "Users", URL: "/staff/users"},
		kit.Crumb{Label: user.Login, URL: "/staff/users/" + user.ID}, kit.Crumb{Label: "Change global roles"}))
	return nil
}

// staffSetUserRoles is the button of the confirmation page: the user's global roles become the ones it
// carries, in one command.
func (a *Handlers) staffSetUserRoles(w http.ResponseWriter, r *http.Request) error {
	user, err := staffLookup(r, chi.URLParam(r, "id"), a.Queries.User)
	if err != nil {
		return err
	}
	_ = r.ParseForm()
	return a.setUserRoles(w, r, user, kit.PostedRoles(r), func(fields map[string]string) error {
		return a.confirmUserRoles(w, r, fields["roles"])
	})
}

// setUserRoles runs the command that makes the user's global roles exactly roles; refused shows the form that
// posted them again with the command's messages.
func (a *Handlers) setUserRoles(w http.ResponseWriter, r *http.Request, user identityviews.User, roles []domain.Role,
	refused func(fields map[string]string) error) error {
	res, err := a.Identity.SetGlobalRoles.Handle(r.Context(), identity.SetGlobalRoles{Actor: kit.Actor(r), UserID: user.ID, Roles: roles})
	if fields, invalid := kit.FieldErrors(err); invalid {
		return refused(fields)
	}
	if err != nil {
		return err
	}
	a.Done(w, r, res, "Roles of "+user.DisplayName()+" saved", "/staff/users/"+user.ID, identityviews.UsersProjector)
	return nil
}
