package staff

import (
	"context"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// backends are the staff area's backends: a group whose page also shows, once, the runner token a creation or
// a rotation issued, and asks before rotating it.
func (a *Handlers) backends() groups {
	q, cmds := a.Queries, a.Identity
	return groups{Handlers: a, kind: &groupKind{
		Section: "Backends", Noun: "backend", Base: "/staff/backends",
		Lead:  "A backend is a secure environment whose runner polls MediciaSAFELY for jobs. Its members see it on their status page and may run jobs on it.",
		Empty: "No backends yet.",
		Columns: []kit.Value{{Label: "Slug"}, {Label: "Name"}, {Label: "Members", Numeric: true},
			{Label: "Token last set"}},
		Fields: []field{
			{Name: "name", Label: "Name", Required: true},
			{Name: "slug", Label: "Slug", Help: "Lowercase letters, digits and dashes, such as “tpp”. Left empty, it is made from the name."},
		},
		CreateTip: "Its runner token is shown once, on the next page: have somewhere safe to put it.",
		MembersOf: "Members see this backend on their status page and may run jobs on it.",
		Removed:   "no longer sees this backend on their status page and can no longer run jobs on it.",
		Perm:      domain.BackendManage, Projector: identityviews.BackendsProjector,

		read: func(ctx context.Context, id string) (group, error) {
			b, err := q.Backend(ctx, id)
			return group{ID: b.ID, Slug: b.Slug, Name: b.Name, Heading: "Backend " + b.Slug, Details: []kit.Value{
				{Label: "Name", Text: b.Name}, {Label: "Slug", Text: b.Slug},
				{Label: "Created", Time: b.CreatedAt}, {Label: "Token last set", Time: b.TokenSetAt, Ago: true},
				{Label: "Protocol", Text: protocolName(b.Protocol), URL: "/staff/backends/" + b.ID + "/protocol"},
			}}, err
		},
		list: func(ctx context.Context) ([]groupRow, error) {
			backends, err := q.Backends(ctx)
			rows := make([]groupRow, len(backends))
			for i, b := range backends {
				rows[i] = groupRow{ID: b.ID, Label: b.Slug, Values: []kit.Value{{Text: b.Name},
					{Text: strconv.Itoa(b.Members), Numeric: true}, {Time: b.TokenSetAt, Ago: true}}}
			}
			return rows, err
		},
		members: q.BackendMembers,
		create: func(r *http.Request, f kit.Form) (created, error) {
			c, err := cmds.CreateBackend.Handle(r.Context(), identity.CreateBackend{
				Actor: kit.Actor(r), Slug: f.Values["slug"], Name: f.Values["name"],
			})
			if err == nil {
				// The token waits in the session for the one view of the page the redirect leads to: never in a
				// URL, a flash or a log.
				a.HoldSecret(r, firstTokenSecret+c.BackendID, c.Token)
			}
			return created{Result: c.Result, ID: c.BackendID, Message: "Backend " + c.Slug + " created"}, err
		},
		add: func(r *http.Request, groupID, userID string) (commands.Result, error) {
			return cmds.AddBackendMember.Handle(r.Context(), identity.AddBackendMember{Actor: kit.Actor(r), BackendID: groupID, UserID: userID})
		},
		remove: func(r *http.Request, groupID, userID string) (commands.Result, error) {
			return cmds.RemoveBackendMember.Handle(r.Context(), identity.RemoveBackendMember{Actor: kit.Actor(r), BackendID: groupID, UserID: userID})
		},
		page: func(r *http.Request, g group, p *groupPage) error {
			p.Rotates = true
			// Right after a creation or a rotation the page shows the new token, once.
			if p.NewToken = a.TakeSecret(r, firstTokenSecret+g.ID); p.NewToken != "" {
				p.Created = true
			} else {
				p.NewToken = a.TakeSecret(r, newTokenSecret+g.ID)
			}
			return nil
		},
	}}
}

// The session names of a runner token waiting to be shown once, followed by the backend's id.
const (
	firstTokenSecret = "first-runner-token-"
	newTokenSecret   = "new-runner-token-"
)

// confirmRotateRunnerToken asks before rotating: the old token stops working at once.
func (g groups) confirmRotateRunnerToken(w http.ResponseWriter, r *http.Request) error {
	grp, err := g.lookup(r)
	if err != nil {
		return err
	}
	g.ConfirmPage(w, r, kit.Confirm{
		Title:    "Rotate the runner token of " + grp.Slug,
		Question: "Rotate the runner token of backend " + grp.Slug + "?",
		Consequence: "The current token stops working at once: the runner of " + grp.Slug +
			" cannot fetch jobs or report their status until it is given the new token, which the next page shows once.",
		Button:    "Rotate the token of " + grp.Slug,
		CancelURL: g.kind.Base + "/" + grp.ID,
	}, g.crumbs(grp, kit.Crumb{Label: "Rotate the runner token"}))
	return nil
}

// rotateRunnerToken is the button of the confirmation page: it replaces the token and redirects to the
// backend's page, which shows the new one once.
func (g groups) rotateRunnerToken(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	rotated, err := g.Identity.RotateRunnerToken.Handle(r.Context(), identity.RotateRunnerToken{Actor: kit.Actor(r), BackendID: id})
	if err != nil {
		return err
	}
	g.HoldSecret(r, newTokenSecret+id, rotated.Token)
	g.Done(w, r, rotated.Result, "Runner token rotated: the old token no longer works", g.kind.Base+"/"+id,
		identityviews.BackendsProjector)
	return nil
}
