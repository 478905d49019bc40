package applications_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	appcmd "github.com/mediciasafely/jobserver/commands/applications"
	identitycmd "github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/internal/pgtest"
	"github.com/mediciasafely/jobserver/projections"
	"github.com/mediciasafely/jobserver/projections/applications"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

var (
	ctx = context.Background()
	cli = commands.CLIActor
)

// world drives the applications and identity commands on a database of the test's own, with the
// applications and identity projectors behind them.
type world struct {
	t      *testing.T
	store  *pgstore.Store
	apps   *appcmd.Commands
	id     *identitycmd.Commands
	runner *projections.Runner
	q      *applications.Queries
	idq    *identityviews.Queries
	last   eventstore.Position
}

func newWorld(t *testing.T) *world {
	pool := pgtest.NewPool(t)
	store := pgstore.New(pool)
	t.Cleanup(store.Close)
	kit := commands.Kit{Log: commands.NewEventLog(store, domain.Events, time.Now), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return &world{t: t, store: store, apps: appcmd.New(kit), id: identitycmd.New(kit),
		runner: projections.NewRunner(pool, store, domain.Events, slog.New(slog.NewTextHandler(io.Discard, nil)),
			append(applications.Projectors(), identityviews.Projectors()...)...),
		q: applications.NewQueries(pool), idq: identityviews.NewQueries(pool)}
}

// do fails on a command's error and remembers its append for catchUp: do(h.Handle(ctx, cmd))(w).
func do[R commands.Outcome](res R, err error) func(w *world) R {
	return func(w *world) R {
		w.t.Helper()
		if err != nil {
			w.t.Fatal(err)
		}
		if p := res.CommandResult().Position; w.last.Less(p) {
			w.last = p
		}
		return res
	}
}

// catchUp brings the read models to the last append.
func (w *world) catchUp() {
	w.t.Helper()
	pgtest.WaitVisible(w.t, w.store, w.last)
	if err := w.runner.Prepare(ctx); err != nil {
		w.t.Fatal(err)
	}
}

// verify fails on any row that a rebuild does not write alike.
func (w *world) verify() {
	w.t.Helper()
	for _, p := range w.runner.Projectors() {
		diffs, err := w.runner.Verify(ctx, p, nil)
		if err != nil {
			w.t.Fatal(err)
		}
		for _, d := range diffs {
			w.t.Errorf("%s.%s %s: %s", d.Projector, d.Table, d.Side, d.Row)
		}
	}
}

func (w *world) user(githubID int64, login, name string) commands.Actor {
	w.t.Helper()
	s := do(w.id.SignInWithGitHub.Handle(ctx, identitycmd.SignInWithGitHub{GitHubID: githubID, Login: login, Name: name, Email: login + "@example.org"}))(w)
	return commands.UserActor(s.UserID)
}

// TestTheReadModelFollowsAnApplicationToItsProject: the applicant's list, one application with its pages'
// answers, states and review marks, its researchers, and after approval the project in the organisation's
// list of the identity read model; a rebuild equals the live tables.
func TestTheReadModelFollowsAnApplicationToItsProject(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ada := w.user(1, "ada", "Ada Lovelace")
	rita := w.user(2, "rita", "Rita Reviewer")
	do(w.id.GrantGlobalRole.Handle(ctx, identitycmd.GrantGlobalRole{Actor: cli, UserID: rita.ActorID(), Role: domain.TechnicalReviewer}))(w)
	org := do(w.id.CreateOrg.Handle(ctx, identitycmd.CreateOrg{Actor: cli, Name: "University of X"}))(w)

	id := do(w.apps.Start.Handle(ctx, appcmd.Start{Actor: ada, TermsAccepted: true}))(w).ApplicationID
	do(w.apps.SavePage.Handle(ctx, appcmd.SavePage{Actor: ada, ApplicationID: id, Page: domain.PageStudyInformation,
		Answers: domain.Answers{domain.FieldStudyName: "Kidney Outcomes", "study_purpose": "Outcomes after transplant."}}))(w)
	do(w.apps.SavePage.Handle(ctx, appcmd.SavePage{Actor: ada, ApplicationID: id, Page: domain.PageContactDetails,
		Answers: domain.Answers{"full_name": "Ada Lovelace", "email": "ada@example.org", "team_name": "Renal"}}))(w)
	do(w.apps.SavePage.Handle(ctx, appcmd.SavePage{Actor: ada, ApplicationID: id, Page: domain.PageTypeOfStudy,
		Answers: domain.Answers{"is_study_audit": "yes"}}))(w)
	r := do(w.apps.AddResearcher.Handle(ctx, appcmd.AddResearcher{Actor: ada, ApplicationID: id,
		Researcher: domain.Researcher{Name: "Grace Hopper", JobTitle: "Statistician", Email: "grace@example.org"}}))(w)
	do(w.apps.AddResearcher.Handle(ctx, appcmd.AddResearcher{Actor: ada, ApplicationID: id,
		Researcher: domain.Researcher{Name: "Alan Turing", JobTitle: "Analyst", Email: "alan@example.org"}}))(w)
	do(w.apps.ReviewPage.Handle(ctx, appcmd.ReviewPage{Actor: rita, ApplicationID: id, Page: domain.PageContactDetails,
		Notes: "Which team?", Approval: domain.ReviewNotApproved}))(w)
	do(w.apps.ReviewPage.Handle(ctx, appcmd.ReviewPage{Actor: rita, ApplicationID: id, Page: domain.PageStudyInformation,
		Notes: "Clear.", Approval: domain.ReviewApproved}))(w)
	do(w.apps.ReviewPage.Handle(ctx, appcmd.ReviewPage{Actor: rita, ApplicationID: id, Page: domain.PageResearcherDetails,
		Approval: domain.ReviewApproved}))(w)
	// The applicant edits the contact details and a researcher: those marks reset, the notes stay.
	do(w.apps.SavePage.Handle(ctx, appcmd.SavePage{Actor: ada, ApplicationID: id, Page: domain.PageContactDetails,
		Answers: domain.Answers{"full_name": "Ada Lovelace", "email": "ada@example.org", "team_name": "Renal epidemiology"}}))(w)
	do(w.apps.EditResearcher.Handle(ctx, appcmd.EditResearcher{Actor: ada, ApplicationID: id,
		Researcher: domain.Researcher{ResearcherID: r.ResearcherID, Name: "Grace Hopper", JobTitle: "Professor", Email: "grace@example.org"}}))(w)
	w.catchUp()

	mine, err := w.q.ApplicationsOf(ctx, ada.ActorID())
	if err != nil || len(mine) != 1 || mine[0].StudyName != "Kidney Outcomes" || mine[0].Status != domain.StatusOngoing || mine[0].ApplicantName != "Ada Lovelace" {
		t.Fatalf("ada's applications = %+v, %v", mine, err)
	}
	a, err := w.q.Application(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	contact, _ := a.Page(domain.PageContactDetails)
	if contact.State != domain.PageNeedsChanges || contact.Answers["full_name"] != "Ada Lovelace" || contact.Answers["team_name"] != "Renal epidemiology" ||
		contact.Problems["telephone"] == "" || contact.SavedAt == nil {
		t.Errorf("contact details = %+v", contact)
	}
	if contact.Approval != domain.ReviewUnset || contact.Notes != "Which team?" || contact.ReviewedByName != "Rita Reviewer" {
		t.Errorf("contact details' review: %q %q by %q; want the mark reset and the notes kept", contact.Approval, contact.Notes, contact.ReviewedByName)
	}
	if info, _ := a.Page(domain.PageStudyInformation); info.Approval != domain.ReviewApproved {
		t.Errorf("study information's mark = %q", info.Approval)
	}
	if researchers, _ := a.Page(domain.PageResearcherDetails); researchers.State != domain.PageComplete || researchers.Approval != domain.ReviewUnset {
		t.Errorf("researchers page = %s, mark %q", researchers.State, researchers.Approval)
	}
	if sponsor, _ := a.Page("service-evaluation-audit"); !sponsor.Applies || sponsor.State != domain.PageUnstarted {
		t.Errorf("sponsor details: applies %v, %s", sponsor.Applies, sponsor.State)
	}
	if refs, _ := a.Page("references"); refs.Applies {
		t.Error("references apply to an audit")
	}
	if a.Complete() || len(a.Researchers) != 2 || a.Researchers[0].JobTitle != "Professor" || a.Researchers[1].Name != "Alan Turing" {
		t.Errorf("complete %v, researchers %+v", a.Complete(), a.Researchers)
	}
	if _, err := w.q.Application(ctx, "nope"); domain.KindOf(err) != domain.KindNotFound {
		t.Errorf("unknown application: %v", err)
	}

	// Approval: the project appears in the organisation, and on the application.
	admin := w.user(3, "root", "Root Admin")
	do(w.id.GrantGlobalRole.Handle(ctx, identitycmd.GrantGlobalRole{Actor: cli, UserID: admin.ActorID(), Role: domain.CoreDeveloper}))(w)
	approved := do(w.apps.ApproveFully.Handle(ctx, appcmd.ApproveFully{Actor: admin, ApplicationID: id, OrgID: org.ID}))(w)
	w.catchUp()
	projects, err := w.idq.ProjectsOfOrg(ctx, org.ID)
	if err != nil || len(projects) != 1 || projects[0].Name != "Kidney Outcomes" || projects[0].ID != approved.ProjectID {
		t.Errorf("the organisation's projects = %+v, %v", projects, err)
	}
	a, err = w.q.Application(ctx, id)
	if err != nil || a.Status != domain.StatusApprovedFully || a.Status.Label() != "Approved Fully" || a.ProjectURL() != "/university-of-x/kidney-outcomes" || a.ApprovedAt == nil {
		t.Errorf("approved application = %+v, %v", a.Summary, err)
	}
	w.verify()
}

// TestTheStaffListFiltersAndPages: filters by status, applicant and part of the study name combine;
// withdrawn applications are listed apart; keyset pages go older and newer without repeating a row.
func TestTheStaffListFiltersAndPages(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ada := w.user(1, "ada", "Ada Lovelace")
	bob := w.user(2, "bob", "")
	start := func(by commands.Actor, study string) string {
		id := do(w.apps.Start.Handle(ctx, appcmd.Start{Actor: by, TermsAccepted: true}))(w).ApplicationID
		do(w.apps.SavePage.Handle(ctx, appcmd.SavePage{Actor: by, ApplicationID: id, Page: domain.PageStudyInformation,
			Answers: domain.Answers{domain.FieldStudyName: study}}))(w)
		return id
	}
	for _, study := range []string{"Kidney Outcomes", "Kidney Function", "Heart Failure", "Asthma"} {
		start(ada, study)
	}
	bobs := start(bob, "Kidney Stones")
	withdrawn := start(bob, "Withdrawn Study")
	do(w.apps.Withdraw.Handle(ctx, appcmd.Withdraw{Actor: bob, ApplicationID: withdrawn}))(w)
	do(w.apps.SetStatus.Handle(ctx, appcmd.SetStatus{Actor: cli, ApplicationID: bobs, Status: domain.StatusDeferred, Comment: "Next round."}))(w)
	w.catchUp()

	names := func(p applications.StaffPage) []string {
		var out []string
		for _, s := range p.Applications {
			out = append(out, s.StudyName)
		}
		return out
	}
	list := func(f applications.StaffFilter, after, before *applications.Cursor, size int) applications.StaffPage {
		t.Helper()
		p, err := w.q.StaffList(ctx, f, after, before, size)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if got := names(list(applications.StaffFilter{Search: "KIDNEY"}, nil, nil, 10)); len(got) != 3 {
		t.Errorf("search kidney = %v", got)
	}
	if got := names(list(applications.StaffFilter{Search: "kidney", Applicant: ada.ActorID()}, nil, nil, 10)); len(got) != 2 {
		t.Errorf("ada's kidney studies = %v", got)
	}
	if got := names(list(applications.StaffFilter{Status: domain.StatusDeferred}, nil, nil, 10)); len(got) != 1 || got[0] != "Kidney Stones" {
		t.Errorf("deferred = %v", got)
	}
	if got := names(list(applications.StaffFilter{Withdrawn: true}, nil, nil, 10)); len(got) != 1 || got[0] != "Withdrawn Study" {
		t.Errorf("withdrawn = %v", got)
	}
	if got := names(list(applications.StaffFilter{Search: "%"}, nil, nil, 10)); len(got) != 0 {
		t.Errorf("search %% = %v: the wildcard must match itself only", got)
	}

	first := list(applications.StaffFilter{}, nil, nil, 2)
	if first.Newer != nil || first.Older == nil || len(first.Applications) != 2 || first.Applications[0].StudyName != "Kidney Stones" {
		t.Fatalf("first page = %v, newer %v, older %v", names(first), first.Newer, first.Older)
	}
	second := list(applications.StaffFilter{}, first.Older, nil, 2)
	third := list(applications.StaffFilter{}, second.Older, nil, 2)
	if third.Older != nil || len(third.Applications) != 1 || len(second.Applications) != 2 {
		t.Errorf("pages %v / %v / %v", names(first), names(second), names(third))
	}
	back := list(applications.StaffFilter{}, nil, second.Newer, 2)
	if got := names(back); len(got) != 2 || got[0] != names(first)[0] || got[1] != names(first)[1] || back.Newer != nil {
		t.Errorf("back to the first page = %v, newer %v", got, back.Newer)
	}
	if len(first.Applicants) != 2 || first.Applicants[1].Label != "bob" || len(first.Statuses) != len(domain.ApplicationStatuses()) {
		t.Errorf("applicants %+v, statuses %d", first.Applicants, len(first.Statuses))
	}
	cursor := first.Older.String()
	if c, err := applications.ParseCursor(cursor); err != nil || c.ID != first.Older.ID || !c.At.Equal(first.Older.At) {
		t.Errorf("cursor %q read back as %v, %v", cursor, c, err)
	}
	if _, err := applications.ParseCursor("garbage"); domain.KindOf(err) != domain.KindInvalid {
		t.Errorf("bad cursor: %v", err)
	}
	w.verify()
}
