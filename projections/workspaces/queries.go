package workspaces

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/domain/projectyaml"
	"github.com/mediciasafely/jobserver/projections"
)

// Queries reads the read models of workspaces for the pages. Each view reads one snapshot of the tables of
// the one projector, so a page never shows two projectors at two positions.
type Queries struct{ pool *pgxpool.Pool }

// NewQueries returns queries on pool.
func NewQueries(pool *pgxpool.Pool) *Queries { return &Queries{pool: pool} }

// querier is a pool, or the transaction of a view.
type querier = projections.Querier

// Project names a project and its organisation, for addresses and breadcrumbs.
type Project struct {
	ID, Slug, Name   string
	OrgSlug, OrgName string
}

// URL is the address of the project's page.
func (p Project) URL() string { return "/" + p.OrgSlug + "/" + p.Slug }

// Workspace is a workspace as its pages show it.
type Workspace struct {
	ID, ProjectID, Name string
	RepoURL, Branch     string
	Archived, Notify    bool
	CreatedByID         string
	CreatedByName       string // the creator's name, or login when GitHub has none
	CreatedAt           time.Time
}

const workspaceColumns = `w.id, w.project_id, w.name, w.repo_url, w.branch, w.archived, w.notify, w.created_by,
	coalesce(nullif(u.name, ''), u.login, ''), w.created_at`

const workspacesFrom = ` FROM workspaces w LEFT JOIN workspace_people u ON u.id = w.created_by`

func scanWorkspace(row pgx.CollectableRow) (Workspace, error) {
	var w Workspace
	err := row.Scan(&w.ID, &w.ProjectID, &w.Name, &w.RepoURL, &w.Branch, &w.Archived, &w.Notify, &w.CreatedByID,
		&w.CreatedByName, &w.CreatedAt)
	return w, err
}

// Repo is one GitHub repository of a project's workspaces, with the names of the workspaces on it.
type Repo struct {
	URL        string
	Workspaces []string
}

// ProjectWorkspaces is what a project's page shows of its workspaces: every workspace by name, and the
// distinct repositories they run.
type ProjectWorkspaces struct {
	Workspaces []Workspace
	Repos      []Repo
}

// ProjectWorkspaces reads the workspaces of a project by name, and their repositories by address.
func (q *Queries) ProjectWorkspaces(ctx context.Context, projectID string) (ProjectWorkspaces, error) {
	var v ProjectWorkspaces
	err := projections.View(ctx, q.pool, func(db querier) error {
		rows, err := db.Query(ctx, `SELECT `+workspaceColumns+workspacesFrom+` WHERE w.project_id = $1 ORDER BY w.name`, projectID)
		if v.Workspaces, err = projections.All(rows, err, scanWorkspace); err != nil {
			return err
		}
		rows, err = db.Query(ctx, `SELECT repo_url, array_agg(name ORDER BY name) FROM workspaces WHERE project_id = $1
			GROUP BY repo_url ORDER BY lower(repo_url)`, projectID)
		v.Repos, err = projections.All(rows, err, pgx.RowToStructByPos[Repo])
		return err
	})
	return v, err
}

// WorkspacePage is what a workspace's pages show: the workspace, its project, and what the viewer may do
// there (to show or hide buttons; the commands decide).
type WorkspacePage struct {
	Project   Project
	Workspace Workspace
	ViewerID  string
	Viewer    domain.PermissionSet
}

// ProjectPage is the project at /{org}/{project} as the forms of a workspace see it: the project and what
// the viewer may do in it.
type ProjectPage struct {
	Project Project
	Viewer  domain.PermissionSet
}

// ProjectPage reads the project at /{org}/{project} (slugs without regard to case) as viewerID sees it.
func (q *Queries) ProjectPage(ctx context.Context, orgSlug, projectSlug, viewerID string) (ProjectPage, error) {
	var v ProjectPage
	err := projections.View(ctx, q.pool, func(db querier) error {
		var err error
		if v.Project, err = project(ctx, db, orgSlug, projectSlug); err != nil {
			return err
		}
		v.Viewer, err = permissions(ctx, db, viewerID, v.Project.ID)
		return err
	})
	return v, err
}

