package domain

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// A study application (stream application-<id>): the applicant fills in its pages (applicationpages.go)
// and its researchers, submits it; reviewers (application_review) read it and note and mark each page;
// admins (application_manage) set its status and approve it, which creates its project.
//
// Exported API (stable):
//
//	ApplicationStream(id)
//	StartApplication(by, id, termsAccepted) (ApplicationStarted, error)
//	(*Application) SavePage, AddResearcher, EditResearcher, RemoveResearcher, Submit, Withdraw, Restore,
//	  ReviewPage, SetStatus, Approve: the deciders, each ([]Event, error)
//	MayReadApplication(by, applicantID) error
//	ApplicationStatus (StatusOngoing … StatusDeferred) with Label(); ApplicationStatuses()
//	PageApproval (ReviewUnset, ReviewApproved, ReviewNotApproved) with Label()
//	Researcher, ResearcherFromAnswers(Answers), (Researcher).Answers()

// ApplicationStream is the stream of one application.
func ApplicationStream(applicationID string) string { return "application-" + applicationID }

// ApplicationStatus is where an application stands. Its value is a stable id stored in events.
type ApplicationStatus string

// The statuses of an application.
const (
	StatusOngoing           ApplicationStatus = "ongoing"
	StatusSubmitted         ApplicationStatus = "submitted"
	StatusApprovedFully     ApplicationStatus = "approved_fully"
	StatusApprovedSubjectTo ApplicationStatus = "approved_subject_to"
	StatusRejected          ApplicationStatus = "rejected"
	StatusCompleted         ApplicationStatus = "completed"
	StatusDeferred          ApplicationStatus = "deferred"
)

var applicationStatuses = []ApplicationStatus{
	StatusOngoing, StatusSubmitted, StatusApprovedFully, StatusApprovedSubjectTo, StatusRejected, StatusCompleted, StatusDeferred,
}

// ApplicationStatuses lists every status, in the order an application usually goes through them.
func ApplicationStatuses() []ApplicationStatus { return slices.Clone(applicationStatuses) }

// Valid reports whether s is one of the statuses.
func (s ApplicationStatus) Valid() bool { return slices.Contains(applicationStatuses, s) }

// Label is the status in words, as the user guide writes it ("Approved Fully").
func (s ApplicationStatus) Label() string {
	switch s {
	case StatusOngoing:
		return "Ongoing"
	case StatusSubmitted:
		return "Submitted"
	case StatusApprovedFully:
		return "Approved Fully"
	case StatusApprovedSubjectTo:
		return "Approved Subject To"
	case StatusRejected:
		return "Rejected"
	case StatusCompleted:
		return "Completed"
	case StatusDeferred:
		return "Deferred"
	}
	return string(s)
}

// PageApproval is a reviewer's mark on one page.
type PageApproval string

// The marks of a page.
const (
	ReviewUnset       PageApproval = ""
	ReviewApproved    PageApproval = "approved"
	ReviewNotApproved PageApproval = "not_approved"
)

// Label is the mark in words.
func (a PageApproval) Label() string {
	switch a {
	case ReviewApproved:
		return "Approved"
	case ReviewNotApproved:
		return "Not approved"
	}
	return "Not reviewed"
}

// Researcher is one person who will work on the study: one struct per person, so their personal data can
// be protected or forgotten as a whole.
type Researcher struct {
	ResearcherID              string
	Name                      string
	JobTitle                  string
	Email                     string
	GitHubUsername            string
	NeedsServerAccess         bool
	Phone                     string
	PhoneType                 string
	HasSafeResearcherTraining bool
	TrainingWithOrg           string
	TrainingPassedAt          string // 2006-01-02, or ""
}

// ResearcherFromAnswers reads a researcher entry from the answers of its form (ResearcherFields' keys).
func ResearcherFromAnswers(a Answers) Researcher {
	return Researcher{
		Name: a["name"], JobTitle: a["job_title"], Email: a["email"], GitHubUsername: a["github_username"],
		NeedsServerAccess: a["needs_server_access"] != "", Phone: a["phone"], PhoneType: a["phone_type"],
		HasSafeResearcherTraining: a["has_taken_safe_researcher_training"] != "", TrainingWithOrg: a["training_with_org"],
		TrainingPassedAt: a["training_passed_at"],
	}
}

