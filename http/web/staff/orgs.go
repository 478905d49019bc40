package staff

import (
	"context"
	"net/http"
	"strconv"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// orgs are the staff area's organisations: a group whose page also lists its projects.
func (a *Handlers) orgs() groups {
	q, cmds := a.Queries, a.Identity
	return groups{Handlers: a, kind: &groupKind{
		Section: "Organisations", Noun: "organisation", Base: "/staff/orgs",
		Lead:  "An organisation groups people and the projects an admin puts in it. It lives at its own address, such as /my-org.",
		Empty: "No organisations yet.",
		Columns: []kit.Value{{Label: "Name"}, {Label: "Slug"}, {Label: "Projects", Numeric: true},
			{Label: "Members", Numeric: true}, {Label: "Created"}},
		Fields: []field{
			{Name: "name", Label: "Name", Required: true},
			{Name: "slug", Label: "Slug (optional)", Help: "The organisation's address: lowercase letters, digits and dashes. Left empty, it is made from the name. Words the site uses itself, such as “status” or “staff”, cannot be slugs."},
		},
		Removed: "is no longer a member of this organisation.",
		Perm:    domain.OrgCreate, Projector: identityviews.OrgsProjector,

		read: func(ctx context.Context, id string) (group, error) {
			o, err := q.Org(ctx, id)
			return group{ID: o.ID, Slug: o.Slug, Name: o.Name, Heading: o.Name,
				Links: []kit.Value{{Text: "Organisation page", URL: kit.OrgURL(o.Slug)}},
				Details: []kit.Value{{Label: "Slug", Text: o.Slug}, {Label: "Address", Text: kit.OrgURL(o.Slug), URL: kit.OrgURL(o.Slug)},
					{Label: "Created", Time: o.CreatedAt}},
			}, err
		},
		list: func(ctx context.Context) ([]groupRow, error) {
			orgs, err := q.Orgs(ctx)
			rows := make([]groupRow, len(orgs))
			for i, o := range orgs {
				rows[i] = groupRow{ID: o.ID, Label: o.Name, Values: []kit.Value{{Text: o.Slug},
					{Text: strconv.Itoa(o.Projects), Numeric: true}, {Text: strconv.Itoa(o.Members), Numeric: true}, {Time: o.CreatedAt}}}
			}
			return rows, err
		},
		members: q.OrgMembers,
		create: func(r *http.Request, f kit.Form) (created, error) {
			c, err := cmds.CreateOrg.Handle(r.Context(), identity.CreateOrg{
				Actor: kit.Actor(r), Name: f.Values["name"], Slug: f.Values["slug"],
			})
			return created{Result: c.Result, ID: c.ID, Message: "Organisation " + f.Values["name"] + " created"}, err
		},
		add: func(r *http.Request, groupID, userID string) (commands.Result, error) {
			return cmds.AddOrgMember.Handle(r.Context(), identity.AddOrgMember{Actor: kit.Actor(r), OrgID: groupID, UserID: userID})
		},
		remove: func(r *http.Request, groupID, userID string) (commands.Result, error) {
			return cmds.RemoveOrgMember.Handle(r.Context(), identity.RemoveOrgMember{Actor: kit.Actor(r), OrgID: groupID, UserID: userID})
		},
		page: func(r *http.Request, g group, p *groupPage) error {
			var err error
			p.ShowProjects = true
			p.Projects, err = q.ProjectsOfOrg(r.Context(), g.ID)
			return err
		},
	}}
}
