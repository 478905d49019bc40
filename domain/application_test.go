package domain_test

import (
	"strings"
	"testing"

	"github.com/mediciasafely/jobserver/domain"
)

var (
	applicant = domain.Actor{UserID: "applicant", Can: domain.PermissionSet{}}
	stranger  = domain.Actor{UserID: "stranger", Can: domain.PermissionSet{}}
	reviewer  = domain.Actor{UserID: "reviewer", Can: domain.PermissionsOf([]domain.Role{domain.TechnicalReviewer}, nil)}
	admin     = domain.Actor{UserID: "admin", Can: domain.PermissionsOf([]domain.Role{domain.CoreDeveloper}, nil)}
)

// completeAnswers are answers that complete each page that has fields, for a research study.
func completeAnswers() map[string]domain.Answers {
	all := map[string]domain.Answers{}
	for _, p := range domain.ApplicationPages() {
		a := domain.Answers{}
		for _, f := range p.Fields {
			if !f.Required {
				continue
			}
			switch f.Kind {
			case domain.FieldEmail:
				a[f.Key] = "ada@example.org"
			case domain.FieldPhone:
				a[f.Key] = "+44 20 7946 0000"
			case domain.FieldCheckbox, domain.FieldYesNo:
				a[f.Key] = "yes"
			default:
				a[f.Key] = "An answer"
			}
		}
		all[p.Key] = a
	}
	all[domain.PageStudyData]["need_record_level_data"] = "no"
	all[domain.PageTypeOfStudy] = domain.Answers{"is_study_research": "yes"}
	all[domain.PageStudyInformation][domain.FieldStudyName] = "Kidney Outcomes"
	return all
}

// started folds a new application of the applicant.
func started(t *testing.T) *domain.Application {
	t.Helper()
	e, err := domain.StartApplication(applicant, "app1", true)
	if err != nil {
		t.Fatal(err)
	}
	a := &domain.Application{}
	a.Apply(e)
	return a
}

// apply fails on err and folds events into a.
func apply(t *testing.T, a *domain.Application) func([]domain.Event, error) {
	return func(events []domain.Event, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			a.Apply(e)
		}
	}
}

// filled is an application of a research study with every page complete and one researcher.
func filled(t *testing.T) *domain.Application {
	t.Helper()
	a := started(t)
	for key, answers := range completeAnswers() {
		if p, _ := domain.ApplicationPageByKey(key); !p.Researchers && p.Applies(completeAnswers()) {
			apply(t, a)(a.SavePage(applicant, key, answers))
		}
	}
	apply(t, a)(a.AddResearcher(applicant, domain.Researcher{ResearcherID: "r1", Name: "Grace Hopper", JobTitle: "Statistician", Email: "grace@example.org"}))
	return a
}

func TestStartingAnApplicationNeedsTheTermsAccepted(t *testing.T) {
	t.Parallel()
	if _, err := domain.StartApplication(applicant, "app1", false); fieldOf(err, "terms") == "" {
		t.Errorf("terms not accepted: err = %v, want a message on terms", err)
	}
	if _, err := domain.StartApplication(domain.Actor{}, "app1", true); domain.KindOf(err) != domain.KindForbidden {
		t.Errorf("anonymous: err = %v, want a refusal", err)
	}
}

func TestFieldsAreCheckedForTheirFormEachBesideItsField(t *testing.T) {
	t.Parallel()
	a := started(t)
	_, err := a.SavePage(applicant, domain.PageContactDetails, domain.Answers{"email": "not-an-address", "telephone": "call me", "full_name": "Ada\nLovelace"})
	for _, field := range []string{"email", "telephone", "full_name"} {
		if fieldOf(err, field) == "" {
			t.Errorf("err = %v: want a message on %s", err, field)
		}
	}
	if fieldOf(err, "job_title") != "" {
		t.Errorf("a missing answer refused the save: %v", err)
	}
	_, err = a.SavePage(applicant, domain.PageStudyData, domain.Answers{"need_record_level_data": "perhaps"})
	if fieldOf(err, "need_record_level_data") == "" {
		t.Errorf("yes/no answered perhaps: err = %v", err)
	}
}

func TestGitHubUsernamesFollowGitHubsRules(t *testing.T) {
	t.Parallel()
	a := started(t)
	for name, ok := range map[string]bool{
		"octocat": true, "a": true, "mona-lisa-42": true, strings.Repeat("a", 39): true,
		strings.Repeat("a", 40): false, "-mona": false, "mona-": false, "mona--lisa": false, "mona_lisa": false, "mona lisa": false,
	} {
		_, err := a.AddResearcher(applicant, domain.Researcher{ResearcherID: "r-" + name, Name: "Mona", JobTitle: "Analyst", Email: "mona@example.org", GitHubUsername: name})
		if got := fieldOf(err, "github_username") == ""; got != ok {
			t.Errorf("GitHub username %q: err = %v, want accepted %v", name, err, ok)
		}
	}
}

