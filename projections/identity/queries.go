package identity

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/domain"
)

// Queries reads the read models for pages and the API.
type Queries struct{ pool *pgxpool.Pool }

// NewQueries returns queries on pool.
func NewQueries(pool *pgxpool.Pool) *Queries { return &Queries{pool: pool} }

// one collects exactly one row; none is the domain's NotFound with the message missing, the one
// not-found error that pages and commands share.
func one[T any](rows pgx.Rows, err error, missing string, scan func(pgx.CollectableRow) (T, error)) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	v, err := pgx.CollectExactlyOneRow(rows, scan)
	if errors.Is(err, pgx.ErrNoRows) {
		return zero, domain.NotFound(missing)
	}
	return v, err
}

// all collects every row.
func all[T any](rows pgx.Rows, err error, scan func(pgx.CollectableRow) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scan)
}

func toRoles(ss []string) []domain.Role {
	roles := make([]domain.Role, len(ss))
	for i, s := range ss {
		roles[i] = domain.Role(s)
	}
	domain.SortRoles(roles)
	return roles
}

// User is a person who has logged in.
type User struct {
	ID, Login, Name, Email, NotificationEmail, AvatarURL string
	GitHubID                                             int64
	GlobalRoles                                          []domain.Role
	RegisteredAt                                         time.Time
}

// DisplayName is the user's name, or their login when GitHub has no name for them.
func (u User) DisplayName() string {
	if u.Name != "" {
		return u.Name
	}
	return u.Login
}

// NotifyAddress is where e-mail about the user's jobs goes.
func (u User) NotifyAddress() string {
	if u.NotificationEmail != "" {
		return u.NotificationEmail
	}
	return u.Email
}

const userColumns = `u.id, u.login, u.name, u.email, u.notification_email, u.avatar_url, u.github_id, u.global_roles, u.registered_at`

func scanUser(row pgx.CollectableRow) (User, error) {
	var u User
	var roles []string
	err := row.Scan(&u.ID, &u.Login, &u.Name, &u.Email, &u.NotificationEmail, &u.AvatarURL, &u.GitHubID, &roles, &u.RegisteredAt)
	u.GlobalRoles = toRoles(roles)
	return u, err
}

