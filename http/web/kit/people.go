package kit

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

// RoleDescription says what a role allows: in words for the project roles, as its permissions otherwise.
func RoleDescription(role domain.Role) string {
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

// RoleCheckboxes are tick boxes for roles, named as the guide names them and described by what they allow,
// with the roles in ticked ticked.
func RoleCheckboxes(roles, ticked []domain.Role) []Checkbox {
	boxes := make([]Checkbox, len(roles))
	for i, role := range roles {
		boxes[i] = Checkbox{Value: string(role), Label: role.DisplayName(), Description: RoleDescription(role),
			Checked: slices.Contains(ticked, role)}
	}
	return boxes
}

// PostedRoles reads the ticked roles of a form, exactly as posted: the command decides which are allowed.
func PostedRoles(r *http.Request) []domain.Role {
	return Roles(r.PostForm["roles"])
}

// Roles are the roles named by values, such as a form's or an address's "roles", trimmed.
func Roles(values []string) []domain.Role {
	var roles []domain.Role
	for _, v := range values {
		roles = append(roles, domain.Role(strings.TrimSpace(v)))
	}
	return roles
}

// RoleValues are the values that name roles in a form.
func RoleValues(roles []domain.Role) []string {
	values := make([]string, len(roles))
	for i, role := range roles {
		values[i] = string(role)
	}
	return values
}

// RoleNames names roles for people, "Output Checker, Project Developer"; "" for none.
func RoleNames(roles []domain.Role) string {
	names := make([]string, len(roles))
	for i, role := range roles {
		names[i] = role.DisplayName()
	}
	return strings.Join(names, ", ")
}

// AddMember is how every add-member form (a project's settings, the staff area's backends, organisations and
// projects) treats the GitHub login it was given: it finds the person and calls add with their id. An unknown
// login still calls add, with no id, so the command decides first whether the actor may add members at all;
// only then is the unknown login the message beside the login field. fields holds the messages for the form
// (a command's message about "user_id" moves to "login"); err is any other error.
func AddMember[R any](ctx context.Context, q *identityviews.Queries, login string, add func(userID string) (R, error)) (u identityviews.User, res R, fields map[string]string, err error) {
	login = strings.TrimPrefix(strings.TrimSpace(login), "@")
	unknown := ""
	if login == "" {
		unknown = "Please enter the GitHub login of the person to add."
	} else {
		u, err = q.UserByLogin(ctx, login)
		if domain.KindOf(err) == domain.KindNotFound {
			unknown = "Nobody with the GitHub login \u201c" + login + "\u201d has logged in to MediciaSAFELY yet. Ask them to log in once, then add them."
		} else if err != nil {
			return u, res, nil, err
		}
	}
	res, err = add(u.ID)
	if unknown != "" && err != nil && domain.KindOf(err) != domain.KindForbidden {
		return u, res, map[string]string{"login": unknown}, nil
	}
	if f, ok := FieldErrors(err); ok {
		return u, res, loginFieldErrors(f), nil
	}
	return u, res, nil, err
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

// DisplayName is how a flash names a user: their name, or "The member" if they cannot be read.
func DisplayName(ctx context.Context, q *identityviews.Queries, userID string) string {
	u, err := q.User(ctx, userID)
	if err != nil {
		return "The member"
	}
	return u.DisplayName()
}

// Permissions is what the logged-in user may do on a project ("" for outside any project), read from the
// read model to decide which forms a page shows; the commands decide. Outside any project they are the
// global roles of the user's row, read already for this request.
func Permissions(r *http.Request, q *identityviews.Queries, projectID string) (domain.PermissionSet, error) {
	u := CurrentUserOf(r)
	switch {
	case u == nil:
		return domain.PermissionSet{}, nil
	case projectID == "":
		return domain.PermissionsOf(u.GlobalRoles, nil), nil
	}
	return q.Permissions(r.Context(), u.ID, projectID)
}

// OrgOptions are the organisations to choose from in a form, by name, the one with id selected chosen.
func OrgOptions(ctx context.Context, q *identityviews.Queries, selected string) ([]Option, error) {
	orgs, err := q.Orgs(ctx)
	if err != nil {
		return nil, err
	}
	options := make([]Option, len(orgs))
	for i, o := range orgs {
		options[i] = Option{Value: o.ID, Label: o.Name + " (" + o.Slug + ")", Selected: o.ID == selected}
	}
	return options, nil
}

// OrgURL is the address of an organisation's page.
func OrgURL(slug string) string { return "/" + slug }

// ProjectURL is the address of a project's page; "" for a project in no organisation, which has no page.
func ProjectURL(p identityviews.Project) string {
	if p.OrgSlug == "" {
		return ""
	}
	return "/" + p.OrgSlug + "/" + p.Slug
}
