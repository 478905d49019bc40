package staff

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// A group is what backends and organisations are alike in, for the staff area: a named thing, with a slug,
// that an admin creates and adds people to and removes them from. One set of handlers and two templates
// (staff_groups, staff_group) serve both; a groupKind says what differs.
type group struct {
	ID, Slug, Name string
	Heading        string      // the page's heading and title
	Links          []kit.Value // buttons beside the heading
	Details        []kit.Value
}

// groupKind is one kind of group: where its pages live, the words they use, the permission that shows its
// forms, and the queries and commands behind them.
type groupKind struct {
	Section   string // the section's name and the list page's title: "Backends"
	Noun      string // "backend", as in "Create a backend"
	Base      string // the list page's address; a group's page is Base/<id>
	Lead      string // the list page's introduction
	Empty     string // the list page's message when there are none
	Columns   []kit.Value
	Fields    []field // the create form's fields
	CreateTip string  // said above the create form
	MembersOf string  // said above the members: what being a member means
	Removed   string  // what a removed member loses, after their name: "no longer sees …"
	Perm      domain.Permission
	Projector string // the projector the group's pages read

	read    func(ctx context.Context, id string) (group, error)
	list    func(ctx context.Context) ([]groupRow, error)
	members func(ctx context.Context, id string) ([]identityviews.User, error)
	// create runs the create command with the posted form and says where to go next and what happened.
	create func(r *http.Request, f kit.Form) (created, error)
	add    func(r *http.Request, groupID, userID string) (commands.Result, error)
	remove func(r *http.Request, groupID, userID string) (commands.Result, error)
	// page fills in what a group's page shows beyond its members: its details and the kind's own parts.
	page func(r *http.Request, g group, p *groupPage) error
}

// field is one field of a create form.
type field struct {
	Name, Label, Help string
	Required          bool
}

// created is what a create form did.
type created struct {
	commands.Result
	ID, Message string
}

// groupRow is one group in a list: its label and the values of the kind's columns.
type groupRow struct {
	ID, Label string
	Values    []kit.Value
}

// title is how a group's page and its flashes name it: "backend tpp", or the organisation's name.
func (k *groupKind) title(g group) string {
	if k.Noun == "backend" {
		return "backend " + g.Slug
	}
	return g.Name
}

// groupsPage is the Data of "staff_groups": the groups of a kind and the form that creates one.
type groupsPage struct {
	Kind      *groupKind
	Rows      []groupRow
	CanCreate bool
	Create    kit.Form
}

// groupPage is the Data of "staff_group": one group, its details, its members and the form that adds one.
type groupPage struct {
	Kind      *groupKind
	Group     group
	Members   []identityviews.User
	CanManage bool
	AddMember kit.Form // login
	// HistoryURL is "" when the viewer may not read the group's history.
	HistoryURL string

	// An organisation's page lists its projects.
	ShowProjects bool
	Projects     []identityviews.Project
	// A backend's page shows a new runner token once, right after the form that made it.
	Rotates  bool   // the group has a runner token to rotate
	NewToken string // only on the page view a creation or rotation redirected to
	Created  bool   // NewToken is the backend's first token
}

// groups are the handlers of one kind of group.
type groups struct {
	*Handlers
	kind *groupKind
}

// routes mounts the pages of the kind under its Base. Every form posts to the address of the page that
// shows it: the list creates, a group's page adds a member, and the confirmation page removes one.
// r is the router of /staff.
func (g groups) routes(r chi.Router) {
	base := strings.TrimPrefix(g.kind.Base, "/staff")
	r.Get(base, g.Handle(g.list))
	r.Post(base, g.Handle(g.create))
	r.Get(base+"/{id}", g.Handle(g.show))
	r.Post(base+"/{id}", g.Handle(g.addMember))
	r.Get(base+"/{id}/members/{userID}/remove", g.Handle(g.confirmRemoveMember))
	r.Post(base+"/{id}/members/{userID}/remove", g.Handle(g.removeMember))
}

func (g groups) list(w http.ResponseWriter, r *http.Request) error {
	return g.showList(w, r, http.StatusOK, kit.Form{})
}

func (g groups) showList(w http.ResponseWriter, r *http.Request, status int, create kit.Form) error {
	rows, err := g.kind.list(r.Context())
	if err != nil {
		return err
	}
	g.Page(w, r, status, "staff_groups", kit.View{
		Title:  g.kind.Section,
		Crumbs: staffCrumbs(kit.Crumb{Label: g.kind.Section}),
		Data:   groupsPage{Kind: g.kind, Rows: rows, CanCreate: staffPerms(r).Has(g.kind.Perm), Create: create},
	})
	return nil
}