// WorkspacePage reads the workspace at /{org}/{project}/{workspace} as viewerID sees it.
func (q *Queries) WorkspacePage(ctx context.Context, orgSlug, projectSlug, workspaceName, viewerID string) (WorkspacePage, error) {
	var v WorkspacePage
	err := projections.View(ctx, q.pool, func(db querier) error {
		return workspacePage(ctx, db, orgSlug, projectSlug, workspaceName, viewerID, &v)
	})
	return v, err
}

func workspacePage(ctx context.Context, db querier, orgSlug, projectSlug, workspaceName, viewerID string, v *WorkspacePage) error {
	var err error
	if v.Project, err = project(ctx, db, orgSlug, projectSlug); err != nil {
		return err
	}
	rows, err := db.Query(ctx, `SELECT `+workspaceColumns+workspacesFrom+` WHERE w.project_id = $1 AND w.name = lower($2)`,
		v.Project.ID, workspaceName)
	if v.Workspace, err = projections.One(rows, err, "No such workspace.", scanWorkspace); err != nil {
		return err
	}
	v.ViewerID = viewerID
	v.Viewer, err = permissions(ctx, db, viewerID, v.Project.ID)
	return err
}

func project(ctx context.Context, db querier, orgSlug, projectSlug string) (Project, error) {
	rows, err := db.Query(ctx, `SELECT p.id, p.slug, p.name, o.slug, o.name FROM workspace_projects p
		JOIN workspace_orgs o ON o.id = p.org_id WHERE o.slug = lower($1) AND p.slug = lower($2)`, orgSlug, projectSlug)
	return projections.One(rows, err, "No such project.", pgx.RowToStructByPos[Project])
}

// permissions is what a user may do in a project, from this projector's copy of the roles.
func permissions(ctx context.Context, db querier, userID, projectID string) (domain.PermissionSet, error) {
	var global, roles []string
	err := db.QueryRow(ctx, `SELECT u.global_roles, coalesce((SELECT m.roles FROM workspace_project_members m
			WHERE m.project_id = $2 AND m.user_id = u.id), '{}')
		FROM workspace_people u WHERE u.id = $1`, userID, projectID).Scan(&global, &roles)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.PermissionSet{}, nil
	}
	if err != nil {
		return nil, err
	}
	return domain.PermissionsOf(projections.Roles(global), projections.Roles(roles)), nil
}

// JobRequest is a request to run actions of a workspace, as its logs show it.
type JobRequest struct {
	ID                   string
	WorkspaceID          string
	BackendID            string
	BackendSlug          string
	BackendName          string
	Actions              []string
	RequestedByID        string
	RequestedByName      string
	SHA                  string
	ForceRunDependencies bool
	WillNotify           bool
	// Status is derived from the request's jobs (domain.JobRequestStatus): "pending" until its runner
	// reports a job.
	Status string
	// Active is whether the request's runner still works on it: false once every job finished.
	Active           bool
	CancelledActions []string
	CreatedAt        time.Time
	// Jobs are the request's jobs as its runner last reported them, by action.
	Jobs []Job
}

// Job is one job of a request as its runner last reported it.
type Job struct {
	ID, JobRequestID, Action          string
	Status, StatusCode, StatusMessage string
	CreatedAt                         time.Time
	StartedAt, CompletedAt            *time.Time
}

// jobsOf reads the jobs of the requests and hands each its own.
func jobsOf(ctx context.Context, db querier, requests []JobRequest) error {
	if len(requests) == 0 {
		return nil
	}
	ids := make([]string, len(requests))
	for i, j := range requests {
		ids[i] = j.ID
	}
	rows, err := db.Query(ctx, `SELECT id, job_request_id, action, status, status_code, status_message, created_at, started_at,
		completed_at FROM workspace_jobs WHERE job_request_id = ANY($1) ORDER BY created_at, action, id`, ids)
	jobs, err := projections.All(rows, err, pgx.RowToStructByPos[Job])
	if err != nil {
		return err
	}
	byRequest := map[string][]Job{}
	for _, j := range jobs {
		byRequest[j.JobRequestID] = append(byRequest[j.JobRequestID], j)
	}
	for i := range requests {
		requests[i].Jobs = byRequest[requests[i].ID]
	}
	return nil
}

// ShortSHA is the commit as people quote it.
func (j JobRequest) ShortSHA() string {
	if len(j.SHA) > 7 {
		return j.SHA[:7]
	}
	return j.SHA
}

