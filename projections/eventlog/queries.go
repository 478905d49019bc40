package eventlog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/projections"
)

// Queries reads the event log for the pages. Each view reads one snapshot of this projector's tables.
type Queries struct{ pool *pgxpool.Pool }

// NewQueries returns queries on pool.
func NewQueries(pool *pgxpool.Pool) *Queries { return &Queries{pool: pool} }

// querier is a pool, or the transaction of a view.
type querier = projections.Querier

// JobRequest is a job request as the event log and its own page show it.
type JobRequest struct {
	ID                     string
	OrgSlug, OrgName       string
	ProjectID              string
	ProjectSlug, Project   string
	WorkspaceID, Workspace string
	RepoURL                string
	BackendSlug, Backend   string
	RequestedByID          string
	RequestedBy            string // name, or login when GitHub has none
	Actions                []string
	SHA                    string
	ForceRunDependencies   bool
	WillNotify             bool
	Status                 string
	Active                 bool
	CancelledActions       []string
	NumJobs                int
	CreatedAt              time.Time
	StartedAt, CompletedAt *time.Time
	LastUpdate             *time.Time
}

// URL is the address of the job request's page.
func (j JobRequest) URL() string {
	return "/" + j.OrgSlug + "/" + j.ProjectSlug + "/" + j.Workspace + "/" + j.ID
}

// WorkspaceURL is the address of its workspace's page.
func (j JobRequest) WorkspaceURL() string {
	return "/" + j.OrgSlug + "/" + j.ProjectSlug + "/" + j.Workspace
}

// ShortSHA is the commit as people quote it.
func (j JobRequest) ShortSHA() string {
	if len(j.SHA) > 7 {
		return j.SHA[:7]
	}
	return j.SHA
}

// Finished reports whether every job of the request has finished.
func (j JobRequest) Finished() bool { return !j.Active }

const requestColumns = `r.id, coalesce(o.slug, ''), coalesce(o.name, ''), r.project_id, coalesce(p.slug, ''), coalesce(p.name, ''),
	r.workspace_id, coalesce(w.name, ''), coalesce(w.repo_url, ''), coalesce(b.slug, ''), coalesce(b.name, ''),
	r.requested_by, coalesce(nullif(u.name, ''), u.login, ''), r.requested_actions, r.sha, r.force_run_dependencies,
	r.will_notify, r.status, r.active, r.cancelled_actions, r.num_jobs, r.created_at, r.started_at, r.completed_at, r.last_update`

const requestsFrom = ` FROM eventlog_requests r
	LEFT JOIN eventlog_workspaces w ON w.id = r.workspace_id
	LEFT JOIN eventlog_projects p ON p.id = r.project_id
	LEFT JOIN eventlog_orgs o ON o.id = p.org_id
	LEFT JOIN eventlog_backends b ON b.id = r.backend_id
	LEFT JOIN eventlog_people u ON u.id = r.requested_by`

func scanRequest(row pgx.CollectableRow) (JobRequest, error) {
	var j JobRequest
	err := row.Scan(&j.ID, &j.OrgSlug, &j.OrgName, &j.ProjectID, &j.ProjectSlug, &j.Project, &j.WorkspaceID, &j.Workspace,
		&j.RepoURL, &j.BackendSlug, &j.Backend, &j.RequestedByID, &j.RequestedBy, &j.Actions, &j.SHA, &j.ForceRunDependencies,
		&j.WillNotify, &j.Status, &j.Active, &j.CancelledActions, &j.NumJobs, &j.CreatedAt, &j.StartedAt, &j.CompletedAt,
		&j.LastUpdate)
	return j, err
}

// Job is one job of a request as its runner last reported it.
type Job struct {
	ID, JobRequestID, Action          string
	RunCommand                        string
	Status, StatusCode, StatusMessage string
	TraceID                           string
	CreatedAt                         time.Time
	UpdatedAt, StartedAt, CompletedAt *time.Time
	Metrics                           map[string]any
}

