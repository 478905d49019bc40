package domain

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// JobStatusChanged records the state of one job of a job request as its backend's runner reported it
// (stream jobrequest-<id>): appended when the job is first reported and whenever something of it changed,
// never for a report that repeats what is known. Finished is true on the one event where the job reached
// succeeded or failed, which is what the e-mail on completion reacts to.
type JobStatusChanged struct {
	JobRequestID  string
	JobID         string
	Action        string
	RunCommand    string
	Status        string
	StatusCode    string
	StatusMessage string
	CreatedAt     time.Time
	UpdatedAt     *time.Time
	StartedAt     *time.Time
	CompletedAt   *time.Time
	TraceContext  map[string]any
	Metrics       map[string]any
	Finished      bool
}

func (JobStatusChanged) EventType() string { return "JobStatusChanged" }

// JobsRemoved records jobs of a request that its runner no longer reports: the runner's list of a
// request's jobs is complete on every report, so a job missing from it is gone.
type JobsRemoved struct {
	JobRequestID string
	JobIDs       []string
}

func (JobsRemoved) EventType() string { return "JobsRemoved" }

// BackendFlagChanged records a new value of one of a backend runner's flags (paused, mode, ...), as its
// Flags header reported it; Value "" is a flag unset.
type BackendFlagChanged struct {
	BackendID string
	Flag      string
	Value     string
	SetAt     time.Time
}

func (BackendFlagChanged) EventType() string { return "BackendFlagChanged" }

// Job statuses as runners report them.
const (
	JobPending   = "pending"
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
	// JobUnknown is a job request's status when its jobs' statuses fit no rule.
	JobUnknown = "unknown"
)

// IsTerminalJobStatus reports whether a job in status is done: succeeded or failed.
func IsTerminalJobStatus(status string) bool { return status == JobSucceeded || status == JobFailed }

// JobReport is one job as a backend's runner reports it: its whole known state, sent again on every
// round while the job's request is active.
type JobReport struct {
	JobID         string
	JobRequestID  string
	Action        string
	RunCommand    string
	Status        string
	StatusCode    string
	StatusMessage string
	CreatedAt     time.Time
	UpdatedAt     *time.Time
	StartedAt     *time.Time
	CompletedAt   *time.Time
	TraceContext  map[string]any
	Metrics       map[string]any
}

// Job is the last known state of one job of a job request.
type Job struct {
	ID            string
	Action        string
	RunCommand    string
	Status        string
	StatusCode    string
	StatusMessage string
	CreatedAt     time.Time
	UpdatedAt     *time.Time
	StartedAt     *time.Time
	CompletedAt   *time.Time
	TraceContext  map[string]any
	Metrics       map[string]any
}

func jobOf(e JobStatusChanged) Job {
	return Job{
		ID: e.JobID, Action: e.Action, RunCommand: e.RunCommand, Status: e.Status, StatusCode: e.StatusCode,
		StatusMessage: e.StatusMessage, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt, StartedAt: e.StartedAt,
		CompletedAt: e.CompletedAt, TraceContext: e.TraceContext, Metrics: e.Metrics,
	}
}

// sameState reports whether a report says nothing new about a job: the same action and command, status,
// code, message, timestamps and metrics. The trace context is the runner's, not the job's state.
func (j Job) sameState(r JobReport) bool {
	return j.Action == r.Action && j.RunCommand == r.RunCommand && j.Status == r.Status && j.StatusCode == r.StatusCode &&
		j.StatusMessage == r.StatusMessage && j.CreatedAt.Equal(r.CreatedAt) && sameTime(j.UpdatedAt, r.UpdatedAt) &&
		sameTime(j.StartedAt, r.StartedAt) && sameTime(j.CompletedAt, r.CompletedAt) && sameJSON(j.Metrics, r.Metrics)
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// sameJSON compares two JSON objects by their encoding (json.Marshal sorts keys), so that numbers decoded
// from an event and from a request compare alike; an empty object and none are the same.
func sameJSON(a, b map[string]any) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == 0 && len(b) == 0
	}
	ea, errA := json.Marshal(a)
	eb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ea, eb)
}

// JobRequestActive reports whether a job request with jobs of these statuses is still active: it has no
// jobs yet, or one of them has not finished. Runners are sent the active requests.
func JobRequestActive(statuses []string) bool {
	if len(statuses) == 0 {
		return true
	}
	return slices.ContainsFunc(statuses, func(s string) bool { return !IsTerminalJobStatus(s) })
}

// JobRequestStatus derives a job request's status from its jobs' statuses (job-server's rule): no jobs
// yet → pending; all alike → that status; else any running or pending → running; else any failed →
// failed; else unknown.
func JobRequestStatus(statuses []string) string {
	if len(statuses) == 0 {
		return JobPending
	}
	statuses = slices.Clone(statuses)
	for i, s := range statuses {
		statuses[i] = strings.ToLower(s)
	}
	all := true
	for _, s := range statuses[1:] {
		if s != statuses[0] {
			all = false
			break
		}
	}
	if all {
		switch statuses[0] {
		case "":
			return JobPending
		case JobPending, JobRunning, JobSucceeded, JobFailed:
			return statuses[0]
		}
		return JobUnknown
	}
	if slices.Contains(statuses, JobRunning) || slices.Contains(statuses, JobPending) {
		return JobRunning
	}
	if slices.Contains(statuses, JobFailed) {
		return JobFailed
	}
	return JobUnknown
}