// Answers is the researcher as the answers of its form, to fill it in again.
func (r Researcher) Answers() Answers {
	a := Answers{"name": r.Name, "job_title": r.JobTitle, "email": r.Email, "github_username": r.GitHubUsername,
		"phone": r.Phone, "phone_type": r.PhoneType, "training_with_org": r.TrainingWithOrg, "training_passed_at": r.TrainingPassedAt}
	if r.NeedsServerAccess {
		a["needs_server_access"] = yes
	}
	if r.HasSafeResearcherTraining {
		a["has_taken_safe_researcher_training"] = yes
	}
	for k, v := range a {
		if v == "" {
			delete(a, k)
		}
	}
	return a
}

// cleanResearcher checks a researcher entry field by field: its form, what it needs, and the training's
// details when the training was taken.
func cleanResearcher(r Researcher) (Researcher, error) {
	a, err := cleanFields(researcherFields, r.Answers())
	var v Validation
	collect(&v, err)
	for k, m := range missingFields(researcherFields, a) {
		v.Add(k, m)
	}
	if a["has_taken_safe_researcher_training"] != "" {
		v.Check(a["training_with_org"] != "", "training_with_org", "Please say who gave the training.")
		v.Check(a["training_passed_at"] != "", "training_passed_at", "Please say when the training was passed.")
	}
	if err := v.Err(); err != nil {
		return Researcher{}, err
	}
	cleaned := ResearcherFromAnswers(a)
	cleaned.ResearcherID = r.ResearcherID
	return cleaned, nil
}

// ApplicationStarted records a new application by its applicant, who accepted the terms.
type ApplicationStarted struct {
	ApplicationID string
	By            string
	TermsAccepted bool
}

func (ApplicationStarted) EventType() string { return "ApplicationStarted" }

// ApplicationPageSaved records a page's answers, replacing the page's earlier ones. The page's personal
// answers are in Person, sealed under the key of the person they are about (personSubject), the rest in
// Answers. It resets the page's review mark. (Schema version 2; version 1 held Person in plaintext.)
type ApplicationPageSaved struct {
	ApplicationID string
	Page          string
	Answers       Answers
	Person        *Personal[Person]
}

func (ApplicationPageSaved) EventType() string { return "ApplicationPageSaved" }

// AllAnswers is the page's answers with the personal ones put back in their fields.
func (e ApplicationPageSaved) AllAnswers() Answers {
	p, _ := ApplicationPageByKey(e.Page)
	if e.Person == nil {
		return withPerson(p.Fields, e.Answers, nil)
	}
	person := e.Person.Value()
	if e.Person.Forgotten() {
		person = Person{Name: ForgottenPerson}
	}
	return withPerson(p.Fields, e.Answers, &person)
}

// ApplicationResearcherAdded adds a researcher to the application's list. The researcher's details are
// sealed under a key of their own (the researcher's id is the subject). (Schema version 2; version 1 held
// them in plaintext.)
type ApplicationResearcherAdded struct {
	ApplicationID string
	ResearcherID  string
	Researcher    Personal[Researcher]
}

func (ApplicationResearcherAdded) EventType() string { return "ApplicationResearcherAdded" }

// ApplicationResearcherEdited replaces a researcher's details, sealed as ApplicationResearcherAdded's.
type ApplicationResearcherEdited struct {
	ApplicationID string
	ResearcherID  string
	Researcher    Personal[Researcher]
}

// ResearcherDetails is the researcher an event holds; a forgotten one keeps only their id and is named
// ForgottenPerson.
func ResearcherDetails(id string, r Personal[Researcher]) Researcher {
	if r.Forgotten() {
		return Researcher{ResearcherID: id, Name: ForgottenPerson}
	}
	return r.Value()
}

// newResearcherEntry seals r's details under the researcher's own key: a researcher need not have an account.
func newResearcherEntry(r Researcher) Personal[Researcher] { return NewPersonal(r.ResearcherID, r) }

func (ApplicationResearcherEdited) EventType() string { return "ApplicationResearcherEdited" }

// ApplicationResearcherRemoved takes a researcher off the application's list.
type ApplicationResearcherRemoved struct {
	ApplicationID string
	ResearcherID  string
}

func (ApplicationResearcherRemoved) EventType() string { return "ApplicationResearcherRemoved" }

