package staff

import (
	"net/http"
	"strings"

	"github.com/mediciasafely/jobserver/http/web/kit"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// staffSearchLimit is how many users a search shows; the Users section lists more.
const staffSearchLimit = 20

// staffIndexPage is the Data of "staff_index": the sections of the staff area and, when Query is set, what
// matches it.
type staffIndexPage struct {
	Query     string
	Users     []identityviews.User
	MoreUsers bool // more users match than Users holds
	Orgs      []identityviews.Org
	Projects  []identityviews.Project
	Backends  []identityviews.Backend
}

// Found reports whether anything matched the query.
func (p staffIndexPage) Found() bool {
	return len(p.Users)+len(p.Orgs)+len(p.Projects)+len(p.Backends) > 0
}

// staffIndex is the start of the staff area: its sections, and a search over users (login, name, e-mail)
// and organisations, projects and backends (name, slug).
func (a *Handlers) staffIndex(w http.ResponseWriter, r *http.Request) error {
	page := staffIndexPage{Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	if page.Query != "" {
		if err := a.staffSearch(r, &page); err != nil {
			return err
		}
	}
	a.Page(w, r, http.StatusOK, "staff_index", kit.View{Title: "Staff area", Crumbs: staffCrumbs(), Data: page})
	return nil
}

// staffSearch fills in what matches page.Query. There are few organisations, projects and backends (tens to
// hundreds), so they are filtered here rather than by a query of their own.
func (a *Handlers) staffSearch(r *http.Request, page *staffIndexPage) error {
	ctx, q := r.Context(), page.Query
	users, err := a.Queries.Users(ctx, q, staffSearchLimit+1)
	if err != nil {
		return err
	}
	if len(users) > staffSearchLimit {
		users, page.MoreUsers = users[:staffSearchLimit], true
	}
	page.Users = users

	orgs, err := a.Queries.Orgs(ctx)
	if err != nil {
		return err
	}
	page.Orgs = matching(q, orgs, func(o identityviews.Org) []string { return []string{o.Name, o.Slug} })
	projects, err := a.Queries.Projects(ctx)
	if err != nil {
		return err
	}
	page.Projects = matching(q, projects, func(p identityviews.Project) []string { return []string{p.Name, p.Slug} })
	backends, err := a.Queries.Backends(ctx)
	if err != nil {
		return err
	}
	page.Backends = matching(q, backends, func(b identityviews.Backend) []string { return []string{b.Name, b.Slug} })
	return nil
}

// matching are the items one of whose names contains text, ignoring case.
func matching[T any](text string, items []T, names func(T) []string) []T {
	var found []T
	for _, item := range items {
		if staffContainsFold(text, names(item)...) {
			found = append(found, item)
		}
	}
	return found
}
