package domain

import (
	"net/url"
	"strings"
)

// Backend protocols: how the server and a backend's job-runner talk.
const (
	// ProtocolClassic is the classic sync protocol: the backend's runner polls the server for job requests
	// and posts their jobs' states (the runner API). Every backend speaks it until told otherwise.
	ProtocolClassic = "classic"
	// ProtocolRAP is today's job-runner: its controller serves the RAP API and the server calls it to
	// create, cancel and follow the jobs of each request.
	ProtocolRAP = "rap"
)

// BackendProtocolSet records how the server talks to a backend: its protocol and, for rap, its
// controller's base URL. The controller's client token never enters an event: ClientTokenSet says that this
// change stored a new one (sealed, in the secrets table).
type BackendProtocolSet struct {
	BackendID      string
	Protocol       string
	ControllerURL  string
	ClientTokenSet bool
}

func (BackendProtocolSet) EventType() string { return "BackendProtocolSet" }

// What creating a request's jobs on a rap backend came to (JobCreationRecorded.Status), as the
// reference job-server names them.
const (
	// CreationPending: the controller created the jobs (or had them already); they are followed by polling.
	CreationPending = "pending"
	// CreationNothingToDo: the controller had nothing to run; the request ends there.
	CreationNothingToDo = "nothing_to_do"
	// CreationFailed: the controller refused the request (its details say why); the request ends there.
	CreationFailed = "failed"
	// CreationUnknownError: the controller could not be asked, or its answer was not the API's: whether
	// the jobs exist is not known, so the request stays active, its creation is tried again, and a status
	// poll that does not know it, long enough after, ends it as failed.
	CreationUnknownError = "unknown_error_creating_jobs"
)

// UnknownErrorCreatingJobs is the message of a request whose jobs could not be created, for a reason the
// controller did not say.
const UnknownErrorCreatingJobs = "Unknown error creating jobs"

// JobCreationRecorded records what a rap backend's controller answered when asked to create a job
// request's jobs (stream jobrequest-<id>): the creation status, the controller's details, and how many
// times it has been asked so far.
type JobCreationRecorded struct {
	JobRequestID string
	Status       string
	Message      string
	Attempts     int
}

func (JobCreationRecorded) EventType() string { return "JobCreationRecorded" }

// SetProtocol decides how the server talks to the backend (needs backend_manage). A rap backend needs
// its controller's base URL (http or https; a trailing slash is added, as every RAP path is relative to
// it) and a client token, given now (newToken) or earlier. Asking for what holds already, with no new
// token, decides nothing.
func (b *Backend) SetProtocol(by Actor, protocol, controllerURL string, newToken bool) ([]Event, error) {
	if err := by.Require(BackendManage); err != nil {
		return nil, err
	}
	if err := b.mustExist(); err != nil {
		return nil, err
	}
	protocol = strings.TrimSpace(protocol)
	controllerURL = strings.TrimSpace(controllerURL)
	var v Validation
	switch protocol {
	case ProtocolClassic:
		controllerURL, newToken = "", false
	case ProtocolRAP:
		if u, err := url.Parse(controllerURL); controllerURL == "" {
			v.Add("controller_url", "A RAP backend needs its controller's URL, such as https://controller.example.org/controller/v1/.")
		} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			v.Add("controller_url", "The controller's URL must be an http or https address, such as https://controller.example.org/controller/v1/.")
		} else if !strings.HasSuffix(controllerURL, "/") {
			controllerURL += "/"
		}
		v.Check(newToken || b.clientTokenSet, "client_token", "A RAP backend needs the client token its controller gave for this server.")
	default:
		v.Add("protocol", "Please choose classic or rap.")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if protocol == b.Protocol() && controllerURL == b.controllerURL && !newToken {
		return nil, nil
	}
	return []Event{BackendProtocolSet{BackendID: b.id, Protocol: protocol, ControllerURL: controllerURL, ClientTokenSet: newToken}}, nil
}

// Protocol is how the server talks to the backend: ProtocolClassic unless set otherwise.
func (b *Backend) Protocol() string {
	if b.protocol == "" {
		return ProtocolClassic
	}
	return b.protocol
}

// ControllerURL is the base URL of a rap backend's controller, ending with a slash; "" for classic.
func (b *Backend) ControllerURL() string { return b.controllerURL }

// HasClientToken reports whether a client token for the controller was ever stored.
func (b *Backend) HasClientToken() bool { return b.clientTokenSet }

func (b *Backend) applyProtocol(e BackendProtocolSet) {
	b.protocol, b.controllerURL = e.Protocol, e.ControllerURL
	b.clientTokenSet = b.clientTokenSet || e.ClientTokenSet
}

// RecordCreation decides what an answer of the backend's controller to creating the request's jobs
// changes. A status and message already recorded decide nothing, except an unknown outcome, whose every
// attempt is recorded: the retries' schedule is read from them.
func (j *JobRequest) RecordCreation(status, message string) ([]Event, error) {
	if !j.Exists() {
		return nil, NotFound("No such job request.")
	}
	switch status {
	case CreationPending, CreationNothingToDo, CreationFailed, CreationUnknownError:
	default:
		return nil, Invalid("status", "Not a creation status: "+quote(status)+".")
	}
	if status == j.creation && message == j.creationMessage && status != CreationUnknownError {
		return nil, nil
	}
	return []Event{JobCreationRecorded{JobRequestID: j.id, Status: status, Message: message, Attempts: j.creationAttempts + 1}}, nil
}

// Creation is what creating the request's jobs on a rap backend came to so far ("" before any answer, and
// always on a classic backend, whose runner creates them), with the controller's details.
func (j *JobRequest) Creation() (status, message string) { return j.creation, j.creationMessage }

// JobRequestState derives a job request's status and whether it is still active from what creating its
// jobs came to (creation, "" on a classic backend) and its jobs' statuses. Once there are jobs they decide
// (JobRequestStatus, JobRequestActive). Before, a creation with nothing to do, or that failed, is the
// request's status and ends it; an unknown outcome is its status and keeps it active; otherwise it is
// pending.
func JobRequestState(creation string, statuses []string) (status string, active bool) {
	if len(statuses) == 0 {
		switch creation {
		case CreationNothingToDo, CreationFailed:
			return creation, false
		case CreationUnknownError:
			return creation, true
		}
	}
	return JobRequestStatus(statuses), JobRequestActive(statuses)
}

// RAPClientTokenSecretPrefix starts the secrets-table key of every rap backend's sealed client token.
const RAPClientTokenSecretPrefix = "rap-client-token/"

// RAPClientTokenSecretKey is the secrets-table key of a rap backend's client token, sealed: the server
// reads it back to call the controller, unlike runner tokens, of which it keeps only a hash.
func RAPClientTokenSecretKey(backendID string) string { return RAPClientTokenSecretPrefix + backendID }