func TestAResearcherWithTrainingSaysWhoGaveItAndWhen(t *testing.T) {
	t.Parallel()
	a := started(t)
	_, err := a.AddResearcher(applicant, domain.Researcher{ResearcherID: "r1", HasSafeResearcherTraining: true, TrainingPassedAt: "31/03/2026"})
	for _, field := range []string{"name", "job_title", "email", "training_with_org", "training_passed_at"} {
		if fieldOf(err, field) == "" {
			t.Errorf("err = %v: want a message on %s", err, field)
		}
	}
}

func TestPagesApplyByTheTypeOfStudy(t *testing.T) {
	t.Parallel()
	applies := func(key string, types domain.Answers) bool {
		p, ok := domain.ApplicationPageByKey(key)
		if !ok {
			t.Fatalf("no page %s", key)
		}
		return p.Applies(map[string]domain.Answers{domain.PageTypeOfStudy: types})
	}
	research := domain.Answers{"is_study_research": "yes"}
	audit := domain.Answers{"is_study_audit": "yes"}
	evaluation := domain.Answers{"is_study_service_evaluation": "yes"}
	sdr := domain.Answers{"is_short_data_report": "yes"}
	cases := []struct {
		page  string
		types domain.Answers
		want  bool
	}{
		{"references", research, true}, {"references", audit, false},
		{"service-evaluation-audit", audit, true}, {"service-evaluation-audit", evaluation, true}, {"service-evaluation-audit", research, false},
		{"short-data-report", sdr, true}, {"short-data-report", research, false},
		{"study-funding", domain.Answers{}, true},
	}
	for _, c := range cases {
		if got := applies(c.page, c.types); got != c.want {
			t.Errorf("%s with %v applies = %v, want %v", c.page, c.types, got, c.want)
		}
	}
}

func TestAtLeastOneTypeOfStudy(t *testing.T) {
	t.Parallel()
	a := started(t)
	apply(t, a)(a.SavePage(applicant, domain.PageTypeOfStudy, domain.Answers{}))
	if got := a.PageStates()[domain.PageTypeOfStudy]; got != domain.PageNeedsChanges {
		t.Errorf("no type ticked: state %s, want needs changes", got)
	}
	p, _ := domain.ApplicationPageByKey(domain.PageTypeOfStudy)
	if msg := p.Problems(domain.Answers{})["is_study_research"]; msg == "" {
		t.Error("no message beside the first type of study")
	}
	apply(t, a)(a.SavePage(applicant, domain.PageTypeOfStudy, domain.Answers{"is_study_audit": "on"}))
	if got := a.PageStates()[domain.PageTypeOfStudy]; got != domain.PageComplete {
		t.Errorf("audit ticked: state %s, want complete", got)
	}
}

func TestPersonalAnswersTravelInOnePersonAndComeBack(t *testing.T) {
	t.Parallel()
	a := started(t)
	events, err := a.SavePage(applicant, domain.PageContactDetails, domain.Answers{"full_name": " Ada Lovelace ", "email": "ada@example.org", "team_name": "Renal"})
	if err != nil {
		t.Fatal(err)
	}
	saved := events[0].(domain.ApplicationPageSaved)
	if saved.Person == nil || saved.Person.Value().Name != "Ada Lovelace" || saved.Person.Value().Email != "ada@example.org" ||
		saved.Person.Subject() != applicant.UserID {
		t.Errorf("person = %+v: the contact details are the applicant's, sealed under their key", saved.Person)
	}
	if _, leaked := saved.Answers["full_name"]; leaked || saved.Answers["team_name"] != "Renal" {
		t.Errorf("answers = %v: the name must travel in the person only", saved.Answers)
	}
	if all := saved.AllAnswers(); all["full_name"] != "Ada Lovelace" || all["team_name"] != "Renal" {
		t.Errorf("all answers = %v", all)
	}
}

func TestSubmitNeedsEveryApplicablePageCompleteAndAnOngoingApplication(t *testing.T) {
	t.Parallel()
	a := started(t)
	_, err := a.Submit(applicant)
	if domain.KindOf(err) != domain.KindInvalid || fieldOf(err, domain.PageResearcherDetails) == "" || fieldOf(err, "references") != "" {
		t.Errorf("empty application: err = %v, want every applicable page listed and references not", err)
	}
	a = filled(t)
	if _, err := a.Submit(stranger); domain.KindOf(err) != domain.KindForbidden {
		t.Errorf("a stranger submitted: %v", err)
	}
	apply(t, a)(a.Submit(applicant))
	if a.Status() != domain.StatusSubmitted {
		t.Errorf("status %s", a.Status())
	}
	if _, err := a.Submit(applicant); domain.KindOf(err) != domain.KindConflict {
		t.Errorf("submitted twice: err = %v", err)
	}
}

