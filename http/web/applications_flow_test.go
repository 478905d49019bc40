package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
)

// filledAnswers are answers to every field of fields in the right form, drawn from their kinds, so that a
// field added to a page in domain is filled in here too.
func filledAnswers(fields []domain.Field) url.Values {
	form := url.Values{}
	for _, f := range fields {
		switch f.Kind {
		case domain.FieldEmail:
			form.Set(f.Key, "ada@example.org")
		case domain.FieldPhone:
			form.Set(f.Key, "+44 20 7946 0000")
		case domain.FieldDate:
			form.Set(f.Key, "2025-03-31")
		case domain.FieldCheckbox, domain.FieldYesNo:
			form.Set(f.Key, "yes")
		case domain.FieldChoice:
			form.Set(f.Key, f.Options[0].Value)
		case domain.FieldGitHub:
			form.Set(f.Key, "ada-l")
		default:
			form.Set(f.Key, "An answer to "+f.Label)
		}
	}
	return form
}

func applicationPage(t *testing.T, key string) domain.ApplicationPage {
	t.Helper()
	p, ok := domain.ApplicationPageByKey(key)
	if !ok {
		t.Fatalf("no page %s", key)
	}
	return p
}

// startApplication starts an application through /apply and returns its address.
func (b *browser) startApplication() string {
	b.t.Helper()
	b.get("/apply").expect(http.StatusOK, "Start now")
	p := b.post("/apply", url.Values{"terms": {"yes"}}).expect(http.StatusOK, "Application started", "Contact details")
	app, _, ok := strings.Cut(p.url.Path, "/page/")
	if !ok {
		b.t.Fatalf("Start now led to %s", p.url.Path)
	}
	return app
}

// answerEveryPage saves every page that applies with answers of the right form: research alone as the type
// of study, with record-level data; the study is called studyName. It adds one researcher.
func (b *browser) answerEveryPage(app, studyName string) {
	b.t.Helper()
	for _, def := range domain.ApplicationPages() {
		form := filledAnswers(def.Fields)
		switch def.Key {
		case domain.PageStudyInformation:
			form.Set(domain.FieldStudyName, studyName)
		case domain.PageTypeOfStudy:
			form = url.Values{"is_study_research": {"yes"}}
		case "service-evaluation-audit", "short-data-report":
			continue // research alone does not call for them
		case domain.PageResearcherDetails:
			b.post(app+"/researchers/add", filledAnswers(domain.ResearcherFields())).expect(http.StatusOK, "Researcher added")
			continue
		}
		b.post(app+"/page/"+def.Key, form).expect(http.StatusOK, "Page saved")
	}
}

