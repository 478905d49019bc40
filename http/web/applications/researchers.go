package applications

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands"
	appcmds "github.com/mediciasafely/jobserver/commands/applications"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	appviews "github.com/mediciasafely/jobserver/projections/applications"
)

// researcherOf reads the researcher at .../researchers/{researcher}; with no {researcher} in the address
// (the add form) it is a new, empty entry.
func researcherOf(r *http.Request, app appviews.Application) (domain.Researcher, error) {
	id := chi.URLParam(r, "researcher")
	if id == "" {
		return domain.Researcher{}, nil
	}
	res, ok := app.Researcher(id)
	if !ok {
		return res, domain.NotFound("This researcher is not on the application. Go back to its researchers page.")
	}
	return res, nil
}

// researcherPage is the form that adds a researcher, or edits one.
func (a *Handlers) researcherPage(w http.ResponseWriter, r *http.Request) error {
	app, v, err := a.read(r)
	if err != nil {
		return err
	}
	res, err := researcherOf(r, app)
	if err != nil {
		return err
	}
	a.renderResearcher(w, r, http.StatusOK, app, v, res.ResearcherID, res.Answers(), nil)
	return nil
}

func (a *Handlers) renderResearcher(w http.ResponseWriter, r *http.Request, status int, app appviews.Application, v viewer,
	researcherID string, answers domain.Answers, errors map[string]string) {
	fields := domain.ResearcherFields()
	f := newFormView(app, v, domain.PageResearcherDetails)
	f.Heading, f.Action, f.Submit = "Add a researcher", addResearcherURL(app.ID), "Add researcher"
	if researcherID != "" {
		f.Heading, f.Action, f.Submit = "Edit a researcher", researcherURL(app.ID, researcherID)+"/edit", "Save researcher"
	}
	f.Fields, f.Other = fieldViews(fields, answers, errors), otherErrors(errors, fields)
	f.Back = &link{Label: "Cancel", URL: researchersURL(app.ID)}
	a.renderForm(w, r, status, f, f.Heading)
}

// saveResearcher adds the researcher, or saves the one edited; every field is checked, each error beside it.
func (a *Handlers) saveResearcher(w http.ResponseWriter, r *http.Request) error {
	if err := kit.ParseForm(r); err != nil {
		return err
	}
	app, v, err := a.read(r)
	if err != nil {
		return err
	}
	old, err := researcherOf(r, app)
	if err != nil {
		return err
	}
	answers := postedAnswers(r, domain.ResearcherFields())
	posted := domain.ResearcherFromAnswers(answers)
	var res commands.Result
	message := "Researcher added"
	if old.ResearcherID == "" {
		var added appcmds.ResearcherAdded
		added, err = a.Applications.AddResearcher.Handle(r.Context(), appcmds.AddResearcher{Actor: kit.Actor(r),
			ApplicationID: app.ID, Researcher: posted})
		res = added.Result
	} else {
		posted.ResearcherID, message = old.ResearcherID, "Researcher saved"
		res, err = a.Applications.EditResearcher.Handle(r.Context(), appcmds.EditResearcher{Actor: kit.Actor(r),
			ApplicationID: app.ID, Researcher: posted})
	}
	if fields, invalid := kit.FieldErrors(err); invalid {
		a.renderResearcher(w, r, http.StatusUnprocessableEntity, app, v, old.ResearcherID, answers, fields)
		return nil
	}
	if err != nil {
		return err
	}
	a.Done(w, r, res, message, researchersURL(app.ID), appviews.ApplicationsProjector)
	return nil
}

// confirmRemoveResearcher asks before a researcher is taken off the list.
func (a *Handlers) confirmRemoveResearcher(w http.ResponseWriter, r *http.Request) error {
	app, _, err := a.read(r)
	if err != nil {
		return err
	}
	res, err := researcherOf(r, app)
	if err != nil {
		return err
	}
	a.ConfirmPage(w, r, kit.Confirm{Title: "Remove a researcher", Question: "Remove " + res.Name + " from the application?",
		Consequence: "Their details are taken off the researchers list; you can add them again later.",
		Button:      "Remove researcher", CancelURL: researchersURL(app.ID)},
		[]kit.Crumb{listCrumb, {Label: app.Title(), URL: applicationURL(app.ID)}, {Label: "Remove a researcher"}})
	return nil
}

// removeResearcher takes the researcher off the list.
func (a *Handlers) removeResearcher(w http.ResponseWriter, r *http.Request) error {
	app, _, err := a.read(r)
	if err != nil {
		return err
	}
	res, err := a.Applications.RemoveResearcher.Handle(r.Context(), appcmds.RemoveResearcher{Actor: kit.Actor(r),
		ApplicationID: app.ID, ResearcherID: chi.URLParam(r, "researcher")})
	if err != nil {
		return err
	}
	a.Done(w, r, res, "Researcher removed", researchersURL(app.ID), appviews.ApplicationsProjector)
	return nil
}
