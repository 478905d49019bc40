// Package identity holds the read models of identity and access (users, organisations, backends,
// projects and their members), all kept by one projector, and the queries the pages read them with.
package identity

import (
	"context"

	"github.com/mediciasafely/jobserver/projections"

	"github.com/mediciasafely/jobserver/domain"
)

// Identity projects everything of identity and access into one projector's tables, so that every page
// reads one projector, at one position, and each person is one row that every member list joins:
//   - users: people, their GitHub profile, notification address and global roles;
//   - orgs and org_members: organisations and their members;
//   - backends and backend_members: backends and their members, and what the status pages show of each
//     backend: its runner's paused and mode flags and the backend's job requests and their jobs' statuses
//     (backend_job_requests, backend_jobs), for the queue counts. Runner tokens are not here: only their
//     hashes exist, in the secrets table. When a runner was last answered is not here either: it is
//     operational state, in backend_contacts, which the status views read alongside;
//   - projects and project_members: projects (their organisation and name) and their members with
//     project roles, which with the global roles make a viewer's permissions.
func Identity() projections.Projector {
	h := projections.Handlers{}
	onUsers(h)
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.OrgCreated) error {
		return db.Exec(ctx, `INSERT INTO orgs (id, slug, name, created_at) VALUES ($1, $2, $3, $4)`, ev.OrgID, ev.Slug, ev.Name, e.RecordedAt)
	})
	on(h, orgMembers, orgMemberAdded, orgMemberRemoved)
	onBackends(h)
	onProjects(h)
	// Only the pages read these indexes; the handlers find rows by their keys.
	return projections.ReadIndexes(projections.Define(IdentityProjector, 5,
		[]string{"users", "orgs", orgMembers.table, "backends", backendMembers.table, "backend_job_requests", "backend_jobs",
			"projects", projectMembers.table},
		`CREATE TABLE users (
			id                 text PRIMARY KEY,
			github_id          bigint UNIQUE,
			login              text NOT NULL,
			name               text NOT NULL,
			email              text NOT NULL,
			notification_email text NOT NULL DEFAULT '',
			avatar_url         text NOT NULL,
			global_roles       text[] NOT NULL DEFAULT '{}',
			registered_at      timestamptz NOT NULL,
			forgotten          boolean NOT NULL DEFAULT false
		);
		CREATE INDEX users_login ON users (lower(login));
		CREATE TABLE orgs (
			id         text PRIMARY KEY,
			slug       text NOT NULL UNIQUE,
			name       text NOT NULL,
			created_at timestamptz NOT NULL
		);`+orgMembers.schema()+`
		CREATE TABLE backends (
			id           text PRIMARY KEY,
			slug         text NOT NULL UNIQUE,
			name         text NOT NULL,
			created_at   timestamptz NOT NULL,
			token_set_at timestamptz NOT NULL,
			paused       boolean NOT NULL DEFAULT false,
			mode         text NOT NULL DEFAULT '',
			mode_set_at  timestamptz,
			protocol     text NOT NULL DEFAULT 'classic',
			controller_url text NOT NULL DEFAULT '',
			client_token_set_at timestamptz
		);
		CREATE TABLE backend_job_requests (
			id         text PRIMARY KEY,
			backend_id text NOT NULL
		);
		CREATE INDEX backend_job_requests_backend ON backend_job_requests (backend_id);
		CREATE TABLE backend_jobs (
			id             text PRIMARY KEY,
			job_request_id text NOT NULL,
			backend_id     text NOT NULL,
			status         text NOT NULL
		);
		CREATE INDEX backend_jobs_request ON backend_jobs (job_request_id);
		CREATE INDEX backend_jobs_queued ON backend_jobs (backend_id, status) WHERE status IN ('pending', 'running');`+
			backendMembers.schema()+`
		CREATE TABLE projects (
			id         text PRIMARY KEY,
			slug       text NOT NULL UNIQUE,
			name       text NOT NULL,
			org_id     text,
			created_at timestamptz NOT NULL
		);
		CREATE INDEX projects_org ON projects (org_id);`+projectMembers.schema(), h),
		"users_login", orgMembers.userIndex(), backendMembers.userIndex(), projectMembers.userIndex(), "projects_org",
		"backend_job_requests_backend", "backend_jobs_queued")
}

