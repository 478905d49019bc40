// Package applications holds the use cases of study applications (the user guide's step 2): the applicant
// starts an application, saves its pages one at a time, lists its researchers, submits it, withdraws and
// restores it; reviewers note and mark its pages; admins set its status and approve it fully, which
// creates its project in the chosen organisation in the same append.
//
// Exported API (stable; the pages are built on it):
//
//	New(commands.Kit) *Commands
//	Commands{Start, SavePage, AddResearcher, EditResearcher, RemoveResearcher, Submit, Withdraw, Restore,
//	  ReviewPage, SetStatus, ApproveFully}: each a commands.Handler of the command type of the same name
//	Started{ApplicationID}, ResearcherAdded{ResearcherID}, Approved{ProjectID, ProjectSlug, OrgID}: results
//	  that embed commands.Result; the other commands return commands.Result
//
// Field errors are domain.Invalid errors whose Fields are keyed by the form fields' names: a page's field
// keys (domain.ApplicationPage.Fields), a researcher's (domain.ResearcherFields), "terms", "notes",
// "approval", "status", "comment", "name", "slug", "org_id"; Submit's are keyed by the incomplete pages' keys.
package applications

import (
	"context"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// Commands is every use case of the slice, each decorated once.
type Commands struct {
	Start            commands.Handler[Start, Started]
	SavePage         commands.Handler[SavePage, commands.Result]
	AddResearcher    commands.Handler[AddResearcher, ResearcherAdded]
	EditResearcher   commands.Handler[EditResearcher, commands.Result]
	RemoveResearcher commands.Handler[RemoveResearcher, commands.Result]
	Submit           commands.Handler[Submit, commands.Result]
	Withdraw         commands.Handler[Withdraw, commands.Result]
	Restore          commands.Handler[Restore, commands.Result]
	ReviewPage       commands.Handler[ReviewPage, commands.Result]
	SetStatus        commands.Handler[SetStatus, commands.Result]
	ApproveFully     commands.Handler[ApproveFully, Approved]
}

// New builds the slice on the kit's event log.
func New(k commands.Kit) *Commands {
	h := handlers{log: k.Log}
	return &Commands{
		Start:            commands.NewHandler(k, "StartApplication", h.start),
		SavePage:         commands.NewHandler(k, "SaveApplicationPage", h.savePage),
		AddResearcher:    commands.NewHandler(k, "AddApplicationResearcher", h.addResearcher),
		EditResearcher:   commands.NewHandler(k, "EditApplicationResearcher", h.editResearcher),
		RemoveResearcher: commands.NewHandler(k, "RemoveApplicationResearcher", h.removeResearcher),
		Submit:           commands.NewHandler(k, "SubmitApplication", h.submit),
		Withdraw:         commands.NewHandler(k, "WithdrawApplication", h.withdraw),
		Restore:          commands.NewHandler(k, "RestoreApplication", h.restore),
		ReviewPage:       commands.NewHandler(k, "ReviewApplicationPage", h.reviewPage),
		SetStatus:        commands.NewHandler(k, "SetApplicationStatus", h.setStatus),
		ApproveFully:     commands.NewHandler(k, "ApproveApplication", h.approveFully),
	}
}

// handlers holds what the use cases share: the event log.
type handlers struct {
	log *commands.EventLog
}

// decide is commands.Decide on the application's stream.
func (h handlers) decide(ctx context.Context, actor commands.Actor, applicationID string, decide func(*domain.Application, domain.Actor) ([]domain.Event, error)) (commands.Result, error) {
	return commands.Decide(ctx, h.log, actor, domain.ApplicationStream(applicationID), decide)
}

// Start starts an application by the signed-in user, who accepts the terms (TermsAccepted; else Invalid on
// "terms").
type Start struct {
	commands.Actor
	TermsAccepted bool
}

// Started is a started application.
type Started struct {
	ApplicationID string
	commands.Result
}

func (h handlers) start(ctx context.Context, cmd Start) (Started, error) {
	return commands.Retry(ctx, func() (Started, error) {
		by, err := cmd.Decider(ctx, h.log)
		if err != nil {
			return Started{}, err
		}
		id := domain.NewID(h.log.Now())
		started, err := domain.StartApplication(by, id, cmd.TermsAccepted)
		if err != nil {
			return Started{}, err
		}
		res, err := h.log.Append(ctx, cmd.Actor, []commands.Write{{Stream: domain.ApplicationStream(id), Expected: eventstore.NoStream, Events: []domain.Event{started}}})
		return Started{ApplicationID: id, Result: res}, err
	})
}

// SavePage saves the answers of one page (the applicant's, or an admin's). Answers in the wrong form are
// Invalid per field; missing ones are saved and leave the page needing changes. Saving a page resets its
// review mark.
type SavePage struct {
	commands.Actor
	ApplicationID string
	Page          string // the page's key
	Answers       domain.Answers
}

func (h handlers) savePage(ctx context.Context, cmd SavePage) (commands.Result, error) {
	return h.decide(ctx, cmd.Actor, cmd.ApplicationID, func(a *domain.Application, by domain.Actor) ([]domain.Event, error) {
		return a.SavePage(by, cmd.Page, cmd.Answers)
	})
}

// AddResearcher adds a researcher to the application's list; its ResearcherID is chosen here.
type AddResearcher struct {
	commands.Actor
	ApplicationID string
	Researcher    domain.Researcher
}

// ResearcherAdded is an added researcher.
type ResearcherAdded struct {
	ResearcherID string
	commands.Result
}

func (h handlers) addResearcher(ctx context.Context, cmd AddResearcher) (ResearcherAdded, error) {
	r := cmd.Researcher
	r.ResearcherID = domain.NewID(h.log.Now())
	res, err := h.decide(ctx, cmd.Actor, cmd.ApplicationID, func(a *domain.Application, by domain.Actor) ([]domain.Event, error) {
		return a.AddResearcher(by, r)
	})
	return ResearcherAdded{ResearcherID: r.ResearcherID, Result: res}, err
}

// EditResearcher replaces the details of the researcher Researcher.ResearcherID.
type EditResearcher struct {
	commands.Actor
	ApplicationID string
	Researcher    domain.Researcher
}

func (h handlers) editResearcher(ctx context.Context, cmd EditResearcher) (commands.Result, error) {
	return h.decide(ctx, cmd.Actor, cmd.ApplicationID, func(a *domain.Application, by domain.Actor) ([]domain.Event, error) {
		return a.EditResearcher(by, cmd.Researcher)
	})
}

// RemoveResearcher takes a researcher off the application's list.
type RemoveResearcher struct {
	commands.Actor
	ApplicationID string
	ResearcherID  string
}

func (h handlers) removeResearcher(ctx context.Context, cmd RemoveResearcher) (commands.Result, error) {
	return h.decide(ctx, cmd.Actor, cmd.ApplicationID, func(a *domain.Application, by domain.Actor) ([]domain.Event, error) {
		return a.RemoveResearcher(by, cmd.ResearcherID)
	})
}

// Submit hands an ongoing application whose every applicable page is complete to the reviewers; an
// incomplete one is Invalid with a message per incomplete page, keyed by the page's key.
type Submit struct {
	commands.Actor
	ApplicationID string
}

func (h handlers) submit(ctx context.Context, cmd Submit) (commands.Result, error) {
	return h.decide(ctx, cmd.Actor, cmd.ApplicationID, func(a *domain.Application, by domain.Actor) ([]domain.Event, error) {
		return a.Submit(by)
	})
}

// Withdraw sets an application that is not approved aside (a soft delete).
type Withdraw struct {
	commands.Actor
	ApplicationID string
}

func (h handlers) withdraw(ctx context.Context, cmd Withdraw) (commands.Result, error) {
	return h.decide(ctx, cmd.Actor, cmd.ApplicationID, func(a *domain.Application, by domain.Actor) ([]domain.Event, error) {
		return a.Withdraw(by)
	})
}

// Restore brings a withdrawn application back.
type Restore struct {
	commands.Actor
	ApplicationID string
}

func (h handlers) restore(ctx context.Context, cmd Restore) (commands.Result, error) {
	return h.decide(ctx, cmd.Actor, cmd.ApplicationID, func(a *domain.Application, by domain.Actor) ([]domain.Event, error) {
		return a.Restore(by)
	})
}

// ReviewPage records a reviewer's notes and mark on one page (needs application_review or
// application_manage).
type ReviewPage struct {
	commands.Actor
	ApplicationID string
	Page          string
	Notes         string
	Approval      domain.PageApproval
}

func (h handlers) reviewPage(ctx context.Context, cmd ReviewPage) (commands.Result, error) {
	return h.decide(ctx, cmd.Actor, cmd.ApplicationID, func(a *domain.Application, by domain.Actor) ([]domain.Event, error) {
		return a.ReviewPage(by, cmd.Page, cmd.Notes, cmd.Approval)
	})
}

// SetStatus gives an application a status other than Approved Fully, with a comment (needs
// application_manage).
type SetStatus struct {
	commands.Actor
	ApplicationID string
	Status        domain.ApplicationStatus
	Comment       string
}

func (h handlers) setStatus(ctx context.Context, cmd SetStatus) (commands.Result, error) {
	return h.decide(ctx, cmd.Actor, cmd.ApplicationID, func(a *domain.Application, by domain.Actor) ([]domain.Event, error) {
		return a.SetStatus(by, cmd.Status, cmd.Comment)
	})
}

// ApproveFully approves an application (needs application_manage, and project_create to create its
// project): it creates the project named ProjectName (the study name when empty; its slug Slug, derived
// from the name when empty) in organisation OrgID and marks the application Approved Fully, in one append.
// A name or slug already taken refuses both, as a Conflict on "name" or "slug".
type ApproveFully struct {
	commands.Actor
	ApplicationID string
	ProjectName   string
	Slug          string
	OrgID         string
}

// Approved is an approved application's new project.
type Approved struct {
	ProjectID   string
	ProjectSlug string
	OrgID       string
	commands.Result
}

func (h handlers) approveFully(ctx context.Context, cmd ApproveFully) (Approved, error) {
	return commands.Retry(ctx, func() (Approved, error) {
		stream := domain.ApplicationStream(cmd.ApplicationID)
		a, version, err := commands.LoadAggregate[domain.Application](ctx, h.log, stream)
		if err != nil {
			return Approved{}, err
		}
		by, err := cmd.Decider(ctx, h.log)
		if err != nil {
			return Approved{}, err
		}
		name := cmd.ProjectName
		if domain.NormalizeName(name) == "" {
			name = a.StudyName()
		}
		projectID := domain.NewID(h.log.Now())
		approval, err := a.Approve(by, projectID, domain.NormalizeName(name), cmd.OrgID)
		if err != nil {
			return Approved{}, err
		}
		created, writes, err := commands.ProjectCreationWrites(ctx, h.log, by, projectID, name, cmd.Slug, cmd.OrgID)
		if err != nil {
			return Approved{}, err
		}
		writes = append(writes, commands.Write{Stream: stream, Expected: eventstore.Exactly(version), Events: approval})
		res, err := h.log.Append(ctx, cmd.Actor, writes)
		return Approved{ProjectID: projectID, ProjectSlug: created.Slug, OrgID: cmd.OrgID, Result: res}, err
	})
}
