package releases

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/projections"
)

// Queries reads the read model of releases. Each view reads one snapshot of the one projector's tables,
// and refuses (domain.Forbidden) a viewer without release_file_view on the workspace's project.
type Queries struct{ pool *pgxpool.Pool }

// NewQueries returns queries on pool.
func NewQueries(pool *pgxpool.Pool) *Queries { return &Queries{pool: pool} }

type querier = projections.Querier

// Workspace names the workspace of releases, its project and organisation, for addresses and breadcrumbs.
type Workspace struct {
	ID, Name                 string
	ProjectID                string
	ProjectSlug, ProjectName string
	OrgSlug, OrgName         string
}

// URL is the address of the workspace's page.
func (w Workspace) URL() string {
	return "/" + url.PathEscape(w.OrgSlug) + "/" + url.PathEscape(w.ProjectSlug) + "/" + url.PathEscape(w.Name)
}

// ReleasesURL is the address of the workspace's releases page.
func (w Workspace) ReleasesURL() string { return w.URL() + "/releases" }

// At refuses, as not found, a workspace asked for under another organisation's or project's address.
func (w Workspace) At(orgSlug, projectSlug string) error {
	if !strings.EqualFold(w.OrgSlug, orgSlug) || !strings.EqualFold(w.ProjectSlug, projectSlug) {
		return domain.NotFound("No such workspace.")
	}
	return nil
}

// Viewing is the workspace a view shows and what its viewer may do there (to show or hide buttons, such
// as Delete; the commands decide).
type Viewing struct {
	Workspace Workspace
	ViewerID  string
	Viewer    domain.PermissionSet
}

// Release is one release of a workspace.
type Release struct {
	ID, WorkspaceID                            string
	BackendID, BackendSlug, BackendName        string
	CreatedByID, CreatedByLogin, CreatedByName string
	CreatedAt                                  time.Time
	// Files is how many files the release lists; Uploaded how many of them were uploaded and not deleted.
	Files, Uploaded int
}

// File is one file of a release.
type File struct {
	ID, ReleaseID, WorkspaceID          string
	Name, URL                           string
	Size                                int64
	SHA256                              string
	Date                                time.Time
	BackendID, BackendSlug, BackendName string
	// Metadata and Review are the release tool's JSON as it sent them; nil when it sent none.
	Metadata, Review json.RawMessage
	UploadedAt       *time.Time
	UploadedByID     string
	UploadedByLogin  string
	DeletedAt        *time.Time
	DeletedByID      string
	DeletedByLogin   string
	DeleteReason     string
}

// Uploaded reports whether the file's bytes arrived.
func (f File) Uploaded() bool { return f.UploadedAt != nil }

// Deleted reports whether the file was deleted.
func (f File) Deleted() bool { return f.DeletedAt != nil }

// APIPath is the address the file's bytes are downloaded from.
func (f File) APIPath() string { return "/api/v2/releases/file/" + url.PathEscape(f.ID) }

// Unavailable says, as not found, why the file's bytes cannot be served: deleted, or not uploaded yet; nil
// when they can.
func (f File) Unavailable() error {
	switch {
	case f.Deleted():
		return domain.NotFound("This file was deleted: " + f.DeleteReason)
	case !f.Uploaded():
		return domain.NotFound("File not yet uploaded.")
	}
	return nil
}

// WorkspaceReleases is the releases page of a workspace: the latest version of every released file, then
// every release, newest first.
type WorkspaceReleases struct {
	Viewing
	Latest   []File
	Releases []Release
}

// ReleasesOfWorkspace reads the releases of the workspace with name (names are unique on the server) as
// viewerID sees them.
func (q *Queries) ReleasesOfWorkspace(ctx context.Context, workspaceName, viewerID string) (WorkspaceReleases, error) {
	var v WorkspaceReleases
	err := projections.View(ctx, q.pool, func(db querier) error {
		var err error
		if v.Viewing, err = viewing(ctx, db, `w.name = lower($1)`, workspaceName, viewerID); err != nil {
			return err
		}
		if v.Latest, err = latestFiles(ctx, db, v.Workspace.ID); err != nil {
			return err
		}
		rows, err := db.Query(ctx, `SELECT `+releaseColumns+releasesFrom+` WHERE r.workspace_id = $1
			ORDER BY r.created_at DESC, r.id DESC`, v.Workspace.ID)
		v.Releases, err = projections.All(rows, err, scanRelease)
		return err
	})
	return v, err
}

// WorkspaceFiles is the latest version of every released file of a workspace.
type WorkspaceFiles struct {
	Viewing
	Files []File
}

// LatestFilesOfWorkspace reads the latest version of every released file of the workspace with name, by
// backend and name: files uploaded and not deleted, the newest upload of each name from each backend.
func (q *Queries) LatestFilesOfWorkspace(ctx context.Context, workspaceName, viewerID string) (WorkspaceFiles, error) {
	var v WorkspaceFiles
	err := projections.View(ctx, q.pool, func(db querier) error {
		var err error
		if v.Viewing, err = viewing(ctx, db, `w.name = lower($1)`, workspaceName, viewerID); err != nil {
			return err
		}
		v.Files, err = latestFiles(ctx, db, v.Workspace.ID)
		return err
	})
	return v, err
}

// ReleaseFiles is one release with every file it lists, in the order listed, uploaded or not, deleted or not.
type ReleaseFiles struct {
	Viewing
	Release Release
	Files   []File
}

