package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/applications"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/projections"
	appviews "github.com/mediciasafely/jobserver/projections/applications"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// The demo researcher's applications: one half filled in, one submitted and waiting for a reviewer, so the
// applicant's pages and the review can be clicked through at once.
const (
	demoOngoingStudy   = "Antibiotic Prescribing in Care Homes"
	demoSubmittedStudy = "Long COVID Recovery"
)

// loadDemoApplications starts the demo researcher's two applications, as the researcher, unless they have
// some already.
func loadDemoApplications(ctx context.Context, logger *slog.Logger, queries *identityviews.Queries, views *appviews.Queries,
	apps *applications.Commands, projected projections.Waiter) error {
	researcher, err := queries.UserByLogin(ctx, demoResearcher)
	if domain.KindOf(err) == domain.KindNotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("demo applications: %w", err)
	}
	if existing, err := views.ApplicationsOf(ctx, researcher.ID); err != nil || len(existing) > 0 {
		return err
	}
	d := demoApplicant{ctx: ctx, apps: apps, actor: commands.UserActor(researcher.ID)}
	ongoing, err := d.start()
	if err != nil {
		return err
	}
	for _, key := range []string{domain.PageContactDetails, domain.PageStudyInformation} {
		if _, err := d.saveAnswers(ongoing, key, demoOngoingStudy); err != nil {
			return err
		}
	}
	submitted, err := d.start()
	if err != nil {
		return err
	}
	if err := d.fillIn(submitted, demoSubmittedStudy); err != nil {
		return err
	}
	res, err := apps.Submit.Handle(ctx, applications.Submit{Actor: d.actor, ApplicationID: submitted})
	if err != nil {
		return fmt.Errorf("demo applications: submit: %w", err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := projected.WaitFor(waitCtx, res.Position, appviews.ApplicationsProjector); err != nil {
		return fmt.Errorf("demo applications: wait for the read model: %w", err)
	}
	logger.InfoContext(ctx, "demo applications started", slog.String("by", demoResearcher),
		slog.String("ongoing", demoOngoingStudy), slog.String("submitted", demoSubmittedStudy))
	return nil
}

// demoApplicant fills in applications as the demo researcher.
type demoApplicant struct {
	ctx   context.Context
	apps  *applications.Commands
	actor commands.Actor
}

func (d demoApplicant) start() (string, error) {
	started, err := d.apps.Start.Handle(d.ctx, applications.Start{Actor: d.actor, TermsAccepted: true})
	if err != nil {
		return "", fmt.Errorf("demo applications: start: %w", err)
	}
	return started.ApplicationID, nil
}

// fillIn answers every page that applies to a research study, in order, and lists the researcher.
func (d demoApplicant) fillIn(applicationID, study string) error {
	saved := map[string]domain.Answers{}
	for _, p := range domain.ApplicationPages() {
		if p.Researchers || !p.Applies(saved) {
			continue
		}
		answers, err := d.saveAnswers(applicationID, p.Key, study)
		if err != nil {
			return err
		}
		saved[p.Key] = answers
	}
	answers := demoAnswers(domain.ResearcherFields(), study)
	answers["name"], answers["github_username"] = "Demo Researcher", demoResearcher
	_, err := d.apps.AddResearcher.Handle(d.ctx, applications.AddResearcher{Actor: d.actor,
		ApplicationID: applicationID, Researcher: domain.ResearcherFromAnswers(answers)})
	if err != nil {
		return fmt.Errorf("demo applications: add the researcher: %w", err)
	}
	return nil
}

// saveAnswers saves a page with the demo's answers (a research study) and returns them.
func (d demoApplicant) saveAnswers(applicationID, key, study string) (domain.Answers, error) {
	p, _ := domain.ApplicationPageByKey(key)
	answers := demoAnswers(p.Fields, study)
	if key == domain.PageTypeOfStudy {
		answers = domain.Answers{"is_study_research": "yes"}
	}
	_, err := d.apps.SavePage.Handle(d.ctx, applications.SavePage{Actor: d.actor, ApplicationID: applicationID,
		Page: key, Answers: answers})
	if err != nil {
		return nil, fmt.Errorf("demo applications: save %s: %w", key, err)
	}
	return answers, nil
}

// demoAnswers answers fields by their kinds: the demo researcher's details, and the study's name.
func demoAnswers(fields []domain.Field, study string) domain.Answers {
	a := domain.Answers{}
	for _, f := range fields {
		switch f.Kind {
		case domain.FieldEmail:
			a[f.Key] = demoResearcher + "@example.org"
		case domain.FieldPhone:
			a[f.Key] = "+44 1632 960000"
		case domain.FieldDate:
			a[f.Key] = "2026-01-15"
		case domain.FieldCheckbox, domain.FieldYesNo:
			a[f.Key] = "yes"
		case domain.FieldChoice:
			a[f.Key] = f.Options[0].Value
		case domain.FieldGitHub:
			a[f.Key] = demoResearcher
		default:
			a[f.Key] = "Demo answer for the study " + study + "."
		}
	}
	if _, ok := a[domain.FieldStudyName]; ok {
		a[domain.FieldStudyName] = study
	}
	return a
}
