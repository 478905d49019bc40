package eventlog

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/mediciasafely/jobserver/projections"
)

// FilterIDs are the ids the names of a Filter stand for, for telling which changed job requests a filtered
// page of the log shows. A nil list leaves its field free; an empty one matches nothing (a name that names
// nothing). Only what a job request is given when it is made is here: its status and its jobs change as
// they run, so a change to any request may move it into or out of those filters.
type FilterIDs struct {
	Request                     string
	Backends, Users, Workspaces []string
}

// FilterIDs reads the ids of the backend, user and workspace that f names.
func (q *Queries) FilterIDs(ctx context.Context, f Filter) (FilterIDs, error) {
	var ids FilterIDs
	err := projections.View(ctx, q.pool, func(db querier) (err error) {
		ids, err = filterIDs(ctx, db, f)
		return err
	})
	return ids, err
}

// filterIDs reads the ids that f's names stand for, in the snapshot of db.
func filterIDs(ctx context.Context, db querier, f Filter) (FilterIDs, error) {
	ids := FilterIDs{Request: strings.ToLower(f.Request)}
	for _, x := range []struct {
		name string
		sql  string
		dst  *[]string
	}{
		{f.Backend, `SELECT id FROM eventlog_backends WHERE slug = $1`, &ids.Backends},
		{f.User, `SELECT id FROM eventlog_people WHERE lower(login) = lower($1)`, &ids.Users},
		{f.Workspace, `SELECT id FROM eventlog_workspaces WHERE name = lower($1)`, &ids.Workspaces},
	} {
		if x.name == "" {
			continue
		}
		rows, err := db.Query(ctx, x.sql, x.name)
		found, err := projections.All(rows, err, pgx.RowTo[string])
		if err != nil {
			return ids, err
		}
		*x.dst = append([]string{}, found...)
	}
	return ids, nil
}

// MemberProjects reads the projects userID is a member of: the job requests of the home page's latest are theirs.
func (q *Queries) MemberProjects(ctx context.Context, userID string) ([]string, error) {
	var ids []string
	err := projections.View(ctx, q.pool, func(db querier) error {
		rows, err := db.Query(ctx, `SELECT project_id FROM eventlog_project_members WHERE user_id = $1`, userID)
		ids, err = projections.All(rows, err, pgx.RowTo[string])
		return err
	})
	return ids, err
}
