// Package releases holds the read model of released outputs (step 10 of the user guide): the releases of
// every workspace with their files, who uploaded and who deleted each, and the queries the releases pages
// and the release API's file indexes read.
package releases

import (
	"context"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/projections"
)

// ReleasesProjector is the name of the projector behind the releases pages and the release API's GET
// endpoints, for the forms that wait for it after a command. It writes release_workspaces, releases,
// release_files and its own copies of the names they show (release_people, release_orgs, release_projects,
// release_project_members, release_backends).
const ReleasesProjector = "releases"

// Projector projects releases and their files with the names their pages show.
func Projector() projections.Projector {
	h := projections.Handlers{}
	onWorkspaces(h)
	onReleases(h)
	copies.Register(h)
	return projections.Define(ReleasesProjector, 1,
		append([]string{"release_workspaces", "releases", "release_files"}, copies.Tables()...), schema+copies.Schema(), h)
}

// copies are the names the releases pages show of what other slices own, and the roles that decide what
// a viewer may see there.
var copies = projections.CopiesNamed("release")

// Projectors are the read models of the releases slice.
func Projectors() []projections.Projector { return []projections.Projector{Projector()} }

// A workspace's latest files are read by (workspace, backend, name, newest upload first): the index
// release_files_latest answers "the latest version of every released file" without sorting the history.
const schema = `
	CREATE TABLE release_workspaces (
		id         text PRIMARY KEY,
		project_id text NOT NULL,
		name       text NOT NULL UNIQUE
	);
	CREATE TABLE releases (
		id           text PRIMARY KEY,
		workspace_id text NOT NULL,
		project_id   text NOT NULL,
		backend_id   text NOT NULL,
		created_by   text NOT NULL,
		created_at   timestamptz NOT NULL,
		metadata     jsonb,
		review       jsonb
	);
	CREATE INDEX releases_workspace ON releases (workspace_id, created_at DESC, id DESC);
	CREATE TABLE release_files (
		id            text PRIMARY KEY,
		release_id    text NOT NULL,
		workspace_id  text NOT NULL,
		backend_id    text NOT NULL,
		position      integer NOT NULL,
		name          text NOT NULL,
		url           text NOT NULL,
		size          bigint NOT NULL,
		sha256        text NOT NULL,
		date          timestamptz NOT NULL,
		metadata      jsonb,
		review        jsonb,
		uploaded_at   timestamptz,
		uploaded_by   text,
		deleted_at    timestamptz,
		deleted_by    text,
		delete_reason text NOT NULL DEFAULT ''
	);
	CREATE INDEX release_files_release ON release_files (release_id, position);
	CREATE INDEX release_files_latest ON release_files (workspace_id, backend_id, name, uploaded_at DESC, id DESC)
		WHERE uploaded_at IS NOT NULL AND deleted_at IS NULL;`

func onWorkspaces(h projections.Handlers) {
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.WorkspaceCreated) error {
		return db.Exec(ctx, `INSERT INTO release_workspaces (id, project_id, name) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
			ev.WorkspaceID, ev.ProjectID, ev.Name)
	})
}

func onReleases(h projections.Handlers) {
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.ReleaseCreated) error {
		if err := db.Exec(ctx, `INSERT INTO releases (id, workspace_id, project_id, backend_id, created_by, created_at, metadata, review)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
			ev.ReleaseID, ev.WorkspaceID, ev.ProjectID, ev.BackendID, ev.CreatedBy, e.RecordedAt, jsonOrNull(ev.Metadata), jsonOrNull(ev.Review)); err != nil {
			return err
		}
		for i, f := range ev.Files {
			if err := db.Exec(ctx, `INSERT INTO release_files (id, release_id, workspace_id, backend_id, position, name, url, size, sha256,
					date, metadata, review)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (id) DO NOTHING`,
				f.FileID, ev.ReleaseID, ev.WorkspaceID, ev.BackendID, i, f.Name, f.URL, f.Size, f.SHA256, f.Date,
				jsonOrNull(f.Metadata), jsonOrNull(f.Review)); err != nil {
				return err
			}
		}
		return nil
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.ReleaseFileUploaded) error {
		return db.Exec(ctx, `UPDATE release_files SET uploaded_at = $2, uploaded_by = $3 WHERE id = $1`,
			ev.FileID, e.RecordedAt, ev.UploadedBy)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.ReleaseFileDeleted) error {
		return db.Exec(ctx, `UPDATE release_files SET deleted_at = $2, deleted_by = $3, delete_reason = $4 WHERE id = $1`,
			ev.FileID, e.RecordedAt, ev.DeletedBy, ev.Reason)
	})
}

// jsonOrNull stores a map as JSON, and no map as SQL NULL (a review not given yet).
func jsonOrNull(m map[string]any) any {
	if m == nil {
		return nil
	}
	return m
}
