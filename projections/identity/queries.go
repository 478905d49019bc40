package identity

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/projections"
)

// Queries reads the read models for pages and the API.
type Queries struct{ pool *pgxpool.Pool }

// querier is a pool, or the transaction of a view.
type querier = projections.Querier

// NewQueries returns queries on pool.
func NewQueries(pool *pgxpool.Pool) *Queries { return &Queries{pool: pool} }

// User is a person who has logged in. A forgotten user (Forgotten) has no login, GitHub id or address
// and is named domain.ForgottenPerson; they can no longer sign in as this user.
type User struct {
	ID, Login, Name, Email, NotificationEmail, AvatarURL string
	GitHubID                                             int64
	GlobalRoles                                          []domain.Role
	RegisteredAt                                         time.Time
	Forgotten                                            bool
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

const userColumns = `u.id, u.login, u.name, u.email, u.notification_email, u.avatar_url, coalesce(u.github_id, 0), u.global_roles,
	u.registered_at, u.forgotten`

func scanUser(row pgx.CollectableRow) (User, error) {
	var u User
	var roles []string
	err := row.Scan(&u.ID, &u.Login, &u.Name, &u.Email, &u.NotificationEmail, &u.AvatarURL, &u.GitHubID, &roles, &u.RegisteredAt, &u.Forgotten)
	u.GlobalRoles = projections.Roles(roles)
	return u, err
}

// User returns one user by id.
func (q *Queries) User(ctx context.Context, id string) (User, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = $1`, id)
	return projections.One(rows, err, "No such user.", scanUser)
}

// UserByLogin returns the user with a GitHub login, ignoring case (never a forgotten one: they have none).
func (q *Queries) UserByLogin(ctx context.Context, login string) (User, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+userColumns+` FROM users u WHERE lower(u.login) = lower($1) AND NOT u.forgotten`, login)
	return projections.One(rows, err, "No such user.", scanUser)
}

// Users lists users whose login, name or e-mail contains text (every user when text is empty), by login.
func (q *Queries) Users(ctx context.Context, text string, limit int) ([]User, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+userColumns+` FROM users u
		WHERE $1 = '' OR u.login ILIKE '%' || $1 || '%' OR u.name ILIKE '%' || $1 || '%' OR u.email ILIKE '%' || $1 || '%'
		ORDER BY lower(u.login) LIMIT $2`, escapeLike(text), limit)
	return projections.All(rows, err, scanUser)
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
	if projectID == "" {
		return rolesToPermissions(q.pool.QueryRow(ctx, `SELECT global_roles, '{}'::text[] FROM users WHERE id = $1`, userID))
	}
	return permissions(ctx, q.pool, userID, projectID)
}

// permissions is what a user may do on a project: their global roles and their roles in it.
func permissions(ctx context.Context, db querier, userID, projectID string) (domain.PermissionSet, error) {
	return rolesToPermissions(db.QueryRow(ctx, `SELECT u.global_roles, coalesce((SELECT m.roles FROM project_members m
			WHERE m.project_id = $2 AND m.user_id = u.id), '{}')
		FROM users u WHERE u.id = $1`, userID, projectID))
}

// rolesToPermissions reads a row of global and project roles; no row (nobody, or someone unknown) may do
// nothing.
func rolesToPermissions(row pgx.Row) (domain.PermissionSet, error) {
	var global, project []string
	err := row.Scan(&global, &project)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.PermissionSet{}, nil
	}
	if err != nil {
		return nil, err
	}
	return domain.PermissionsOf(projections.Roles(global), projections.Roles(project)), nil
}

// groups reads one kind of group (organisations, backends) in each of the ways the pages ask for them: by
// id, by slug, all of them, and those a user is a member of.
type groups[T any] struct {
	selectFrom string // SELECT <columns> FROM <table> g
	order      string // ORDER BY ...
	members    members
	missing    string // the message when there is no such group
	scan       func(pgx.CollectableRow) (T, error)
}

func (g groups[T]) byID(ctx context.Context, db querier, id string) (T, error) {
	rows, err := db.Query(ctx, g.selectFrom+` WHERE g.id = $1`, id)
	return projections.One(rows, err, g.missing, g.scan)
}

func (g groups[T]) bySlug(ctx context.Context, db querier, slug string) (T, error) {
	rows, err := db.Query(ctx, g.selectFrom+` WHERE g.slug = lower($1)`, slug)
	return projections.One(rows, err, g.missing, g.scan)
}

func (g groups[T]) every(ctx context.Context, db querier) ([]T, error) {
	rows, err := db.Query(ctx, g.selectFrom+` `+g.order)
	return projections.All(rows, err, g.scan)
}

func (g groups[T]) ofUser(ctx context.Context, db querier, userID string) ([]T, error) {
	rows, err := db.Query(ctx, g.selectFrom+` JOIN `+g.members.table+` m ON m.`+g.members.group+` = g.id
		WHERE m.user_id = $1 `+g.order, userID)
	return projections.All(rows, err, g.scan)
}

// users turns a member list into users for the pages that list members as users: only what a member list
// reads is there (ID, Login, Name, AvatarURL, GlobalRoles).
func users(members []Member, err error) ([]User, error) {
	out := make([]User, len(members))
	for i, m := range members {
		out[i] = User{ID: m.ID, Login: m.Login, Name: m.Name, AvatarURL: m.AvatarURL, GlobalRoles: m.GlobalRoles}
	}
	return out, err
}

// Org is an organisation.
type Org struct {
	ID, Slug, Name string
	CreatedAt      time.Time
	Projects       int
	Members        int
}

var orgs = groups[Org]{
	selectFrom: `SELECT g.id, g.slug, g.name, g.created_at, (SELECT count(*) FROM projects p WHERE p.org_id = g.id),
		` + orgMembers.count("g.id") + ` FROM orgs g`,
	order:   `ORDER BY lower(g.name)`,
	members: orgMembers,
	missing: "No such organisation.",
	scan: func(row pgx.CollectableRow) (Org, error) {
		var o Org
		err := row.Scan(&o.ID, &o.Slug, &o.Name, &o.CreatedAt, &o.Projects, &o.Members)
		return o, err
	},
}

// Org returns one organisation by id.
func (q *Queries) Org(ctx context.Context, id string) (Org, error) { return orgs.byID(ctx, q.pool, id) }

// OrgBySlug returns one organisation by slug.
func (q *Queries) OrgBySlug(ctx context.Context, slug string) (Org, error) {
	return orgs.bySlug(ctx, q.pool, slug)
}

// Orgs lists every organisation by name.
func (q *Queries) Orgs(ctx context.Context) ([]Org, error) { return orgs.every(ctx, q.pool) }

// OrgsOfUser lists the organisations a user is a member of.
func (q *Queries) OrgsOfUser(ctx context.Context, userID string) ([]Org, error) {
	return orgs.ofUser(ctx, q.pool, userID)
}

// OrgMembers lists the members of an organisation by name (see users for what is filled in).
func (q *Queries) OrgMembers(ctx context.Context, orgID string) ([]User, error) {
	return users(orgMembers.list(ctx, q.pool, orgID))
}

// Backend is a secure backend where jobs run.
type Backend struct {
	ID, Slug, Name string
	CreatedAt      time.Time
	TokenSetAt     time.Time
	Members        int
	// Protocol is how the server talks to the backend (domain.ProtocolClassic or ProtocolRAP); a rap
	// backend's ControllerURL, and when its client token was last set (nil: never).
	Protocol         string
	ControllerURL    string
	ClientTokenSetAt *time.Time
}

const backendColumns = `g.id, g.slug, g.name, g.created_at, g.token_set_at, g.protocol, g.controller_url, g.client_token_set_at`

func scanBackend(row pgx.CollectableRow, more ...any) (Backend, error) {
	var b Backend
	err := row.Scan(append([]any{&b.ID, &b.Slug, &b.Name, &b.CreatedAt, &b.TokenSetAt, &b.Protocol, &b.ControllerURL,
		&b.ClientTokenSetAt, &b.Members}, more...)...)
	return b, err
}

var backends = groups[Backend]{
	selectFrom: `SELECT ` + backendColumns + `, ` + backendMembers.count("g.id") + ` FROM backends g`,
	order:      `ORDER BY g.slug`,
	members:    backendMembers,
	missing:    "No such backend.",
	scan:       func(row pgx.CollectableRow) (Backend, error) { return scanBackend(row) },
}

// Backend returns one backend by id.
func (q *Queries) Backend(ctx context.Context, id string) (Backend, error) {
	return backends.byID(ctx, q.pool, id)
}

// BackendBySlug returns one backend by slug.
func (q *Queries) BackendBySlug(ctx context.Context, slug string) (Backend, error) {
	return backends.bySlug(ctx, q.pool, slug)
}

// Backends lists every backend by slug.
func (q *Queries) Backends(ctx context.Context) ([]Backend, error) {
	return backends.every(ctx, q.pool)
}

// BackendsOfUser lists the backends a user is a member of.
func (q *Queries) BackendsOfUser(ctx context.Context, userID string) ([]Backend, error) {
	return backends.ofUser(ctx, q.pool, userID)
}

// BackendMembers lists the members of a backend by name (see users for what is filled in).
func (q *Queries) BackendMembers(ctx context.Context, backendID string) ([]User, error) {
	return users(backendMembers.list(ctx, q.pool, backendID))
}

// BackendMembership is a user's place in a backend: the backend and when they were added to it.
type BackendMembership struct {
	Backend Backend
	AddedAt time.Time
}

// BackendMembershipsOfUser lists the backends a user is a member of, by slug, with when they joined each:
// the view of the status page.
func (q *Queries) BackendMembershipsOfUser(ctx context.Context, userID string) ([]BackendMembership, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+backendColumns+`, `+backendMembers.count("g.id")+`, bm.added_at FROM backends g
		JOIN backend_members bm ON bm.backend_id = g.id
		WHERE bm.user_id = $1 ORDER BY g.slug`, userID)
	return projections.All(rows, err, func(row pgx.CollectableRow) (BackendMembership, error) {
		var m BackendMembership
		b, err := scanBackend(row, &m.AddedAt)
		m.Backend = b
		return m, err
	})
}

// Project is a study project. OrgSlug and OrgName are empty while the project belongs to no organisation.
type Project struct {
	ID, Slug, Name          string
	OrgID, OrgSlug, OrgName string
	CreatedAt               time.Time
	Members                 int
}

// projectColumns are a Project's columns, of p (projects) and o (orgs).
var projectColumns = `p.id, p.slug, p.name, coalesce(p.org_id, ''), coalesce(o.slug, ''), coalesce(o.name, ''), p.created_at,
	` + projectMembers.count("p.id")

const projectsFrom = ` FROM projects p LEFT JOIN orgs o ON o.id = p.org_id`

func scanProject(row pgx.CollectableRow) (Project, error) {
	var p Project
	err := row.Scan(&p.ID, &p.Slug, &p.Name, &p.OrgID, &p.OrgSlug, &p.OrgName, &p.CreatedAt, &p.Members)
	return p, err
}

// Project returns one project by id.
func (q *Queries) Project(ctx context.Context, id string) (Project, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+projectColumns+projectsFrom+` WHERE p.id = $1`, id)
	return projections.One(rows, err, "No such project.", scanProject)
}

// ProjectInOrg returns the project at /{org}/{project}; slugs match without regard to case.
func (q *Queries) ProjectInOrg(ctx context.Context, orgSlug, projectSlug string) (Project, error) {
	return projectInOrg(ctx, q.pool, orgSlug, projectSlug)
}

func projectInOrg(ctx context.Context, db querier, orgSlug, projectSlug string) (Project, error) {
	rows, err := db.Query(ctx, `SELECT `+projectColumns+projectsFrom+` WHERE o.slug = lower($1) AND p.slug = lower($2)`, orgSlug, projectSlug)
	return projections.One(rows, err, "No such project.", scanProject)
}

// Projects lists every project by name.
func (q *Queries) Projects(ctx context.Context) ([]Project, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+projectColumns+projectsFrom+` ORDER BY lower(p.name)`)
	return projections.All(rows, err, scanProject)
}

// ProjectsOfOrg lists an organisation's projects by name.
func (q *Queries) ProjectsOfOrg(ctx context.Context, orgID string) ([]Project, error) {
	return projectsOfOrg(ctx, q.pool, orgID)
}

func projectsOfOrg(ctx context.Context, db querier, orgID string) ([]Project, error) {
	rows, err := db.Query(ctx, `SELECT `+projectColumns+projectsFrom+` WHERE p.org_id = $1 ORDER BY lower(p.name)`, orgID)
	return projections.All(rows, err, scanProject)
}

// Membership is a user's place in a project.
type Membership struct {
	Project Project
	User    Person
	Roles   []domain.Role
	AddedAt time.Time
}

func scanMembership(row pgx.CollectableRow) (Membership, error) {
	var m Membership
	var roles, globalRoles []string
	p, u := &m.Project, &m.User
	err := row.Scan(&p.ID, &p.Slug, &p.Name, &p.OrgID, &p.OrgSlug, &p.OrgName, &p.CreatedAt, &p.Members,
		&u.ID, &u.Login, &u.Name, &u.AvatarURL, &globalRoles, &roles, &m.AddedAt)
	m.Roles, u.GlobalRoles = projections.Roles(roles), projections.Roles(globalRoles)
	return m, err
}

var membershipQuery = `SELECT ` + projectColumns + `, ` + memberColumns + projectMembers.from() + `
	JOIN projects p ON p.id = m.project_id LEFT JOIN orgs o ON o.id = p.org_id`

// ProjectMembers lists a project's members by name.
func (q *Queries) ProjectMembers(ctx context.Context, projectID string) ([]Membership, error) {
	rows, err := q.pool.Query(ctx, membershipQuery+` WHERE m.project_id = $1`+byName, projectID)
	return projections.All(rows, err, scanMembership)
}

// MembershipsOfUser lists the projects a user is a member of, by project name.
func (q *Queries) MembershipsOfUser(ctx context.Context, userID string) ([]Membership, error) {
	return membershipsOfUser(ctx, q.pool, userID)
}

func membershipsOfUser(ctx context.Context, db querier, userID string) ([]Membership, error) {
	rows, err := db.Query(ctx, membershipQuery+` WHERE m.user_id = $1 ORDER BY lower(p.name), p.id`, userID)
	return projections.All(rows, err, scanMembership)
}

// ProjectMember returns one member of a project.
func (q *Queries) ProjectMember(ctx context.Context, projectID, userID string) (Membership, error) {
	rows, err := q.pool.Query(ctx, membershipQuery+` WHERE m.project_id = $1 AND m.user_id = $2`, projectID, userID)
	return projections.One(rows, err, "This person is not a member of the project.", scanMembership)
}
