package web

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/mediciasafely/jobserver/domain"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// Pieces shared by the forms that name people and give them roles: the project settings page and the
// staff area.

// projectRoleDescriptions say in one line what each of the three project roles allows (spec/roles.md).
var projectRoleDescriptions = map[domain.Role]string{
	domain.ProjectCollaborator: "Can view and download the outputs released from this project's workspaces.",
	domain.ProjectCoordinator:  "Can rename the project, change the roles of its members and remove members.",
	domain.ProjectDeveloper:    "Can create and archive workspaces, run and cancel jobs, and view released outputs.",
}

// roleDescription says what a role allows: in words for the project roles, as its permissions otherwise.
func roleDescription(role domain.Role) string {
	if d, ok := projectRoleDescriptions[role]; ok {
		return d
	}
	perms := role.Permissions()
	if len(perms) == 0 {
		return "No permissions yet."
	}
	words := make([]string, len(perms))
	for i, p := range perms {
		words[i] = strings.ReplaceAll(string(p), "_", " ")
	}
	return "Allows: " + strings.Join(words, ", ") + "."
}

// roleCheckboxes are tick boxes for roles, named as the guide names them and described by what they allow,
// with the roles in ticked ticked.
func roleCheckboxes(roles, ticked []domain.Role) []Checkbox {
	boxes := make([]Checkbox, len(roles))
	for i, role := range roles {
		boxes[i] = Checkbox{Value: string(role), Label: role.DisplayName(), Description: roleDescription(role),
			Checked: slices.Contains(ticked, role)}
	}
	return boxes
}

// postedRoles reads the ticked roles of a form, exactly as posted: the command decides which are allowed.
func postedRoles(r *http.Request) []domain.Role {
	var roles []domain.Role
	for _, v := range r.PostForm["roles"] {
		roles = append(roles, domain.Role(strings.TrimSpace(v)))
	}
	return roles
}

// userByLogin finds the person a form names by GitHub login. Only people who have logged in once exist
// here, so an unknown login is a message for the login field (message != "").
func (a *App) userByLogin(ctx context.Context, login string) (u identityviews.User, message string, err error) {
	login = strings.TrimPrefix(strings.TrimSpace(login), "@")
	if login == "" {
		return u, "Please enter the GitHub login of the person to add.", nil
	}
	u, err = a.Queries.UserByLogin(ctx, login)
	if domain.KindOf(err) == domain.KindNotFound {
		return u, "Nobody with the GitHub login \u201c" + login + "\u201d has logged in to MediciaSAFELY yet. Ask them to log in once, then add them.", nil
	}
	return u, "", err
}

// loginFieldErrors moves a command's message about "user_id" to the form's "login" field, which is how the
// form names the user.
func loginFieldErrors(errs map[string]string) map[string]string {
	if msg, ok := errs["user_id"]; ok {
		delete(errs, "user_id")
		if _, taken := errs["login"]; !taken {
			errs["login"] = msg
		}
	}
	return errs
}

// displayName is how a flash names a user: their name, or "The member" if they cannot be read.
func (a *App) displayName(r *http.Request, userID string) string {
	u, err := a.Queries.User(r.Context(), userID)
	if err != nil {
		return "The member"
	}
	return u.DisplayName()
}
