package applicationreview

import (
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	appcmds "github.com/mediciasafely/jobserver/commands/applications"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	appviews "github.com/mediciasafely/jobserver/projections/applications"
)

// answer is one question of a page with the applicant's answer in words.
type answer struct{ Label, Text string }

// reviewedPage is one page of the application as a reviewer reads it, with its review form.
type reviewedPage struct {
	appviews.Page
	Answers     []answer
	Researchers []domain.Researcher // the researchers page's list
	Approvals   []kit.Option
	Notes       string            // as saved, or as posted by a refused form
	Errors      map[string]string // of a refused review form of this page
}

// reviewView is the Data of "review_application".
type reviewView struct {
	Application appviews.Summary
	StatusWords string
	Pages       []reviewedPage
	CanManage   bool
	Statuses    []kit.Option
	Status      kit.Form // status, comment
	ApproveURL  string
	HistoryURL  string // "" when the viewer may not read the application's history
}

// approvals are the marks a reviewer gives a page.
var approvals = []domain.PageApproval{domain.ReviewUnset, domain.ReviewApproved, domain.ReviewNotApproved}

// read reads the application at /staff/applications/{id}.
func (a *Handlers) read(r *http.Request) (appviews.Application, error) {
	return a.Views.Application(r.Context(), chi.URLParam(r, "id"))
}

// reviewPage is an application's review: every page that applies with its answers, a review form per
// page, and for admins the status form and Approve fully.
func (a *Handlers) reviewPage(w http.ResponseWriter, r *http.Request) error {
	app, err := a.read(r)
	if err != nil {
		return err
	}
	a.renderReview(w, r, http.StatusOK, app, "", nil, kit.Form{})
	return nil
}

// renderReview draws the review page; a refused form comes back with its values and errors: the review of
// the page with key reviewed (notes), or the status form.
func (a *Handlers) renderReview(w http.ResponseWriter, r *http.Request, status int, app appviews.Application,
	reviewed string, reviewErrors map[string]string, statusForm kit.Form) {
	v := reviewView{Application: app.Summary, StatusWords: app.Status.Label(), CanManage: permsOf(r).Has(domain.ApplicationManage),
		Status: statusForm}
	if app.Withdrawn {
		v.StatusWords += " (withdrawn by the applicant)"
	}
	for _, p := range app.ApplicablePages() {
		page := reviewedPage{Page: p, Notes: p.Notes}
		for _, f := range p.Fields {
			page.Answers = append(page.Answers, answer{Label: f.Label, Text: answerText(f, p.Answers[f.Key], p.SavedAt != nil)})
		}
		if p.Researchers {
			page.Researchers = app.Researchers
		}
		if p.Key == reviewed {
			page.Errors, page.Notes = reviewErrors, r.PostFormValue("notes")
		}
		for _, mark := range approvals {
			page.Approvals = append(page.Approvals, kit.Option{Value: string(mark), Label: mark.Label(), Selected: mark == p.Approval})
		}
		v.Pages = append(v.Pages, page)
	}
	if v.Status.Values == nil {
		v.Status.Values = map[string]string{"status": string(app.Status), "comment": app.StatusComment}
	}
	for _, s := range domain.ApplicationStatuses() {
		// Approved Fully is given by Approve fully, which creates the project.
		if s != domain.StatusApprovedFully {
			v.Statuses = append(v.Statuses, kit.Option{Value: string(s), Label: s.Label(), Selected: string(s) == v.Status.Values["status"]})
		}
	}
	if v.CanManage && !app.Approved() && !app.Withdrawn {
		v.ApproveURL = reviewURL(app.ID) + "/approve"
	}
	var err error
	if v.HistoryURL, err = kit.HistoryLink(r, a.Queries, "application", app.ID); err != nil {
		a.Fail(w, r, err)
		return
	}
	a.Page(w, r, status, "review_application", kit.View{Title: "Review of " + app.Title(),
		Crumbs: []kit.Crumb{listCrumb, {Label: app.Title()}}, Data: v})
}

// answerText is an answer in words: a ticked box, a yes or no, a choice by its label.
func answerText(f domain.Field, value string, saved bool) string {
	switch {
	case !saved:
		return "Not answered yet"
	case f.Kind == domain.FieldCheckbox && value != "":
		return "Yes (ticked)"
	case f.Kind == domain.FieldCheckbox:
		return "No (not ticked)"
	case value == "":
		return "Not answered"
	case f.Kind == domain.FieldYesNo && value == "yes":
		return "Yes"
	case f.Kind == domain.FieldYesNo:
		return "No"
	}
	if i := slices.IndexFunc(f.Options, func(o domain.Option) bool { return o.Value == value }); i >= 0 {
		return f.Options[i].Label
	}
	return value
}

// reviewForm takes the post of one of the review page's forms: a page's review (form=review) or the
// application's status (form=status).
func (a *Handlers) reviewForm(w http.ResponseWriter, r *http.Request) error {
	if err := kit.ParseForm(r); err != nil {
		return err
	}
	app, err := a.read(r)
	if err != nil {
		return err
	}
	if r.PostFormValue("form") == "status" {
		return a.setStatus(w, r, app)
	}
	page := r.PostFormValue("page")
	res, err := a.Applications.ReviewPage.Handle(r.Context(), appcmds.ReviewPage{Actor: kit.Actor(r), ApplicationID: app.ID,
		Page: page, Notes: r.PostFormValue("notes"), Approval: domain.PageApproval(r.PostFormValue("approval"))})
	if fields, invalid := kit.FieldErrors(err); invalid {
		a.renderReview(w, r, http.StatusUnprocessableEntity, app, page, fields, kit.Form{})
		return nil
	}
	if err != nil {
		return err
	}
	title := "the page"
	if p, ok := app.Page(page); ok {
		title = p.Title
	}
	a.Done(w, r, res, "Review of "+title+" saved", reviewURL(app.ID)+"#page-"+page, appviews.ApplicationsProjector)
	return nil
}

// setStatus gives the application a status with a comment.
func (a *Handlers) setStatus(w http.ResponseWriter, r *http.Request, app appviews.Application) error {
	f := kit.PostedForm(r, "status", "comment")
	status := domain.ApplicationStatus(f.Values["status"])
	res, err := a.Applications.SetStatus.Handle(r.Context(), appcmds.SetStatus{Actor: kit.Actor(r), ApplicationID: app.ID,
		Status: status, Comment: f.Values["comment"]})
	if fields, invalid := kit.FieldErrors(err); invalid {
		f.Errors = fields
		a.renderReview(w, r, http.StatusUnprocessableEntity, app, "", nil, f)
		return nil
	}
	if err != nil {
		return err
	}
	a.Done(w, r, res, "Status set to "+status.Label(), reviewURL(app.ID), appviews.ApplicationsProjector)
	return nil
}
