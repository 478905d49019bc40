// Package applications is the applicant's pages of step 2 of the user guide: the list of their applications,
// /apply and Start now, the application's pages (drawn from the page definitions in domain, one template for
// all of them), the researchers list, the confirmation page that submits, and withdrawing and restoring.
// The staff's review of applications is the applicationreview slice.
package applications

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	appcmds "github.com/mediciasafely/jobserver/commands/applications"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	appviews "github.com/mediciasafely/jobserver/projections/applications"
)

// Routes mounts the pages; all of them need a login. Every form posts to the address of the page that
// shows it and answers 303; removing a researcher and withdrawing ask first on a page of their own.
func (a *Handlers) Routes(r chi.Router) {
	r = r.With(kit.RequireLogin)
	r.Get("/applications", a.Handle(a.list))
	r.Get("/apply", a.Handle(a.applyPage))
	r.Post("/apply", a.Handle(a.start))
	r.Get("/applications/{id}", a.Handle(a.continueApplication))
	r.Get("/applications/{id}/page/{page}", a.Handle(a.formPage))
	r.Post("/applications/{id}/page/{page}", a.Handle(a.savePage))
	r.Get("/applications/{id}/researchers/add", a.Handle(a.researcherPage))
	r.Post("/applications/{id}/researchers/add", a.Handle(a.saveResearcher))
	r.Get("/applications/{id}/researchers/{researcher}/edit", a.Handle(a.researcherPage))
	r.Post("/applications/{id}/researchers/{researcher}/edit", a.Handle(a.saveResearcher))
	r.Get("/applications/{id}/researchers/{researcher}/remove", a.Handle(a.confirmRemoveResearcher))
	r.Post("/applications/{id}/researchers/{researcher}/remove", a.Handle(a.removeResearcher))
	r.Get("/applications/{id}/confirmation", a.Handle(a.confirmationPage))
	r.Post("/applications/{id}/confirmation", a.Handle(a.submit))
	r.Get("/applications/{id}/withdraw", a.Handle(a.confirmWithdraw))
	r.Post("/applications/{id}/withdraw", a.Handle(a.withdraw))
	r.Post("/applications/{id}/restore", a.Handle(a.restore))
}

// The addresses of an application's pages.
func applicationURL(id string) string   { return "/applications/" + id }
func pageURL(id, page string) string    { return applicationURL(id) + "/page/" + page }
func confirmationURL(id string) string  { return applicationURL(id) + "/confirmation" }
func researchersURL(id string) string   { return pageURL(id, domain.PageResearcherDetails) }
func addResearcherURL(id string) string { return applicationURL(id) + "/researchers/add" }
func researcherURL(id, researcher string) string {
	return applicationURL(id) + "/researchers/" + researcher
}

var listCrumb = kit.Crumb{Label: "Applications", URL: "/applications"}

// listItem is one application in the applicant's list.
type listItem struct {
	appviews.Summary
	StatusWords, StatusClass string
	LinkLabel, RestoreURL    string
}

// statusClasses colour a status's badge; its words say it.
var statusClasses = map[domain.ApplicationStatus]string{
	domain.StatusOngoing:           "running",
	domain.StatusSubmitted:         "pending",
	domain.StatusDeferred:          "pending",
	domain.StatusApprovedFully:     "approved",
	domain.StatusApprovedSubjectTo: "approved",
	domain.StatusCompleted:         "approved",
	domain.StatusRejected:          "rejected",
}

// StatusWords is the status of an application in words, as the guide writes it ("Approved Fully").
func StatusWords(s appviews.Summary) string {
	if s.Withdrawn {
		return "Withdrawn"
	}
	return s.Status.Label()
}

// list is /applications: the user's applications with their status, last change and a Continue link.
func (a *Handlers) list(w http.ResponseWriter, r *http.Request) error {
	summaries, err := a.Views.ApplicationsOf(r.Context(), kit.CurrentUserOf(r).ID)
	if err != nil {
		return err
	}
	items := make([]listItem, len(summaries))
	for i, s := range summaries {
		item := listItem{Summary: s, StatusWords: StatusWords(s), StatusClass: statusClasses[s.Status], LinkLabel: "View"}
		switch {
		case s.Withdrawn:
			item.StatusClass, item.RestoreURL = "", applicationURL(s.ID)+"/restore"
		case s.Status == domain.StatusOngoing:
			item.LinkLabel = "Continue"
		}
		items[i] = item
	}
	a.Page(w, r, http.StatusOK, "applications", kit.View{Title: "Applications", Crumbs: []kit.Crumb{{Label: "Applications"}},
		Data: struct{ Applications []listItem }{items}})
	return nil
}