// ApplicationSubmitted hands a complete application to the reviewers.
type ApplicationSubmitted struct {
	ApplicationID string
	By            string
}

func (ApplicationSubmitted) EventType() string { return "ApplicationSubmitted" }

// ApplicationWithdrawn sets an application aside (a soft delete); it can be restored.
type ApplicationWithdrawn struct {
	ApplicationID string
	By            string
}

func (ApplicationWithdrawn) EventType() string { return "ApplicationWithdrawn" }

// ApplicationRestored brings a withdrawn application back.
type ApplicationRestored struct {
	ApplicationID string
	By            string
}

func (ApplicationRestored) EventType() string { return "ApplicationRestored" }

// ApplicationPageReviewed records a reviewer's notes and mark on one page.
type ApplicationPageReviewed struct {
	ApplicationID string
	Page          string
	Notes         string
	Approval      PageApproval
	By            string
}

func (ApplicationPageReviewed) EventType() string { return "ApplicationPageReviewed" }

// ApplicationStatusSet gives an application a status, with an admin's comment to the applicant.
type ApplicationStatusSet struct {
	ApplicationID string
	Status        ApplicationStatus
	Comment       string
	By            string
}

func (ApplicationStatusSet) EventType() string { return "ApplicationStatusSet" }

// ApplicationApproved approves an application fully: its project was created, in the same append, in the
// organisation OrgID with the name ProjectName.
type ApplicationApproved struct {
	ApplicationID string
	ProjectID     string
	ProjectName   string
	OrgID         string
	By            string
}

func (ApplicationApproved) EventType() string { return "ApplicationApproved" }

// Application is a study application as its decisions see it.
type Application struct {
	id          string
	applicant   string
	status      ApplicationStatus
	withdrawn   bool
	projectID   string
	pages       map[string]*applicationPage
	researchers []Researcher
}

type applicationPage struct {
	saved    bool
	answers  Answers
	approval PageApproval
	notes    string
}

func (a *Application) page(key string) *applicationPage {
	if a.pages == nil {
		a.pages = map[string]*applicationPage{}
	}
	p, ok := a.pages[key]
	if !ok {
		p = &applicationPage{}
		a.pages[key] = p
	}
	return p
}

// Apply folds one event of the application's stream.
func (a *Application) Apply(e Event) {
	switch e := e.(type) {
	case ApplicationStarted:
		a.id, a.applicant, a.status = e.ApplicationID, e.By, StatusOngoing
	case ApplicationPageSaved:
		p := a.page(e.Page)
		p.saved, p.answers, p.approval = true, e.AllAnswers(), ReviewUnset
	case ApplicationResearcherAdded:
		a.researchers = append(a.researchers, ResearcherDetails(e.ResearcherID, e.Researcher))
		a.page(PageResearcherDetails).approval = ReviewUnset
	case ApplicationResearcherEdited:
		if i := a.researcherIndex(e.ResearcherID); i >= 0 {
			a.researchers[i] = ResearcherDetails(e.ResearcherID, e.Researcher)
		}
		a.page(PageResearcherDetails).approval = ReviewUnset
	case ApplicationResearcherRemoved:
		if i := a.researcherIndex(e.ResearcherID); i >= 0 {
			a.researchers = slices.Delete(a.researchers, i, i+1)
		}
		a.page(PageResearcherDetails).approval = ReviewUnset
	case ApplicationSubmitted:
		a.status = StatusSubmitted
	case ApplicationWithdrawn:
		a.withdrawn = true
	case ApplicationRestored:
		a.withdrawn = false
	case ApplicationPageReviewed:
		p := a.page(e.Page)
		p.notes, p.approval = e.Notes, e.Approval
	case ApplicationStatusSet:
		a.status = e.Status
	case ApplicationApproved:
		a.status, a.projectID = StatusApprovedFully, e.ProjectID
	}
}

func (a *Application) researcherIndex(id string) int {
	return slices.IndexFunc(a.researchers, func(r Researcher) bool { return r.ResearcherID == id })
}

// Exists reports whether the application was started.
func (a *Application) Exists() bool { return a.id != "" }

// ID is the application's id.
func (a *Application) ID() string { return a.id }

// Applicant is the id of the user who started the application.
func (a *Application) Applicant() string { return a.applicant }

// Status is where the application stands.
func (a *Application) Status() ApplicationStatus { return a.status }