// onUsers keeps users: people, their GitHub profile, notification address and global roles. It is the one
// copy of the people: the member lists join it for names, pictures and global roles.
func onUsers(h projections.Handlers) {
	// A forgotten user's profile no longer opens (a rebuild after the forgetting): the row shows
	// domain.ForgottenPerson, as PersonForgotten leaves it.
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.UserRegistered) error {
		p := domain.ShownProfile(ev.Profile)
		var gitHubID any // NULL for a forgotten person; plain values, so that a rebuild copies runs of them
		if p.ID != 0 {
			gitHubID = p.ID
		}
		return db.Exec(ctx, `INSERT INTO users (id, github_id, login, name, email, avatar_url, registered_at, forgotten)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			ev.UserID, gitHubID, p.Login, p.Name, p.Email, p.AvatarURL, e.RecordedAt, ev.Profile.Forgotten())
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.UserProfileUpdated) error {
		p := domain.ShownProfile(ev.Profile)
		return db.Exec(ctx, `UPDATE users SET login = $2, name = $3, email = $4, avatar_url = $5 WHERE id = $1`,
			ev.UserID, p.Login, p.Name, p.Email, p.AvatarURL)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.NotificationEmailChanged) error {
		return db.Exec(ctx, `UPDATE users SET notification_email = $2 WHERE id = $1`, ev.UserID, ev.Email.Value())
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.PersonForgotten) error {
		return db.Exec(ctx, `UPDATE users SET github_id = NULL, login = '', name = $2, email = '', notification_email = '',
			avatar_url = '', forgotten = true WHERE id = $1`, ev.UserID, domain.ForgottenPerson)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.GlobalRoleGranted) error {
		return db.Exec(ctx, `UPDATE users SET global_roles = ARRAY(SELECT DISTINCT unnest(global_roles || $2::text) ORDER BY 1)
			WHERE id = $1`, ev.UserID, string(ev.Role))
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.GlobalRoleRevoked) error {
		return db.Exec(ctx, `UPDATE users SET global_roles = array_remove(global_roles, $2::text) WHERE id = $1`, ev.UserID, string(ev.Role))
	})
}

// onBackends keeps backends and their members, and (onBackendStatus) what the status pages show of them.
func onBackends(h projections.Handlers) {
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.BackendCreated) error {
		return db.Exec(ctx, `INSERT INTO backends (id, slug, name, created_at, token_set_at) VALUES ($1, $2, $3, $4, $4)`,
			ev.BackendID, ev.Slug, ev.Name, e.RecordedAt)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.RunnerTokenRotated) error {
		return db.Exec(ctx, `UPDATE backends SET token_set_at = $2 WHERE id = $1`, ev.BackendID, e.RecordedAt)
	})
	on(h, backendMembers,
		func(ev domain.BackendMemberAdded) (string, string, []domain.Role) {
			return ev.BackendID, ev.UserID, nil
		},
		func(ev domain.BackendMemberRemoved) (string, string) { return ev.BackendID, ev.UserID })
	onBackendProtocols(h)
	onBackendStatus(h)
}

// The runner flags the status pages show: paused is "true" when the runner takes no new jobs; mode is
// "db-maintenance" while the backend's database is being maintained.
const (
	flagPaused        = "paused"
	flagMode          = "mode"
	modeDBMaintenance = "db-maintenance"
)

// onBackendStatus keeps the runner's flags (paused: "true"; mode: "db-maintenance", since when the runner
// set it) and the backend's copy of its job requests and jobs.
func onBackendStatus(h projections.Handlers) {
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.BackendFlagChanged) error {
		switch ev.Flag {
		case flagPaused:
			return db.Exec(ctx, `UPDATE backends SET paused = $2 WHERE id = $1`, ev.BackendID, ev.Value == "true")
		case flagMode:
			setAt := ev.SetAt
			if setAt.IsZero() {
				setAt = e.RecordedAt
			}
			return db.Exec(ctx, `UPDATE backends SET mode = $2, mode_set_at = CASE WHEN $2 = '' THEN NULL ELSE $3::timestamptz END
				WHERE id = $1`, ev.BackendID, ev.Value, setAt)
		}
		return nil
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.JobRequested) error {
		return db.Exec(ctx, `INSERT INTO backend_job_requests (id, backend_id) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`,
			ev.JobRequestID, ev.BackendID)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.JobStatusChanged) error {
		return db.Exec(ctx, `INSERT INTO backend_jobs (id, job_request_id, backend_id, status)
			SELECT $1, r.id, r.backend_id, $3 FROM backend_job_requests r WHERE r.id = $2
			ON CONFLICT (id) DO UPDATE SET status = $3`, ev.JobID, ev.JobRequestID, ev.Status)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.JobsRemoved) error {
		return db.Exec(ctx, `DELETE FROM backend_jobs WHERE job_request_id = $1 AND id = ANY($2)`, ev.JobRequestID, ev.JobIDs)
	})
	// A request a rap controller had nothing to do for, or refused, never gets a job: it waits for none.
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.JobCreationRecorded) error {
		if _, active := domain.JobRequestState(ev.Status, nil); active {
			return nil
		}
		return db.Exec(ctx, `DELETE FROM backend_job_requests r WHERE r.id = $1
			AND NOT EXISTS (SELECT 1 FROM backend_jobs j WHERE j.job_request_id = r.id)`, ev.JobRequestID)
	})
}

// onProjects keeps projects (their organisation and name) and their members with project roles.
func onProjects(h projections.Handlers) {
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
	on(h, projectMembers,
		func(ev domain.ProjectMemberAdded) (string, string, []domain.Role) {
			return ev.ProjectID, ev.UserID, ev.Roles
		},
		func(ev domain.ProjectMemberRemoved) (string, string) { return ev.ProjectID, ev.UserID })
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.ProjectMemberRolesChanged) error {
		return projectMembers.setRoles(ctx, db, ev.ProjectID, ev.UserID, ev.Roles)
	})
}

func orgMemberAdded(ev domain.OrgMemberAdded) (string, string, []domain.Role) {
	return ev.OrgID, ev.UserID, nil
}
func orgMemberRemoved(ev domain.OrgMemberRemoved) (string, string) { return ev.OrgID, ev.UserID }

// Projectors are the read models of identity and access: the one projector, Identity.
func Projectors() []projections.Projector {
	return []projections.Projector{Identity()}
}
