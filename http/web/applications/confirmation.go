package applications

import (
	"fmt"
	"net/http"
	"strings"

	appcmds "github.com/mediciasafely/jobserver/commands/applications"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	appviews "github.com/mediciasafely/jobserver/projections/applications"
)

// confirmationView is the Data of "application_confirmation".
type confirmationView struct {
	Application appviews.Summary
	StatusWords string
	Progress    progress
	Action      string
	// Submittable shows the Submit button; Ready enables it, and Reason says why it is not.
	Submittable, Ready bool
	Reason             string
	StatusComment      string
	ProjectURL         string
	WithdrawURL        string
	Other              []string
}

// confirmationPage lists every page with its state, links to the incomplete ones, and Submit.
func (a *Handlers) confirmationPage(w http.ResponseWriter, r *http.Request) error {
	app, v, err := a.read(r)
	if err != nil {
		return err
	}
	a.renderConfirmation(w, r, http.StatusOK, app, v, nil)
	return nil
}

func (a *Handlers) renderConfirmation(w http.ResponseWriter, r *http.Request, status int, app appviews.Application, v viewer, other []string) {
	c := confirmationView{Application: app.Summary, StatusWords: StatusWords(app.Summary), Progress: progressOf(app, ""),
		Action: confirmationURL(app.ID), StatusComment: app.StatusComment, ProjectURL: app.ProjectURL(), Other: other}
	incomplete := 0
	for _, s := range c.Progress.Steps {
		if s.Incomplete {
			incomplete++
		}
	}
	switch {
	case v.ReadOnly != "":
		c.Reason = v.ReadOnly
	case app.Status != domain.StatusOngoing:
		c.Reason = "This application is " + strings.ToLower(app.Status.Label()) + "; its status is shown on your applications page."
		if app.Status == domain.StatusSubmitted {
			c.Reason = "This application was submitted. Reviewers are reading it; its status is shown on your applications page."
		}
	case incomplete > 0:
		c.Submittable, c.Reason = true, fmt.Sprintf("Complete every page before you submit: %d %s not complete yet.",
			incomplete, plural(incomplete, "page is", "pages are"))
	default:
		c.Submittable, c.Ready = true, true
	}
	if !app.Withdrawn && !app.Approved() && v.ReadOnly == "" {
		c.WithdrawURL = applicationURL(app.ID) + "/withdraw"
	}
	a.Page(w, r, status, "application_confirmation", kit.View{Title: "Check and submit · " + app.Title(),
		Crumbs: []kit.Crumb{listCrumb, {Label: app.Title(), URL: applicationURL(app.ID)}, {Label: "Check and submit"}}, Data: c})
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// submit hands the application to the reviewers; an incomplete one is refused, each incomplete page named.
func (a *Handlers) submit(w http.ResponseWriter, r *http.Request) error {
	app, v, err := a.read(r)
	if err != nil {
		return err
	}
	res, err := a.Applications.Submit.Handle(r.Context(), appcmds.Submit{Actor: kit.Actor(r), ApplicationID: app.ID})
	if fields, invalid := kit.FieldErrors(err); invalid {
		var other []string
		for _, p := range app.ApplicablePages() {
			if m, ok := fields[p.Key]; ok {
				other = append(other, m)
			}
		}
		a.renderConfirmation(w, r, http.StatusUnprocessableEntity, app, v, other)
		return nil
	}
	if domain.KindOf(err) == domain.KindConflict {
		a.renderConfirmation(w, r, http.StatusUnprocessableEntity, app, v, []string{err.Error()})
		return nil
	}
	if err != nil {
		return err
	}
	a.Done(w, r, res, "Application submitted", "/applications", appviews.ApplicationsProjector)
	return nil
}

// confirmWithdraw asks before the application is withdrawn.
func (a *Handlers) confirmWithdraw(w http.ResponseWriter, r *http.Request) error {
	app, _, err := a.read(r)
	if err != nil {
		return err
	}
	a.ConfirmPage(w, r, kit.Confirm{Title: "Withdraw the application", Question: "Withdraw the application " + app.Title() + "?",
		Consequence: "Reviewers stop seeing it among the applications to read. Nothing is deleted: you can restore it from your applications page.",
		Button:      "Withdraw application", CancelURL: confirmationURL(app.ID)},
		[]kit.Crumb{listCrumb, {Label: app.Title(), URL: applicationURL(app.ID)}, {Label: "Withdraw"}})
	return nil
}

// withdraw sets the application aside.
func (a *Handlers) withdraw(w http.ResponseWriter, r *http.Request) error {
	app, _, err := a.read(r)
	if err != nil {
		return err
	}
	res, err := a.Applications.Withdraw.Handle(r.Context(), appcmds.Withdraw{Actor: kit.Actor(r), ApplicationID: app.ID})
	if err != nil {
		return err
	}
	a.Done(w, r, res, "Application withdrawn", "/applications", appviews.ApplicationsProjector)
	return nil
}

// restore brings a withdrawn application back.
func (a *Handlers) restore(w http.ResponseWriter, r *http.Request) error {
	app, _, err := a.read(r)
	if err != nil {
		return err
	}
	res, err := a.Applications.Restore.Handle(r.Context(), appcmds.Restore{Actor: kit.Actor(r), ApplicationID: app.ID})
	if err != nil {
		return err
	}
	a.Done(w, r, res, "Application restored", "/applications", appviews.ApplicationsProjector)
	return nil
}
