package applications_test

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/applications"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/internal/rolematrix"
)

// matrixWorld is an installation built by the command line: an organisation; the target's application,
// complete but not submitted, with one researcher; another of theirs, withdrawn; a project (for the
// project-role setups); and the actor whose roles the setup chooses.
type matrixWorld struct {
	*server
	actor                      commands.Actor
	orgID                      string
	applicationID, withdrawnID string
	researcherID               string
}

func newMatrixWorld(t *testing.T, who rolematrix.Setup) matrixWorld {
	t.Helper()
	w := matrixWorld{server: newMemoryServer()}
	actorID := w.signIn(t, 1, "actor")
	target := commands.UserActor(w.signIn(t, 2, "target"))
	w.orgID = must(w.id.CreateOrg.Handle(ctx, identity.CreateOrg{Actor: cli, Name: "University of X"}))(t).ID
	projectID := must(w.id.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "BP Study"}))(t).ID
	otherProjectID := must(w.id.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "Other Study"}))(t).ID
	w.applicationID = w.filledBy(t, target, "Kidney Outcomes")
	w.researcherID = w.load(t, w.applicationID).Researchers()[0].ResearcherID
	w.withdrawnID = w.startedBy(t, target)
	must(w.Withdraw.Handle(ctx, applications.Withdraw{Actor: target, ApplicationID: w.withdrawnID}))(t)

	switch {
	case who.CLI:
		w.actor = cli
		return w
	case who.Anonymous:
		w.actor = commands.Anonymous
		return w
	case who.Global != "":
		must(w.id.GrantGlobalRole.Handle(ctx, identity.GrantGlobalRole{Actor: cli, UserID: actorID, Role: who.Global}))(t)
	case who.Project != "":
		must(w.id.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: projectID, UserID: actorID, Roles: []domain.Role{who.Project}}))(t)
	case who.Other != "":
		must(w.id.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: otherProjectID, UserID: actorID, Roles: []domain.Role{who.Other}}))(t)
	}
	w.actor = commands.UserActor(actorID)
	return w
}

// matrixRunners run each use of the applications slice in rolematrix.Uses through its command, as w.actor.
func matrixRunners() map[string]func(ctx context.Context, w matrixWorld) error {
	funding := domain.Answers{"funding_details": "A grant"}
	return map[string]func(ctx context.Context, w matrixWorld) error{
		"StartApplication": func(ctx context.Context, w matrixWorld) error {
			_, err := w.Start.Handle(ctx, applications.Start{Actor: w.actor, TermsAccepted: true})
			return err
		},
		"SaveApplicationPage of their own application": func(ctx context.Context, w matrixWorld) error {
			id := w.applicationID // the command line and anonymous visitors have none of their own
			if started, err := w.Start.Handle(ctx, applications.Start{Actor: w.actor, TermsAccepted: true}); err == nil {
				id = started.ApplicationID
			}
			_, err := w.SavePage.Handle(ctx, applications.SavePage{Actor: w.actor, ApplicationID: id, Page: "study-funding", Answers: funding})
			return err
		},
		"SaveApplicationPage of someone else's application": func(ctx context.Context, w matrixWorld) error {
			_, err := w.SavePage.Handle(ctx, applications.SavePage{Actor: w.actor, ApplicationID: w.applicationID, Page: "study-funding", Answers: funding})
			return err
		},
		"AddApplicationResearcher of someone else's application": func(ctx context.Context, w matrixWorld) error {
			_, err := w.AddResearcher.Handle(ctx, applications.AddResearcher{Actor: w.actor, ApplicationID: w.applicationID, Researcher: grace})
			return err
		},
		"EditApplicationResearcher of someone else's application": func(ctx context.Context, w matrixWorld) error {
			r := grace
			r.ResearcherID, r.JobTitle = w.researcherID, "Professor"
			_, err := w.EditResearcher.Handle(ctx, applications.EditResearcher{Actor: w.actor, ApplicationID: w.applicationID, Researcher: r})
			return err
		},
		"RemoveApplicationResearcher of someone else's application": func(ctx context.Context, w matrixWorld) error {
			_, err := w.RemoveResearcher.Handle(ctx, applications.RemoveResearcher{Actor: w.actor, ApplicationID: w.applicationID, ResearcherID: w.researcherID})
			return err
		},
		"SubmitApplication of someone else's application": func(ctx context.Context, w matrixWorld) error {
			_, err := w.Submit.Handle(ctx, applications.Submit{Actor: w.actor, ApplicationID: w.applicationID})
			return err
		},
		"WithdrawApplication of someone else's application": func(ctx context.Context, w matrixWorld) error {
			_, err := w.Withdraw.Handle(ctx, applications.Withdraw{Actor: w.actor, ApplicationID: w.applicationID})
			return err
		},
		"RestoreApplication of someone else's application": func(ctx context.Context, w matrixWorld) error {
			_, err := w.Restore.Handle(ctx, applications.Restore{Actor: w.actor, ApplicationID: w.withdrawnID})
			return err
		},
		"ReviewApplicationPage": func(ctx context.Context, w matrixWorld) error {
			_, err := w.ReviewPage.Handle(ctx, applications.ReviewPage{Actor: w.actor, ApplicationID: w.applicationID, Page: "study-funding",
				Notes: "Which funder?", Approval: domain.ReviewNotApproved})
			return err
		},
		"SetApplicationStatus": func(ctx context.Context, w matrixWorld) error {
			_, err := w.SetStatus.Handle(ctx, applications.SetStatus{Actor: w.actor, ApplicationID: w.applicationID, Status: domain.StatusDeferred, Comment: "Next round."})
			return err
		},
		"ApproveApplication": func(ctx context.Context, w matrixWorld) error {
			_, err := w.ApproveFully.Handle(ctx, applications.ApproveFully{Actor: w.actor, ApplicationID: w.applicationID, OrgID: w.orgID})
			return err
		},
	}
}

// TestRoleMatrix runs every use of the applications slice as every kind of actor: everyone signed in
// starts and fills in their own applications; only admins change someone else's, set its status or
// approve it; reviewers and admins note and mark pages; a refusal appends nothing.
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	rolematrix.CheckCommands(t, rolematrix.Applications, matrixRunners(), newMatrixWorld,
		func(t *testing.T, w matrixWorld) int { return len(w.events(t)) })
}

// TestTheRoleMatrixHasARunnerForEveryUse: each use of the slice in the shared table runs through a
// command here.
func TestTheRoleMatrixHasARunnerForEveryUse(t *testing.T) {
	t.Parallel()
	rolematrix.CheckRunners(t, rolematrix.Applications, slices.Collect(maps.Keys(matrixRunners())), nil)
}