// Withdrawn reports whether the applicant set the application aside.
func (a *Application) Withdrawn() bool { return a.withdrawn }

// Approved reports whether the application was approved fully, which created its project.
func (a *Application) Approved() bool { return a.projectID != "" }

// ProjectID is the id of the project its approval created, or "".
func (a *Application) ProjectID() string { return a.projectID }

// StudyName is the study's name from the study information page, or "".
func (a *Application) StudyName() string { return a.answers(PageStudyInformation)[FieldStudyName] }

// Researchers lists the application's researchers in the order they were added.
func (a *Application) Researchers() []Researcher { return slices.Clone(a.researchers) }

// Approval is a page's review mark.
func (a *Application) Approval(page string) PageApproval {
	if p, ok := a.pages[page]; ok {
		return p.approval
	}
	return ReviewUnset
}

func (a *Application) answers(page string) Answers {
	if p, ok := a.pages[page]; ok {
		return p.answers
	}
	return nil
}

// allAnswers is every page's answers by page key, what the conditions of pages read.
func (a *Application) allAnswers() map[string]Answers {
	all := make(map[string]Answers, len(a.pages))
	for k, p := range a.pages {
		all[k] = p.answers
	}
	return all
}

// PageStates is the state of every page that applies to the application, by page key.
func (a *Application) PageStates() map[string]PageState {
	all := a.allAnswers()
	states := map[string]PageState{}
	for _, p := range applicationPages {
		if p.Applies(all) {
			saved := a.pages[p.Key] != nil && a.pages[p.Key].saved
			states[p.Key] = PageStateOf(p, saved, all[p.Key], len(a.researchers))
		}
	}
	return states
}

// MayReadApplication refuses unless the actor may read an application of applicantID: its applicant,
// a reviewer (application_review) or an admin (application_manage).
func MayReadApplication(by Actor, applicantID string) error {
	if by.Is(applicantID) || by.Can.Has(ApplicationReview) || by.Can.Has(ApplicationManage) {
		return nil
	}
	return Forbidden(ApplicationReview)
}

// StartApplication decides a new application by the signed-in actor, who must accept the terms.
func StartApplication(by Actor, applicationID string, termsAccepted bool) (ApplicationStarted, error) {
	if by.UserID == "" {
		return ApplicationStarted{}, Refused("Please sign in to apply.")
	}
	if !termsAccepted {
		return ApplicationStarted{}, Invalid("terms", "Please accept the terms to start an application.")
	}
	return ApplicationStarted{ApplicationID: applicationID, By: by.UserID, TermsAccepted: true}, nil
}

func (a *Application) mustExist() error {
	if !a.Exists() {
		return NotFound("No such application.")
	}
	return nil
}

// mayChange refuses unless the actor may change the application's answers now: its applicant (or an
// admin), while it is neither withdrawn nor, for the applicant, approved.
func (a *Application) mayChange(by Actor) error {
	if err := a.mustExist(); err != nil {
		return err
	}
	manager := by.Can.Has(ApplicationManage)
	switch {
	case !by.Is(a.applicant) && !manager:
		return Refused("Only the applicant or an admin can change this application.")
	case a.withdrawn:
		return Refused("This application was withdrawn: restore it to change it.")
	case a.Approved() && !manager:
		return Refused("This application was approved: it can no longer be changed.")
	}
	return nil
}

// SavePage decides saving a page's answers (the applicant, or an admin). Answers in the wrong form are
// Invalid per field; missing answers are saved and leave the page needing changes. The same answers again
// need no event.
func (a *Application) SavePage(by Actor, pageKey string, answers Answers) ([]Event, error) {
	if err := a.mayChange(by); err != nil {
		return nil, err
	}
	page, ok := ApplicationPageByKey(pageKey)
	if !ok || page.Researchers {
		return nil, NotFound("The application has no page " + quote(pageKey) + ".")
	}
	cleaned, err := page.Clean(answers)
	if err != nil {
		return nil, err
	}
	if p := a.pages[pageKey]; p != nil && p.saved && mapsEqual(p.answers, cleaned) {
		return nil, nil
	}
	rest, person := personal(page.Fields, cleaned)
	saved := ApplicationPageSaved{ApplicationID: a.id, Page: pageKey, Answers: rest}
	if person != nil {
		sealed := NewPersonal(a.personSubject(pageKey), *person)
		saved.Person = &sealed
	}
	return []Event{saved}, nil
}