// Finished reports whether the job has succeeded or failed.
func (j Job) Finished() bool { return domain.IsTerminalJobStatus(j.Status) }

// Runtime is the time the job took, or has taken so far (0 before it started).
func (j Job) Runtime(now time.Time) time.Duration {
	if j.StartedAt == nil {
		return 0
	}
	end := now
	if j.CompletedAt != nil {
		end = *j.CompletedAt
	}
	return end.Sub(*j.StartedAt).Round(time.Second)
}

// Metric is a number the runner measured, and whether it did.
func (j Job) Metric(name string) (float64, bool) {
	v, ok := j.Metrics[name].(float64)
	return v, ok
}

const jobColumns = `id, job_request_id, action, run_command, status, status_code, status_message, trace_id, created_at,
	updated_at, started_at, completed_at, metrics`

func jobsOf(ctx context.Context, db querier, requestID string) ([]Job, error) {
	rows, err := db.Query(ctx, `SELECT `+jobColumns+` FROM eventlog_jobs WHERE job_request_id = $1
		ORDER BY started_at NULLS LAST, created_at, action, id`, requestID)
	return projections.All(rows, err, pgx.RowToStructByPos[Job])
}

// Filter narrows the event log; empty fields do not narrow. Every filter combines with the others.
type Filter struct {
	Text      string // an action name or a job identifier
	Request   string // a job request identifier
	Backend   string // a backend's slug
	Status    string // the request's status: failed, running, pending, succeeded
	User      string // the requester's login
	Workspace string // a workspace's name
}

// Any reports whether a filter is set.
func (f Filter) Any() bool { return f != Filter{} }

// Statuses are the statuses the log can be filtered by.
var Statuses = []string{domain.JobFailed, domain.JobRunning, domain.JobPending, domain.JobSucceeded}

// Cursor is a place in the log: the (created, id) of a row, the log being ordered newest first.
type Cursor struct {
	At time.Time
	ID string
}

// String is the cursor as the address carries it.
func (c Cursor) String() string { return c.At.UTC().Format(time.RFC3339Nano) + "~" + c.ID }

// ParseCursor reads a cursor from the address; a malformed one is an input error.
func ParseCursor(s string) (Cursor, error) {
	at, id, ok := strings.Cut(s, "~")
	t, err := time.Parse(time.RFC3339Nano, at)
	if !ok || err != nil || id == "" {
		return Cursor{}, domain.Invalid("cursor", "This page of the event log is not one it has: start again from its first page.")
	}
	return Cursor{At: t, ID: id}, nil
}

// Option is a choice of a filter's menu, selected when the filter has it. The menus hold every workspace
// and every requester, hundreds of options a page, so whether each is selected is worked out once
// (Menus.For) rather than by the template, whose comparisons cost a third of the page's rendering.
type Option struct{ Value, Label string }

// LogPage is one page of the event log, newest first, with what its filters offer.
type LogPage struct {
	Requests []JobRequest
	// Newer and Older are the cursors of the neighbouring pages, nil at either end.
	Newer, Older *Cursor
}

// Menus are the choices of the log's backend, user and workspace filters.
type Menus struct {
	Backends, Users, Workspaces []Option
}

// Log reads a page of size requests matching f: the first page (no cursor), the page after the row at
// after (older), or the page before the row at before (newer).
func (q *Queries) Log(ctx context.Context, f Filter, after, before *Cursor, size int) (LogPage, error) {
	var v LogPage
	err := projections.View(ctx, q.pool, func(db querier) error {
		ids, err := filterIDs(ctx, db, f)
		if err != nil {
			return err
		}
		sql, args := logRequests(f, ids, after, before, size)
		rows, err := db.Query(ctx, sql, args...)
		if v.Requests, err = projections.All(rows, err, scanRequest); err != nil {
			return err
		}
		more := len(v.Requests) > size
		if more {
			v.Requests = v.Requests[:size]
		}
		if before != nil {
			slices.Reverse(v.Requests)
		}
		if len(v.Requests) > 0 {
			first, last := v.Requests[0], v.Requests[len(v.Requests)-1]
			if (before != nil && more) || after != nil {
				v.Newer = &Cursor{At: first.CreatedAt, ID: first.ID}
			}
			if (before == nil && more) || before != nil {
				v.Older = &Cursor{At: last.CreatedAt, ID: last.ID}
			}
		}
		return nil
	})
	return v, err
}