func TestAnApplicantFillsInEveryPageAndSubmits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada := e.user("ada")
	b := e.browser()
	b.loginAs(ada)

	b.get("/applications").expect(http.StatusOK, "You have not started an application yet", `href="/apply"`, "Start a new project")
	b.get("/").expect(http.StatusOK, `href="/applications"`)
	b.get("/apply").expect(http.StatusOK, "Apply for a study project", "Study information", "Researcher details", "Start now")
	b.post("/apply", nil).expect(http.StatusUnprocessableEntity, "Please accept the terms to start an application.", `aria-invalid="true"`)
	app := b.startApplication()

	// The first page: not saved yet; a wrong e-mail address comes back beside its field with what was typed.
	b.get(app+"/page/contact-details").expect(http.StatusOK, "Not saved yet.", "Full name", `aria-current="step"`, "Not started")
	bad := filledAnswers(applicationPage(t, "contact-details").Fields)
	bad.Set("email", "not-an-address")
	b.post(app+"/page/contact-details", bad).
		expect(http.StatusUnprocessableEntity, `id="email-error"`, "Please enter an e-mail address such as ada@example.org.",
			`value="not-an-address"`, `value="An answer to Full name"`)
	// A good one is saved, and the next page opens.
	b.post(app+"/page/contact-details", filledAnswers(applicationPage(t, "contact-details").Fields)).
		at(app+"/page/commercial-involvement").expect(http.StatusOK, "Page saved")
	b.get(app+"/page/contact-details").expect(http.StatusOK, "Last saved", `value="ada@example.org"`)

	// A page saved without a required answer is kept, and shown again with what it misses beside the field.
	half := filledAnswers(applicationPage(t, domain.PageStudyInformation).Fields)
	half.Set(domain.FieldStudyName, "Diabetes Outcomes")
	half.Del("study_purpose")
	b.post(app+"/page/"+domain.PageStudyInformation, half).at(app+"/page/"+domain.PageStudyInformation).
		expect(http.StatusOK, "Some answers are still missing", `id="study_purpose-error"`, "Please answer this question.",
			`value="Diabetes Outcomes"`, "Needs changes")

	// The confirmation page: Submit is there but disabled, saying why; a submit anyway is refused.
	b.get(app+"/confirmation").expect(http.StatusOK, "Check and submit", "Needs changes", "Not started",
		"disabled aria-describedby=\"submit-reason\"", "Complete every page before you submit")
	b.post(app+"/confirmation", nil).expect(http.StatusUnprocessableEntity, "Study information: needs changes.")

	// The type of study decides which pages follow: research brings References; a sponsor's page is not asked.
	b.get(app+"/page/references").expect(http.StatusNotFound, "depends on the answers on other pages")
	b.post(app+"/page/"+domain.PageTypeOfStudy, nil).
		expect(http.StatusOK, "Page saved. Some answers are still missing", "Please tick at least one type of study.")
	b.post(app+"/page/"+domain.PageTypeOfStudy, url.Values{"is_study_research": {"yes"}}).
		at(app+"/page/references").expect(http.StatusOK, "HRA IRAS ID")
	b.get(app + "/page/" + domain.PageTypeOfStudy).lacks(`href="` + app + `/page/service-evaluation-audit"`)
	b.post(app+"/page/"+domain.PageTypeOfStudy, url.Values{"is_study_research": {"yes"}, "is_study_audit": {"yes"}})
	b.get(app+"/page/service-evaluation-audit").expect(http.StatusOK, "Sponsor&#39;s name")

	// Researchers: added with each error beside its field, edited, and removed after asking.
	researcher := filledAnswers(domain.ResearcherFields())
	researcher.Set("email", "nope")
	researcher.Set("github_username", "-bad-")
	b.post(app+"/researchers/add", researcher).expect(http.StatusUnprocessableEntity,
		`id="email-error"`, `id="github_username-error"`, "A GitHub username has 1 to 39 letters")
	researcher = filledAnswers(domain.ResearcherFields())
	researcher.Set("name", "Grace Hopper")
	b.post(app+"/researchers/add", researcher).at(app+"/page/researcher-details").
		expect(http.StatusOK, "Researcher added", "Grace Hopper", "Needed", "Complete")
	edit := editLink(t, b.get(app+"/page/researcher-details").body)
	researcher.Set("job_title", "Statistician")
	b.post(edit, researcher).expect(http.StatusOK, "Researcher saved", "Statistician")
	remove := strings.TrimSuffix(edit, "/edit") + "/remove"
	b.get(remove).expect(http.StatusOK, "Remove Grace Hopper from the application?")
	b.post(remove, nil).expect(http.StatusOK, "Researcher removed", "No researchers yet").lacks("Grace Hopper")

	// Every page answered: submitted.
	b.answerEveryPage(app, "Diabetes Outcomes")
	b.post(app+"/page/"+domain.PageTypeOfStudy, url.Values{"is_study_research": {"yes"}})
	b.get(app+"/confirmation").expect(http.StatusOK, "Submit application").lacks("disabled aria-describedby", "Not started", "Needs changes")
	b.post(app+"/confirmation", nil).at("/applications").expect(http.StatusOK, "Application submitted", "Diabetes Outcomes", "Submitted")
	b.post(app+"/confirmation", nil).expect(http.StatusUnprocessableEntity, "only an ongoing application can be submitted")
}

