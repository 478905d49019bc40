package domain

import (
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
