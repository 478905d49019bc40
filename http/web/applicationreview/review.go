// Package applicationreview is the staff's side of study applications (step 2 of the user guide): the list of
// applications with filters and a search, an application's review page (every page's answers, notes and a
// mark per page, its status with a comment) and Approve fully, which creates the project.
//
// Reviewers (application_review: Governance and Technical Reviewers) read and note; admins
// (application_manage) also set the status and approve. Reviewers do not hold staff_area_access, so the
// pages are a slice of their own under /staff/applications with their own guard, rather than part of the
// staff area's.
package applicationreview

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	appviews "github.com/mediciasafely/jobserver/projections/applications"
)

// Routes mounts the pages under /staff/applications; chi prefers these fixed paths to the staff area's
// own /staff/*. Every form posts to the address of the page that shows it and answers 303.
func (a *Handlers) Routes(r chi.Router) {
	r.Route("/staff/applications", func(r chi.Router) {
		r.Use(kit.RequireLogin, a.requireReviewer)
		r.Get("/", a.Handle(a.list))
		r.Get("/{id}", a.Handle(a.reviewPage))
		r.Post("/{id}", a.Handle(a.reviewForm))
		r.Get("/{id}/approve", a.Handle(a.approvePage))
		r.Post("/{id}/approve", a.Handle(a.approve))
	})
}

type permsKey struct{}

// requireReviewer lets in who may read applications (application_review or application_manage) and keeps
// their permissions in the request for the pages to decide which forms to show; the commands decide.
func (a *Handlers) requireReviewer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		perms, err := kit.Permissions(r, a.Queries, "")
		if err != nil {
			a.Fail(w, r, err)
			return
		}
		if !perms.Has(domain.ApplicationReview) && !perms.Has(domain.ApplicationManage) {
			a.Fail(w, r, domain.Forbidden(domain.ApplicationReview))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), permsKey{}, perms)))
	})
}

func permsOf(r *http.Request) domain.PermissionSet {
	perms, _ := r.Context().Value(permsKey{}).(domain.PermissionSet)
	return perms
}

const listURL = "/staff/applications"

func reviewURL(id string) string { return listURL + "/" + id }

var listCrumb = kit.Crumb{Label: "Applications", URL: listURL}

// listSize is how many applications one page of the list shows.
const listSize = 25

// listView is the Data of "review_applications".
type listView struct {
	Filter     appviews.StaffFilter
	Statuses   []kit.Option
	Applicants []kit.Option
	Rows       []appviews.Summary
	// Narrowed is whether any filter is set; NewerURL and OlderURL the neighbouring pages, "" at either end.
	Narrowed           bool
	NewerURL, OlderURL string
}

// list is /staff/applications: the applications, newest change first, filtered by status and applicant and
// searched by study name; the filters are the address's query, so a filtered list is an address to share.
func (a *Handlers) list(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := appviews.StaffFilter{Status: domain.ApplicationStatus(q.Get("status")), Applicant: q.Get("applicant"),
		Search: strings.TrimSpace(q.Get("q")), Withdrawn: q.Get("withdrawn") == "yes"}
	if f.Status != "" && !f.Status.Valid() {
		return domain.Invalid("status", "There is no such status: choose one from the list.")
	}
	var after, before *appviews.Cursor
	for key, into := range map[string]**appviews.Cursor{"after": &after, "before": &before} {
		if s := q.Get(key); s != "" {
			c, err := appviews.ParseCursor(s)
			if err != nil {
				return err
			}
			*into = &c
		}
	}
	v, err := a.Views.StaffList(r.Context(), f, after, before, listSize)
	if err != nil {
		return err
	}
	page := listView{Filter: f, Rows: v.Applications, Narrowed: f != (appviews.StaffFilter{})}
	page.Statuses = options(v.Statuses, string(f.Status))
	page.Applicants = options(v.Applicants, f.Applicant)
	if v.Newer != nil {
		page.NewerURL = listQuery(f, "before", v.Newer.String())
	}
	if v.Older != nil {
		page.OlderURL = listQuery(f, "after", v.Older.String())
	}
	a.Page(w, r, http.StatusOK, "review_applications", kit.View{Title: "Applications",
		Crumbs: []kit.Crumb{{Label: "Applications"}}, Data: page})
	return nil
}

func options(choices []appviews.Option, selected string) []kit.Option {
	out := make([]kit.Option, len(choices))
	for i, c := range choices {
		out[i] = kit.Option{Value: c.Value, Label: c.Label, Selected: c.Value == selected}
	}
	return out
}

// listQuery is the address of the list with filter f and the cursor key=value.
func listQuery(f appviews.StaffFilter, key, value string) string {
	q := url.Values{}
	for name, v := range map[string]string{"status": string(f.Status), "applicant": f.Applicant, "q": f.Search, key: value} {
		if v != "" {
			q.Set(name, v)
		}
	}
	if f.Withdrawn {
		q.Set("withdrawn", "yes")
	}
	return listURL + "?" + q.Encode()
}