// editLink is the first researcher's Edit link on the researchers page.
func editLink(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, `/edit"`)
	if i < 0 {
		t.Fatal("the researchers page has no Edit link")
	}
	start := strings.LastIndex(body[:i], `href="`) + len(`href="`)
	return body[start : i+len("/edit")]
}

func TestReviewersNoteAndAnAdminApprovesCreatingTheProject(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cli := context.Background(), commands.CLIActor
	ada, admin, reviewer, bob := e.user("ada"), e.user("root", domain.CoreDeveloper), e.user("rita", domain.TechnicalReviewer), e.user("bob")
	org, err := e.cmds.CreateOrg.Handle(ctx, identity.CreateOrg{Actor: cli, Name: "MediciaAIOrg2"})
	e.must(org.Result, err)
	taken, err := e.cmds.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "Taken Study", OrgID: org.ID})
	e.must(taken.Result, err)

	applicant := e.browser()
	applicant.loginAs(ada)
	app := applicant.startApplication()
	applicant.answerEveryPage(app, "Taken Study")
	applicant.post(app+"/confirmation", nil).expect(http.StatusOK, "Application submitted")
	id := strings.TrimPrefix(app, "/applications/")

	// Someone else's application is not theirs to read; a visitor is asked to log in.
	other := e.browser()
	other.loginAs(bob)
	other.get(app + "/confirmation").expect(http.StatusForbidden)
	other.get("/staff/applications").expect(http.StatusForbidden, "Only reviewers can review applications.")
	e.browser().get(app + "/confirmation").at("/login")

	// A reviewer reads every page, notes one and marks it; they cannot decide.
	rita := e.browser()
	rita.loginAs(reviewer)
	rita.get("/").expect(http.StatusOK, `href="/staff/applications"`, "Review applications")
	rita.get("/staff/applications").expect(http.StatusOK, "Taken Study", "Ada Tester", "Submitted")
	rita.get("/staff/applications?q=taken&status=submitted").expect(http.StatusOK, "Taken Study")
	rita.get("/staff/applications?q=nothing-like-it").expect(http.StatusOK, "No applications match these filters.").lacks("Taken Study")
	rita.get("/staff/applications?status=rejected").lacks(`href="/staff/applications/` + id + `"`)
	rita.get("/staff/applications?status=bogus").expect(http.StatusUnprocessableEntity)
	rita.get("/staff/applications/"+id).expect(http.StatusOK, "An answer to Study purpose", "Yes (ticked)", "ada-l", "Not reviewed").
		lacks("Approve fully", "Set status")
	rita.post("/staff/applications/"+id, url.Values{"form": {"review"}, "page": {domain.PageStudyInformation},
		"notes": {"The purpose needs a sentence on outcomes."}, "approval": {string(domain.ReviewNotApproved)}}).
		expect(http.StatusOK, "Review of Study information saved", "The purpose needs a sentence on outcomes.", "Not approved by Rita Tester")
	rita.post("/staff/applications/"+id, url.Values{"form": {"review"}, "page": {domain.PageStudyInformation},
		"approval": {"maybe"}}).expect(http.StatusUnprocessableEntity, "Please choose approved, not approved, or neither.")
	rita.get("/staff/applications/"+id+"/approve").expect(http.StatusForbidden, "Only admins can manage applications.")
	rita.post("/staff/applications/"+id+"/approve", url.Values{"org_id": {org.ID}}).expect(http.StatusForbidden)
	rita.post("/staff/applications/"+id, url.Values{"form": {"status"}, "status": {"rejected"}}).expect(http.StatusForbidden)

	// Editing the page afterwards resets its mark; the notes stay.
	applicant.post(app+"/page/"+domain.PageStudyInformation, func() url.Values {
		f := filledAnswers(applicationPage(t, domain.PageStudyInformation).Fields)
		f.Set(domain.FieldStudyName, "Taken Study")
		f.Set("study_purpose", "Outcomes of diabetes care.")
		return f
	}()).expect(http.StatusOK, "Page saved")
	rita.get("/staff/applications/"+id).expect(http.StatusOK, "The purpose needs a sentence on outcomes.", "Outcomes of diabetes care.").
		lacks("Not approved by")

	// The admin sets a status with a comment, then approves: a name taken is refused beside the field.
	root := e.browser()
	root.loginAs(admin)
	root.post("/staff/applications/"+id, url.Values{"form": {"status"}, "status": {string(domain.StatusDeferred)}, "comment": {"Waiting for the ethics approval."}}).
		expect(http.StatusOK, "Status set to Deferred")
	applicant.get("/applications").expect(http.StatusOK, "Deferred")
	applicant.get(app+"/confirmation").expect(http.StatusOK, "Waiting for the ethics approval.")
	root.get("/staff/applications/"+id+"/approve").expect(http.StatusOK, `value="Taken Study"`, "MediciaAIOrg2 (mediciaaiorg2)")
	root.post("/staff/applications/"+id+"/approve", url.Values{"name": {"Taken Study"}, "org_id": {org.ID}}).
		expect(http.StatusUnprocessableEntity, `id="name-error"`, `value="Taken Study"`)
	root.post("/staff/applications/"+id+"/approve", url.Values{"name": {"Diabetes Outcomes"}}).
		expect(http.StatusUnprocessableEntity, `id="org_id-error"`, "Please choose an organisation.")
	root.post("/staff/applications/"+id+"/approve", url.Values{"name": {"Diabetes Outcomes"}, "org_id": {org.ID}}).
		at("/staff/applications/"+id).
		expect(http.StatusOK, "Application approved; project Diabetes Outcomes created", `href="/mediciaaiorg2/diabetes-outcomes"`, "Approved Fully")
	root.get("/mediciaaiorg2").expect(http.StatusOK, "Diabetes Outcomes")
	root.get("/staff/applications/" + id + "/approve").expect(http.StatusOK)
	root.post("/staff/applications/"+id+"/approve", url.Values{"name": {"Another"}, "org_id": {org.ID}}).
		expect(http.StatusUnprocessableEntity, "already approved")

	// The applicant sees Approved Fully, and the application read-only.
	applicant.get("/applications").expect(http.StatusOK, "Approved Fully")
	applicant.get(app+"/page/"+domain.PageStudyInformation).
		expect(http.StatusOK, `<fieldset class="application-fields" disabled>`, "can no longer be changed").lacks("Save and continue")
	applicant.post(app+"/page/"+domain.PageStudyInformation, url.Values{"study_name": {"Changed"}}).
		expect(http.StatusForbidden, "it can no longer be changed")
	applicant.get(app + "/withdraw").expect(http.StatusOK)
	applicant.post(app+"/withdraw", nil).expect(http.StatusForbidden, "can no longer be withdrawn")
}

func TestAnApplicantWithdrawsAndRestoresAnApplication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	b.loginAs(e.user("ada"))
	app := b.startApplication()
	b.get(app+"/withdraw").expect(http.StatusOK, "Withdraw the application Untitled application?")
	b.post(app+"/withdraw", nil).at("/applications").expect(http.StatusOK, "Application withdrawn", "Withdrawn", "Restore")
	b.get(app+"/page/contact-details").expect(http.StatusOK, "This application was withdrawn", " disabled>")
	b.post(app+"/restore", nil).at("/applications").expect(http.StatusOK, "Application restored", "Ongoing", "Continue")
	b.get(app).at(app + "/page/contact-details")
}
