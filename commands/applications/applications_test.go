package applications_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/applications"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
)

func asDomain(err error) *domain.Error {
	var de *domain.Error
	if errors.As(err, &de) {
		return de
	}
	return nil
}

// load folds an application's stream.
func (s *server) load(t *testing.T, id string) *domain.Application {
	t.Helper()
	a, _, err := commands.LoadAggregate[domain.Application](ctx, s.kit.Log, domain.ApplicationStream(id))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestTheApplicantFillsInEveryPageAndSubmits: the applicant's whole path on Postgres: start (terms
// accepted), pages saved one at a time (a half-done page saved and shown as needing changes), the
// conditional pages by type of study, researchers added, edited and removed, an incomplete submit
// refused page by page, then the submit.
func TestTheApplicantFillsInEveryPageAndSubmits(t *testing.T) {
	t.Parallel()
	s := newPostgresServer(t)
	ada := commands.UserActor(s.signIn(t, 1, "ada"))

	_, err := s.Start.Handle(ctx, applications.Start{Actor: ada})
	wantKind(t, err, domain.KindInvalid, "terms")
	id := s.startedBy(t, ada)

	// A half-done page is saved; a malformed answer is refused beside its field.
	must(s.SavePage.Handle(ctx, applications.SavePage{Actor: ada, ApplicationID: id, Page: domain.PageContactDetails,
		Answers: domain.Answers{"full_name": "Ada Lovelace", "email": "ada@example.org"}}))(t)
	if got := s.load(t, id).PageStates()[domain.PageContactDetails]; got != domain.PageNeedsChanges {
		t.Errorf("half-done contact details: %s", got)
	}
	_, err = s.SavePage.Handle(ctx, applications.SavePage{Actor: ada, ApplicationID: id, Page: domain.PageContactDetails,
		Answers: domain.Answers{"email": "ada at example"}})
	wantKind(t, err, domain.KindInvalid, "email")
	_, err = s.SavePage.Handle(ctx, applications.SavePage{Actor: ada, ApplicationID: id, Page: "no-such-page"})
	wantKind(t, err, domain.KindNotFound)

	// Submitting now lists what is missing, page by page, and changes nothing.
	_, err = s.Submit.Handle(ctx, applications.Submit{Actor: ada, ApplicationID: id})
	wantKind(t, err, domain.KindInvalid, domain.PageContactDetails, domain.PageResearcherDetails, domain.PageTypeOfStudy)

	all := completeAnswers("Kidney Outcomes")
	all[domain.PageTypeOfStudy] = domain.Answers{"is_study_audit": "yes", "is_short_data_report": "yes"}
	for _, p := range domain.ApplicationPages() {
		if !p.Researchers && p.Applies(all) {
			must(s.SavePage.Handle(ctx, applications.SavePage{Actor: ada, ApplicationID: id, Page: p.Key, Answers: all[p.Key]}))(t)
		}
	}
	states := s.load(t, id).PageStates()
	if _, ok := states["references"]; ok {
		t.Error("references applies to an audit")
	}
	for _, key := range []string{"service-evaluation-audit", "short-data-report"} {
		if states[key] != domain.PageComplete {
			t.Errorf("%s: %s, want complete", key, states[key])
		}
	}
	// Saving the same answers again changes nothing.
	if res := must(s.SavePage.Handle(ctx, applications.SavePage{Actor: ada, ApplicationID: id, Page: "study-funding", Answers: all["study-funding"]}))(t); res.Changed() {
		t.Error("the same answers appended an event")
	}

	// Researchers: add two, edit one, remove the other; a bad GitHub username is refused beside its field.
	bad := grace
	bad.GitHubUsername = "-grace"
	_, err = s.AddResearcher.Handle(ctx, applications.AddResearcher{Actor: ada, ApplicationID: id, Researcher: bad})
	wantKind(t, err, domain.KindInvalid, "github_username")
	first := must(s.AddResearcher.Handle(ctx, applications.AddResearcher{Actor: ada, ApplicationID: id, Researcher: grace}))(t).ResearcherID
	second := must(s.AddResearcher.Handle(ctx, applications.AddResearcher{Actor: ada, ApplicationID: id,
		Researcher: domain.Researcher{Name: "Alan Turing", JobTitle: "Analyst", Email: "alan@example.org"}}))(t).ResearcherID
	edited := grace
	edited.ResearcherID, edited.JobTitle = first, "Senior statistician"
	must(s.EditResearcher.Handle(ctx, applications.EditResearcher{Actor: ada, ApplicationID: id, Researcher: edited}))(t)
	must(s.RemoveResearcher.Handle(ctx, applications.RemoveResearcher{Actor: ada, ApplicationID: id, ResearcherID: second}))(t)
	_, err = s.RemoveResearcher.Handle(ctx, applications.RemoveResearcher{Actor: ada, ApplicationID: id, ResearcherID: second})
	wantKind(t, err, domain.KindNotFound)
	if rs := s.load(t, id).Researchers(); len(rs) != 1 || rs[0].JobTitle != "Senior statistician" {
		t.Errorf("researchers = %+v", rs)
	}

	// Someone else may neither change nor submit it.
	bob := commands.UserActor(s.signIn(t, 2, "bob"))
	_, err = s.Submit.Handle(ctx, applications.Submit{Actor: bob, ApplicationID: id})
	wantKind(t, err, domain.KindForbidden)

	must(s.Submit.Handle(ctx, applications.Submit{Actor: ada, ApplicationID: id}))(t)
	if got := s.load(t, id).Status(); got != domain.StatusSubmitted {
		t.Errorf("status %s", got)
	}
	_, err = s.Submit.Handle(ctx, applications.Submit{Actor: ada, ApplicationID: id})
	wantKind(t, err, domain.KindConflict)
}

// TestReviewersNoteAndMarkPagesAndAnEditResetsTheMark: a Technical Reviewer notes and marks pages; the
// applicant's edit resets the mark of that page only; a reviewer may not set statuses.
func TestReviewersNoteAndMarkPagesAndAnEditResetsTheMark(t *testing.T) {
	t.Parallel()
	s := newPostgresServer(t)
	ada := commands.UserActor(s.signIn(t, 1, "ada"))
	reviewer := s.withRole(t, 2, "rita", domain.TechnicalReviewer)
	id := s.submittedBy(t, ada, "Kidney Outcomes")

	for _, page := range []string{domain.PageStudyInformation, "study-funding"} {
		must(s.ReviewPage.Handle(ctx, applications.ReviewPage{Actor: reviewer, ApplicationID: id, Page: page,
			Notes: "Looks right.", Approval: domain.ReviewApproved}))(t)
	}
	_, err := s.ReviewPage.Handle(ctx, applications.ReviewPage{Actor: ada, ApplicationID: id, Page: "study-funding", Approval: domain.ReviewApproved})
	wantKind(t, err, domain.KindForbidden)
	_, err = s.SetStatus.Handle(ctx, applications.SetStatus{Actor: reviewer, ApplicationID: id, Status: domain.StatusRejected})
	wantKind(t, err, domain.KindForbidden)

	answers := completeAnswers("Kidney Outcomes")["study-funding"]
	answers["funding_details"] = "A new grant"
	must(s.SavePage.Handle(ctx, applications.SavePage{Actor: ada, ApplicationID: id, Page: "study-funding", Answers: answers}))(t)
	a := s.load(t, id)
	if a.Approval("study-funding") != domain.ReviewUnset || a.Approval(domain.PageStudyInformation) != domain.ReviewApproved {
		t.Errorf("marks after the edit: funding %q, study information %q", a.Approval("study-funding"), a.Approval(domain.PageStudyInformation))
	}
}

// TestWithdrawAndRestoreBeforeApprovalOnly: the applicant withdraws (nothing can be changed then) and
// restores; once approved, it can be neither withdrawn nor changed by the applicant.
func TestWithdrawAndRestoreBeforeApprovalOnly(t *testing.T) {
	t.Parallel()
	s, ada, admin, org := newApprovalWorld(t)
	id := s.submittedBy(t, ada, "Kidney Outcomes")

	must(s.Withdraw.Handle(ctx, applications.Withdraw{Actor: ada, ApplicationID: id}))(t)
	_, err := s.SavePage.Handle(ctx, applications.SavePage{Actor: ada, ApplicationID: id, Page: "study-funding"})
	wantKind(t, err, domain.KindForbidden)
	_, err = s.ApproveFully.Handle(ctx, applications.ApproveFully{Actor: admin, ApplicationID: id, OrgID: org})
	wantKind(t, err, domain.KindForbidden)
	must(s.Restore.Handle(ctx, applications.Restore{Actor: ada, ApplicationID: id}))(t)

	must(s.ApproveFully.Handle(ctx, applications.ApproveFully{Actor: admin, ApplicationID: id, OrgID: org}))(t)
	_, err = s.Withdraw.Handle(ctx, applications.Withdraw{Actor: ada, ApplicationID: id})
	wantKind(t, err, domain.KindForbidden)
	_, err = s.SavePage.Handle(ctx, applications.SavePage{Actor: ada, ApplicationID: id, Page: "study-funding"})
	wantKind(t, err, domain.KindForbidden)
	// After approval an admin may only mark it completed.
	_, err = s.SetStatus.Handle(ctx, applications.SetStatus{Actor: admin, ApplicationID: id, Status: domain.StatusRejected})
	wantKind(t, err, domain.KindInvalid, "status")
	must(s.SetStatus.Handle(ctx, applications.SetStatus{Actor: admin, ApplicationID: id, Status: domain.StatusCompleted, Comment: "Done."}))(t)
}

// TestApprovingCreatesTheProjectInTheOrganisationInOneAppend: approval creates the project (named after
// the study by default) in the chosen organisation, reserving its name and slug, and marks the
// application Approved Fully, all in one append.
func TestApprovingCreatesTheProjectInTheOrganisationInOneAppend(t *testing.T) {
	t.Parallel()
	s, ada, admin, org := newApprovalWorld(t)
	id := s.submittedBy(t, ada, "Kidney Outcomes")
	must(s.SetStatus.Handle(ctx, applications.SetStatus{Actor: admin, ApplicationID: id, Status: domain.StatusApprovedSubjectTo, Comment: "Subject to REC approval."}))(t)

	_, err := s.ApproveFully.Handle(ctx, applications.ApproveFully{Actor: admin, ApplicationID: id, OrgID: "no-such-org"})
	wantKind(t, err, domain.KindNotFound)
	approved := must(s.ApproveFully.Handle(ctx, applications.ApproveFully{Actor: admin, ApplicationID: id, OrgID: org}))(t)
	if approved.ProjectSlug != "kidney-outcomes" || approved.Events != 4 {
		t.Errorf("approved = %+v, want slug kidney-outcomes and 4 events (project, slug, name, approval)", approved)
	}
	var p domain.Project
	if _, err := s.kit.Log.Load(ctx, domain.ProjectStream(approved.ProjectID), &p); err != nil {
		t.Fatal(err)
	}
	if p.Name() != "Kidney Outcomes" || p.OrgID() != org {
		t.Errorf("project %q in org %q", p.Name(), p.OrgID())
	}
	a := s.load(t, id)
	if !a.Approved() || a.Status() != domain.StatusApprovedFully || a.ProjectID() != approved.ProjectID {
		t.Errorf("application: approved %v, status %s, project %s", a.Approved(), a.Status(), a.ProjectID())
	}
	// One append: the four events share one transaction.
	events := s.events(t)
	last := events[len(events)-4:]
	for _, e := range last {
		if e.Position.TxID != last[0].Position.TxID {
			t.Errorf("%s was appended apart from the rest of the approval", e.Type)
		}
	}
}

// TestANameAlreadyTakenRefusesTheProjectAndTheApproval: a project name another project holds refuses
// both the project and the approval; another name then works.
func TestANameAlreadyTakenRefusesTheProjectAndTheApproval(t *testing.T) {
	t.Parallel()
	s, ada, admin, org := newApprovalWorld(t)
	must(s.id.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "Kidney Outcomes", OrgID: org}))(t)
	id := s.submittedBy(t, ada, "kidney outcomes")
	before := len(s.events(t))

	_, err := s.ApproveFully.Handle(ctx, applications.ApproveFully{Actor: admin, ApplicationID: id, OrgID: org})
	wantKind(t, err, domain.KindConflict, "name", "slug")
	if n := len(s.events(t)); n != before {
		t.Errorf("%d events appended by a refused approval", n-before)
	}
	if s.load(t, id).Approved() {
		t.Fatal("the application was approved without its project")
	}
	approved := must(s.ApproveFully.Handle(ctx, applications.ApproveFully{Actor: admin, ApplicationID: id, OrgID: org, ProjectName: "Kidney Outcomes 2"}))(t)
	if approved.ProjectSlug != "kidney-outcomes-2" {
		t.Errorf("slug %q", approved.ProjectSlug)
	}
}

