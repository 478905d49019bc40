// Package identity holds the read models of identity and access (users, organisations, backends,
// projects and their members) and the queries the pages read them with.
package identity

import (
	"context"

	"github.com/mediciasafely/jobserver/projections"

	"github.com/mediciasafely/jobserver/domain"
)

// Users projects people, their GitHub profile, notification address and global roles.
func Users() projections.Projector {
	h := projections.Handlers{}
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.UserRegistered) error {
		return db.Exec(ctx, `INSERT INTO users (id, github_id, login, name, email, avatar_url, registered_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, ev.UserID, ev.GitHubID, ev.Login, ev.Name, ev.Email, ev.AvatarURL, e.RecordedAt)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.UserProfileUpdated) error {
		return db.Exec(ctx, `UPDATE users SET login = $2, name = $3, email = $4, avatar_url = $5 WHERE id = $1`,
			ev.UserID, ev.Login, ev.Name, ev.Email, ev.AvatarURL)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.NotificationEmailChanged) error {
		return db.Exec(ctx, `UPDATE users SET notification_email = $2 WHERE id = $1`, ev.UserID, ev.Email)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.GlobalRoleGranted) error {
		return db.Exec(ctx, `UPDATE users SET global_roles = ARRAY(SELECT DISTINCT unnest(global_roles || $2::text) ORDER BY 1)
			WHERE id = $1`, ev.UserID, string(ev.Role))
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.GlobalRoleRevoked) error {
		return db.Exec(ctx, `UPDATE users SET global_roles = array_remove(global_roles, $2::text) WHERE id = $1`, ev.UserID, string(ev.Role))
	})
	return projections.Define("users", 1, []string{"users"},
		`CREATE TABLE users (
			id                 text PRIMARY KEY,
			github_id          bigint NOT NULL UNIQUE,
			login              text NOT NULL,
			name               text NOT NULL,
			email              text NOT NULL,
			notification_email text NOT NULL DEFAULT '',
			avatar_url         text NOT NULL,
			global_roles       text[] NOT NULL DEFAULT '{}',
			registered_at      timestamptz NOT NULL
		);
		CREATE INDEX users_login ON users (lower(login));`, h)
}

// Orgs projects organisations and their members.
func Orgs() projections.Projector {
	h := projections.Handlers{}
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.OrgCreated) error {
		return db.Exec(ctx, `INSERT INTO orgs (id, slug, name, created_at) VALUES ($1, $2, $3, $4)`, ev.OrgID, ev.Slug, ev.Name, e.RecordedAt)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.OrgMemberAdded) error {
		return db.Exec(ctx, `INSERT INTO org_members (org_id, user_id, added_at) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, ev.OrgID, ev.UserID, e.RecordedAt)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.OrgMemberRemoved) error {
		return db.Exec(ctx, `DELETE FROM org_members WHERE org_id = $1 AND user_id = $2`, ev.OrgID, ev.UserID)
	})
	return projections.Define("orgs", 1, []string{"orgs", "org_members"},
		`CREATE TABLE orgs (
			id         text PRIMARY KEY,
			slug       text NOT NULL UNIQUE,
			name       text NOT NULL,
			created_at timestamptz NOT NULL
		);
		CREATE TABLE org_members (
			org_id   text NOT NULL,
			user_id  text NOT NULL,
			added_at timestamptz NOT NULL,
			PRIMARY KEY (org_id, user_id)
		);
		CREATE INDEX org_members_user ON org_members (user_id);`, h)
}

// Backends projects backends and their members. Runner tokens are not here: only their hashes exist, in
// the secrets table.
func Backends() projections.Projector {
	h := projections.Handlers{}
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.BackendCreated) error {
		return db.Exec(ctx, `INSERT INTO backends (id, slug, name, created_at, token_set_at) VALUES ($1, $2, $3, $4, $4)`,
			ev.BackendID, ev.Slug, ev.Name, e.RecordedAt)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.RunnerTokenRotated) error {
		return db.Exec(ctx, `UPDATE backends SET token_set_at = $2 WHERE id = $1`, ev.BackendID, e.RecordedAt)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.BackendMemberAdded) error {
		return db.Exec(ctx, `INSERT INTO backend_members (backend_id, user_id, added_at) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, ev.BackendID, ev.UserID, e.RecordedAt)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.BackendMemberRemoved) error {
		return db.Exec(ctx, `DELETE FROM backend_members WHERE backend_id = $1 AND user_id = $2`, ev.BackendID, ev.UserID)
	})
	return projections.Define("backends", 1, []string{"backends", "backend_members"},
		`CREATE TABLE backends (
			id           text PRIMARY KEY,
			slug         text NOT NULL UNIQUE,
			name         text NOT NULL,
			created_at   timestamptz NOT NULL,
			token_set_at timestamptz NOT NULL
		);
		CREATE TABLE backend_members (
			backend_id text NOT NULL,
			user_id    text NOT NULL,
			added_at   timestamptz NOT NULL,
			PRIMARY KEY (backend_id, user_id)
		);
		CREATE INDEX backend_members_user ON backend_members (user_id);`, h)
}

// Projects projects projects (their organisation and name) and their members with project roles.
func Projects() projections.Projector {
	h := projections.Handlers{}
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.ProjectCreated) error {
		return db.Exec(ctx, `INSERT INTO projects (id, slug, name, org_id, created_at) VALUES ($1, $2, $3, nullif($4, ''), $5)`,
			ev.ProjectID, ev.Slug, ev.Name, ev.OrgID, e.RecordedAt)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.ProjectAddedToOrg) error {
		return db.Exec(ctx, `UPDATE projects SET org_id = $2 WHERE id = $1`, ev.ProjectID, ev.OrgID)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.ProjectRenamed) error {
		return db.Exec(ctx, `UPDATE projects SET name = $2 WHERE id = $1`, ev.ProjectID, ev.Name)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.ProjectMemberAdded) error {
		return db.Exec(ctx, `INSERT INTO project_members (project_id, user_id, roles, added_at) VALUES ($1, $2, $3, $4)`,
			ev.ProjectID, ev.UserID, roleStrings(ev.Roles), e.RecordedAt)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.ProjectMemberRolesChanged) error {
		return db.Exec(ctx, `UPDATE project_members SET roles = $3 WHERE project_id = $1 AND user_id = $2`,
			ev.ProjectID, ev.UserID, roleStrings(ev.Roles))
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.ProjectMemberRemoved) error {
		return db.Exec(ctx, `DELETE FROM project_members WHERE project_id = $1 AND user_id = $2`, ev.ProjectID, ev.UserID)
	})
	return projections.Define("projects", 1, []string{"projects", "project_members"},
		`CREATE TABLE projects (
			id         text PRIMARY KEY,
			slug       text NOT NULL UNIQUE,
			name       text NOT NULL,
			org_id     text,
			created_at timestamptz NOT NULL
		);
		CREATE INDEX projects_org ON projects (org_id);
		CREATE TABLE project_members (
			project_id text NOT NULL,
			user_id    text NOT NULL,
			roles      text[] NOT NULL,
			added_at   timestamptz NOT NULL,
			PRIMARY KEY (project_id, user_id)
		);
		CREATE INDEX project_members_user ON project_members (user_id);`, h)
}

func roleStrings(roles []domain.Role) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = string(r)
	}
	return out
}

// Projectors are the read models of identity and access.
func Projectors() []projections.Projector {
	return []projections.Projector{Users(), Orgs(), Backends(), Projects()}
}
