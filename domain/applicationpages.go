package domain

import (
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// The pages of a study application, as data: the pages that render the form, the rules that check it and
// the read model that stores it all read this one list.
//
// Exported API (stable; the application pages are built on it):
//
//	ApplicationPages() []ApplicationPage     every page in the order the applicant fills them in
//	ApplicationPageByKey(key) (ApplicationPage, bool)
//	ResearcherFields() []Field               the fields of one researcher entry
//	ApplicationPage{Key, Title, Intro, Fields, AtLeastOne, AppliesWhen, Researchers}
//	Field{Key, Label, Kind, Required, Help, Options, Person}
//	(ApplicationPage).Applies(answers map[string]Answers) bool
//	(ApplicationPage).Clean(in Answers) (Answers, error)   format errors per field, as Invalid
//	(ApplicationPage).Problems(a Answers) map[string]string  what is still missing, per field
//	PageStateOf(page, saved, answers, researchers) PageState
//
// Every answer is a string: a checkbox is "yes" or "", a yes/no question "yes", "no" or "", a date
// "2006-01-02". Form field names are the fields' keys.

// FieldKind says how a field is asked and checked.
type FieldKind string

// The kinds of fields.
const (
	FieldText     FieldKind = "text"     // one line of text
	FieldTextArea FieldKind = "textarea" // several lines of text
	FieldEmail    FieldKind = "email"    // an e-mail address
	FieldPhone    FieldKind = "phone"    // a telephone number
	FieldDate     FieldKind = "date"     // a day, 2006-01-02
	FieldCheckbox FieldKind = "checkbox" // one box: "yes" when ticked, "" when not
	FieldYesNo    FieldKind = "yesno"    // a yes/no question: "yes", "no", or "" when unanswered
	FieldChoice   FieldKind = "choice"   // one of Options
	FieldGitHub   FieldKind = "github"   // a GitHub username
)

// PersonAttr names the part of a Person a personal field holds. Personal fields are kept in one Person
// struct per person inside the events (never spread through free text), so they can be protected, or
// forgotten, without changing what the events mean.
type PersonAttr string

// The parts of a Person.
const (
	PersonName     PersonAttr = "name"
	PersonEmail    PersonAttr = "email"
	PersonPhone    PersonAttr = "phone"
	PersonJobTitle PersonAttr = "job_title"
)

// Person is the personal data a page holds about one person (the applicant on the contact details, the
// sponsor of a service evaluation or audit, the study's author).
type Person struct {
	Name     string
	Email    string
	Phone    string
	JobTitle string
}

// Option is one choice of a FieldChoice.
type Option struct{ Value, Label string }

// Field is one question of a page.
type Field struct {
	Key      string // the form field's name and the answer's key
	Label    string
	Kind     FieldKind
	Required bool   // the page is not complete without an answer (a ticked box, for a checkbox)
	Help     string // a sentence under the label; "" when none
	Options  []Option
	Person   PersonAttr // the part of the page's Person this field holds; "" for a field that is not personal
}

// Condition makes a page apply when the answer to Field on page Page is Equals.
type Condition struct {
	Page, Field, Equals string
}

// Group is a set of checkboxes of which at least one must be ticked; its message sits on the first field.
type Group struct {
	Fields  []string
	Message string
}

// ApplicationPage is one page of the application form.
type ApplicationPage struct {
	Key    string // the page's address: /applications/{id}/page/{key}
	Title  string
	Intro  string // what the page is about, shown above its fields; "" when none
	Fields []Field
	// AtLeastOne lists the groups of checkboxes of which one must be ticked for the page to be complete.
	AtLeastOne []Group
	// AppliesWhen lists conditions of which any one makes the page apply; empty means it always applies.
	AppliesWhen []Condition
	// Researchers marks the page of the researchers list, which has no fields of its own: researchers are
	// added, edited and removed one at a time (see ResearcherFields).
	Researchers bool
}

// Answers are a page's answers by field key.
type Answers map[string]string

// The keys of the pages and fields other rules name.
const (
	PageContactDetails    = "contact-details"
	PageStudyInformation  = "study-information"
	PageStudyData         = "study-data"
	PageTypeOfStudy       = "type-of-study"
	PageResearcherDetails = "researcher-details"
	FieldStudyName        = "study_name"
)

const (
	yes = "yes"
	no  = "no"
)

var phoneTypes = []Option{{"mobile", "Mobile"}, {"landline", "Landline"}}

var applicationPages = []ApplicationPage{
	{Key: PageContactDetails, Title: "Contact details", Intro: "Who we contact about this application.", Fields: []Field{
		{Key: "full_name", Label: "Full name", Kind: FieldText, Required: true, Person: PersonName},
		{Key: "email", Label: "E-mail address", Kind: FieldEmail, Required: true, Person: PersonEmail},
		{Key: "telephone", Label: "Telephone number", Kind: FieldPhone, Required: true, Person: PersonPhone},
		{Key: "job_title", Label: "Job title", Kind: FieldText, Required: true, Person: PersonJobTitle},
		{Key: "team_name", Label: "Team name", Kind: FieldText, Required: true},
		{Key: "organisation", Label: "Organisation", Kind: FieldText, Required: true},
	}},
	{Key: "commercial-involvement", Title: "Commercial involvement", Fields: []Field{
		{Key: "commercial_involvement", Label: "Is any commercial organisation involved in the study, and how?", Kind: FieldTextArea, Required: true,
			Help: "Funding, data access, authorship or any other involvement. Write \u201cNone\u201d if there is none."},
	}},
	{Key: PageStudyInformation, Title: "Study information", Fields: []Field{
		{Key: FieldStudyName, Label: "Study name", Kind: FieldText, Required: true,
			Help: "This becomes the name of your project once the application is approved; it appears on your dashboard."},
		{Key: "study_purpose", Label: "Study purpose", Kind: FieldTextArea, Required: true,
			Help: "In a few sentences, what the study sets out to do."},
		{Key: "read_analytic_methods_policy", Label: "I have read the analytic methods policy", Kind: FieldCheckbox, Required: true},
	}},
	{Key: "study-purpose", Title: "Study purpose", Fields: []Field{
		{Key: "description", Label: "Describe the purpose of the study", Kind: FieldTextArea, Required: true},
		{Key: "author_name", Label: "Author of the study's protocol", Kind: FieldText, Required: true, Person: PersonName},
		{Key: "author_organisation", Label: "The author's organisation", Kind: FieldText, Required: true},
	}},
	{Key: PageStudyData, Title: "Study data", Fields: []Field{
		{Key: "data_meets_purpose", Label: "How do the data meet the purpose of the study?", Kind: FieldTextArea, Required: true},
		{Key: "need_record_level_data", Label: "Does the study need record-level data?", Kind: FieldYesNo, Required: true},
	}},
	{Key: "datasets", Title: "Datasets", Intro: "Tick the datasets beyond the core data the study needs, if any.", Fields: []Field{
		{Key: "needs_icnarc", Label: "ICNARC (intensive care admissions)", Kind: FieldCheckbox},
		{Key: "needs_isaric", Label: "ISARIC (clinical characterisation of hospital patients)", Kind: FieldCheckbox},
		{Key: "needs_ons_cis", Label: "ONS Covid Infection Survey", Kind: FieldCheckbox},
		{Key: "needs_phosp", Label: "PHOSP (post-hospitalisation outcomes)", Kind: FieldCheckbox},
		{Key: "needs_ukrr", Label: "UK Renal Registry", Kind: FieldCheckbox},
	}},
	{Key: "record-level-data", Title: "Record-level data", AppliesWhen: []Condition{{PageStudyData, "need_record_level_data", yes}}, Fields: []Field{
		{Key: "record_level_data_reasons", Label: "Why does the study need record-level data?", Kind: FieldTextArea, Required: true},
	}},
	{Key: PageTypeOfStudy, Title: "Type of study", Intro: "Tick every type that describes the study.", Fields: []Field{
		{Key: "is_study_research", Label: "Research", Kind: FieldCheckbox},
		{Key: "is_study_service_evaluation", Label: "Service evaluation", Kind: FieldCheckbox},
		{Key: "is_study_audit", Label: "Audit", Kind: FieldCheckbox},
		{Key: "is_short_data_report", Label: "Short data report", Kind: FieldCheckbox},
	}, AtLeastOne: []Group{{
		Fields:  []string{"is_study_research", "is_study_service_evaluation", "is_study_audit", "is_short_data_report"},
		Message: "Please tick at least one type of study.",
	}}},
	{Key: "references", Title: "References", Intro: "The approvals of a research study.",
		AppliesWhen: []Condition{{PageTypeOfStudy, "is_study_research", yes}}, Fields: []Field{
			{Key: "hra_iras_id", Label: "HRA IRAS ID", Kind: FieldText, Required: true},
			{Key: "rec_reference", Label: "Research Ethics Committee (REC) reference", Kind: FieldText, Required: true},
			{Key: "institutional_rec_reference", Label: "Institutional ethics reference", Kind: FieldText,
				Help: "If your institution's own ethics committee also approved the study."},
		}},
	{Key: "service-evaluation-audit", Title: "Sponsor details", Intro: "Who sponsors the service evaluation or audit.",
		AppliesWhen: []Condition{{PageTypeOfStudy, "is_study_service_evaluation", yes}, {PageTypeOfStudy, "is_study_audit", yes}},
		Fields: []Field{
			{Key: "sponsor_name", Label: "Sponsor's name", Kind: FieldText, Required: true, Person: PersonName},
			{Key: "sponsor_email", Label: "Sponsor's e-mail address", Kind: FieldEmail, Required: true, Person: PersonEmail},
			{Key: "sponsor_job_role", Label: "Sponsor's job role", Kind: FieldText, Required: true, Person: PersonJobTitle},
		}},
	{Key: "short-data-report", Title: "Short data report", AppliesWhen: []Condition{{PageTypeOfStudy, "is_short_data_report", yes}},
		Intro: "A short data report describes data without testing a hypothesis; it is published as it is.", Fields: []Field{
			{Key: "confirm_short_data_report", Label: "I confirm the study is a short data report", Kind: FieldCheckbox, Required: true},
		}},
	{Key: "study-funding", Title: "Funding", Fields: []Field{
		{Key: "funding_details", Label: "How is the study funded?", Kind: FieldTextArea, Required: true},
	}},
	{Key: "team-details", Title: "Team details", Fields: []Field{
		{Key: "team_details", Label: "Describe the team and what each member brings", Kind: FieldTextArea, Required: true},
	}},
	{Key: "previous-ehr-experience", Title: "Previous experience", Fields: []Field{
		{Key: "previous_experience_with_ehr", Label: "What experience does the team have with electronic health records?", Kind: FieldTextArea, Required: true},
	}},
	{Key: "software-development-experience", Title: "Software development experience", Fields: []Field{
		{Key: "evidence_of_coding", Label: "What experience does the team have writing code for data analysis?", Kind: FieldTextArea, Required: true},
		{Key: "all_applicants_completed_getting_started", Label: "Have all researchers completed the getting-started guide?", Kind: FieldYesNo, Required: true},
	}},
	{Key: "sharing-code", Title: "Sharing code", Fields: []Field{
		{Key: "evidence_of_sharing_in_public_domain_before", Label: "Has the team shared code in the public domain before? Where?", Kind: FieldTextArea, Required: true,
			Help: "All code that runs on MediciaSAFELY is published."},
	}},
	{Key: PageResearcherDetails, Title: "Researcher details", Intro: "Everyone who will work on the study.", Researchers: true},
}

var researcherFields = []Field{
	{Key: "name", Label: "Full name", Kind: FieldText, Required: true, Person: PersonName},
	{Key: "job_title", Label: "Job title", Kind: FieldText, Required: true, Person: PersonJobTitle},
	{Key: "email", Label: "E-mail address", Kind: FieldEmail, Required: true, Person: PersonEmail},
	{Key: "github_username", Label: "GitHub username", Kind: FieldGitHub, Help: "Needed to run jobs; add it when they have one."},
	{Key: "needs_server_access", Label: "Needs access to the results server", Kind: FieldCheckbox},
	{Key: "phone", Label: "Telephone number", Kind: FieldPhone, Person: PersonPhone},
	{Key: "phone_type", Label: "Type of telephone", Kind: FieldChoice, Options: phoneTypes},
	{Key: "has_taken_safe_researcher_training", Label: "Has taken safe researcher training", Kind: FieldCheckbox},
	{Key: "training_with_org", Label: "Organisation that gave the training", Kind: FieldText, Help: "Needed when they have taken the training."},
	{Key: "training_passed_at", Label: "Date the training was passed", Kind: FieldDate, Help: "Needed when they have taken the training."},
}

// ApplicationPages lists every page of the application in the order the applicant fills them in.
func ApplicationPages() []ApplicationPage { return slices.Clone(applicationPages) }

// ApplicationPageByKey returns the page with key; ok is false when there is none.
func ApplicationPageByKey(key string) (page ApplicationPage, ok bool) {
	i := slices.IndexFunc(applicationPages, func(p ApplicationPage) bool { return p.Key == key })
	if i < 0 {
		return ApplicationPage{}, false
	}
	return applicationPages[i], true
}

// ResearcherFields lists the fields of one researcher entry, in order.
func ResearcherFields() []Field { return slices.Clone(researcherFields) }

// Applies reports whether the page is part of an application with these answers (by page key).
func (p ApplicationPage) Applies(answers map[string]Answers) bool {
	if len(p.AppliesWhen) == 0 {
		return true
	}
	return slices.ContainsFunc(p.AppliesWhen, func(c Condition) bool { return answers[c.Page][c.Field] == c.Equals })
}

// PageState is how far a page is: not started, complete, or saved but still missing answers.
type PageState string

// The states of a page.
const (
	PageUnstarted    PageState = "unstarted"
	PageComplete     PageState = "complete"
	PageNeedsChanges PageState = "needs_changes"
)

// Label is the state in words.
func (s PageState) Label() string {
	switch s {
	case PageComplete:
		return "Complete"
	case PageNeedsChanges:
		return "Needs changes"
	}
	return "Not started"
}

// PageStateOf is the state of a page: saved is whether it was ever saved, answers its answers, researchers
// how many researchers the application lists (the researchers page is complete with at least one).
func PageStateOf(p ApplicationPage, saved bool, answers Answers, researchers int) PageState {
	switch {
	case p.Researchers && researchers > 0:
		return PageComplete
	case p.Researchers || !saved:
		return PageUnstarted
	case len(p.Problems(answers)) > 0:
		return PageNeedsChanges
	}
	return PageComplete
}

// Field lengths.
const (
	maxAnswerLen     = 200   // one line, in characters
	maxLongAnswerLen = 10000 // several lines, in characters
)

// Clean keeps the page's own fields of in, tidied (trimmed; a ticked box "yes"), and refuses, field by
// field, answers in the wrong form: an e-mail address, telephone number, date, GitHub username or choice
// that is not one, text too long. Answers left empty are not refused here: a page may be saved half done,
// and Problems says what it still misses.
func (p ApplicationPage) Clean(in Answers) (Answers, error) {
	return cleanFields(p.Fields, in)
}

func cleanFields(fields []Field, in Answers) (Answers, error) {
	out := Answers{}
	var v Validation
	for _, f := range fields {
		value, msg := cleanAnswer(f, in[f.Key])
		if msg != "" {
			v.Add(f.Key, msg)
		}
		if value != "" {
			out[f.Key] = value
		}
	}
	return out, v.Err()
}

var (
	gitHubUsernamePattern = regexp.MustCompile(`^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$`)
	phonePattern          = regexp.MustCompile(`^\+?[0-9 ()-]+$`)
)

// cleanAnswer tidies one answer and says what is wrong with its form, if anything.
func cleanAnswer(f Field, raw string) (string, string) {
	value := strings.TrimSpace(strings.ReplaceAll(raw, "\r\n", "\n"))
	if !utf8.ValidString(value) {
		return "", "This is not valid text."
	}
	switch f.Kind {
	case FieldCheckbox:
		if value != "" {
			return yes, ""
		}
		return "", ""
	case FieldTextArea:
		if utf8.RuneCountInString(value) > maxLongAnswerLen {
			return value, "Please keep this under 10,000 characters."
		}
		return value, ""
	}
	if value == "" {
		return "", ""
	}
	if strings.IndexFunc(value, isRefusedInName) >= 0 {
		return value, "Please write this on one line."
	}
	if utf8.RuneCountInString(value) > maxAnswerLen {
		return value, "Please keep this under 200 characters."
	}
	switch f.Kind {
	case FieldEmail:
		if ValidateEmail(f.Key, value) != nil {
			return value, "Please enter an e-mail address such as ada@example.org."
		}
	case FieldPhone:
		if digits := countDigits(value); !phonePattern.MatchString(value) || digits < 7 || digits > 15 {
			return value, "Please enter a telephone number of 7 to 15 digits, such as +44 20 7946 0000."
		}
	case FieldDate:
		if _, err := time.Parse(time.DateOnly, value); err != nil {
			return value, "Please enter a date as year-month-day, such as 2026-03-31."
		}
	case FieldGitHub:
		if len(value) > 39 || !gitHubUsernamePattern.MatchString(value) {
			return value, "A GitHub username has 1 to 39 letters, digits or single hyphens, and does not start or end with a hyphen."
		}
	case FieldYesNo:
		if value != yes && value != no {
			return value, "Please answer yes or no."
		}
	case FieldChoice:
		if !slices.ContainsFunc(f.Options, func(o Option) bool { return o.Value == value }) {
			return value, "Please choose one of the options."
		}
	}
	return value, ""
}

func countDigits(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n
}

// Problems lists, by field key, what the page still misses: required answers, and a tick in each group of
// which one is needed. A page without problems is complete.
func (p ApplicationPage) Problems(a Answers) map[string]string {
	problems := missingFields(p.Fields, a)
	for _, g := range p.AtLeastOne {
		if !slices.ContainsFunc(g.Fields, func(k string) bool { return a[k] != "" }) && len(g.Fields) > 0 {
			problems[g.Fields[0]] = g.Message
		}
	}
	return problems
}

func missingFields(fields []Field, a Answers) map[string]string {
	problems := map[string]string{}
	for _, f := range fields {
		if !f.Required || a[f.Key] != "" {
			continue
		}
		if f.Kind == FieldCheckbox {
			problems[f.Key] = "Please tick this box."
		} else {
			problems[f.Key] = "Please answer this question."
		}
	}
	return problems
}

// personal splits a page's answers into those that are not personal and the one Person they describe (nil
// when the page holds nothing personal).
func personal(fields []Field, a Answers) (Answers, *Person) {
	rest := Answers{}
	var person *Person
	for k, v := range a {
		i := slices.IndexFunc(fields, func(f Field) bool { return f.Key == k })
		if i < 0 || fields[i].Person == "" {
			rest[k] = v
			continue
		}
		if person == nil {
			person = &Person{}
		}
		*person.part(fields[i].Person) = v
	}
	return rest, person
}

// ForgetPersonIn is a page's answers with its Person's replaced by what a forgotten person shows: the name
// ForgottenPerson and nothing else.
func ForgetPersonIn(pageKey string, a Answers) Answers {
	page, _ := ApplicationPageByKey(pageKey)
	rest, _ := personal(page.Fields, a)
	return withPerson(page.Fields, rest, &Person{Name: ForgottenPerson})
}

// withPerson is the page's answers with the Person's parts put back in their fields.
func withPerson(fields []Field, a Answers, person *Person) Answers {
	out := make(Answers, len(a)+4)
	for k, v := range a {
		out[k] = v
	}
	if person == nil {
		return out
	}
	for _, f := range fields {
		if f.Person != "" && *person.part(f.Person) != "" {
			out[f.Key] = *person.part(f.Person)
		}
	}
	return out
}

func (p *Person) part(a PersonAttr) *string {
	switch a {
	case PersonEmail:
		return &p.Email
	case PersonPhone:
		return &p.Phone
	case PersonJobTitle:
		return &p.JobTitle
	}
	return &p.Name
}