// personSubject is whose key seals the Person of a page: the applicant's own on the contact details, which
// are theirs; the page's own for the other people a page names (a sponsor, a protocol's author).
func (a *Application) personSubject(pageKey string) string {
	if pageKey == PageContactDetails {
		return a.applicant
	}
	return a.id + "/" + pageKey
}

func mapsEqual(x, y Answers) bool {
	if len(x) != len(y) {
		return false
	}
	for k, v := range x {
		if w, ok := y[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// AddResearcher decides adding a researcher (with a new ResearcherID chosen by the caller); every field
// is checked, each error beside its field.
func (a *Application) AddResearcher(by Actor, r Researcher) ([]Event, error) {
	if err := a.mayChange(by); err != nil {
		return nil, err
	}
	if r.ResearcherID == "" || a.researcherIndex(r.ResearcherID) >= 0 {
		return nil, Invalid("researcher_id", "A new researcher needs an id of its own.")
	}
	cleaned, err := cleanResearcher(r)
	if err != nil {
		return nil, err
	}
	return []Event{ApplicationResearcherAdded{ApplicationID: a.id, ResearcherID: cleaned.ResearcherID, Researcher: newResearcherEntry(cleaned)}}, nil
}

// EditResearcher decides new details for a researcher on the list; the same details need no event.
func (a *Application) EditResearcher(by Actor, r Researcher) ([]Event, error) {
	if err := a.mayChange(by); err != nil {
		return nil, err
	}
	i := a.researcherIndex(r.ResearcherID)
	if i < 0 {
		return nil, NotFound("This researcher is not on the application.")
	}
	cleaned, err := cleanResearcher(r)
	if err != nil {
		return nil, err
	}
	if cleaned == a.researchers[i] {
		return nil, nil
	}
	return []Event{ApplicationResearcherEdited{ApplicationID: a.id, ResearcherID: cleaned.ResearcherID, Researcher: newResearcherEntry(cleaned)}}, nil
}

// RemoveResearcher decides taking a researcher off the list.
func (a *Application) RemoveResearcher(by Actor, researcherID string) ([]Event, error) {
	if err := a.mayChange(by); err != nil {
		return nil, err
	}
	if a.researcherIndex(researcherID) < 0 {
		return nil, NotFound("This researcher is not on the application.")
	}
	return []Event{ApplicationResearcherRemoved{ApplicationID: a.id, ResearcherID: researcherID}}, nil
}

// Submit decides handing the application to the reviewers: only while it is ongoing, and only when every
// page that applies is complete (else Invalid, with a message per incomplete page keyed by its page key).
func (a *Application) Submit(by Actor) ([]Event, error) {
	if err := a.mayChange(by); err != nil {
		return nil, err
	}
	if a.status != StatusOngoing {
		return nil, Conflict("", "This application is "+strings.ToLower(a.status.Label())+": only an ongoing application can be submitted.")
	}
	incomplete := map[string]string{}
	states := a.PageStates()
	for _, p := range applicationPages {
		if state, applies := states[p.Key]; applies && state != PageComplete {
			incomplete[p.Key] = p.Title + ": " + strings.ToLower(state.Label()) + "."
		}
	}
	if len(incomplete) > 0 {
		return nil, &Error{Kind: KindInvalid, Slug: "incomplete", Message: "Please complete every page before you submit.", Fields: incomplete}
	}
	return []Event{ApplicationSubmitted{ApplicationID: a.id, By: by.UserID}}, nil
}

// Withdraw decides setting the application aside (the applicant, or an admin); an approved application
// cannot be withdrawn. A withdrawn one needs no event.
func (a *Application) Withdraw(by Actor) ([]Event, error) {
	if err := a.mayWithdrawOrRestore(by); err != nil || a.withdrawn {
		return nil, err
	}
	return []Event{ApplicationWithdrawn{ApplicationID: a.id, By: by.UserID}}, nil
}

// Restore decides bringing a withdrawn application back; one that is not withdrawn needs no event.
func (a *Application) Restore(by Actor) ([]Event, error) {
	if err := a.mayWithdrawOrRestore(by); err != nil || !a.withdrawn {
		return nil, err
	}
	return []Event{ApplicationRestored{ApplicationID: a.id, By: by.UserID}}, nil
}

func (a *Application) mayWithdrawOrRestore(by Actor) error {
	if err := a.mustExist(); err != nil {
		return err
	}
	switch {
	case !by.Is(a.applicant) && !by.Can.Has(ApplicationManage):
		return Refused("Only the applicant or an admin can withdraw or restore this application.")
	case a.Approved():
		return Refused("This application was approved: it can no longer be withdrawn.")
	}
	return nil
}

// MaxReviewNotesLen is the longest review note, in characters.
const MaxReviewNotesLen = 10000

// ReviewPage decides a reviewer's notes and mark on one page (needs application_review, or
// application_manage); the same notes and mark need no event.
func (a *Application) ReviewPage(by Actor, pageKey, notes string, approval PageApproval) ([]Event, error) {
	if !by.Can.Has(ApplicationManage) {
		if err := by.Require(ApplicationReview); err != nil {
			return nil, err
		}
	}
	if err := a.mustExist(); err != nil {
		return nil, err
	}
	if _, ok := ApplicationPageByKey(pageKey); !ok {
		return nil, NotFound("The application has no page " + quote(pageKey) + ".")
	}
	notes = strings.TrimSpace(strings.ReplaceAll(notes, "\r\n", "\n"))
	var v Validation
	v.Check(approval == ReviewUnset || approval == ReviewApproved || approval == ReviewNotApproved, "approval", "Please choose approved, not approved, or neither.")
	v.Check(utf8.ValidString(notes) && utf8.RuneCountInString(notes) <= MaxReviewNotesLen, "notes", "Please keep the notes under 10,000 characters of text.")
	if err := v.Err(); err != nil {
		return nil, err
	}
	if p := a.pages[pageKey]; p != nil && p.notes == notes && p.approval == approval {
		return nil, nil
	}
	return []Event{ApplicationPageReviewed{ApplicationID: a.id, Page: pageKey, Notes: notes, Approval: approval, By: by.UserID}}, nil
}

// MaxStatusCommentLen is the longest comment on a status, in characters.
const MaxStatusCommentLen = 10000

// SetStatus decides a new status with a comment (needs application_manage). Approved Fully is given only
// by Approve, which creates the project; an approved application can only be marked completed.
func (a *Application) SetStatus(by Actor, status ApplicationStatus, comment string) ([]Event, error) {
	if err := by.Require(ApplicationManage); err != nil {
		return nil, err
	}
	if err := a.mustExist(); err != nil {
		return nil, err
	}
	comment = strings.TrimSpace(strings.ReplaceAll(comment, "\r\n", "\n"))
	var v Validation
	switch {
	case !status.Valid():
		v.Add("status", "Please choose a status.")
	case status == StatusApprovedFully:
		v.Add("status", "Approve the application to approve it fully: that creates its project.")
	case a.Approved() && status != StatusCompleted:
		v.Add("status", "This application was approved: it can only be marked completed.")
	}
	v.Check(utf8.ValidString(comment) && utf8.RuneCountInString(comment) <= MaxStatusCommentLen, "comment", "Please keep the comment under 10,000 characters of text.")
	if err := v.Err(); err != nil {
		return nil, err
	}
	if status == a.status {
		return nil, nil
	}
	return []Event{ApplicationStatusSet{ApplicationID: a.id, Status: status, Comment: comment, By: by.UserID}}, nil
}

// Approve decides approving the application fully as project projectID named projectName in organisation
// orgID (needs application_manage). The caller creates the project in the same append. A withdrawn or
// already approved application, or one without a study name, cannot be approved.
func (a *Application) Approve(by Actor, projectID, projectName, orgID string) ([]Event, error) {
	if err := by.Require(ApplicationManage); err != nil {
		return nil, err
	}
	if err := a.mustExist(); err != nil {
		return nil, err
	}
	switch {
	case a.Approved():
		return nil, Conflict("", "This application was already approved.")
	case a.withdrawn:
		return nil, Refused("This application was withdrawn: it cannot be approved.")
	case a.StudyName() == "":
		return nil, Invalid("name", "The application has no study name yet: the study information page needs one.")
	case orgID == "":
		return nil, Invalid("org_id", "Please choose an organisation.")
	}
	return []Event{ApplicationApproved{ApplicationID: a.id, ProjectID: projectID, ProjectName: projectName, OrgID: orgID, By: by.UserID}}, nil
}
