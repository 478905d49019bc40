package identity

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/projections"
)

// The views of the pages of organisations and projects and of the home page: each is everything one page
// shows, read in one snapshot from the tables of one projector (Identity), so a page never shows two
// projectors at two positions.

// OrgRef names an organisation.
type OrgRef struct{ ID, Slug, Name string }

// OrgPage is what /{org} shows: the organisation and its projects by name, with their member counts.
type OrgPage struct {
	Org      OrgRef
	Projects []Project
}

// OrgPage reads the page of the organisation with a slug, matched without regard to case.
func (q *Queries) OrgPage(ctx context.Context, orgSlug string) (OrgPage, error) {
	var page OrgPage
	err := projections.View(ctx, q.pool, func(db querier) error {
		rows, err := db.Query(ctx, `SELECT id, slug, name FROM orgs WHERE slug = lower($1)`, orgSlug)
		if page.Org, err = projections.One(rows, err, "No such organisation.", pgx.RowToStructByPos[OrgRef]); err != nil {
			return err
		}
		page.Projects, err = projectsOfOrg(ctx, db, page.Org.ID)
		return err
	})
	return page, err
}

// ProjectPage is what a project's page and its settings page show: the project, its members with their
// names and roles, and what the viewer may do there (to show or hide buttons; the commands decide).
type ProjectPage struct {
	Project Project
	Members []Member
	Viewer  domain.PermissionSet
}

// ProjectPage reads the page of the project at /{org}/{project} as viewerID ("" for nobody) sees it.
func (q *Queries) ProjectPage(ctx context.Context, orgSlug, projectSlug, viewerID string) (ProjectPage, error) {
	var page ProjectPage
	err := projections.View(ctx, q.pool, func(db querier) error {
		var err error
		if page.Project, page.Viewer, err = projectAndViewer(ctx, db, orgSlug, projectSlug, viewerID); err != nil {
			return err
		}
		page.Members, err = projectMembers.list(ctx, db, page.Project.ID)
		return err
	})
	return page, err
}

// ProjectMemberPage is what the page of one member of a project shows: the project, the member if they
// are one, and what the viewer may do there.
type ProjectMemberPage struct {
	Project  Project
	Member   Member
	IsMember bool
	Viewer   domain.PermissionSet
}

// ProjectMemberPage reads the page of member userID of the project at /{org}/{project} as viewerID sees it.
func (q *Queries) ProjectMemberPage(ctx context.Context, orgSlug, projectSlug, userID, viewerID string) (ProjectMemberPage, error) {
	var page ProjectMemberPage
	err := projections.View(ctx, q.pool, func(db querier) error {
		var err error
		if page.Project, page.Viewer, err = projectAndViewer(ctx, db, orgSlug, projectSlug, viewerID); err != nil {
			return err
		}
		page.Member, err = projectMembers.one(ctx, db, page.Project.ID, userID, "This person is not a member of the project.")
		page.IsMember = err == nil
		if domain.KindOf(err) == domain.KindNotFound {
			err = nil
		}
		return err
	})
	return page, err
}

func projectAndViewer(ctx context.Context, db querier, orgSlug, projectSlug, viewerID string) (Project, domain.PermissionSet, error) {
	p, err := projectInOrg(ctx, db, orgSlug, projectSlug)
	if err != nil {
		return p, nil, err
	}
	perms, err := permissions(ctx, db, viewerID, p.ID)
	return p, perms, err
}

// HomePage is what the home page shows a user: their projects with their roles in each, and the
// organisations they are a member of, by name.
type HomePage struct {
	Memberships []Membership
	Orgs        []OrgRef
}

// HomePage reads the home page of a user.
func (q *Queries) HomePage(ctx context.Context, userID string) (HomePage, error) {
	var page HomePage
	err := projections.View(ctx, q.pool, func(db querier) error {
		var err error
		if page.Memberships, err = membershipsOfUser(ctx, db, userID); err != nil {
			return err
		}
		rows, err := db.Query(ctx, `SELECT o.id, o.slug, o.name FROM orgs o
			JOIN org_members m ON m.org_id = o.id WHERE m.user_id = $1 ORDER BY lower(o.name), o.id`, userID)
		page.Orgs, err = projections.All(rows, err, pgx.RowToStructByPos[OrgRef])
		return err
	})
	return page, err
}
