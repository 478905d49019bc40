// Package workspaces holds the use cases of workspaces and Run Jobs: a researcher's GitHub token,
// creating, archiving and configuring workspaces, reading a branch's project.yaml at one commit,
// requesting and cancelling jobs.
package workspaces

import (
	"context"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// Commands is every use case of the slice, each decorated once.
type Commands struct {
	SaveGitHubToken  commands.Handler[SaveGitHubToken, commands.Result]
	ClearGitHubToken commands.Handler[ClearGitHubToken, commands.Result]
	CreateWorkspace  commands.Handler[CreateWorkspace, Created]
	ArchiveWorkspace commands.Handler[ArchiveWorkspace, commands.Result]
	SetNotifications commands.Handler[SetNotifications, commands.Result]
	RequestJobs      commands.Handler[RequestJobs, Requested]
	CancelJobs       commands.Handler[CancelJobs, commands.Result]
	handlers
}

// New builds the slice on the kit's event log, GitHub, and the keyring that seals tokens.
func New(k commands.Kit, github GitHub, keyring *commands.Keyring) *Commands {
	h := handlers{log: k.Log, github: github, keyring: keyring}
	return &Commands{
		SaveGitHubToken:  commands.NewHandler(k, "SaveGitHubToken", h.saveGitHubToken),
		ClearGitHubToken: commands.NewHandler(k, "ClearGitHubToken", h.clearGitHubToken),
		CreateWorkspace:  commands.NewHandler(k, "CreateWorkspace", h.createWorkspace),
		ArchiveWorkspace: commands.NewHandler(k, "ArchiveWorkspace", h.archiveWorkspace),
		SetNotifications: commands.NewHandler(k, "SetWorkspaceNotifications", h.setNotifications),
		RequestJobs:      commands.NewHandler(k, "RequestJobs", h.requestJobs),
		CancelJobs:       commands.NewHandler(k, "CancelJobs", h.cancelJobs),
		handlers:         h,
	}
}

// handlers holds what the use cases share.
type handlers struct {
	log     *commands.EventLog
	github  GitHub
	keyring *commands.Keyring
}

// CreateWorkspace makes a workspace in a project (needs workspace_create there) for a branch of a GitHub
// repository, both checked with the researcher's token (Token, or the one they saved).
type CreateWorkspace struct {
	commands.Actor
	ProjectID string
	Name      string
	RepoURL   string
	Branch    string
	Token     string
}

// Created is a created workspace.
type Created struct {
	WorkspaceID string
	Name        string
	commands.Result
}

// createWorkspace decides on the project first (so nobody without the permission reaches GitHub), then
// checks the repository and the branch, then reserves the name on the whole server and appends, in one
// append: of two concurrent creations of one name exactly one wins.
func (h handlers) createWorkspace(ctx context.Context, cmd CreateWorkspace) (Created, error) {
	canonical := "" // the repository's address as GitHub writes it, once checked
	return commands.Retry(ctx, func() (Created, error) {
		p, _, err := commands.LoadAggregate[domain.Project](ctx, h.log, domain.ProjectStream(cmd.ProjectID))
		if err != nil {
			return Created{}, err
		}
		by, err := cmd.On(ctx, h.log, p)
		if err != nil {
			return Created{}, err
		}
		id := domain.NewID(h.log.Now())
		created, err := p.CreateWorkspace(by, domain.NewWorkspace{
			WorkspaceID: id, Name: cmd.Name, RepoURL: cmd.RepoURL, Branch: cmd.Branch, CreatedBy: cmd.ActorID(),
		})
		if err != nil {
			return Created{}, err
		}
		if canonical == "" {
			if canonical, err = h.checkBranch(ctx, cmd.ActorID(), cmd.Token, created.RepoURL, created.Branch); err != nil {
				return Created{}, err
			}
		}
		created.RepoURL = canonical
		name, err := h.log.Reserve(ctx, domain.WorkspaceNameStream(created.Name), func(r *domain.Reservation) ([]domain.Event, error) {
			return r.ReserveName("name", domain.ReservedForWorkspace, created.Name, id)
		})
		if err != nil {
			return Created{}, err
		}
		res, err := h.log.Append(ctx, cmd.Actor, []commands.Write{
			{Stream: domain.WorkspaceStream(id), Expected: eventstore.NoStream, Events: []domain.Event{created}}, name,
		})
		return Created{WorkspaceID: id, Name: created.Name, Result: res}, err
	})
}

// checkBranch checks with GitHub that the token sees the repository and that the branch exists, and
// returns the repository's address as GitHub writes it.
func (h handlers) checkBranch(ctx context.Context, userID, oneTime, repoURL, branch string) (string, error) {
	token, err := h.token(ctx, userID, oneTime)
	if err != nil {
		return "", explain(err, "token", h.log.Now())
	}
	canonical, err := h.github.Repository(ctx, token, repoURL)
	if err != nil {
		return "", explain(err, "repo", h.log.Now())
	}
	if _, err := h.github.BranchHead(ctx, token, repoURL, branch); err != nil {
		return "", explain(err, "branch", h.log.Now())
	}
	if canonical == "" {
		canonical = repoURL
	}
	return canonical, nil
}

// ArchiveWorkspace archives (Archived true) or unarchives a workspace (needs workspace_archive).
type ArchiveWorkspace struct {
	commands.Actor
	WorkspaceID string
	Archived    bool
}

func (h handlers) archiveWorkspace(ctx context.Context, cmd ArchiveWorkspace) (commands.Result, error) {
	return commands.DecideInProject(ctx, h.log, cmd.Actor, domain.WorkspaceStream(cmd.WorkspaceID), func(w *domain.Workspace, by domain.Actor) ([]domain.Event, error) {
		return w.SetArchived(by, cmd.Archived)
	})
}

// SetNotifications sets whether a workspace's job requests send e-mail by default (needs
// workspace_toggle_notifications).
type SetNotifications struct {
	commands.Actor
	WorkspaceID string
	Notify      bool
}

func (h handlers) setNotifications(ctx context.Context, cmd SetNotifications) (commands.Result, error) {
	return commands.DecideInProject(ctx, h.log, cmd.Actor, domain.WorkspaceStream(cmd.WorkspaceID), func(w *domain.Workspace, by domain.Actor) ([]domain.Event, error) {
		return w.SetNotifications(by, cmd.Notify)
	})
}
