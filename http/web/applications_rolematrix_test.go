package web_test

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"testing"

	"github.com/mediciasafely/jobserver/commands"
	appcmds "github.com/mediciasafely/jobserver/commands/applications"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/internal/rolematrix"
)

// answersOf are a form's values as a page's answers.
func answersOf(form url.Values) domain.Answers {
	a := domain.Answers{}
	for k := range form {
		a[k] = form.Get(k)
	}
	return a
}

// newApplication starts an application as the user and lists one researcher, through the commands; with
// everyPage it also answers every page a research study calls for, else only the study's name. It returns
// the application's and the researcher's ids, the read models caught up.
func (e *env) newApplication(userID, study string, everyPage bool) (applicationID, researcherID string) {
	e.t.Helper()
	ctx, by := context.Background(), commands.UserActor(userID)
	started, err := e.apps.Start.Handle(ctx, appcmds.Start{Actor: by, TermsAccepted: true})
	if err != nil {
		e.t.Fatal(err)
	}
	saved := map[string]domain.Answers{}
	for _, p := range domain.ApplicationPages() {
		if p.Researchers || !p.Applies(saved) || (!everyPage && p.Key != domain.PageStudyInformation) {
			continue
		}
		answers := answersOf(filledAnswers(p.Fields))
		switch p.Key {
		case domain.PageStudyInformation:
			answers[domain.FieldStudyName] = study
		case domain.PageTypeOfStudy:
			answers = domain.Answers{"is_study_research": "yes"}
		}
		if _, err := e.apps.SavePage.Handle(ctx, appcmds.SavePage{Actor: by, ApplicationID: started.ApplicationID, Page: p.Key, Answers: answers}); err != nil {
			e.t.Fatal(err)
		}
		saved[p.Key] = answers
	}
	added, err := e.apps.AddResearcher.Handle(ctx, appcmds.AddResearcher{Actor: by, ApplicationID: started.ApplicationID,
		Researcher: domain.ResearcherFromAnswers(answersOf(filledAnswers(domain.ResearcherFields())))})
	e.must(added.Result, err)
	return started.ApplicationID, added.ResearcherID
}

// appMatrixWorld is what one use of the applications slice of the role matrix acts on, made afresh for
// every use: someone else's complete application with a researcher (withdrawn for the restore use), the
// actor's own application for the use on it, and an organisation for the approval.
type appMatrixWorld struct {
	n                        int
	others, researcher, mine string
	org                      string
}

func newAppMatrixWorld(e *env, n int, actor string, u rolematrix.Use) appMatrixWorld {
	e.t.Helper()
	ctx := context.Background()
	w := appMatrixWorld{n: n}
	applicant := e.user(fmt.Sprintf("applicant%d", n))
	// Only a complete application can be submitted; the others need not be.
	w.others, w.researcher = e.newApplication(applicant, fmt.Sprintf("Study %d", n), u.Name == "SubmitApplication of someone else's application")
	if u.Name == "RestoreApplication of someone else's application" {
		e.must(e.apps.Withdraw.Handle(ctx, appcmds.Withdraw{Actor: commands.UserActor(applicant), ApplicationID: w.others}))
	}
	if actor != "" && u.Name == "SaveApplicationPage of their own application" {
		started, err := e.apps.Start.Handle(ctx, appcmds.Start{Actor: commands.UserActor(actor), TermsAccepted: true})
		e.must(started.Result, err)
		w.mine = started.ApplicationID
	}
	if u.Name == "ApproveApplication" {
		org, err := e.cmds.CreateOrg.Handle(ctx, identity.CreateOrg{Actor: commands.CLIActor, Name: fmt.Sprintf("Org %d", n)})
		e.must(org.Result, err)
		w.org = org.ID
	}
	return w
}

// appPageRunners do each use of the applications slice the way the pages do it: what the page's form
// posts, or the confirmation page's button for what removes.
func appPageRunners() map[string]func(b *browser, w appMatrixWorld) *page {
	others := func(w appMatrixWorld) string { return "/applications/" + w.others }
	researcher := filledAnswers(domain.ResearcherFields())
	return map[string]func(b *browser, w appMatrixWorld) *page{
		"StartApplication": func(b *browser, w appMatrixWorld) *page {
			return b.post("/apply", url.Values{"terms": {"yes"}})
		},
		"SaveApplicationPage of their own application": func(b *browser, w appMatrixWorld) *page {
			return b.post("/applications/"+w.mine+"/page/contact-details", filledAnswers(applicationPage(b.t, "contact-details").Fields))
		},
		"SaveApplicationPage of someone else's application": func(b *browser, w appMatrixWorld) *page {
			return b.post(others(w)+"/page/commercial-involvement", url.Values{"commercial_involvement": {"None at all."}})
		},
		"AddApplicationResearcher of someone else's application": func(b *browser, w appMatrixWorld) *page {
			return b.post(others(w)+"/researchers/add", researcher)
		},
		"EditApplicationResearcher of someone else's application": func(b *browser, w appMatrixWorld) *page {
			edited := maps.Clone(researcher)
			edited.Set("job_title", "Epidemiologist")
			return b.post(others(w)+"/researchers/"+w.researcher+"/edit", edited)
		},
		"RemoveApplicationResearcher of someone else's application": func(b *browser, w appMatrixWorld) *page {
			return b.post(others(w)+"/researchers/"+w.researcher+"/remove", nil)
		},
		"SubmitApplication of someone else's application": func(b *browser, w appMatrixWorld) *page {
			return b.post(others(w)+"/confirmation", nil)
		},
		"WithdrawApplication of someone else's application": func(b *browser, w appMatrixWorld) *page {
			return b.post(others(w)+"/withdraw", nil)
		},
		"RestoreApplication of someone else's application": func(b *browser, w appMatrixWorld) *page {
			return b.post(others(w)+"/restore", nil)
		},
		"ReviewApplicationPage": func(b *browser, w appMatrixWorld) *page {
			return b.post("/staff/applications/"+w.others, url.Values{"form": {"review"}, "page": {"datasets"},
				"notes": {"Which ICNARC fields?"}, "approval": {string(domain.ReviewApproved)}})
		},
		"SetApplicationStatus": func(b *browser, w appMatrixWorld) *page {
			return b.post("/staff/applications/"+w.others, url.Values{"form": {"status"}, "status": {string(domain.StatusDeferred)}})
		},
		"ApproveApplication": func(b *browser, w appMatrixWorld) *page {
			return b.post("/staff/applications/"+w.others+"/approve", url.Values{"org_id": {w.org}, "name": {fmt.Sprintf("Approved Study %d", w.n)}})
		},
	}
}

// TestApplicationsRoleMatrixThroughThePages drives the applications slice of the role matrix's table through
// HTTP (see checkPagesMatrix).
func TestApplicationsRoleMatrixThroughThePages(t *testing.T) {
	t.Parallel()
	run := appPageRunners()
	checkPagesMatrix(t, rolematrix.Applications, nil, nil, func(e *env, n int, actor string, _ rolematrix.Setup, u rolematrix.Use) func(*browser) *page {
		w := newAppMatrixWorld(e, n, actor, u)
		return func(b *browser) *page { return run[u.Name](b, w) }
	})
}

// TestTheApplicationsRoleMatrixHasAPageRunnerForEveryUse: every use of the applications slice in the table
// has a page that does it here, and every runner here is a use of the table.
func TestTheApplicationsRoleMatrixHasAPageRunnerForEveryUse(t *testing.T) {
	t.Parallel()
	rolematrix.CheckRunners(t, rolematrix.Applications, slices.Collect(maps.Keys(appPageRunners())), nil)
}
