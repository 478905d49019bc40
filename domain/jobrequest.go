package domain

import (
	"crypto/rand"
	"encoding/base32"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/mediciasafely/jobserver/domain/projectyaml"
)

// JobRequested records a researcher's request to run actions of a workspace on a backend (stream
// jobrequest-<id>). It holds everything the runner needs: the commit, the project.yaml read at exactly
// that commit, and the flags of the Run Jobs form.
type JobRequested struct {
	JobRequestID         string
	WorkspaceID          string
	ProjectID            string
	BackendID            string
	SHA                  string
	RequestedActions     []string
	ForceRunDependencies bool
	WillNotify           bool
	ProjectDefinition    string
	RequestedBy          string
	DatabaseName         string
	CodelistsOK          bool
}

func (JobRequested) EventType() string { return "JobRequested" }

// JobActionsCancelled asks the runner to cancel actions of a job request: the whole request's pending and
// running actions, or one job's action. Runners read them as cancelled_actions on their next poll.
type JobActionsCancelled struct {
	JobRequestID string
	Actions      []string
	CancelledBy  string
}

func (JobActionsCancelled) EventType() string { return "JobActionsCancelled" }

// JobRequestStream is the stream of one job request.
func JobRequestStream(jobRequestID string) string { return "jobrequest-" + jobRequestID }

// NewJobRequestID returns a job request identifier as runners expect it: 16 lowercase base32 characters
// (10 random bytes).
func NewJobRequestID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return strings.ToLower(base32.StdEncoding.EncodeToString(b))
}

var commitSHAPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)

// IsCommitSHA reports whether sha names one commit for good: 40 lowercase hex digits, not a branch or a
// tag, which move.
func IsCommitSHA(sha string) bool { return commitSHAPattern.MatchString(sha) }

// DefaultDatabaseName is the database a job request's database actions use.
const DefaultDatabaseName = "default"

// JobRequestForm is what the Run Jobs form submits, checked against the project.yaml read at SHA.
type JobRequestForm struct {
	JobRequestID         string
	BackendID            string
	SHA                  string
	Actions              []string
	ForceRunDependencies bool
	WillNotify           bool
	ProjectDefinition    string
	CodelistsOK          bool
}

// RequestJobs decides a job request in the workspace (needs job_run on its project). known lists the
// actions of the project.yaml at the commit (with run_all); onBackend says whether the actor is a member
// of the chosen backend. Every problem is reported beside its field.
func (w *Workspace) RequestJobs(by Actor, f JobRequestForm, known []string, onBackend bool) (JobRequested, error) {
	if err := w.MayRunJobs(by); err != nil {
		return JobRequested{}, err
	}
	var v Validation
	if len(f.Actions) == 0 {
		v.Add("actions", "Please select at least one of the actions listed above.")
	}
	for _, a := range f.Actions {
		if !slices.Contains(known, a) {
			v.Add("actions", "There is no action "+quote(a)+" in this branch's project.yaml.")
		}
	}
	switch {
	case f.BackendID == "":
		v.Add("backend", "Please choose a backend.")
	case !onBackend:
		v.Add("backend", "You are not a member of this backend, so you cannot run jobs on it.")
	}
	switch {
	case f.SHA == "":
		v.Add("sha", "The commit to run is missing; reload the page.")
	case !IsCommitSHA(f.SHA):
		v.Add("sha", "The commit to run is not a commit's full sha; reload the page.")
	}
	v.Check(f.JobRequestID != "", "job_request_id", "A job request needs an identifier.")
	if err := v.Err(); err != nil {
		return JobRequested{}, err
	}
	return JobRequested{
		JobRequestID: f.JobRequestID, WorkspaceID: w.id, ProjectID: w.projectID, BackendID: f.BackendID, SHA: f.SHA,
		RequestedActions: slices.Clone(f.Actions), ForceRunDependencies: f.ForceRunDependencies, WillNotify: f.WillNotify,
		ProjectDefinition: f.ProjectDefinition, RequestedBy: by.UserID, DatabaseName: DefaultDatabaseName,
		CodelistsOK: f.CodelistsOK,
	}, nil
}

// MayRunJobs refuses unless the actor may run jobs in the workspace: job_run on its project, and the
// workspace not archived.
//
// Jobs are always requested by a person, whom the runner records and the e-mail on completion goes to:
// the operator's command line, which is nobody, may not.
func (w *Workspace) MayRunJobs(by Actor) error {
	if err := by.Require(JobRun); err != nil {
		return err
	}
	if by.UserID == "" {
		return Refused("Jobs are requested by a person: log in to run them.")
	}
	if err := w.mustExist(); err != nil {
		return err
	}
	if w.archived {
		return Refused("This workspace is archived, so it cannot run jobs. Unarchive it first.")
	}
	return nil
}

