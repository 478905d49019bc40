package runners

import (
	"context"
	"errors"
	"slices"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
)

// Names of the reactors that call rap backends' controllers, and of their checkpoints. Creating and
// cancelling are apart, so a controller that does not answer a cancel (retried until it does) never holds
// up the creation of other requests' jobs.
const (
	CreatorName   = "rap-create"
	CancellerName = "rap-cancel"
)

// CreatorHandles and CancellerHandles list the event types each reactor wants.
func CreatorHandles() []string   { return []string{domain.JobRequested{}.EventType()} }
func CancellerHandles() []string { return []string{domain.JobActionsCancelled{}.EventType()} }

// React is the two reactors' function: a requested job request on a rap backend has its jobs created, a
// cancel is passed on. Other backends' requests are left to their runners.
func (r *RAP) React(ctx context.Context, e domain.Event) error {
	switch e := e.(type) {
	case domain.JobRequested:
		return r.Create(ctx, e.JobRequestID)
	case domain.JobActionsCancelled:
		return r.cancel(ctx, e)
	}
	return nil
}

// requested is what creating a request's jobs needs of its stream.
type requested struct {
	domain.JobRequested
	creation string
}

func (q *requested) Apply(e domain.Event) {
	switch e := e.(type) {
	case domain.JobRequested:
		q.JobRequested = e
	case domain.JobCreationRecorded:
		q.creation = e.Status
	}
}

