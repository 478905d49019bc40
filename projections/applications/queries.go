package applications

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/projections"
)

// Queries reads the read model of applications for the pages. Each view reads one snapshot of the tables
// of the one projector.
type Queries struct{ pool *pgxpool.Pool }

// NewQueries returns queries on pool.
func NewQueries(pool *pgxpool.Pool) *Queries { return &Queries{pool: pool} }

type querier = projections.Querier

// Summary is an application as the lists show it.
type Summary struct {
	ID            string
	ApplicantID   string
	ApplicantName string // the applicant's name, or login when GitHub has none
	StudyName     string // "" until the study information page names it
	Status        domain.ApplicationStatus
	StatusComment string
	Withdrawn     bool
	StartedAt     time.Time
	ChangedAt     time.Time // the last change of any kind
	SubmittedAt   *time.Time
	ApprovedAt    *time.Time
	// The project an approval created, and its organisation; "" before approval.
	ProjectID, ProjectSlug, ProjectName string
	OrgID, OrgSlug, OrgName             string
}

// URL is the address of the application's overview (its confirmation page lists every page).
func (s Summary) URL() string { return "/applications/" + s.ID }

// ProjectURL is the address of the project its approval created, or "".
func (s Summary) ProjectURL() string {
	if s.ProjectSlug == "" || s.OrgSlug == "" {
		return ""
	}
	return "/" + s.OrgSlug + "/" + s.ProjectSlug
}

// Approved reports whether the application was approved fully (it is read-only to its applicant).
func (s Summary) Approved() bool { return s.ProjectID != "" }

// Title is the study's name, or words for an application that has none yet.
func (s Summary) Title() string {
	if s.StudyName == "" {
		return "Untitled application"
	}
	return s.StudyName
}

// Page is one page of an application: its definition, whether it applies, its answers and state, and
// its review.
type Page struct {
	domain.ApplicationPage
	Applies  bool
	State    domain.PageState
	Answers  domain.Answers
	Problems map[string]string // what a saved page still misses, by field key; empty otherwise
	SavedAt  *time.Time
	// The review: notes and mark, by whom and when.
	Notes          string
	Approval       domain.PageApproval
	ReviewedByName string
	ReviewedAt     *time.Time
}

// Application is one application with every page, in order, and its researchers.
type Application struct {
	Summary
	Pages       []Page // every page in the form's order; Applies says which are part of this application
	Researchers []domain.Researcher
}

// ApplicablePages lists the pages that are part of the application, in order.
func (a Application) ApplicablePages() []Page {
	var pages []Page
	for _, p := range a.Pages {
		if p.Applies {
			pages = append(pages, p)
		}
	}
	return pages
}

// Page returns the page with key; ok is false when the form has no such page.
func (a Application) Page(key string) (Page, bool) {
	i := slices.IndexFunc(a.Pages, func(p Page) bool { return p.Key == key })
	if i < 0 {
		return Page{}, false
	}
	return a.Pages[i], true
}

// Complete reports whether every page that applies is complete: the application can be submitted.
func (a Application) Complete() bool {
	return !slices.ContainsFunc(a.ApplicablePages(), func(p Page) bool { return p.State != domain.PageComplete })
}

// Researcher returns the researcher with id; ok is false when the list has none.
func (a Application) Researcher(id string) (domain.Researcher, bool) {
	i := slices.IndexFunc(a.Researchers, func(r domain.Researcher) bool { return r.ResearcherID == id })
	if i < 0 {
		return domain.Researcher{}, false
	}
	return a.Researchers[i], true
}

const summaryColumns = `a.id, a.applicant_id, coalesce(nullif(u.name, ''), u.login, ''), a.study_name, a.status, a.status_comment,
	a.withdrawn, a.started_at, a.changed_at, a.submitted_at, a.approved_at, coalesce(a.project_id, ''), coalesce(p.slug, ''),
	coalesce(p.name, ''), coalesce(a.org_id, ''), coalesce(o.slug, ''), coalesce(o.name, '')`

