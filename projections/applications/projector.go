// Package applications holds the read model of study applications (step 2 of the user guide) and the
// queries their pages read it with: the applicant's list, one application with its pages' answers,
// states and review marks, and the staff list.
//
// Exported API (stable; the pages are built on it):
//
//	ApplicationsProjector                 the projector's name, for the forms that wait for it
//	Projector(), Projectors()
//	NewQueries(pool) *Queries
//	(*Queries) ApplicationsOf(ctx, userID) ([]Summary, error)
//	(*Queries) Application(ctx, id) (Application, error)     NotFound as domain.NotFound
//	(*Queries) StaffList(ctx, StaffFilter, after, before *Cursor, size int) (StaffPage, error)
//	ParseCursor(s) (Cursor, error), (Cursor).String()
package applications

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/projections"
)

// ApplicationsProjector is the name of the projector behind every page of applications, for the forms
// that wait for it after a command. It writes applications, application_pages, application_researchers
// and its own copies of the names they show (application_people, application_orgs, application_projects…).
const ApplicationsProjector = "applications"

// copies are the names the application pages show of what other slices own: the applicants and
// reviewers, and the organisation and project an approval created.
var copies = projections.CopiesNamed("application")

// Projectors are the read models of the applications slice.
func Projectors() []projections.Projector { return []projections.Projector{Projector()} }

// Projector projects applications, their pages and their researchers.
func Projector() projections.Projector {
	h := projections.Handlers{}
	onApplications(h)
	onPages(h)
	onResearchers(h)
	copies.Register(h)
	onForgotten(h)
	return projections.Define(ApplicationsProjector, 2,
		append([]string{"applications", "application_pages", "application_researchers"}, copies.Tables()...),
		schema+copies.Schema(), h)
}

const schema = `
	CREATE TABLE applications (
		id             text PRIMARY KEY,
		applicant_id   text NOT NULL,
		study_name     text NOT NULL DEFAULT '',
		status         text NOT NULL,
		status_comment text NOT NULL DEFAULT '',
		withdrawn      boolean NOT NULL DEFAULT false,
		started_at     timestamptz NOT NULL,
		changed_at     timestamptz NOT NULL,
		submitted_at   timestamptz,
		approved_at    timestamptz,
		project_id     text,
		org_id         text
	);
	CREATE INDEX applications_applicant ON applications (applicant_id, changed_at DESC, id DESC);
	CREATE INDEX applications_changed ON applications (changed_at DESC, id DESC);
	CREATE INDEX applications_status ON applications (status, changed_at DESC, id DESC);
	CREATE TABLE application_pages (
		application_id text NOT NULL,
		page           text NOT NULL,
		answers        jsonb NOT NULL DEFAULT '{}',
		saved_at       timestamptz,
		notes          text NOT NULL DEFAULT '',
		approval       text NOT NULL DEFAULT '',
		reviewed_by    text,
		reviewed_at    timestamptz,
		PRIMARY KEY (application_id, page)
	);
	CREATE TABLE application_researchers (
		application_id text NOT NULL,
		id             text NOT NULL,
		added_version  bigint NOT NULL,
		details        jsonb NOT NULL,
		PRIMARY KEY (application_id, id)
	);
	CREATE INDEX application_researchers_id ON application_researchers (id);`

// touch records that the application changed at the event's time.
func touch(ctx context.Context, db projections.DB, e projections.Event, applicationID string) error {
	return db.Exec(ctx, `UPDATE applications SET changed_at = $2 WHERE id = $1`, applicationID, e.RecordedAt)
}

func onApplications(h projections.Handlers) {
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.ApplicationStarted) error {
		return db.Exec(ctx, `INSERT INTO applications (id, applicant_id, status, started_at, changed_at) VALUES ($1, $2, $3, $4, $4)
			ON CONFLICT (id) DO NOTHING`, ev.ApplicationID, ev.By, string(domain.StatusOngoing), e.RecordedAt)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.ApplicationSubmitted) error {
		return db.Exec(ctx, `UPDATE applications SET status = $2, submitted_at = $3, changed_at = $3 WHERE id = $1`,
			ev.ApplicationID, string(domain.StatusSubmitted), e.RecordedAt)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.ApplicationWithdrawn) error {
		return db.Exec(ctx, `UPDATE applications SET withdrawn = true, changed_at = $2 WHERE id = $1`, ev.ApplicationID, e.RecordedAt)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.ApplicationRestored) error {
		return db.Exec(ctx, `UPDATE applications SET withdrawn = false, changed_at = $2 WHERE id = $1`, ev.ApplicationID, e.RecordedAt)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.ApplicationStatusSet) error {
		return db.Exec(ctx, `UPDATE applications SET status = $2, status_comment = $3, changed_at = $4 WHERE id = $1`,
			ev.ApplicationID, string(ev.Status), ev.Comment, e.RecordedAt)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.ApplicationApproved) error {
		return db.Exec(ctx, `UPDATE applications SET status = $2, approved_at = $3, changed_at = $3, project_id = $4, org_id = $5
			WHERE id = $1`, ev.ApplicationID, string(domain.StatusApprovedFully), e.RecordedAt, ev.ProjectID, ev.OrgID)
	})
}