// Menus reads the menus of the log's filters, none selected.
func (q *Queries) Menus(ctx context.Context) (Menus, error) {
	rows, err := q.pool.Query(ctx, menusSQL)
	options, err := projections.All(rows, err, pgx.RowToStructByPos[menuOption])
	var m Menus
	for _, o := range options {
		dst := map[string]*[]Option{"backend": &m.Backends, "user": &m.Users, "workspace": &m.Workspaces}[o.Menu]
		*dst = append(*dst, Option{Value: o.Value, Label: o.Label})
	}
	return m, err
}

// menusSQL reads the menus of the log's filters in one statement: the backends, the people who have
// requested jobs (eventlog_requesters, so the menu costs the same however many requests there are) and the
// workspaces, each in its own order.
const menusSQL = `SELECT menu, value, label FROM (
		SELECT 'backend' AS menu, slug AS value, name AS label, lower(name) AS sort FROM eventlog_backends
		UNION ALL
		SELECT 'user', u.login, coalesce(nullif(u.name, ''), u.login), lower(coalesce(nullif(u.name, ''), u.login))
			FROM eventlog_requesters q JOIN eventlog_people u ON u.id = q.user_id
		UNION ALL
		SELECT 'workspace', name, name, name FROM eventlog_workspaces) m
	ORDER BY menu, sort, value`

// menuOption is a row of menusSQL.
type menuOption struct{ Menu, Value, Label string }