const summariesFrom = ` FROM applications a
	LEFT JOIN application_people u ON u.id = a.applicant_id
	LEFT JOIN application_projects p ON p.id = a.project_id
	LEFT JOIN application_orgs o ON o.id = a.org_id`

func scanSummary(row pgx.CollectableRow) (Summary, error) {
	var s Summary
	var status string
	err := row.Scan(&s.ID, &s.ApplicantID, &s.ApplicantName, &s.StudyName, &status, &s.StatusComment, &s.Withdrawn,
		&s.StartedAt, &s.ChangedAt, &s.SubmittedAt, &s.ApprovedAt, &s.ProjectID, &s.ProjectSlug, &s.ProjectName,
		&s.OrgID, &s.OrgSlug, &s.OrgName)
	s.Status = domain.ApplicationStatus(status)
	return s, err
}

// ApplicationsOf lists the applications userID started, withdrawn ones included (they can be restored),
// the most recently changed first.
func (q *Queries) ApplicationsOf(ctx context.Context, userID string) ([]Summary, error) {
	rows, err := q.pool.Query(ctx, `SELECT `+summaryColumns+summariesFrom+` WHERE a.applicant_id = $1
		ORDER BY a.changed_at DESC, a.id DESC`, userID)
	return projections.All(rows, err, scanSummary)
}

// Application reads one application with its pages and researchers; an unknown id is domain.NotFound.
// It does not check who asks: pages call domain.MayReadApplication with the summary's ApplicantID.
func (q *Queries) Application(ctx context.Context, id string) (Application, error) {
	var a Application
	err := projections.View(ctx, q.pool, func(db querier) error {
		var err error
		rows, err := db.Query(ctx, `SELECT `+summaryColumns+summariesFrom+` WHERE a.id = $1`, id)
		if a.Summary, err = projections.One(rows, err, "No such application.", scanSummary); err != nil {
			return err
		}
		if a.Researchers, err = researchers(ctx, db, id); err != nil {
			return err
		}
		a.Pages, err = pages(ctx, db, id, len(a.Researchers))
		return err
	})
	return a, err
}

func researchers(ctx context.Context, db querier, applicationID string) ([]domain.Researcher, error) {
	rows, err := db.Query(ctx, `SELECT details FROM application_researchers WHERE application_id = $1 ORDER BY added_version`, applicationID)
	return projections.All(rows, err, func(row pgx.CollectableRow) (domain.Researcher, error) {
		var r domain.Researcher
		err := row.Scan(&r)
		return r, err
	})
}

// stored is a page's row.
type stored struct {
	key            string
	answers        domain.Answers
	savedAt        *time.Time
	notes          string
	approval       string
	reviewedByName string
	reviewedAt     *time.Time
}

// pages reads the stored pages of an application and lays them over the form's pages, in order, with
// their states and what they miss.
func pages(ctx context.Context, db querier, applicationID string, researchers int) ([]Page, error) {
	rows, err := db.Query(ctx, `SELECT g.page, g.answers, g.saved_at, g.notes, g.approval,
			coalesce(nullif(u.name, ''), u.login, ''), g.reviewed_at
		FROM application_pages g LEFT JOIN application_people u ON u.id = g.reviewed_by
		WHERE g.application_id = $1`, applicationID)
	saved, err := projections.All(rows, err, func(row pgx.CollectableRow) (stored, error) {
		var s stored
		err := row.Scan(&s.key, &s.answers, &s.savedAt, &s.notes, &s.approval, &s.reviewedByName, &s.reviewedAt)
		return s, err
	})
	if err != nil {
		return nil, err
	}
	byKey := make(map[string]stored, len(saved))
	answers := make(map[string]domain.Answers, len(saved))
	for _, s := range saved {
		byKey[s.key], answers[s.key] = s, s.answers
	}
	var out []Page
	for _, def := range domain.ApplicationPages() {
		s := byKey[def.Key]
		p := Page{
			ApplicationPage: def, Applies: def.Applies(answers), Answers: s.answers, SavedAt: s.savedAt, Notes: s.notes,
			Approval: domain.PageApproval(s.approval), ReviewedByName: s.reviewedByName, ReviewedAt: s.reviewedAt,
		}
		if p.Answers == nil {
			p.Answers = domain.Answers{}
		}
		p.State = domain.PageStateOf(def, s.savedAt != nil, p.Answers, researchers)
		p.Problems = map[string]string{}
		if p.State == domain.PageNeedsChanges {
			p.Problems = def.Problems(p.Answers)
		}
		out = append(out, p)
	}
	return out, nil
}