// termsField is the box Start now needs ticked.
var termsField = domain.Field{Key: "terms", Kind: domain.FieldCheckbox, Required: true,
	Label: "I agree to the terms: the application and its researchers' details are read by MediciaSAFELY's reviewers, and an approved study publishes its code."}

// applyPage is /apply: what applying means and what it asks, and Start now.
func (a *Handlers) applyPage(w http.ResponseWriter, r *http.Request) error {
	a.renderApply(w, r, http.StatusOK, "")
	return nil
}

func (a *Handlers) renderApply(w http.ResponseWriter, r *http.Request, status int, termsError string) {
	var titles []string
	for _, p := range domain.ApplicationPages() {
		titles = append(titles, p.Title)
	}
	terms := fieldViews([]domain.Field{termsField}, nil, map[string]string{"terms": termsError})[0]
	a.Page(w, r, status, "apply", kit.View{Title: "Apply for a study project",
		Crumbs: []kit.Crumb{listCrumb, {Label: "Apply"}},
		Data: struct {
			Pages []string
			Terms fieldView
		}{titles, terms}})
}

// start is Start now: the application is created and its first page opens.
func (a *Handlers) start(w http.ResponseWriter, r *http.Request) error {
	if err := kit.ParseForm(r); err != nil {
		return err
	}
	started, err := a.Applications.Start.Handle(r.Context(), appcmds.Start{Actor: kit.Actor(r),
		TermsAccepted: r.PostFormValue(termsField.Key) != ""})
	if fields, invalid := kit.FieldErrors(err); invalid {
		a.renderApply(w, r, http.StatusUnprocessableEntity, fields[termsField.Key])
		return nil
	}
	if err != nil {
		return err
	}
	a.Done(w, r, started.Result, "Application started", pageURL(started.ApplicationID, domain.ApplicationPages()[0].Key),
		appviews.ApplicationsProjector)
	return nil
}

// viewer is who reads an application and what they may do with it.
type viewer struct {
	domain.Actor
	// ReadOnly says why the viewer cannot change the application; "" when they can.
	ReadOnly string
}

// read reads the application at /applications/{id} for the logged-in user: its applicant, a reviewer or
// an admin (domain.MayReadApplication); anyone else gets the refusal.
func (a *Handlers) read(r *http.Request) (appviews.Application, viewer, error) {
	app, err := a.Views.Application(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return app, viewer{}, err
	}
	perms, err := kit.Permissions(r, a.Queries, "")
	if err != nil {
		return app, viewer{}, err
	}
	v := viewer{Actor: domain.Actor{UserID: kit.CurrentUserOf(r).ID, Can: perms}}
	if err := domain.MayReadApplication(v.Actor, app.ApplicantID); err != nil {
		return app, v, err
	}
	manager := perms.Has(domain.ApplicationManage)
	// What the pages offer; the commands decide.
	switch {
	case app.Withdrawn:
		v.ReadOnly = "This application was withdrawn. Restore it from your applications to change it."
	case app.Approved() && !manager:
		v.ReadOnly = "This application was approved: it is shown as it was approved and can no longer be changed."
	case !v.Is(app.ApplicantID) && !manager:
		v.ReadOnly = "You can read this application; only its applicant can change it."
	}
	return app, v, nil
}

// continueApplication is /applications/{id}: the first page that is not complete yet, or the confirmation
// page when every page is.
func (a *Handlers) continueApplication(w http.ResponseWriter, r *http.Request) error {
	app, _, err := a.read(r)
	if err != nil {
		return err
	}
	http.Redirect(w, r, nextIncomplete(app, ""), http.StatusSeeOther)
	return nil
}

// nextIncomplete is the address of the first page after the page with key after (from the start when
// after is "") that applies and is not complete, or the confirmation page when there is none.
func nextIncomplete(app appviews.Application, after string) string {
	pages := app.ApplicablePages()
	start := 0
	for i, p := range pages {
		if p.Key == after {
			start = i + 1
		}
	}
	for _, p := range pages[start:] {
		if p.State != domain.PageComplete {
			return pageURL(app.ID, p.Key)
		}
	}
	return confirmationURL(app.ID)
}

// nextPage is the address of the page that follows the page with key in the application, or the
// confirmation page after the last.
func nextPage(app appviews.Application, key string) string {
	pages := app.ApplicablePages()
	for i, p := range pages {
		if p.Key == key && i+1 < len(pages) {
			return pageURL(app.ID, pages[i+1].Key)
		}
	}
	return confirmationURL(app.ID)
}