// logRequests is the statement of a page of the log's requests: size+1 rows, the one past the page telling
// whether there is a next. The backend, user and workspace are given by the ids their names stand for
// (ids), read first: a column compared with a known id lets the planner walk that column's index in the
// log's order from the cursor, where a subquery of the names would have it walk the whole log's newest-first
// index and test each row (a backend with 1% of 100,000 requests: 57,000 rows for one page).
func logRequests(f Filter, ids FilterIDs, after, before *Cursor, size int) (string, []any) {
	where, args := []string{"true"}, []any{}
	arg := func(x any) string { args = append(args, x); return fmt.Sprintf("$%d", len(args)) }
	among := func(column string, ids []string) {
		switch {
		case ids == nil:
		case len(ids) == 1:
			where = append(where, column+` = `+arg(ids[0]))
		default: // none (the name names nothing), or, against the rules of names, several
			where = append(where, column+` = ANY(`+arg(ids)+`)`)
		}
	}
	if f.Text != "" {
		where = append(where, `(r.requested_actions || r.job_actions || r.job_ids) @> ARRAY[`+arg(f.Text)+`]::text[]`)
	}
	if ids.Request != "" {
		where = append(where, `r.id = `+arg(ids.Request))
	}
	among("r.backend_id", ids.Backends)
	if f.Status != "" {
		where = append(where, `r.status = `+arg(f.Status))
	}
	among("r.requested_by", ids.Users)
	among("r.workspace_id", ids.Workspaces)
	order := "r.created_at DESC, r.id DESC"
	switch {
	case after != nil:
		where = append(where, `(r.created_at, r.id) < (`+arg(after.At)+`, `+arg(after.ID)+`)`)
	case before != nil:
		where = append(where, `(r.created_at, r.id) > (`+arg(before.At)+`, `+arg(before.ID)+`)`)
		order = "r.created_at, r.id"
	}
	limit := arg(size + 1)
	// Planned for its values every time (an unnamed statement), never with a cached statement's generic plan,
	// which Postgres moves to after five runs: made without the values, it walks a backend's whole index for
	// a user with no such requests, where their statistics lead to the few rows that match (backend + status
	// + user at 100,000 requests: 62 ms at p50 with the generic plan, 3 ms planned for the values).
	return `SELECT ` + requestColumns + requestsFrom + ` WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + order + ` LIMIT ` + limit, append([]any{pgx.QueryExecModeExec}, args...)
}

// ExplainLog runs the statements of Log as EXPLAIN (ANALYZE, BUFFERS), in the order Log runs them, and
// returns their plans: for the benchmark, which reports the plan of the slowest.
func (q *Queries) ExplainLog(ctx context.Context, f Filter, after, before *Cursor, size int) ([]string, error) {
	var plans []string
	err := projections.View(ctx, q.pool, func(db querier) error {
		ids, err := filterIDs(ctx, db, f)
		if err != nil {
			return err
		}
		requests, args := logRequests(f, ids, after, before, size)
		for _, s := range []struct {
			sql  string
			args []any
		}{{requests, args}, {menusSQL, nil}} {
			rows, err := db.Query(ctx, `EXPLAIN (ANALYZE, BUFFERS) `+s.sql, s.args...)
			lines, err := projections.All(rows, err, pgx.RowTo[string])
			if err != nil {
				return err
			}
			plans = append(plans, s.sql+"\n"+strings.Join(lines, "\n"))
		}
		return nil
	})
	return plans, err
}

// Jobs reads the jobs of a job request, for the rows the event log expands.
func (q *Queries) Jobs(ctx context.Context, requestID string) (JobRequest, []Job, error) {
	var (
		r    JobRequest
		jobs []Job
	)
	err := projections.View(ctx, q.pool, func(db querier) error {
		rows, err := db.Query(ctx, `SELECT `+requestColumns+requestsFrom+` WHERE r.id = $1`, requestID)
		if r, err = projections.One(rows, err, "There is no such job request.", scanRequest); err != nil {
			return err
		}
		jobs, err = jobsOf(ctx, db, requestID)
		return err
	})
	return r, jobs, err
}

// RequestPage is a job request's page: the request, its jobs, its project.yaml and what the viewer may do.
type RequestPage struct {
	Request           JobRequest
	Jobs              []Job
	ProjectDefinition string
	ViewerID          string
	Viewer            domain.PermissionSet
}

// MayCancel reports whether the viewer may cancel the request: its requester, or who holds job_cancel.
func (p RequestPage) MayCancel() bool {
	return p.ViewerID != "" && (p.Request.RequestedByID == p.ViewerID || p.Viewer.Has(domain.JobCancel))
}

// Counts are the request's jobs per status.
func (p RequestPage) Counts() map[string]int {
	c := map[string]int{}
	for _, j := range p.Jobs {
		c[j.Status]++
	}
	return c
}

// Runtime is the sum of the time its finished jobs took.
func (p RequestPage) Runtime() time.Duration {
	var d time.Duration
	for _, j := range p.Jobs {
		if j.StartedAt != nil && j.CompletedAt != nil {
			d += j.CompletedAt.Sub(*j.StartedAt)
		}
	}
	return d.Round(time.Second)
}

// Request reads the job request at /{org}/{project}/{workspace}/{request} as viewerID sees it.
func (q *Queries) Request(ctx context.Context, orgSlug, projectSlug, workspace, requestID, viewerID string) (RequestPage, error) {
	var v RequestPage
	err := projections.View(ctx, q.pool, func(db querier) error {
		return requestPage(ctx, db, orgSlug, projectSlug, workspace, requestID, viewerID, &v)
	})
	return v, err
}

func requestPage(ctx context.Context, db querier, orgSlug, projectSlug, workspace, requestID, viewerID string, v *RequestPage) error {
	rows, err := db.Query(ctx, `SELECT `+requestColumns+`, coalesce(d.project_definition, '')`+requestsFrom+`
		LEFT JOIN eventlog_definitions d ON d.job_request_id = r.id
		WHERE r.id = lower($4) AND o.slug = lower($1) AND p.slug = lower($2) AND w.name = lower($3)`,
		orgSlug, projectSlug, workspace, requestID)
	type withDefinition struct {
		JobRequest
		def string
	}
	got, err := projections.One(rows, err, "There is no job request \u201c"+requestID+"\u201d in the workspace \u201c"+workspace+
		"\u201d. Check the address, or find the request in the event log.", func(row pgx.CollectableRow) (withDefinition, error) {
		var j JobRequest
		var def string
		err := row.Scan(&j.ID, &j.OrgSlug, &j.OrgName, &j.ProjectID, &j.ProjectSlug, &j.Project, &j.WorkspaceID, &j.Workspace,
			&j.RepoURL, &j.BackendSlug, &j.Backend, &j.RequestedByID, &j.RequestedBy, &j.Actions, &j.SHA, &j.ForceRunDependencies,
			&j.WillNotify, &j.Status, &j.Active, &j.CancelledActions, &j.NumJobs, &j.CreatedAt, &j.StartedAt, &j.CompletedAt,
			&j.LastUpdate, &def)
		return withDefinition{j, def}, err
	})
	if err != nil {
		return err
	}
	v.Request, v.ProjectDefinition = got.JobRequest, got.def
	if v.Jobs, err = jobsOf(ctx, db, v.Request.ID); err != nil {
		return err
	}
	v.ViewerID = viewerID
	v.Viewer, err = permissions(ctx, db, viewerID, v.Request.ProjectID)
	return err
}

// JobPage is a job's page: the job, its request, and what the viewer may do.
type JobPage struct {
	RequestPage
	Job Job
}

// Cancellable reports whether the job has not finished or been cancelled.
func (p JobPage) Cancellable() bool {
	return !p.Job.Finished() && !slices.Contains(p.Request.CancelledActions, p.Job.Action)
}

// Job reads the job at /{org}/{project}/{workspace}/{request}/{job} as viewerID sees it.
func (q *Queries) Job(ctx context.Context, orgSlug, projectSlug, workspace, requestID, jobID, viewerID string) (JobPage, error) {
	var v JobPage
	err := projections.View(ctx, q.pool, func(db querier) error {
		if err := requestPage(ctx, db, orgSlug, projectSlug, workspace, requestID, viewerID, &v.RequestPage); err != nil {
			return err
		}
		for _, j := range v.Jobs {
			if j.ID == strings.ToLower(jobID) || j.ID == jobID {
				v.Job = j
				return nil
			}
		}
		return domain.NotFound("The job request " + requestID + " has no job \u201c" + jobID + "\u201d.")
	})
	return v, err
}

// Latest reads the newest n job requests of the workspaces of the projects userID is a member of.
func (q *Queries) Latest(ctx context.Context, userID string, n int) ([]JobRequest, error) {
	var v []JobRequest
	err := projections.View(ctx, q.pool, func(db querier) error {
		rows, err := db.Query(ctx, `SELECT `+requestColumns+requestsFrom+`
			WHERE r.project_id IN (SELECT project_id FROM eventlog_project_members WHERE user_id = $1)
			ORDER BY r.created_at DESC, r.id DESC LIMIT $2`, userID, n)
		v, err = projections.All(rows, err, scanRequest)
		return err
	})
	return v, err
}

// permissions is what a user may do in a project, from this projector's copy of the roles.
func permissions(ctx context.Context, db querier, userID, projectID string) (domain.PermissionSet, error) {
	var global, roles []string
	err := db.QueryRow(ctx, `SELECT u.global_roles, coalesce((SELECT m.roles FROM eventlog_project_members m
			WHERE m.project_id = $2 AND m.user_id = u.id), '{}')
		FROM eventlog_people u WHERE u.id = $1`, userID, projectID).Scan(&global, &roles)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.PermissionSet{}, nil
	}
	if err != nil {
		return nil, err
	}
	return domain.PermissionsOf(projections.Roles(global), projections.Roles(roles)), nil
}
