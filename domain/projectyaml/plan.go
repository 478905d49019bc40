package projectyaml

import (
	"fmt"
	"strings"
)

// JobStatus is the state of an action's latest job in the workspace, as far as planning cares.
type JobStatus string

const (
	JobPending   JobStatus = "pending"
	JobRunning   JobStatus = "running"
	JobSucceeded JobStatus = "succeeded"
	JobFailed    JobStatus = "failed"
)

// PreviousJob is an action's latest job in the workspace (cancelled jobs and invalid requests left out).
type PreviousJob struct {
	JobID  string
	Status JobStatus
}

// History is the workspace's latest job per action name.
type History map[string]PreviousJob

// Request is what the researcher asked for on the Run Jobs form.
type Request struct {
	// Actions are the requested action names; run_all requests every action.
	Actions []string
	// ForceRunDependencies re-runs the needed actions too, even those that succeeded.
	ForceRunDependencies bool
}

// Decision is what the plan does with one action.
type Decision string

const (
	// Run: a new job is created for the action.
	Run Decision = "run"
	// Reuse: the action's last job succeeded and its outputs are used as they are.
	Reuse Decision = "reuse"
	// AlreadyScheduled: the action's last job is pending or running; the new jobs wait for it.
	AlreadyScheduled Decision = "already scheduled"
)

// Reason says why an action runs.
type Reason string

const (
	Requested   Reason = "requested"
	NeverRun    Reason = "it has not run in this workspace"
	LastFailed  Reason = "its last run failed"
	ForcedToRun Reason = "dependencies are forced to run"
)

// WaitFor is a job a new job waits for: a new job of this plan (JobID "") or one already pending or running.
type WaitFor struct {
	Action string
	JobID  string
}

// Step is one action the request touches.
type Step struct {
	Action   string
	Decision Decision
	// Reason is set when Decision is Run.
	Reason Reason
	// JobID is the earlier job reused or waited on (Decision Reuse or AlreadyScheduled).
	JobID string
	// WaitsFor are the jobs of the action's needs that are not finished when it is created (Decision Run).
	WaitsFor []WaitFor
}

// String reads like the Run Jobs page: "analyse will run", "generate_dataset reused from job xyz".
func (s Step) String() string {
	switch s.Decision {
	case Run:
		return fmt.Sprintf("%s will run (%s)", s.Action, s.Reason)
	case Reuse:
		return fmt.Sprintf("%s reused from job %s", s.Action, s.JobID)
	default:
		return fmt.Sprintf("%s is already scheduled as job %s", s.Action, s.JobID)
	}
}

// Plan is the outcome of a request: every action it touches, each after the actions it needs.
type Plan struct {
	Steps []Step
}

// ToRun are the names of the actions that get a new job, in dependency order.
func (pl Plan) ToRun() []string {
	var names []string
	for _, s := range pl.Steps {
		if s.Decision == Run {
			names = append(names, s.Action)
		}
	}
	return names
}

// NothingToDo says why no job would be created ("" when some would): job-runner refuses such a request.
func (pl Plan) NothingToDo() string {
	if len(pl.ToRun()) > 0 {
		return ""
	}
	for _, s := range pl.Steps {
		if s.Decision == AlreadyScheduled {
			return "All requested actions were already scheduled to run"
		}
	}
	return "All actions have already completed successfully"
}

// String is the plan as one sentence list: "generate_dataset reused from job x; analyse will run (requested)".
func (pl Plan) String() string {
	parts := make([]string, len(pl.Steps))
	for i, s := range pl.Steps {
		parts[i] = s.String()
	}
	return strings.Join(parts, "; ")
}

// Plan decides which jobs a request creates, following job-runner's rules (create_or_update_jobs.py):
// walking each requested action's needs depth first, an action gets a new job when it has no previous job,
// or its previous job is neither pending nor running and (it was requested by name, or dependencies are
// forced, or the previous job failed). A pending or running job is waited for; a succeeded one is reused.
// run_all requests every action but names none, so with run_all only missing and failed actions run.
func (p *Project) Plan(req Request, history History) (Plan, error) {
	if len(req.Actions) == 0 {
		return Plan{}, fmt.Errorf("please select at least one of the actions listed")
	}
	named := map[string]bool{}
	var roots []string
	for _, r := range req.Actions {
		if r == RunAllName {
			roots = append(roots, p.AllActions()...)
			continue
		}
		if _, ok := p.index[r]; !ok {
			return Plan{}, fmt.Errorf("action %s not found in project.yaml", quote(r))
		}
		named[r] = true
		roots = append(roots, r)
	}
	for action, job := range history {
		switch job.Status {
		case JobPending, JobRunning, JobSucceeded, JobFailed:
		default:
			return Plan{}, fmt.Errorf("the last job of action %s has status %q, which planning does not know", quote(action), job.Status)
		}
	}

	var pl Plan
	done := map[string]int{} // action → index of its step
	var build func(action string, depth int) Step
	build = func(action string, depth int) Step {
		if i, ok := done[action]; ok {
			return pl.Steps[i]
		}
		step := Step{Action: action}
		prev, hasPrev := history[action]
		switch {
		case !hasPrev && named[action]:
			step.Decision, step.Reason = Run, Requested
		case !hasPrev:
			step.Decision, step.Reason = Run, NeverRun
		case prev.Status == JobPending || prev.Status == JobRunning:
			step.Decision, step.JobID = AlreadyScheduled, prev.JobID
		case named[action]:
			step.Decision, step.Reason = Run, Requested
		case req.ForceRunDependencies:
			step.Decision, step.Reason = Run, ForcedToRun
		case prev.Status == JobFailed:
			step.Decision, step.Reason = Run, LastFailed
		default:
			step.Decision, step.JobID = Reuse, prev.JobID
		}
		if step.Decision == Run && depth <= len(p.actions) {
			for _, need := range p.actions[p.index[action]].needs {
				dep := build(need, depth+1)
				switch dep.Decision {
				case Run:
					step.WaitsFor = append(step.WaitsFor, WaitFor{Action: need})
				case AlreadyScheduled:
					step.WaitsFor = append(step.WaitsFor, WaitFor{Action: need, JobID: dep.JobID})
				}
			}
		}
		done[action] = len(pl.Steps)
		pl.Steps = append(pl.Steps, step)
		return step
	}
	for _, r := range roots {
		build(r, 0)
	}
	return pl, nil
}