func TestEditingAPageResetsItsReviewMarkButKeepsTheNotes(t *testing.T) {
	t.Parallel()
	a := filled(t)
	if _, err := a.ReviewPage(stranger, domain.PageStudyInformation, "Fine", domain.ReviewApproved); domain.KindOf(err) != domain.KindForbidden {
		t.Errorf("a stranger reviewed: %v", err)
	}
	apply(t, a)(a.ReviewPage(reviewer, domain.PageStudyInformation, "Fine", domain.ReviewApproved))
	apply(t, a)(a.ReviewPage(reviewer, domain.PageResearcherDetails, "", domain.ReviewApproved))
	if a.Approval(domain.PageStudyInformation) != domain.ReviewApproved {
		t.Fatal("the mark did not hold")
	}
	answers := completeAnswers()[domain.PageStudyInformation]
	answers["study_purpose"] = "Another purpose"
	apply(t, a)(a.SavePage(applicant, domain.PageStudyInformation, answers))
	apply(t, a)(a.RemoveResearcher(applicant, "r1"))
	if a.Approval(domain.PageStudyInformation) != domain.ReviewUnset || a.Approval(domain.PageResearcherDetails) != domain.ReviewUnset {
		t.Error("editing did not reset the marks")
	}
	if _, err := a.ReviewPage(reviewer, domain.PageStudyInformation, "x", "maybe"); fieldOf(err, "approval") == "" {
		t.Errorf("unknown mark: err = %v", err)
	}
}

func TestWithdrawAndRestoreOnlyBeforeApproval(t *testing.T) {
	t.Parallel()
	a := filled(t)
	if _, err := a.Withdraw(stranger); domain.KindOf(err) != domain.KindForbidden {
		t.Errorf("a stranger withdrew: %v", err)
	}
	apply(t, a)(a.Withdraw(applicant))
	if _, err := a.SavePage(applicant, "study-funding", domain.Answers{}); domain.KindOf(err) != domain.KindForbidden {
		t.Errorf("a withdrawn application was changed: %v", err)
	}
	if _, err := a.Approve(admin, "p1", "Kidney Outcomes", "org1"); domain.KindOf(err) != domain.KindForbidden {
		t.Errorf("a withdrawn application was approved: %v", err)
	}
	apply(t, a)(a.Restore(applicant))
	apply(t, a)(a.Approve(admin, "p1", "Kidney Outcomes", "org1"))
	if !a.Approved() || a.Status() != domain.StatusApprovedFully {
		t.Fatalf("approved = %v, status %s", a.Approved(), a.Status())
	}
	if _, err := a.Withdraw(applicant); domain.KindOf(err) != domain.KindForbidden {
		t.Errorf("an approved application was withdrawn: %v", err)
	}
	if _, err := a.SavePage(applicant, "study-funding", domain.Answers{}); domain.KindOf(err) != domain.KindForbidden {
		t.Errorf("the applicant changed an approved application: %v", err)
	}
	if _, err := a.Approve(admin, "p2", "Again", "org1"); domain.KindOf(err) != domain.KindConflict {
		t.Errorf("approved twice: %v", err)
	}
}

func TestStatusesAreSetByAdminsWithAComment(t *testing.T) {
	t.Parallel()
	a := filled(t)
	if _, err := a.SetStatus(reviewer, domain.StatusRejected, "No"); domain.KindOf(err) != domain.KindForbidden {
		t.Errorf("a reviewer set the status: %v", err)
	}
	if _, err := a.SetStatus(admin, domain.StatusApprovedFully, ""); fieldOf(err, "status") == "" {
		t.Errorf("approved fully without a project: %v", err)
	}
	if _, err := a.SetStatus(admin, "maybe", ""); fieldOf(err, "status") == "" {
		t.Errorf("unknown status: %v", err)
	}
	events, err := a.SetStatus(admin, domain.StatusApprovedSubjectTo, " Subject to ethics. ")
	if err != nil || events[0].(domain.ApplicationStatusSet).Comment != "Subject to ethics." {
		t.Fatalf("events = %v, err = %v", events, err)
	}
	if domain.StatusApprovedFully.Label() != "Approved Fully" {
		t.Errorf("label %q", domain.StatusApprovedFully.Label())
	}
}
