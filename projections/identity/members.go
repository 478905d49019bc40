package identity

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/projections"
)

// The member lists of organisations, backends and projects are one piece of code: each projector that keeps
// members keeps its own copy of the people too (people), so that the pages it serves name and picture the
// members, and read their global roles, without joining the users table, which another projector writes at
// another position.

// people is a projector's own copy of everyone's GitHub profile and global roles.
type people string

// schema creates the copy.
func (p people) schema() string {
	return `
		CREATE TABLE ` + string(p) + ` (
			id           text PRIMARY KEY,
			login        text NOT NULL,
			name         text NOT NULL,
			avatar_url   text NOT NULL,
			global_roles text[] NOT NULL DEFAULT '{}'
		);`
}

// on keeps the copy up to date with the events of the users.
func (p people) on(h projections.Handlers) {
	t := string(p)
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.UserRegistered) error {
		return db.Exec(ctx, `INSERT INTO `+t+` (id, login, name, avatar_url) VALUES ($1, $2, $3, $4)`,
			ev.UserID, ev.Login, ev.Name, ev.AvatarURL)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.UserProfileUpdated) error {
		return db.Exec(ctx, `UPDATE `+t+` SET login = $2, name = $3, avatar_url = $4 WHERE id = $1`,
			ev.UserID, ev.Login, ev.Name, ev.AvatarURL)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.GlobalRoleGranted) error {
		return db.Exec(ctx, `UPDATE `+t+` SET global_roles = ARRAY(SELECT DISTINCT unnest(global_roles || $2::text) ORDER BY 1)
			WHERE id = $1`, ev.UserID, string(ev.Role))
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.GlobalRoleRevoked) error {
		return db.Exec(ctx, `UPDATE `+t+` SET global_roles = array_remove(global_roles, $2::text) WHERE id = $1`, ev.UserID, string(ev.Role))
	})
}

// members is the members of one kind of group (organisation, backend, project), with the roles they hold
// in it (none for organisations and backends), named through the projector's copy of the people.
type members struct {
	table  string // org_members
	group  string // org_id: the column of the group
	people people // the same projector's copy of the people
}

// schema creates the members table.
func (m members) schema() string {
	return `
		CREATE TABLE ` + m.table + ` (
			` + m.group + ` text NOT NULL,
			user_id  text NOT NULL,
			roles    text[] NOT NULL DEFAULT '{}',
			added_at timestamptz NOT NULL,
			PRIMARY KEY (` + m.group + `, user_id)
		);
		CREATE INDEX ` + m.table + `_user ON ` + m.table + ` (user_id);`
}

// define makes the projector of a kind of group: its own table of the groups (with columns), the members,
// and the copy of the people, kept by the handlers it adds to h.
func (m members) define(name string, version int, table, columns string, h projections.Handlers) projections.Projector {
	m.people.on(h)
	return projections.Define(name, version, []string{table, m.table, string(m.people)},
		`CREATE TABLE `+table+` (`+columns+`
		);`+m.schema()+m.people.schema(), h)
}

// on registers the handlers of the events that add and remove members, each saying which group and user
// it is about (and, for added, the roles).
func on[Added, Removed domain.Event](h projections.Handlers, m members,
	added func(Added) (groupID, userID string, roles []domain.Role), removed func(Removed) (groupID, userID string)) {
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev Added) error {
		groupID, userID, roles := added(ev)
		return m.add(ctx, db, e, groupID, userID, roles)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev Removed) error {
		groupID, userID := removed(ev)
		return m.remove(ctx, db, groupID, userID)
	})
}

func (m members) add(ctx context.Context, db projections.DB, e projections.Event, groupID, userID string, roles []domain.Role) error {
	return db.Exec(ctx, `INSERT INTO `+m.table+` (`+m.group+`, user_id, roles, added_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, groupID, userID, roleStrings(roles), e.RecordedAt)
}

func (m members) setRoles(ctx context.Context, db projections.DB, groupID, userID string, roles []domain.Role) error {
	return db.Exec(ctx, `UPDATE `+m.table+` SET roles = $3 WHERE `+m.group+` = $1 AND user_id = $2`, groupID, userID, roleStrings(roles))
}

func (m members) remove(ctx context.Context, db projections.DB, groupID, userID string) error {
	return db.Exec(ctx, `DELETE FROM `+m.table+` WHERE `+m.group+` = $1 AND user_id = $2`, groupID, userID)
}

// count is a SQL expression counting the members of the group whose id is the expression id.
func (m members) count(id string) string {
	return `(SELECT count(*) FROM ` + m.table + ` WHERE ` + m.group + ` = ` + id + `)`
}

func roleStrings(roles []domain.Role) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = string(r)
	}
	return out
}

// Person is someone as a member list shows them: the list's own copy of their GitHub profile and global
// roles.
type Person struct {
	ID, Login, Name, AvatarURL string
	GlobalRoles                []domain.Role
}

// DisplayName is the person's name, or their login when GitHub has no name for them.
func (p Person) DisplayName() string {
	if p.Name != "" {
		return p.Name
	}
	return p.Login
}

// Member is a person in a group, with the roles they hold in it and since when.
type Member struct {
	Person
	Roles   []domain.Role
	AddedAt time.Time
}

// memberColumns are a Member's columns, of u (people) and m (members), for scanMember.
const memberColumns = `u.id, u.login, u.name, u.avatar_url, u.global_roles, m.roles, m.added_at`

func scanMember(row pgx.CollectableRow) (Member, error) {
	var m Member
	var global, roles []string
	err := row.Scan(&m.ID, &m.Login, &m.Name, &m.AvatarURL, &global, &roles, &m.AddedAt)
	m.GlobalRoles, m.Roles = projections.Roles(global), projections.Roles(roles)
	return m, err
}

// from is the FROM clause of a member list: members m joined to the people u they are.
func (m members) from() string {
	return ` FROM ` + m.table + ` m JOIN ` + string(m.people) + ` u ON u.id = m.user_id`
}

// byName orders a member list by what it shows: the name, else the login.
const byName = ` ORDER BY lower(coalesce(nullif(u.name, ''), u.login)), u.id`

// list reads the members of one group by name.
func (m members) list(ctx context.Context, db querier, groupID string) ([]Member, error) {
	rows, err := db.Query(ctx, `SELECT `+memberColumns+m.from()+` WHERE m.`+m.group+` = $1`+byName, groupID)
	return projections.All(rows, err, scanMember)
}

// one reads one member of a group; missing is the message when they are not one.
func (m members) one(ctx context.Context, db querier, groupID, userID, missing string) (Member, error) {
	rows, err := db.Query(ctx, `SELECT `+memberColumns+m.from()+` WHERE m.`+m.group+` = $1 AND m.user_id = $2`, groupID, userID)
	return projections.One(rows, err, missing, scanMember)
}

// The member lists of the three projectors.
var (
	orgMembers     = members{table: "org_members", group: "org_id", people: "org_people"}
	backendMembers = members{table: "backend_members", group: "backend_id", people: "backend_people"}
	projectMembers = members{table: "project_members", group: "project_id", people: "project_people"}
	// projectOrgMembers is the projects projector's copy of the organisations' members, for the home page.
	projectOrgMembers = members{table: "project_org_members", group: "org_id", people: "project_people"}
)