// StaffFilter narrows the staff list; empty fields do not narrow.
type StaffFilter struct {
	Status    domain.ApplicationStatus
	Applicant string // the applicant's user id
	Search    string // part of the study's name, in any case
	// Withdrawn shows the applications their applicants withdrew instead of the others.
	Withdrawn bool
}

// Cursor is a place in the staff list, which is ordered by last change, newest first.
type Cursor = projections.Cursor

// ParseCursor reads a cursor from the address; a malformed one is an input error on "cursor".
func ParseCursor(s string) (Cursor, error) {
	c, ok := projections.ParseCursor(s)
	if !ok {
		return Cursor{}, domain.Invalid("cursor", "This page of the list is not one it has: start again from its first page.")
	}
	return c, nil
}

// Option is a choice of a filter's menu.
type Option struct{ Value, Label string }

// StaffPage is one page of the staff list, with what its filters offer.
type StaffPage struct {
	Applications []Summary
	// Newer and Older are the cursors of the neighbouring pages, nil at either end.
	Newer, Older *Cursor
	Applicants   []Option // everyone who started an application: user id and name
	Statuses     []Option // every status: id and words
}

// StaffList reads a page of size applications matching f: the first page (no cursor), the page after the
// row at after (older), or the page before the row at before (newer).
func (q *Queries) StaffList(ctx context.Context, f StaffFilter, after, before *Cursor, size int) (StaffPage, error) {
	var v StaffPage
	for _, s := range domain.ApplicationStatuses() {
		v.Statuses = append(v.Statuses, Option{Value: string(s), Label: s.Label()})
	}
	err := projections.View(ctx, q.pool, func(db querier) error {
		var args []any
		arg := func(x any) string { args = append(args, x); return fmt.Sprintf("$%d", len(args)) }
		where := []string{`a.withdrawn = ` + arg(f.Withdrawn)}
		if f.Status != "" {
			where = append(where, `a.status = `+arg(string(f.Status)))
		}
		if f.Applicant != "" {
			where = append(where, `a.applicant_id = `+arg(f.Applicant))
		}
		if search := strings.TrimSpace(f.Search); search != "" {
			where = append(where, `strpos(lower(a.study_name), lower(`+arg(search)+`)) > 0`)
		}
		order := "a.changed_at DESC, a.id DESC"
		switch {
		case after != nil:
			where = append(where, `(a.changed_at, a.id) < (`+arg(after.At)+`, `+arg(after.ID)+`)`)
		case before != nil:
			where = append(where, `(a.changed_at, a.id) > (`+arg(before.At)+`, `+arg(before.ID)+`)`)
			order = "a.changed_at, a.id"
		}
		rows, err := db.Query(ctx, `SELECT `+summaryColumns+summariesFrom+` WHERE `+strings.Join(where, " AND ")+
			` ORDER BY `+order+` LIMIT `+arg(size+1), args...)
		if v.Applications, err = projections.All(rows, err, scanSummary); err != nil {
			return err
		}
		v.Applications, v.Newer, v.Older = projections.KeysetPage(v.Applications, size, after, before,
			func(s Summary) Cursor { return Cursor{At: s.ChangedAt, ID: s.ID} })
		// One probe of the applicant index per person, not a scan of every application.
		rows, err = db.Query(ctx, `SELECT u.id, coalesce(nullif(u.name, ''), u.login) FROM application_people u
			WHERE EXISTS (SELECT 1 FROM applications a WHERE a.applicant_id = u.id)
			ORDER BY lower(coalesce(nullif(u.name, ''), u.login)), u.id`)
		v.Applicants, err = projections.All(rows, err, pgx.RowToStructByPos[Option])
		return err
	})
	return v, err
}