// Create asks the controller of the request's backend to create its jobs, and records what that came to:
// a creation the controller answered is settled; one whose outcome is unknown is recorded as such (the
// poller tries again). Only an error of our own database is returned, for the reactor to retry.
func (r *RAP) Create(ctx context.Context, jobRequestID string) error {
	var q requested
	if _, err := r.log.Load(ctx, domain.JobRequestStream(jobRequestID), &q); err != nil {
		return err
	}
	if q.JobRequestID == "" || q.creation == domain.CreationPending || q.creation == domain.CreationNothingToDo ||
		q.creation == domain.CreationFailed {
		return nil
	}
	b, _, err := commands.LoadAggregate[domain.Backend](ctx, r.log, domain.BackendStream(q.BackendID))
	if err != nil || b.Protocol() != domain.ProtocolRAP {
		return err
	}
	body, err := r.createRequest(ctx, q.JobRequested, b.Slug())
	if err != nil {
		return err
	}
	status, message := domain.CreationFailed, domain.UnknownErrorCreatingJobs
	conn, err := r.connection(ctx, b.ID(), b.Slug(), b.ControllerURL())
	if err == nil {
		var created Created
		created, err = r.controller.Create(ctx, conn, body)
		status, message = creationOutcome(created, err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, errNoClientToken) {
		r.logger.ErrorContext(ctx, "cannot create a job request's jobs: the backend's client token is missing", "backend", b.Slug(),
			"job_request_id", jobRequestID)
	}
	_, err = r.RecordJobCreation.Handle(ctx, RecordJobCreation{JobRequestID: jobRequestID, Status: status, Message: message})
	return err
}

// creationOutcome is what an answer to rap/create/ makes of the request (rap-api.md §3.2): its count
// decides, not its status code; a refusal with the API's JSON fails it with the controller's details; no
// answer leaves it unknown; anything else fails it for an unknown reason.
func creationOutcome(created Created, err error) (status, message string) {
	var refusal *Refusal
	var unanswered *Unanswered
	switch {
	case err == nil && created.Count > 0:
		return domain.CreationPending, ""
	case err == nil:
		return domain.CreationNothingToDo, created.Details
	case errors.As(err, &refusal) && refusal.Details != "":
		return domain.CreationFailed, refusal.Details
	case errors.As(err, &refusal):
		return domain.CreationFailed, refusal.Kind
	case errors.As(err, &unanswered):
		return domain.CreationUnknownError, ""
	}
	return domain.CreationFailed, domain.UnknownErrorCreatingJobs
}

// createRequest is the body of rap/create/ for a request: its workspace, repository and branch, the
// requester's login, and the project's and organisation's slugs, read from their streams.
func (r *RAP) createRequest(ctx context.Context, e domain.JobRequested, backendSlug string) (CreateRequest, error) {
	var ws domain.Workspace
	var project domain.Project
	var user domain.User
	for stream, agg := range map[string]commands.Folder{
		domain.WorkspaceStream(e.WorkspaceID): &ws, domain.ProjectStream(e.ProjectID): &project, domain.UserStream(e.RequestedBy): &user,
	} {
		if _, err := r.log.Load(ctx, stream, agg); err != nil {
			return CreateRequest{}, err
		}
	}
	orgs := []string{}
	if project.OrgID() != "" {
		var org domain.Org
		if _, err := r.log.Load(ctx, domain.OrgStream(project.OrgID()), &org); err != nil {
			return CreateRequest{}, err
		}
		orgs = append(orgs, org.Slug())
	}
	database := e.DatabaseName
	if database == "" {
		database = domain.DefaultDatabaseName
	}
	return CreateRequest{
		Backend: backendSlug, RapID: e.JobRequestID, Workspace: ws.Name(), RepoURL: ws.RepoURL(), Branch: ws.Branch(),
		Commit: e.SHA, DatabaseName: database, RequestedActions: slices.Clone(e.RequestedActions), CodelistsOK: e.CodelistsOK,
		ForceRunDependencies: e.ForceRunDependencies, CreatedBy: user.Login(), Project: project.Slug(), Orgs: orgs,
	}, nil
}

// cancel passes a cancel on to the controller (rap-api.md §3.4): the cancelled actions whose jobs are
// pending or running, or, before any job is known, all of them. Actions the controller has no job of
// (its 404 names them) are dropped and the rest sent again; a request it knows nothing of has nothing to
// cancel. A controller that does not answer is asked again (the error is temporary); any other refusal
// is returned, and the reactor sets the event aside once its attempts are spent.
func (r *RAP) cancel(ctx context.Context, e domain.JobActionsCancelled) error {
	j, _, err := commands.LoadAggregate[domain.JobRequest](ctx, r.log, domain.JobRequestStream(e.JobRequestID))
	if err != nil || !j.Exists() {
		return err
	}
	b, _, err := commands.LoadAggregate[domain.Backend](ctx, r.log, domain.BackendStream(j.BackendID()))
	if err != nil || b.Protocol() != domain.ProtocolRAP {
		return err
	}
	actions := cancellable(j, e.Actions)
	if len(actions) == 0 {
		return nil
	}
	conn, err := r.connection(ctx, b.ID(), b.Slug(), b.ControllerURL())
	if err != nil {
		return err
	}
	for len(actions) > 0 {
		_, err := r.controller.Cancel(ctx, conn, e.JobRequestID, actions)
		var refusal *Refusal
		if !errors.As(err, &refusal) || refusal.Status != 404 {
			return err
		}
		if len(refusal.NotFound) == 0 {
			r.logger.InfoContext(ctx, "the controller has no jobs of the cancelled job request", "backend", b.Slug(),
				"job_request_id", e.JobRequestID)
			return nil
		}
		actions = slices.DeleteFunc(actions, func(a string) bool { return slices.Contains(refusal.NotFound, a) })
	}
	return nil
}

// cancellable are the actions of a cancel to send: those with a pending or running job, or all of them
// while no job of the request is known.
func cancellable(j *domain.JobRequest, actions []string) []string {
	jobs := j.Jobs()
	if len(jobs) == 0 {
		return slices.Clone(actions)
	}
	var out []string
	for _, a := range actions {
		if slices.ContainsFunc(jobs, func(job domain.Job) bool { return job.Action == a && !domain.IsTerminalJobStatus(job.Status) }) {
			out = append(out, a)
		}
	}
	return out
}
