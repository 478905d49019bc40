package identity

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/projections"
)

// The member lists of organisations, backends and projects are one piece of code. They name and picture
// the members, and read their global roles, by joining users: the one copy of the people, kept by the same
// projector as the member lists, so a page that joins them reads one position of the log.

// members is the members of one kind of group (organisation, backend, project), with the roles they hold
// in it (none for organisations and backends), named through users.
type members struct {
	table string // org_members
	group string // org_id: the column of the group
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
		CREATE INDEX ` + m.userIndex() + ` ON ` + m.table + ` (user_id);`
}

// userIndex names the index of the members table by user, which only pages read.
func (m members) userIndex() string { return m.table + "_user" }

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

// Person is someone as a member list shows them: their GitHub profile and global roles, from users.
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

// memberColumns are a Member's columns, of u (users) and m (members), for scanMember.
const memberColumns = `u.id, u.login, u.name, u.avatar_url, u.global_roles, m.roles, m.added_at`

func scanMember(row pgx.CollectableRow) (Member, error) {
	var m Member
	var global, roles []string
	err := row.Scan(&m.ID, &m.Login, &m.Name, &m.AvatarURL, &global, &roles, &m.AddedAt)
	m.GlobalRoles, m.Roles = projections.Roles(global), projections.Roles(roles)
	return m, err
}

// from is the FROM clause of a member list: members m joined to the users u they are.
func (m members) from() string {
	return ` FROM ` + m.table + ` m JOIN users u ON u.id = m.user_id`
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

// The member lists of the organisations, backends and projects.
var (
	orgMembers     = members{table: "org_members", group: "org_id"}
	backendMembers = members{table: "backend_members", group: "backend_id"}
	projectMembers = members{table: "project_members", group: "project_id"}
)