// runnableActions are the actions a request may run a job for: the requested ones, run_all expanded, and
// every action they need, in the file's order. A definition that does not parse (it was checked when
// requested) gives the requested actions.
func runnableActions(definition string, requested []string) []string {
	p, err := projectyaml.Parse([]byte(definition))
	if err != nil {
		return slices.DeleteFunc(slices.Clone(requested), func(a string) bool { return a == projectyaml.RunAllName })
	}
	names, err := p.Expand(requested)
	if err != nil {
		return slices.Clone(requested)
	}
	runs := map[string]bool{}
	var add func(string)
	add = func(name string) {
		if runs[name] {
			return
		}
		runs[name] = true
		if a, ok := p.Action(name); ok {
			for _, n := range a.Needs() {
				add(n)
			}
		}
	}
	for _, n := range names {
		add(n)
	}
	var out []string
	for _, n := range p.ActionNames() {
		if runs[n] {
			out = append(out, n)
		}
	}
	return out
}

// JobRequest is a job request: who asked, what, on which backend, what was cancelled, and the last known
// state of each of its jobs as the backend's runner reported them.
type JobRequest struct {
	id          string
	workspaceID string
	projectID   string
	backendID   string
	requestedBy string
	// jobs are the request's jobs by identifier, as last reported.
	jobs map[string]Job
	// actions are those the request may run a job for: the requested ones (run_all expanded) and what
	// they need, in the file's order; a runner names its jobs by them.
	actions   []string
	cancelled []string
	// creation is what creating the jobs on a rap backend came to (rap.go), with the controller's details
	// and how many times it was asked.
	creation         string
	creationMessage  string
	creationAttempts int
}

// Apply folds one event of the job request's stream.
func (j *JobRequest) Apply(e Event) {
	switch e := e.(type) {
	case JobRequested:
		j.id, j.workspaceID, j.projectID, j.requestedBy = e.JobRequestID, e.WorkspaceID, e.ProjectID, e.RequestedBy
		j.backendID = e.BackendID
		j.actions = runnableActions(e.ProjectDefinition, e.RequestedActions)
	case JobStatusChanged:
		if j.jobs == nil {
			j.jobs = map[string]Job{}
		}
		j.jobs[e.JobID] = jobOf(e)
	case JobsRemoved:
		for _, id := range e.JobIDs {
			delete(j.jobs, id)
		}
	case JobCreationRecorded:
		j.creation, j.creationMessage, j.creationAttempts = e.Status, e.Message, e.Attempts
	case JobActionsCancelled:
		for _, a := range e.Actions {
			if !slices.Contains(j.cancelled, a) {
				j.cancelled = append(j.cancelled, a)
			}
		}
	}
}

// Clone is a copy that later events do not change, for caching folded state.
func (j *JobRequest) Clone() *JobRequest {
	c := *j
	c.actions, c.cancelled = slices.Clone(j.actions), slices.Clone(j.cancelled)
	c.jobs = maps.Clone(j.jobs) // a Job is replaced whole, never changed in place
	return &c
}

// Exists reports whether the job request was made.
func (j *JobRequest) Exists() bool { return j.id != "" }

// ProjectID is the id of the project whose permissions govern the request.
func (j *JobRequest) ProjectID() string { return j.projectID }

// WorkspaceID is the id of the request's workspace.
func (j *JobRequest) WorkspaceID() string { return j.workspaceID }

// CancelledActions lists the actions whose cancellation was asked, in order.
func (j *JobRequest) CancelledActions() []string { return slices.Clone(j.cancelled) }

// Cancel decides cancelling actions of the request: the named action's job, or (action "") every action
// the request may run (run_all expanded, with what the requested actions need) that has not finished and
// is not cancelled yet. The requester may always cancel their own request; anyone else needs job_cancel.
// An action the request does not run is NotFound; a request or job that has finished is a Conflict, as there
// is nothing left to stop; actions already cancelled need no event.
func (j *JobRequest) Cancel(by Actor, action string) ([]Event, error) {
	if !by.Is(j.requestedBy) {
		if err := by.Require(JobCancel); err != nil {
			return nil, err
		}
	}
	if !j.Exists() {
		return nil, NotFound("No such job request.")
	}
	if !j.IsActive() {
		return nil, Conflict("", "This job request has finished: there is nothing left to cancel.")
	}
	finished := j.finishedActions()
	targets := j.actions
	if action != "" {
		if !slices.Contains(j.actions, action) {
			return nil, NotFound("This job request runs no action " + quote(action) + ".")
		}
		if finished[action] {
			return nil, Conflict("", "The job of "+quote(action)+" has finished: there is nothing left to cancel.")
		}
		targets = []string{action}
	}
	var cancel []string
	for _, a := range targets {
		if !slices.Contains(j.cancelled, a) && !finished[a] {
			cancel = append(cancel, a)
		}
	}
	if len(cancel) == 0 {
		return nil, nil
	}
	return []Event{JobActionsCancelled{JobRequestID: j.id, Actions: cancel, CancelledBy: by.UserID}}, nil
}

