package projections

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/mediciasafely/jobserver/domain"
)

// Copies are the names a slice's pages show of things other slices own: people, organisations, projects
// with their members, backends. A projector keeps its own copy of them, so that a page joins only tables
// one projector wrote at one position; this is the one piece of code that keeps such copies, in tables
// named <prefix>_people, <prefix>_orgs, <prefix>_projects, <prefix>_project_members and <prefix>_backends.
type Copies struct{ prefix string }

// CopiesNamed returns the copies kept in tables named with prefix (e.g. "workspace").
func CopiesNamed(prefix string) Copies { return Copies{prefix: prefix} }

// Tables lists the tables of the copies.
func (c Copies) Tables() []string {
	return []string{c.prefix + "_people", c.prefix + "_orgs", c.prefix + "_projects", c.prefix + "_project_members", c.prefix + "_backends"}
}

// Schema is the DDL of the copies' tables.
func (c Copies) Schema() string {
	return strings.ReplaceAll(`
	CREATE TABLE P_people (
		id           text PRIMARY KEY,
		login        text NOT NULL,
		name         text NOT NULL,
		global_roles text[] NOT NULL DEFAULT '{}'
	);
	CREATE INDEX P_people_login ON P_people (lower(login));
	CREATE TABLE P_orgs (
		id   text PRIMARY KEY,
		slug text NOT NULL,
		name text NOT NULL
	);
	CREATE INDEX P_orgs_slug ON P_orgs (slug);
	CREATE TABLE P_projects (
		id     text PRIMARY KEY,
		slug   text NOT NULL,
		name   text NOT NULL,
		org_id text
	);
	CREATE INDEX P_projects_slug ON P_projects (slug);
	CREATE TABLE P_project_members (
		project_id text NOT NULL,
		user_id    text NOT NULL,
		roles      text[] NOT NULL DEFAULT '{}',
		PRIMARY KEY (project_id, user_id)
	);
	CREATE INDEX P_project_members_user ON P_project_members (user_id);
	CREATE TABLE P_backends (
		id   text PRIMARY KEY,
		slug text NOT NULL,
		name text NOT NULL
	);
	CREATE INDEX P_backends_slug ON P_backends (slug);`, "P_", c.prefix+"_")
}

// Register adds the handlers that keep the copies to a projector's handlers.
func (c Copies) Register(h Handlers) {
	people, orgs, projects, members, backends := c.prefix+"_people", c.prefix+"_orgs", c.prefix+"_projects", c.prefix+"_project_members", c.prefix+"_backends"
	On(h, func(ctx context.Context, db DB, e Event, ev domain.UserRegistered) error {
		p := domain.ShownProfile(ev.Profile)
		return db.Exec(ctx, `INSERT INTO `+people+` (id, login, name) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
			ev.UserID, p.Login, p.Name)
	})
	On(h, func(ctx context.Context, db DB, e Event, ev domain.UserProfileUpdated) error {
		p := domain.ShownProfile(ev.Profile)
		return db.Exec(ctx, `UPDATE `+people+` SET login = $2, name = $3 WHERE id = $1`, ev.UserID, p.Login, p.Name)
	})
	On(h, func(ctx context.Context, db DB, e Event, ev domain.PersonForgotten) error {
		return db.Exec(ctx, `UPDATE `+people+` SET login = '', name = $2 WHERE id = $1`, ev.UserID, domain.ForgottenPerson)
	})
	On(h, func(ctx context.Context, db DB, e Event, ev domain.GlobalRoleGranted) error {
		return db.Exec(ctx, `UPDATE `+people+` SET global_roles = ARRAY(SELECT DISTINCT unnest(global_roles || $2::text) ORDER BY 1)
			WHERE id = $1`, ev.UserID, string(ev.Role))
	})
	On(h, func(ctx context.Context, db DB, e Event, ev domain.GlobalRoleRevoked) error {
		return db.Exec(ctx, `UPDATE `+people+` SET global_roles = array_remove(global_roles, $2::text) WHERE id = $1`,
			ev.UserID, string(ev.Role))
	})
	On(h, func(ctx context.Context, db DB, e Event, ev domain.OrgCreated) error {
		return db.Exec(ctx, `INSERT INTO `+orgs+` (id, slug, name) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
			ev.OrgID, ev.Slug, ev.Name)
	})
	On(h, func(ctx context.Context, db DB, e Event, ev domain.ProjectCreated) error {
		return db.Exec(ctx, `INSERT INTO `+projects+` (id, slug, name, org_id) VALUES ($1, $2, $3, nullif($4, ''))
			ON CONFLICT (id) DO NOTHING`, ev.ProjectID, ev.Slug, ev.Name, ev.OrgID)
	})
	On(h, func(ctx context.Context, db DB, e Event, ev domain.ProjectAddedToOrg) error {
		return db.Exec(ctx, `UPDATE `+projects+` SET org_id = $2 WHERE id = $1`, ev.ProjectID, ev.OrgID)
	})
	On(h, func(ctx context.Context, db DB, e Event, ev domain.ProjectRenamed) error {
		return db.Exec(ctx, `UPDATE `+projects+` SET name = $2 WHERE id = $1`, ev.ProjectID, ev.Name)
	})
	On(h, func(ctx context.Context, db DB, e Event, ev domain.ProjectMemberAdded) error {
		return db.Exec(ctx, `INSERT INTO `+members+` (project_id, user_id, roles) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, ev.ProjectID, ev.UserID, roleStrings(ev.Roles))
	})
	On(h, func(ctx context.Context, db DB, e Event, ev domain.ProjectMemberRolesChanged) error {
		return db.Exec(ctx, `UPDATE `+members+` SET roles = $3 WHERE project_id = $1 AND user_id = $2`,
			ev.ProjectID, ev.UserID, roleStrings(ev.Roles))
	})
	On(h, func(ctx context.Context, db DB, e Event, ev domain.ProjectMemberRemoved) error {
		return db.Exec(ctx, `DELETE FROM `+members+` WHERE project_id = $1 AND user_id = $2`, ev.ProjectID, ev.UserID)
	})
	On(h, func(ctx context.Context, db DB, e Event, ev domain.BackendCreated) error {
		return db.Exec(ctx, `INSERT INTO `+backends+` (id, slug, name) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
			ev.BackendID, ev.Slug, ev.Name)
	})
}

// Permissions is what a user may do in a project, from the copies of their global roles and of their
// roles in that project; an unknown user (or "") may do nothing.
func (c Copies) Permissions(ctx context.Context, db Querier, userID, projectID string) (domain.PermissionSet, error) {
	var global, roles []string
	err := db.QueryRow(ctx, `SELECT u.global_roles, coalesce((SELECT m.roles FROM `+c.prefix+`_project_members m
			WHERE m.project_id = $2 AND m.user_id = u.id), '{}')
		FROM `+c.prefix+`_people u WHERE u.id = $1`, userID, projectID).Scan(&global, &roles)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.PermissionSet{}, nil
	}
	if err != nil {
		return nil, err
	}
	return domain.PermissionsOf(Roles(global), Roles(roles)), nil
}

// roleStrings stores roles as text.
func roleStrings(roles []domain.Role) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = string(r)
	}
	return out
}