// User returns one user by id.
func (q *Queries) User(ctx context.Context, id string) (User, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = $1`, id)
	return one(rows, err, "No such user.", scanUser)
}

// UserByLogin returns the user with a GitHub login, ignoring case.
func (q *Queries) UserByLogin(ctx context.Context, login string) (User, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+userColumns+` FROM users u WHERE lower(u.login) = lower($1)`, login)
	return one(rows, err, "No such user.", scanUser)
}

// Users lists users whose login, name or e-mail contains text (every user when text is empty), by login.
func (q *Queries) Users(ctx context.Context, text string, limit int) ([]User, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+userColumns+` FROM users u
		WHERE $1 = '' OR u.login ILIKE '%' || $1 || '%' OR u.name ILIKE '%' || $1 || '%' OR u.email ILIKE '%' || $1 || '%'
		ORDER BY lower(u.login) LIMIT $2`, escapeLike(text), limit)
	return all(rows, err, scanUser)
}

// escapeLike makes text match itself literally inside an ILIKE pattern.
func escapeLike(text string) string {
	out := make([]rune, 0, len(text))
	for _, r := range text {
		if r == '%' || r == '_' || r == '\\' {
			out = append(out, '\\')
		}
		out = append(out, r)
	}
	return string(out)
}

// Permissions returns what a user may do on a project ("" for outside any project): the union of their
// global roles and their roles in the project, as the commands decide it.
func (q *Queries) Permissions(ctx context.Context, userID, projectID string) (domain.PermissionSet, error) {
	if userID == "" {
		return domain.PermissionSet{}, nil
	}
	var global, project []string
	err := q.pool.QueryRow(ctx, `SELECT u.global_roles, coalesce((SELECT m.roles FROM project_members m
			WHERE m.project_id = $2 AND m.user_id = u.id), '{}')
		FROM users u WHERE u.id = $1`, userID, projectID).Scan(&global, &project)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.PermissionSet{}, nil
	}
	if err != nil {
		return nil, err
	}
	return domain.PermissionsOf(toRoles(global), toRoles(project)), nil
}

// Org is an organisation.
type Org struct {
	ID, Slug, Name string
	CreatedAt      time.Time
	Projects       int
	Members        int
}

const orgColumns = `o.id, o.slug, o.name, o.created_at,
	(SELECT count(*) FROM projects p WHERE p.org_id = o.id),
	(SELECT count(*) FROM org_members m WHERE m.org_id = o.id)`

func scanOrg(row pgx.CollectableRow) (Org, error) {
	var o Org
	err := row.Scan(&o.ID, &o.Slug, &o.Name, &o.CreatedAt, &o.Projects, &o.Members)
	return o, err
}

// Org returns one organisation by id.
func (q *Queries) Org(ctx context.Context, id string) (Org, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+orgColumns+` FROM orgs o WHERE o.id = $1`, id)
	return one(rows, err, "No such organisation.", scanOrg)
}

// OrgBySlug returns one organisation by slug.
func (q *Queries) OrgBySlug(ctx context.Context, slug string) (Org, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+orgColumns+` FROM orgs o WHERE o.slug = lower($1)`, slug)
	return one(rows, err, "No such organisation.", scanOrg)
}

// Orgs lists every organisation by name.
func (q *Queries) Orgs(ctx context.Context) ([]Org, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+orgColumns+` FROM orgs o ORDER BY lower(o.name)`)
	return all(rows, err, scanOrg)
}

// OrgsOfUser lists the organisations a user is a member of.
func (q *Queries) OrgsOfUser(ctx context.Context, userID string) ([]Org, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+orgColumns+` FROM orgs o JOIN org_members m ON m.org_id = o.id
		WHERE m.user_id = $1 ORDER BY lower(o.name)`, userID)
	return all(rows, err, scanOrg)
}

// OrgMembers lists the members of an organisation.
func (q *Queries) OrgMembers(ctx context.Context, orgID string) ([]User, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+userColumns+` FROM users u JOIN org_members m ON m.user_id = u.id
		WHERE m.org_id = $1 ORDER BY lower(u.login)`, orgID)
	return all(rows, err, scanUser)
}

// Backend is a secure backend where jobs run.
type Backend struct {
	ID, Slug, Name string
	CreatedAt      time.Time
	TokenSetAt     time.Time
	Members        int
}

const backendColumns = `b.id, b.slug, b.name, b.created_at, b.token_set_at,
	(SELECT count(*) FROM backend_members m WHERE m.backend_id = b.id)`

func scanBackend(row pgx.CollectableRow) (Backend, error) {
	var b Backend
	err := row.Scan(&b.ID, &b.Slug, &b.Name, &b.CreatedAt, &b.TokenSetAt, &b.Members)
	return b, err
}

// Backend returns one backend by id.
func (q *Queries) Backend(ctx context.Context, id string) (Backend, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+backendColumns+` FROM backends b WHERE b.id = $1`, id)
	return one(rows, err, "No such backend.", scanBackend)
}

// BackendBySlug returns one backend by slug.
func (q *Queries) BackendBySlug(ctx context.Context, slug string) (Backend, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+backendColumns+` FROM backends b WHERE b.slug = lower($1)`, slug)
	return one(rows, err, "No such backend.", scanBackend)
}

// Backends lists every backend by slug.
func (q *Queries) Backends(ctx context.Context) ([]Backend, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+backendColumns+` FROM backends b ORDER BY b.slug`)
	return all(rows, err, scanBackend)
}

// BackendsOfUser lists the backends a user is a member of.
func (q *Queries) BackendsOfUser(ctx context.Context, userID string) ([]Backend, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+backendColumns+` FROM backends b JOIN backend_members m ON m.backend_id = b.id
		WHERE m.user_id = $1 ORDER BY b.slug`, userID)
	return all(rows, err, scanBackend)
}

// BackendMembers lists the members of a backend.
func (q *Queries) BackendMembers(ctx context.Context, backendID string) ([]User, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+userColumns+` FROM users u JOIN backend_members m ON m.user_id = u.id
		WHERE m.backend_id = $1 ORDER BY lower(u.login)`, backendID)
	return all(rows, err, scanUser)
}

// Project is a study project. OrgSlug and OrgName are empty while the project belongs to no organisation.
type Project struct {
	ID, Slug, Name          string
	OrgID, OrgSlug, OrgName string
	CreatedAt               time.Time
	Members                 int
}

const projectColumns = `p.id, p.slug, p.name, coalesce(p.org_id, ''), coalesce(o.slug, ''), coalesce(o.name, ''), p.created_at,
	(SELECT count(*) FROM project_members m WHERE m.project_id = p.id)`

func scanProject(row pgx.CollectableRow) (Project, error) {
	var p Project
	err := row.Scan(&p.ID, &p.Slug, &p.Name, &p.OrgID, &p.OrgSlug, &p.OrgName, &p.CreatedAt, &p.Members)
	return p, err
}

// Project returns one project by id.
func (q *Queries) Project(ctx context.Context, id string) (Project, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+projectColumns+` FROM projects p LEFT JOIN orgs o ON o.id = p.org_id WHERE p.id = $1`, id)
	return one(rows, err, "No such project.", scanProject)
}

// ProjectInOrg returns the project at /{org}/{project}; slugs match without regard to case.
func (q *Queries) ProjectInOrg(ctx context.Context, orgSlug, projectSlug string) (Project, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+projectColumns+` FROM projects p JOIN orgs o ON o.id = p.org_id
		WHERE o.slug = lower($1) AND p.slug = lower($2)`, orgSlug, projectSlug)
	return one(rows, err, "No such project.", scanProject)
}

// Projects lists every project by name.
func (q *Queries) Projects(ctx context.Context) ([]Project, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+projectColumns+` FROM projects p LEFT JOIN orgs o ON o.id = p.org_id ORDER BY lower(p.name)`)
	return all(rows, err, scanProject)
}

// ProjectsOfOrg lists an organisation's projects by name.
func (q *Queries) ProjectsOfOrg(ctx context.Context, orgID string) ([]Project, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+projectColumns+` FROM projects p JOIN orgs o ON o.id = p.org_id
		WHERE p.org_id = $1 ORDER BY lower(p.name)`, orgID)
	return all(rows, err, scanProject)
}

// Membership is a user's place in a project.
type Membership struct {
	Project Project
	User    User
	Roles   []domain.Role
	AddedAt time.Time
}

func scanMembership(row pgx.CollectableRow) (Membership, error) {
	var m Membership
	var roles, globalRoles []string
	p, u := &m.Project, &m.User
	err := row.Scan(&p.ID, &p.Slug, &p.Name, &p.OrgID, &p.OrgSlug, &p.OrgName, &p.CreatedAt, &p.Members,
		&u.ID, &u.Login, &u.Name, &u.Email, &u.NotificationEmail, &u.AvatarURL, &u.GitHubID, &globalRoles, &u.RegisteredAt,
		&roles, &m.AddedAt)
	m.Roles, u.GlobalRoles = toRoles(roles), toRoles(globalRoles)
	return m, err
}

const membershipQuery = `SELECT ` + projectColumns + `, ` + userColumns + `, m.roles, m.added_at
	FROM project_members m JOIN projects p ON p.id = m.project_id LEFT JOIN orgs o ON o.id = p.org_id
	JOIN users u ON u.id = m.user_id`

// ProjectMembers lists a project's members by name.
func (q *Queries) ProjectMembers(ctx context.Context, projectID string) ([]Membership, error) {
	rows, err := q.pool.Query(ctx, membershipQuery+` WHERE m.project_id = $1 ORDER BY lower(coalesce(nullif(u.name, ''), u.login))`, projectID)
	return all(rows, err, scanMembership)
}

// ProjectMember returns one member of a project.
func (q *Queries) ProjectMember(ctx context.Context, projectID, userID string) (Membership, error) {
	rows, err := q.pool.Query(ctx, membershipQuery+` WHERE m.project_id = $1 AND m.user_id = $2`, projectID, userID)
	return one(rows, err, "This person is not a member of the project.", scanMembership)
}

// MembershipsOfUser lists the projects a user is a member of, by project name.
func (q *Queries) MembershipsOfUser(ctx context.Context, userID string) ([]Membership, error) {
	rows, err := q.pool.Query(ctx, membershipQuery+` WHERE m.user_id = $1 ORDER BY lower(p.name)`, userID)
	return all(rows, err, scanMembership)
}

// BackendMembership is a user's place in a backend: the backend and when they were added to it.
type BackendMembership struct {
	Backend Backend
	AddedAt time.Time
}

// BackendMembershipsOfUser lists the backends a user is a member of, by slug, with when they joined each.
func (q *Queries) BackendMembershipsOfUser(ctx context.Context, userID string) ([]BackendMembership, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+backendColumns+`, bm.added_at FROM backends b
		JOIN backend_members bm ON bm.backend_id = b.id
		WHERE bm.user_id = $1 ORDER BY b.slug`, userID)
	return all(rows, err, func(row pgx.CollectableRow) (BackendMembership, error) {
		var m BackendMembership
		b := &m.Backend
		err := row.Scan(&b.ID, &b.Slug, &b.Name, &b.CreatedAt, &b.TokenSetAt, &b.Members, &m.AddedAt)
		return m, err
	})
}