// BackendID is the id of the backend the request runs on.
func (j *JobRequest) BackendID() string { return j.backendID }

// Jobs lists the request's jobs as last reported, by identifier.
func (j *JobRequest) Jobs() []Job {
	out := make([]Job, 0, len(j.jobs))
	for _, id := range sortedKeys(j.jobs) {
		out = append(out, j.jobs[id])
	}
	return out
}

// Status is the request's status derived from its jobs and, before there are any, what creating them
// came to (JobRequestState): pending until its runner reports a job.
func (j *JobRequest) Status() string {
	status, _ := JobRequestState(j.creation, j.jobStatuses())
	return status
}

// IsActive reports whether the request's runner should still see it: it has no job yet (and creating them
// did not end it), or a job is pending or running.
func (j *JobRequest) IsActive() bool {
	_, active := JobRequestState(j.creation, j.jobStatuses())
	return active
}

// finishedActions are the actions whose job has succeeded or failed.
func (j *JobRequest) finishedActions() map[string]bool {
	finished := map[string]bool{}
	for _, job := range j.jobs {
		if IsTerminalJobStatus(job.Status) {
			finished[job.Action] = true
		}
	}
	return finished
}

func (j *JobRequest) jobStatuses() []string {
	statuses := make([]string, 0, len(j.jobs))
	for _, job := range j.jobs {
		statuses = append(statuses, job.Status)
	}
	return statuses
}

// RecordJobs decides what a runner's report of the request's jobs changes. The report is the complete
// list of the request's jobs: a job new or whose state changed gets a JobStatusChanged (Finished when it
// reaches succeeded or failed, or is first reported already there); a job known and no longer reported
// gets a JobsRemoved; a report that repeats what is known decides nothing. Only the request's own
// backend may report its jobs: another backend's report is refused (Refused, KindForbidden), which the
// runner API treats like a request it does not know.
func (j *JobRequest) RecordJobs(backendID string, reports []JobReport) ([]Event, error) {
	return j.recordJobs(backendID, reports, true)
}

// UpdateJobs is RecordJobs for a report that may leave jobs out (a RAP controller's status answer): a
// known job it does not name is kept as it was, never removed.
func (j *JobRequest) UpdateJobs(backendID string, reports []JobReport) ([]Event, error) {
	return j.recordJobs(backendID, reports, false)
}

func (j *JobRequest) recordJobs(backendID string, reports []JobReport, complete bool) ([]Event, error) {
	if !j.Exists() {
		return nil, NotFound("No such job request.")
	}
	if backendID == "" || backendID != j.backendID {
		return nil, Refused("This job request runs on another backend.")
	}
	var events []Event
	reported := make(map[string]bool, len(reports))
	for _, r := range reports {
		if r.JobID == "" || reported[r.JobID] {
			continue // the first report of a job in one list is the one that counts
		}
		reported[r.JobID] = true
		known, ok := j.jobs[r.JobID]
		if ok && known.sameState(r) {
			continue
		}
		finished := IsTerminalJobStatus(r.Status) && (!ok || !IsTerminalJobStatus(known.Status))
		events = append(events, JobStatusChanged{
			JobRequestID: j.id, JobID: r.JobID, Action: r.Action, RunCommand: r.RunCommand, Status: r.Status,
			StatusCode: r.StatusCode, StatusMessage: r.StatusMessage, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
			StartedAt: r.StartedAt, CompletedAt: r.CompletedAt, TraceContext: r.TraceContext, Metrics: r.Metrics,
			Finished: finished,
		})
	}
	var gone []string
	for _, id := range sortedKeys(j.jobs) {
		if complete && !reported[id] {
			gone = append(gone, id)
		}
	}
	if len(gone) > 0 {
		events = append(events, JobsRemoved{JobRequestID: j.id, JobIDs: gone})
	}
	return events, nil
}