func onPages(h projections.Handlers) {
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.ApplicationPageSaved) error {
		answers, err := json.Marshal(ev.AllAnswers())
		if err != nil {
			return fmt.Errorf("application page answers: %w", err)
		}
		// Saving a page resets its review mark, as the decisions do; the notes stay.
		if err := db.Exec(ctx, `INSERT INTO application_pages (application_id, page, answers, saved_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (application_id, page) DO UPDATE SET answers = $3, saved_at = $4, approval = ''`,
			ev.ApplicationID, ev.Page, answers, e.RecordedAt); err != nil {
			return err
		}
		if ev.Page == domain.PageStudyInformation {
			if err := db.Exec(ctx, `UPDATE applications SET study_name = $2 WHERE id = $1`,
				ev.ApplicationID, ev.AllAnswers()[domain.FieldStudyName]); err != nil {
				return err
			}
		}
		return touch(ctx, db, e, ev.ApplicationID)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.ApplicationPageReviewed) error {
		return db.Exec(ctx, `INSERT INTO application_pages (application_id, page, notes, approval, reviewed_by, reviewed_at)
			VALUES ($1, $2, $3, $4, nullif($5, ''), $6)
			ON CONFLICT (application_id, page) DO UPDATE SET notes = $3, approval = $4, reviewed_by = nullif($5, ''), reviewed_at = $6`,
			ev.ApplicationID, ev.Page, ev.Notes, string(ev.Approval), ev.By, e.RecordedAt)
	})
}

func onResearchers(h projections.Handlers) {
	// Any change to the list resets the researchers page's review mark, as the decisions do.
	unmark := func(ctx context.Context, db projections.DB, e projections.Event, applicationID string) error {
		if err := db.Exec(ctx, `UPDATE application_pages SET approval = '' WHERE application_id = $1 AND page = $2`,
			applicationID, domain.PageResearcherDetails); err != nil {
			return err
		}
		return touch(ctx, db, e, applicationID)
	}
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.ApplicationResearcherAdded) error {
		details, err := json.Marshal(domain.ResearcherDetails(ev.ResearcherID, ev.Researcher))
		if err != nil {
			return fmt.Errorf("application researcher: %w", err)
		}
		if err := db.Exec(ctx, `INSERT INTO application_researchers (application_id, id, added_version, details) VALUES ($1, $2, $3, $4)
			ON CONFLICT DO NOTHING`, ev.ApplicationID, ev.ResearcherID, e.Version, details); err != nil {
			return err
		}
		return unmark(ctx, db, e, ev.ApplicationID)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.ApplicationResearcherEdited) error {
		details, err := json.Marshal(domain.ResearcherDetails(ev.ResearcherID, ev.Researcher))
		if err != nil {
			return fmt.Errorf("application researcher: %w", err)
		}
		if err := db.Exec(ctx, `UPDATE application_researchers SET details = $3 WHERE application_id = $1 AND id = $2`,
			ev.ApplicationID, ev.ResearcherID, details); err != nil {
			return err
		}
		return unmark(ctx, db, e, ev.ApplicationID)
	})
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.ApplicationResearcherRemoved) error {
		if err := db.Exec(ctx, `DELETE FROM application_researchers WHERE application_id = $1 AND id = $2`,
			ev.ApplicationID, ev.ResearcherID); err != nil {
			return err
		}
		return unmark(ctx, db, e, ev.ApplicationID)
	})
}

// onForgotten overwrites what the read model holds of a forgotten person: the contact details of their
// applications, and the researcher entries forgotten with them.
func onForgotten(h projections.Handlers) {
	projections.On(h, func(ctx context.Context, db projections.DB, e projections.Event, ev domain.PersonForgotten) error {
		rows, err := db.Query(ctx, `SELECT p.application_id, p.answers FROM application_pages p
			JOIN applications a ON a.id = p.application_id WHERE a.applicant_id = $1 AND p.page = $2`, ev.UserID, domain.PageContactDetails)
		pages, err := projections.All(rows, err, func(row pgx.CollectableRow) (forgottenPage, error) {
			var p forgottenPage
			return p, row.Scan(&p.applicationID, &p.answers)
		})
		if err != nil {
			return err
		}
		for _, p := range pages {
			answers, err := json.Marshal(domain.ForgetPersonIn(domain.PageContactDetails, p.answers))
			if err != nil {
				return err
			}
			if err := db.Exec(ctx, `UPDATE application_pages SET answers = $3 WHERE application_id = $1 AND page = $2`,
				p.applicationID, domain.PageContactDetails, answers); err != nil {
				return err
			}
		}
		for _, id := range ev.Subjects {
			details, err := json.Marshal(domain.Researcher{ResearcherID: id, Name: domain.ForgottenPerson})
			if err != nil {
				return err
			}
			if err := db.Exec(ctx, `UPDATE application_researchers SET details = $2 WHERE id = $1`, id, details); err != nil {
				return err
			}
		}
		return nil
	})
}

type forgottenPage struct {
	applicationID string
	answers       domain.Answers
}
