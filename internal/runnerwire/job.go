// Package runnerwire is what runners send: one job as job-runner's classic sync loop reports it in
// POST /api/v2/jobs/ (reference/runner-protocol.md §2), and the state of a job that the RAP controller's
// status answers share with it, for the tests and the bench that play the runner or the controller.
package runnerwire

// Job is one job of a job request, its whole known state, as job-runner v2.75.5 reports it.
type Job struct {
	Identifier   string `json:"identifier"`
	JobRequestID string `json:"job_request_id"`
	JobState
}

// JobState is what both protocols say of a job beyond its identity: what it runs and how far it got.
type JobState struct {
	Action        string         `json:"action"`
	RunCommand    string         `json:"run_command"`
	Status        string         `json:"status"`
	StatusCode    string         `json:"status_code"`
	StatusMessage string         `json:"status_message"`
	CreatedAt     string         `json:"created_at"`
	UpdatedAt     string         `json:"updated_at"`
	StartedAt     *string        `json:"started_at"`
	CompletedAt   *string        `json:"completed_at"`
	TraceContext  map[string]any `json:"trace_context"`
	Metrics       map[string]any `json:"metrics"`
	RequiresDB    bool           `json:"requires_db"`
}
