package applicationreview

import (
	"net/http"

	appcmds "github.com/mediciasafely/jobserver/commands/applications"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	appviews "github.com/mediciasafely/jobserver/projections/applications"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// approveView is the Data of "review_approve".
type approveView struct {
	Application appviews.Summary
	Form        kit.Form // name, org_id
	Orgs        []kit.Option
	Action      string
	Other       []string // a refusal about no field: approved meanwhile by another admin, say
}

// approvePage is Approve fully: the project's name (the study name unless changed) and its organisation.
func (a *Handlers) approvePage(w http.ResponseWriter, r *http.Request) error {
	app, err := a.read(r)
	if err != nil {
		return err
	}
	if !permsOf(r).Has(domain.ApplicationManage) {
		return domain.Forbidden(domain.ApplicationManage)
	}
	return a.renderApprove(w, r, http.StatusOK, app, kit.Form{Values: map[string]string{"name": app.StudyName}}, nil)
}

func (a *Handlers) renderApprove(w http.ResponseWriter, r *http.Request, status int, app appviews.Application, f kit.Form, other []string) error {
	orgs, err := kit.OrgOptions(r.Context(), a.Queries, f.Values["org_id"])
	if err != nil {
		return err
	}
	a.Page(w, r, status, "review_approve", kit.View{Title: "Approve " + app.Title(),
		Crumbs: []kit.Crumb{listCrumb, {Label: app.Title(), URL: reviewURL(app.ID)}, {Label: "Approve fully"}},
		Data:   approveView{Application: app.Summary, Form: f, Orgs: orgs, Action: reviewURL(app.ID) + "/approve", Other: other}})
	return nil
}

// approve approves the application fully: its project is created in the organisation chosen, in the same
// append; a name already taken refuses both, the message beside the name.
func (a *Handlers) approve(w http.ResponseWriter, r *http.Request) error {
	if err := kit.ParseForm(r); err != nil {
		return err
	}
	app, err := a.read(r)
	if err != nil {
		return err
	}
	f := kit.PostedForm(r, "name", "org_id")
	approved, err := a.Applications.ApproveFully.Handle(r.Context(), appcmds.ApproveFully{Actor: kit.Actor(r),
		ApplicationID: app.ID, ProjectName: f.Values["name"], OrgID: f.Values["org_id"]})
	if fields, invalid := kit.FieldErrors(err); invalid {
		// The slug is made from the name here, so a slug taken is the name's to change.
		if msg, ok := fields["slug"]; ok && fields["name"] == "" {
			fields["name"] = msg
		}
		f.Errors = fields
		return a.renderApprove(w, r, http.StatusUnprocessableEntity, app, f, nil)
	}
	if kind := domain.KindOf(err); kind == domain.KindConflict || kind == domain.KindInvalid {
		return a.renderApprove(w, r, http.StatusUnprocessableEntity, app, f, []string{err.Error()})
	}
	if err != nil {
		return err
	}
	// The review page shows the project's link; the organisation's page lists it.
	a.Wait(r, approved.Result, appviews.ApplicationsProjector, identityviews.ProjectsProjector)
	project := f.Values["name"]
	if project == "" {
		project = app.StudyName
	}
	a.Done(w, r, approved.Result, "Application approved; project "+domain.NormalizeName(project)+" created", reviewURL(app.ID))
	return nil
}