// Release reads the release with id and its files as viewerID sees them.
func (q *Queries) Release(ctx context.Context, releaseID, viewerID string) (ReleaseFiles, error) {
	var v ReleaseFiles
	err := projections.View(ctx, q.pool, func(db querier) error {
		rows, err := db.Query(ctx, `SELECT `+releaseColumns+releasesFrom+` WHERE r.id = upper($1)`, releaseID)
		if v.Release, err = projections.One(rows, err, "No such release.", scanRelease); err != nil {
			return err
		}
		if v.Viewing, err = viewing(ctx, db, `w.id = $1`, v.Release.WorkspaceID, viewerID); err != nil {
			return err
		}
		rows, err = db.Query(ctx, `SELECT `+fileColumns+filesFrom+` WHERE f.release_id = $1 ORDER BY f.position`, v.Release.ID)
		v.Files, err = projections.All(rows, err, scanFile)
		return err
	})
	return v, err
}

// FileView is one released file and the workspace it was released out of.
type FileView struct {
	Viewing
	File File
}

// File reads the released file with id as viewerID sees it, deleted or not, uploaded or not (see
// File.Unavailable); its SHA256 names its bytes in blob storage.
func (q *Queries) File(ctx context.Context, fileID, viewerID string) (FileView, error) {
	var v FileView
	err := projections.View(ctx, q.pool, func(db querier) error {
		rows, err := db.Query(ctx, `SELECT `+fileColumns+filesFrom+` WHERE f.id = upper($1)`, fileID)
		if v.File, err = projections.One(rows, err, "No such file.", scanFile); err != nil {
			return err
		}
		v.Viewing, err = viewing(ctx, db, `w.id = $1`, v.File.WorkspaceID, viewerID)
		return err
	})
	return v, err
}

// viewing reads the workspace that where (on release_workspaces w, with arg) selects and what viewerID
// may do in its project; without release_file_view the answer is Forbidden.
func viewing(ctx context.Context, db querier, where, arg, viewerID string) (Viewing, error) {
	rows, err := db.Query(ctx, `SELECT w.id, w.name, w.project_id, coalesce(p.slug, ''), coalesce(p.name, ''),
			coalesce(o.slug, ''), coalesce(o.name, '')
		FROM release_workspaces w LEFT JOIN release_projects p ON p.id = w.project_id LEFT JOIN release_orgs o ON o.id = p.org_id
		WHERE `+where, arg)
	ws, err := projections.One(rows, err, "No such workspace.", pgx.RowToStructByPos[Workspace])
	if err != nil {
		return Viewing{}, err
	}
	can, err := copies.Permissions(ctx, db, viewerID, ws.ProjectID)
	if err != nil {
		return Viewing{}, err
	}
	if !can.Has(domain.ReleaseFileView) {
		return Viewing{}, domain.Forbidden(domain.ReleaseFileView)
	}
	return Viewing{Workspace: ws, ViewerID: viewerID, Viewer: can}, nil
}

// latestFiles is the newest upload of each name from each backend, of files not deleted, by name.
func latestFiles(ctx context.Context, db querier, workspaceID string) ([]File, error) {
	rows, err := db.Query(ctx, `SELECT * FROM (SELECT DISTINCT ON (f.backend_id, f.name) `+fileColumns+filesFrom+`
			WHERE f.workspace_id = $1 AND f.uploaded_at IS NOT NULL AND f.deleted_at IS NULL
			ORDER BY f.backend_id, f.name, f.uploaded_at DESC, f.id DESC) latest
		ORDER BY 5, 15`, workspaceID)
	return projections.All(rows, err, scanFile)
}

const releaseColumns = `r.id, r.workspace_id, r.backend_id, coalesce(b.slug, ''), coalesce(b.name, ''), r.created_by,
	coalesce(u.login, ''), coalesce(nullif(u.name, ''), u.login, ''), r.created_at,
	(SELECT count(*) FROM release_files f WHERE f.release_id = r.id),
	(SELECT count(*) FROM release_files f WHERE f.release_id = r.id AND f.uploaded_at IS NOT NULL AND f.deleted_at IS NULL)`

const releasesFrom = ` FROM releases r LEFT JOIN release_backends b ON b.id = r.backend_id LEFT JOIN release_people u ON u.id = r.created_by`

func scanRelease(row pgx.CollectableRow) (Release, error) {
	var r Release
	err := row.Scan(&r.ID, &r.WorkspaceID, &r.BackendID, &r.BackendSlug, &r.BackendName, &r.CreatedByID, &r.CreatedByLogin,
		&r.CreatedByName, &r.CreatedAt, &r.Files, &r.Uploaded)
	return r, err
}

// fileColumns: the name is the fifth and the backend's slug the fifteenth, which latestFiles orders by.
const fileColumns = `f.id, f.release_id, f.workspace_id, f.backend_id, f.name, f.url, f.size, f.sha256, f.date, f.metadata, f.review,
	f.uploaded_at, coalesce(f.uploaded_by, ''), coalesce(up.login, ''), coalesce(b.slug, ''), coalesce(b.name, ''),
	f.deleted_at, coalesce(f.deleted_by, ''), coalesce(del.login, ''), f.delete_reason`

const filesFrom = ` FROM release_files f LEFT JOIN release_backends b ON b.id = f.backend_id
	LEFT JOIN release_people up ON up.id = f.uploaded_by LEFT JOIN release_people del ON del.id = f.deleted_by`

func scanFile(row pgx.CollectableRow) (File, error) {
	var f File
	var metadata, review []byte
	err := row.Scan(&f.ID, &f.ReleaseID, &f.WorkspaceID, &f.BackendID, &f.Name, &f.URL, &f.Size, &f.SHA256, &f.Date, &metadata, &review,
		&f.UploadedAt, &f.UploadedByID, &f.UploadedByLogin, &f.BackendSlug, &f.BackendName,
		&f.DeletedAt, &f.DeletedByID, &f.DeletedByLogin, &f.DeleteReason)
	f.Metadata, f.Review = metadata, review
	return f, err
}
