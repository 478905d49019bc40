package workspaces

import (
	"context"
	"errors"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/domain/projectyaml"
	"github.com/mediciasafely/jobserver/eventstore"
)

// ProjectFile is a branch's project.yaml read at exactly one commit: the head of the branch when read.
type ProjectFile struct {
	SHA  string
	Text string
	// Project is the parsed file; nil when it has problems.
	Project *projectyaml.Project
	// Problems lists everything wrong with the file, each with its action and line.
	Problems projectyaml.Problems
}

// ReadProjectFile reads the head commit of the workspace's branch, then project.yaml at exactly that
// commit, so the two cannot disagree, and parses it. Only who may run jobs in the workspace's project
// may (job_run); a token problem is Invalid on "token".
func (c *Commands) ReadProjectFile(ctx context.Context, actor commands.Actor, workspaceID, oneTimeToken string) (ProjectFile, error) {
	w, by, err := c.workspace(ctx, actor, workspaceID)
	if err != nil {
		return ProjectFile{}, err
	}
	if err := w.MayRunJobs(by); err != nil {
		return ProjectFile{}, err
	}
	token, err := c.token(ctx, actor.ActorID(), oneTimeToken)
	if err != nil {
		return ProjectFile{}, explain(err, "token", c.log.Now())
	}
	sha, err := c.github.BranchHead(ctx, token, w.RepoURL(), w.Branch())
	if err != nil {
		return ProjectFile{}, explain(err, "branch", c.log.Now())
	}
	return c.readAt(ctx, token, w.RepoURL(), sha)
}

// readAt reads and parses project.yaml at a commit.
func (h handlers) readAt(ctx context.Context, token, repoURL, sha string) (ProjectFile, error) {
	text, err := h.github.File(ctx, token, repoURL, "project.yaml", sha)
	if err != nil {
		return ProjectFile{}, explain(err, "project_yaml", h.log.Now())
	}
	file := ProjectFile{SHA: sha, Text: string(text)}
	file.Project, err = projectyaml.Parse(text)
	if errors.As(err, &file.Problems) {
		return file, nil
	}
	return file, err
}

// workspace loads a workspace that must exist and the actor as decisions in its project see them.
func (h handlers) workspace(ctx context.Context, actor commands.Actor, workspaceID string) (*domain.Workspace, domain.Actor, error) {
	w, _, err := commands.LoadAggregate[domain.Workspace](ctx, h.log, domain.WorkspaceStream(workspaceID))
	if err != nil {
		return nil, domain.Actor{}, err
	}
	if !w.Exists() {
		return nil, domain.Actor{}, domain.NotFound("No such workspace.")
	}
	by, err := actor.OnProject(ctx, h.log, w.ProjectID())
	return w, by, err
}

// RequestJobs submits the Run Jobs form: run Actions of the workspace at commit SHA on a backend.
type RequestJobs struct {
	commands.Actor
	WorkspaceID          string
	BackendID            string
	SHA                  string
	Actions              []string
	ForceRunDependencies bool
	WillNotify           bool
	Token                string
}

// Requested is a job request that was made.
type Requested struct {
	JobRequestID string
	commands.Result
}

// requestJobs validates everything again on the server: the file at the form's commit (read again from
// GitHub), the actions in it, the backend (the actor must be its member), the workspace not archived;
// then appends JobRequested in a stream of its own.
func (h handlers) requestJobs(ctx context.Context, cmd RequestJobs) (Requested, error) {
	w, by, err := h.workspace(ctx, cmd.Actor, cmd.WorkspaceID)
	if err != nil {
		return Requested{}, err
	}
	// Refuse without asking GitHub what needs none of it.
	if err := w.MayRunJobs(by); err != nil {
		return Requested{}, err
	}
	if !domain.IsCommitSHA(cmd.SHA) {
		// Not a branch or a tag, which move: the runner must run exactly the commit the page showed.
		return Requested{}, domain.Invalid("sha", "The commit to run is missing or is not a commit's full sha; reload the page.")
	}
	token, err := h.token(ctx, cmd.ActorID(), cmd.Token)
	if err != nil {
		return Requested{}, explain(err, "token", h.log.Now())
	}
	file, err := h.readAt(ctx, token, w.RepoURL(), cmd.SHA)
	if err != nil {
		return Requested{}, err
	}
	if file.Project == nil {
		return Requested{}, domain.Invalid("project_yaml", "This commit's project.yaml has problems; fix them and push, then run jobs again.")
	}
	known := append(file.Project.ActionNames(), projectyaml.RunAllName)
	var backend domain.Backend
	if cmd.BackendID != "" {
		if _, err := h.log.Load(ctx, domain.BackendStream(cmd.BackendID), &backend); err != nil {
			return Requested{}, err
		}
	}
	return commands.Retry(ctx, func() (Requested, error) {
		w, _, err := commands.LoadAggregate[domain.Workspace](ctx, h.log, domain.WorkspaceStream(cmd.WorkspaceID))
		if err != nil {
			return Requested{}, err
		}
		by, err := cmd.OnProject(ctx, h.log, w.ProjectID())
		if err != nil {
			return Requested{}, err
		}
		id := domain.NewJobRequestID()
		requested, err := w.RequestJobs(by, domain.JobRequestForm{
			JobRequestID: id, BackendID: cmd.BackendID, SHA: cmd.SHA, Actions: cmd.Actions,
			ForceRunDependencies: cmd.ForceRunDependencies, WillNotify: cmd.WillNotify, ProjectDefinition: file.Text,
			CodelistsOK: true,
		}, known, backend.IsMember(by.UserID) || by.Operator)
		if err != nil {
			return Requested{}, err
		}
		res, err := h.log.Append(ctx, cmd.Actor, []commands.Write{
			{Stream: domain.JobRequestStream(id), Expected: eventstore.NoStream, Events: []domain.Event{requested}},
		})
		return Requested{JobRequestID: id, Result: res}, err
	})
}

// CancelJobs cancels a job request's actions: one action's job, or (Action "") all of them. Its requester
// may always; anyone else needs job_cancel.
type CancelJobs struct {
	commands.Actor
	JobRequestID string
	Action       string
}

func (h handlers) cancelJobs(ctx context.Context, cmd CancelJobs) (commands.Result, error) {
	return commands.DecideInProject(ctx, h.log, cmd.Actor, domain.JobRequestStream(cmd.JobRequestID), func(j *domain.JobRequest, by domain.Actor) ([]domain.Event, error) {
		return j.Cancel(by, cmd.Action)
	})
}