// AllCancelled reports whether the cancellation of every requested action was asked.
func (j JobRequest) AllCancelled() bool {
	for _, a := range j.Actions {
		if !slices.Contains(j.CancelledActions, a) {
			return false
		}
	}
	return true
}

// MayCancel reports whether the viewer of page may cancel the request: its requester, or who holds
// job_cancel.
func (j JobRequest) MayCancel(page WorkspacePage) bool {
	return page.ViewerID != "" && (j.RequestedByID == page.ViewerID || page.Viewer.Has(domain.JobCancel))
}

const jobRequestColumns = `j.id, j.workspace_id, j.backend_id, coalesce(b.slug, ''), coalesce(b.name, ''), j.requested_actions,
	j.requested_by, coalesce(nullif(u.name, ''), u.login, ''), j.sha, j.force_run_dependencies, j.will_notify, j.status,
	j.active, j.cancelled_actions, j.created_at`

const jobRequestsFrom = ` FROM workspace_job_requests j LEFT JOIN workspace_backends b ON b.id = j.backend_id
	LEFT JOIN workspace_people u ON u.id = j.requested_by`

func scanJobRequest(row pgx.CollectableRow) (JobRequest, error) {
	var j JobRequest
	err := row.Scan(&j.ID, &j.WorkspaceID, &j.BackendID, &j.BackendSlug, &j.BackendName, &j.Actions, &j.RequestedByID,
		&j.RequestedByName, &j.SHA, &j.ForceRunDependencies, &j.WillNotify, &j.Status, &j.Active, &j.CancelledActions, &j.CreatedAt)
	return j, err
}

// LogsPage is what a workspace's logs show: the workspace and its job requests, newest first.
type LogsPage struct {
	WorkspacePage
	JobRequests []JobRequest
}

// LogsPage reads the logs of the workspace at /{org}/{project}/{workspace} as viewerID sees them.
func (q *Queries) LogsPage(ctx context.Context, orgSlug, projectSlug, workspaceName, viewerID string) (LogsPage, error) {
	var v LogsPage
	err := projections.View(ctx, q.pool, func(db querier) error {
		if err := workspacePage(ctx, db, orgSlug, projectSlug, workspaceName, viewerID, &v.WorkspacePage); err != nil {
			return err
		}
		rows, err := db.Query(ctx, `SELECT `+jobRequestColumns+jobRequestsFrom+` WHERE j.workspace_id = $1
			ORDER BY j.created_at DESC, j.id DESC`, v.Workspace.ID)
		if v.JobRequests, err = projections.All(rows, err, scanJobRequest); err != nil {
			return err
		}
		return jobsOf(ctx, db, v.JobRequests)
	})
	return v, err
}

// JobRequestPage is one job request of a workspace, for the page that asks before cancelling it.
type JobRequestPage struct {
	WorkspacePage
	JobRequest JobRequest
}

// JobRequestPage reads job request id of the workspace at /{org}/{project}/{workspace} as viewerID sees it.
func (q *Queries) JobRequestPage(ctx context.Context, orgSlug, projectSlug, workspaceName, id, viewerID string) (JobRequestPage, error) {
	var v JobRequestPage
	err := projections.View(ctx, q.pool, func(db querier) error {
		if err := workspacePage(ctx, db, orgSlug, projectSlug, workspaceName, viewerID, &v.WorkspacePage); err != nil {
			return err
		}
		rows, err := db.Query(ctx, `SELECT `+jobRequestColumns+jobRequestsFrom+` WHERE j.workspace_id = $1 AND j.id = $2`,
			v.Workspace.ID, id)
		v.JobRequest, err = projections.One(rows, err, "This workspace has no such job request.", scanJobRequest)
		return err
	})
	return v, err
}

// History is the workspace's latest job per action, which plans reuse or wait for. The runners report
// jobs in a later slice; until then no job has run, so the history is empty and every action runs.
func (q *Queries) History(ctx context.Context, workspaceID string) (projectyaml.History, error) {
	return projectyaml.History{}, nil
}

// GitHubTokenFingerprint is the fingerprint of the GitHub token a user saved, "" when none is saved.
func (q *Queries) GitHubTokenFingerprint(ctx context.Context, userID string) (string, error) {
	var fp string
	err := q.pool.QueryRow(ctx, `SELECT github_token_fingerprint FROM workspace_people WHERE id = $1`, userID).Scan(&fp)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return fp, err
}