func (g groups) create(w http.ResponseWriter, r *http.Request) error {
	names := make([]string, len(g.kind.Fields))
	for i, f := range g.kind.Fields {
		names[i] = f.Name
	}
	f := kit.PostedForm(r, names...)
	done, err := g.kind.create(r, f)
	if errs, ok := kit.FieldErrors(err); ok {
		f.Errors = errs
		return g.showList(w, r, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	g.Done(w, r, done.Result, done.Message, g.kind.Base+"/"+done.ID, g.kind.Projector)
	return nil
}

// lookup reads the group the address names.
func (g groups) lookup(r *http.Request) (group, error) {
	return staffLookup(r, chi.URLParam(r, "id"), g.kind.read)
}

func (g groups) show(w http.ResponseWriter, r *http.Request) error {
	return g.showGroup(w, r, http.StatusOK, groupPage{})
}

// showGroup renders a group's page; page carries what the request adds (a new token, a form's errors).
func (g groups) showGroup(w http.ResponseWriter, r *http.Request, status int, page groupPage) error {
	grp, err := g.lookup(r)
	if err != nil {
		return err
	}
	if page.Members, err = g.kind.members(r.Context(), grp.ID); err != nil {
		return err
	}
	page.Kind, page.Group, page.CanManage = g.kind, grp, staffPerms(r).Has(g.kind.Perm)
	if err := g.kind.page(r, grp, &page); err != nil {
		return err
	}
	if page.HistoryURL, err = kit.HistoryLink(r, g.Queries, g.kind.Noun, grp.ID); err != nil {
		return err
	}
	g.Page(w, r, status, "staff_group", kit.View{
		Title:  grp.Heading,
		Crumbs: g.crumbs(grp),
		Data:   page,
	})
	return nil
}

// crumbs is the trail to a group's page, or, with more, to a page below it.
func (g groups) crumbs(grp group, more ...kit.Crumb) []kit.Crumb {
	label := grp.Name
	if g.kind.Noun == "backend" {
		label = grp.Slug
	}
	trail := []kit.Crumb{{Label: g.kind.Section, URL: g.kind.Base}, {Label: label}}
	if len(more) > 0 {
		trail[1].URL = g.kind.Base + "/" + grp.ID
		trail = append(trail, more...)
	}
	return staffCrumbs(trail...)
}

func (g groups) addMember(w http.ResponseWriter, r *http.Request) error {
	grp, err := g.lookup(r)
	if err != nil {
		return err
	}
	f := kit.PostedForm(r, "login")
	user, res, fields, err := kit.AddMember(r.Context(), g.Queries, f.Values["login"], func(userID string) (commands.Result, error) {
		return g.kind.add(r, grp.ID, userID)
	})
	if fields != nil {
		f.Errors = fields
		return g.showGroup(w, r, http.StatusUnprocessableEntity, groupPage{AddMember: f})
	}
	if err != nil {
		return err
	}
	g.Done(w, r, res, staffMemberAdded(res.Changed(), user.DisplayName(), g.kind.title(grp)), g.kind.Base+"/"+grp.ID, g.kind.Projector)
	return nil
}

// member reads the group the address names and the member in it; someone who is not a member is the 404 page.
func (g groups) member(r *http.Request) (group, identityviews.User, error) {
	grp, err := g.lookup(r)
	if err != nil {
		return grp, identityviews.User{}, err
	}
	members, err := g.kind.members(r.Context(), grp.ID)
	if err != nil {
		return grp, identityviews.User{}, err
	}
	userID := chi.URLParam(r, "userID")
	i := slices.IndexFunc(members, func(u identityviews.User) bool { return u.ID == userID })
	if i < 0 {
		return grp, identityviews.User{}, domain.NotFound("This user is not a member of the " + g.kind.Noun + ".")
	}
	return grp, members[i], nil
}

// confirmRemoveMember asks before removing a member: the page each Remove button leads to.
func (g groups) confirmRemoveMember(w http.ResponseWriter, r *http.Request) error {
	grp, user, err := g.member(r)
	if err != nil {
		return err
	}
	name, where := user.DisplayName(), g.kind.title(grp)
	g.ConfirmPage(w, r, kit.Confirm{
		Title:       "Remove " + name,
		Question:    "Remove " + name + " from " + where + "?",
		Consequence: name + " " + g.kind.Removed + " An admin can add them again.",
		Button:      "Remove " + name + " from " + where,
		CancelURL:   g.kind.Base + "/" + grp.ID,
	}, g.crumbs(grp, kit.Crumb{Label: "Remove " + name}))
	return nil
}

// removeMember is the button of the confirmation page.
func (g groups) removeMember(w http.ResponseWriter, r *http.Request) error {
	grp, err := g.lookup(r)
	if err != nil {
		return err
	}
	userID := chi.URLParam(r, "userID")
	res, err := g.kind.remove(r, grp.ID, userID)
	if err != nil {
		return err
	}
	g.Done(w, r, res, kit.DisplayName(r.Context(), g.Queries, userID)+" removed from "+g.kind.title(grp), g.kind.Base+"/"+grp.ID,
		g.kind.Projector)
	return nil
}