// TestTwoAdminsApprovingAtOnceMakeExactlyOneProject: admins approving one application at the same time
// (with the same name, and with different names) make one project between them; the others are told.
func TestTwoAdminsApprovingAtOnceMakeExactlyOneProject(t *testing.T) {
	t.Parallel()
	s := newPostgresServer(t)
	ada := commands.UserActor(s.signIn(t, 1, "ada"))
	admins := []commands.Actor{
		s.withRole(t, 2, "root", domain.CoreDeveloper), s.withRole(t, 3, "toor", domain.CoreDeveloper),
		s.withRole(t, 4, "sudo", domain.CoreDeveloper), s.withRole(t, 5, "wheel", domain.CoreDeveloper),
	}
	org := must(s.id.CreateOrg.Handle(ctx, identity.CreateOrg{Actor: cli, Name: "University of X"}))(t).ID
	id := s.submittedBy(t, ada, "Kidney Outcomes")

	names := []string{"", "", "Kidney Outcomes B", "Kidney Outcomes C"}
	var wg sync.WaitGroup
	errs := make([]error, len(admins))
	for i, admin := range admins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.ApproveFully.Handle(ctx, applications.ApproveFully{Actor: admin, ApplicationID: id, OrgID: org, ProjectName: names[i]})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case domain.KindOf(err) != domain.KindConflict:
			t.Errorf("a losing approval failed with %v, want a conflict", err)
		}
	}
	if won != 1 {
		t.Errorf("%d approvals won, want 1", won)
	}
	if n := s.count(t, "ProjectCreated"); n != 1 {
		t.Errorf("%d projects created, want 1", n)
	}
	if n := s.count(t, "ApplicationApproved"); n != 1 {
		t.Errorf("%d approvals recorded, want 1", n)
	}
}
