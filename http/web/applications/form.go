package applications

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	appcmds "github.com/mediciasafely/jobserver/commands/applications"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	appviews "github.com/mediciasafely/jobserver/projections/applications"
)

// step is one page in an application's progress list, with its state in words.
type step struct {
	Title, URL        string
	State, StateWords string
	Current           bool
	Incomplete        bool
}

// progress is the list of the pages that apply to the application (the pages of a type of study appear
// once it is ticked), and the confirmation page after them.
type progress struct {
	Steps           []step
	ConfirmationURL string
	Confirming      bool // the confirmation page is the current one
}

func progressOf(app appviews.Application, current string) progress {
	p := progress{ConfirmationURL: confirmationURL(app.ID), Confirming: current == ""}
	for _, page := range app.ApplicablePages() {
		p.Steps = append(p.Steps, step{Title: page.Title, URL: pageURL(app.ID, page.Key), State: string(page.State),
			StateWords: page.State.Label(), Current: page.Key == current, Incomplete: page.State != domain.PageComplete})
	}
	return p
}

// link is a button-like link: Back, Continue.
type link struct{ Label, URL string }

// researcherRow is a researcher as the researchers list shows them.
type researcherRow struct {
	domain.Researcher
	EditURL, RemoveURL string
}

// researcherList is the researchers list of the researchers page.
type researcherList struct {
	Shown  bool
	List   []researcherRow
	AddURL string
}

// formView is the Data of "application_form": one page of the application, or a researcher's entry.
type formView struct {
	Application    appviews.Summary
	StatusWords    string
	Heading, Intro string
	Progress       progress
	Fields         []fieldView
	Action, Submit string
	Next, Back     *link
	ReadOnly       string
	ShowSaved      bool
	SavedAt        *time.Time
	Other          []string
	Researchers    researcherList
}

func newFormView(app appviews.Application, v viewer, current string) formView {
	return formView{Application: app.Summary, StatusWords: StatusWords(app.Summary), Progress: progressOf(app, current),
		ReadOnly: v.ReadOnly}
}

func (a *Handlers) renderForm(w http.ResponseWriter, r *http.Request, status int, f formView, crumb string) {
	a.Page(w, r, status, "application_form", kit.View{Title: f.Heading + " · " + f.Application.Title(),
		Crumbs: []kit.Crumb{listCrumb, {Label: f.Application.Title(), URL: applicationURL(f.Application.ID)}, {Label: crumb}},
		Data:   f})
}

// applicationPage reads the application and the page at /applications/{id}/page/{page}; a page that is
// not part of this application (one its type of study does not call for) is not found.
func (a *Handlers) applicationPage(r *http.Request) (appviews.Application, viewer, appviews.Page, error) {
	app, v, err := a.read(r)
	if err != nil {
		return app, v, appviews.Page{}, err
	}
	page, ok := app.Page(chi.URLParam(r, "page"))
	if !ok {
		return app, v, page, domain.NotFound("The application has no such page. Start again from its first page.")
	}
	if !page.Applies {
		return app, v, page, domain.NotFound("The page \u201c" + page.Title +
			"\u201d is not part of this application: it depends on the answers on other pages, such as the type of study.")
	}
	return app, v, page, nil
}

// formPage shows one page of the application: its fields with the answers saved (and, for a page saved
// without all its answers, what is missing beside each field), or the researchers list.
func (a *Handlers) formPage(w http.ResponseWriter, r *http.Request) error {
	app, v, page, err := a.applicationPage(r)
	if err != nil {
		return err
	}
	a.renderPage(w, r, http.StatusOK, app, v, page, page.Answers, page.Problems)
	return nil
}

func (a *Handlers) renderPage(w http.ResponseWriter, r *http.Request, status int, app appviews.Application, v viewer,
	page appviews.Page, answers domain.Answers, errors map[string]string) {
	f := newFormView(app, v, page.Key)
	f.Heading, f.Intro, f.ShowSaved, f.SavedAt = page.Title, page.Intro, !page.Researchers, page.SavedAt
	if page.Researchers {
		f.Researchers = researcherList{Shown: true, AddURL: addResearcherURL(app.ID)}
		for _, res := range app.Researchers {
			u := researcherURL(app.ID, res.ResearcherID)
			f.Researchers.List = append(f.Researchers.List, researcherRow{Researcher: res, EditURL: u + "/edit", RemoveURL: u + "/remove"})
		}
		f.Next = &link{Label: "Continue", URL: nextPage(app, page.Key)}
	} else {
		f.Fields = fieldViews(page.Fields, answers, errors)
		f.Other = otherErrors(errors, page.Fields)
		f.Action, f.Submit = pageURL(app.ID, page.Key), "Save and continue"
		if v.ReadOnly != "" {
			f.Next = &link{Label: "Next page", URL: nextPage(app, page.Key)}
		}
	}
	a.renderForm(w, r, status, f, page.Title)
}

// savePage saves the page's answers. Answers in the wrong form come back beside their fields (422) with
// everything typed kept; otherwise the page is saved, and the next page opens, or this one again when it
// still misses answers.
func (a *Handlers) savePage(w http.ResponseWriter, r *http.Request) error {
	if err := kit.ParseForm(r); err != nil {
		return err
	}
	app, v, page, err := a.applicationPage(r)
	if err != nil {
		return err
	}
	if page.Researchers {
		return domain.NotFound("Researchers are added, edited and removed one at a time.")
	}
	answers := postedAnswers(r, page.Fields)
	res, err := a.Applications.SavePage.Handle(r.Context(), appcmds.SavePage{Actor: kit.Actor(r), ApplicationID: app.ID,
		Page: page.Key, Answers: answers})
	if fields, invalid := kit.FieldErrors(err); invalid {
		a.renderPage(w, r, http.StatusUnprocessableEntity, app, v, page, answers, fields)
		return nil
	}
	if err != nil {
		return err
	}
	// The pages that follow depend on what was saved (the type of study adds and removes pages).
	a.Wait(r, res, appviews.ApplicationsProjector)
	if app, err = a.Views.Application(r.Context(), app.ID); err != nil {
		return err
	}
	if saved, _ := app.Page(page.Key); saved.State != domain.PageComplete {
		a.Done(w, r, res, "Page saved. Some answers are still missing: see the messages beside the fields.", pageURL(app.ID, page.Key))
		return nil
	}
	a.Done(w, r, res, "Page saved", nextPage(app, page.Key))
	return nil
}
