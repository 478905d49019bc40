package runners

import (
	"context"
	"fmt"
	"time"
)

// Controller is the RAP API of a backend's controller (integrations/rap speaks it over HTTP). Each call
// answers with the API's body, or one of the errors below.
type Controller interface {
	Create(ctx context.Context, c Connection, r CreateRequest) (Created, error)
	Cancel(ctx context.Context, c Connection, rapID string, actions []string) (Cancelled, error)
	Status(ctx context.Context, c Connection, rapIDs []string) (Statuses, error)
	BackendStatus(ctx context.Context, c Connection) ([]BackendState, error)
}

// Connection is how one backend's controller is reached.
type Connection struct {
	// Backend is the backend's slug: what the controller knows it by, and the label of logs and metrics.
	Backend string
	// BaseURL is the controller's API base, ending with a slash (…/controller/v1/).
	BaseURL string
	// Token is the client token, sent as the Authorization header as it is.
	Token string
}

// CreateRequest is the body of rap/create/ (rap-api.md §2.2). analysis_scope is never sent.
type CreateRequest struct {
	Backend              string   `json:"backend"`
	RapID                string   `json:"rap_id"`
	Workspace            string   `json:"workspace"`
	RepoURL              string   `json:"repo_url"`
	Branch               string   `json:"branch"`
	Commit               string   `json:"commit"`
	DatabaseName         string   `json:"database_name"`
	RequestedActions     []string `json:"requested_actions"`
	CodelistsOK          bool     `json:"codelists_ok"`
	ForceRunDependencies bool     `json:"force_run_dependencies"`
	CreatedBy            string   `json:"created_by"`
	Project              string   `json:"project"`
	Orgs                 []string `json:"orgs"`
}

// Created is a 200 or 201 answer to rap/create/: Count jobs exist for the rap_id (0: nothing to do).
type Created struct {
	Result  string `json:"result"`
	Details string `json:"details"`
	RapID   string `json:"rap_id"`
	Count   int    `json:"count"`
}

// Cancelled is a 200 answer to rap/cancel/.
type Cancelled struct {
	Result  string `json:"result"`
	Details string `json:"details"`
	Count   int    `json:"count"`
}

// Statuses is the answer to rap/status/: every job of the rap_ids asked about, and those it knows none of.
type Statuses struct {
	Jobs         []Job    `json:"jobs"`
	Unrecognised []string `json:"unrecognised_rap_ids"`
}

// Job is one job in a rap/status/ answer (rap-api.md §2.5): the fields the server keeps, no others.
type Job struct {
	Identifier    string         `json:"identifier"`
	RapID         string         `json:"rap_id"`
	Backend       string         `json:"backend"`
	Action        string         `json:"action"`
	RunCommand    string         `json:"run_command"`
	Status        string         `json:"status"`
	StatusCode    string         `json:"status_code"`
	StatusMessage string         `json:"status_message"`
	CreatedAt     time.Time      `json:"created_at"`
	UpdatedAt     *time.Time     `json:"updated_at"`
	StartedAt     *time.Time     `json:"started_at"`
	CompletedAt   *time.Time     `json:"completed_at"`
	TraceContext  map[string]any `json:"trace_context"`
	Metrics       map[string]any `json:"metrics"`
}

// BackendState is one backend of a backend/status/ answer (rap-api.md §2.1).
type BackendState struct {
	Slug          string     `json:"slug"`
	LastSeen      *time.Time `json:"last_seen"`
	Paused        Flag       `json:"paused"`
	DBMaintenance Flag       `json:"db_maintenance"`
}

// Flag is one of a backend's flags in backend/status/: "on" or "off", and since when.
type Flag struct {
	Status string     `json:"status"`
	Since  *time.Time `json:"since"`
	Type   *string    `json:"type,omitempty"`
}

// On reports whether the flag is on.
func (f Flag) On() bool { return f.Status == "on" }

// Refusal is a non-success answer with the API's JSON error body: the controller understood and said no
// (400 validation or creation errors, 401, 404 on cancel; a JSON 5xx too).
type Refusal struct {
	Endpoint string   `json:"-"`
	Status   int      `json:"-"`
	Kind     string   `json:"error"`
	Details  string   `json:"details"`
	NotFound []string `json:"not_found"`
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("%s answered %d: %s: %s", r.Endpoint, r.Status, r.Kind, r.Details)
}

// Unanswered is a call whose outcome is not known: the controller could not be reached, the call timed
// out, or a non-success answer was not the API's JSON (a proxy's HTML page). A create may have landed.
type Unanswered struct {
	Endpoint string
	Reason   string
}

func (u *Unanswered) Error() string { return u.Endpoint + ": no answer: " + u.Reason }

// BadAnswer is a success status whose body is not what the API sends (not JSON, or a key missing).
type BadAnswer struct {
	Endpoint string
	Reason   string
}

func (b *BadAnswer) Error() string { return b.Endpoint + ": unexpected answer: " + b.Reason }

// Temporary says that asking again may work: the reactors retry such a failure until it does.
func (u *Unanswered) Temporary() bool { return true }
