package runners

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// RAP is the use cases of backends that speak the RAP API: setting how a backend is reached, creating and
// cancelling its requests' jobs (React), and following them (Poll, Run).
type RAP struct {
	SetBackendProtocol commands.Handler[SetBackendProtocol, commands.Result]
	RecordJobCreation  commands.Handler[RecordJobCreation, commands.Result]

	log        *commands.EventLog
	logger     *slog.Logger
	keyring    *commands.Keyring
	controller Controller
	directory  Directory
	runners    *Commands
	opts       RAPOptions
}

// Directory is what the poller reads of the read models: the rap backends, their active job requests,
// and where it records when a backend's agent was last seen (operational state, not an event).
type Directory interface {
	RAPBackends(ctx context.Context) ([]RAPBackend, error)
	ActiveRAPRequests(ctx context.Context, backendID string) ([]ActiveRAPRequest, error)
	BackendSeen(ctx context.Context, backendID, path string, when time.Time) error
}

// RAPBackend is a backend whose protocol is rap.
type RAPBackend struct {
	ID, Slug, ControllerURL string
}

// ActiveRAPRequest is an active job request of a rap backend, with what creating its jobs came to so far.
type ActiveRAPRequest struct {
	ID        string
	CreatedAt time.Time
	// Creation is the creation status ("" before the first answer), Attempts how many times the
	// controller was asked, the last time at AttemptedAt.
	Creation    string
	Attempts    int
	AttemptedAt time.Time
	// HasJobs is whether any job of the request is known.
	HasJobs bool
}

// RAPOptions tune the RAP use cases; the zero value takes the defaults.
type RAPOptions struct {
	// PollInterval is the pause after each poll of the controllers (default 60 s, as job-server).
	PollInterval time.Duration
	// UnrecognisedAfter is how old a request whose creation had an unknown outcome must be before a status
	// answer that does not know it ends it as failed (default 10 min); until then its creation is retried.
	UnrecognisedAfter time.Duration
	// RetryBackoff is the wait before the first retry of a creation whose outcome is unknown; each retry
	// doubles it, up to MaxRetryBackoff (defaults 30 s and 5 min).
	RetryBackoff, MaxRetryBackoff time.Duration
}

func (o RAPOptions) withDefaults() RAPOptions {
	if o.PollInterval <= 0 {
		o.PollInterval = time.Minute
	}
	if o.UnrecognisedAfter <= 0 {
		o.UnrecognisedAfter = 10 * time.Minute
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = 30 * time.Second
	}
	if o.MaxRetryBackoff <= 0 {
		o.MaxRetryBackoff = 5 * time.Minute
	}
	return o
}

// NewRAP builds the RAP use cases on the kit's event log. The client tokens are sealed with keyring;
// runners records what the controllers report, as the classic runners' reports are.
func NewRAP(k commands.Kit, keyring *commands.Keyring, controller Controller, directory Directory, runners *Commands, opts RAPOptions) *RAP {
	logger := k.Logger
	if logger == nil {
		logger = slog.Default()
	}
	r := &RAP{log: k.Log, logger: logger, keyring: keyring, controller: controller, directory: directory, runners: runners,
		opts: opts.withDefaults()}
	r.SetBackendProtocol = commands.NewHandler(k, "SetBackendProtocol", r.setBackendProtocol)
	r.RecordJobCreation = commands.NewHandler(k, "RecordJobCreation", r.recordJobCreation)
	return r
}

// SetBackendProtocol sets how the server talks to a backend (needs backend_manage): classic, or rap with
// its controller's base URL and client token. An empty ClientToken keeps the one stored.
type SetBackendProtocol struct {
	commands.Actor
	BackendID     string
	Protocol      string
	ControllerURL string
	ClientToken   string
}

// setBackendProtocol appends BackendProtocolSet and, when a token is given, its sealed value in the same
// transaction: the event says only that a token was set.
func (r *RAP) setBackendProtocol(ctx context.Context, cmd SetBackendProtocol) (commands.Result, error) {
	token := strings.TrimSpace(cmd.ClientToken)
	key := domain.RAPClientTokenSecretKey(cmd.BackendID)
	return commands.Retry(ctx, func() (commands.Result, error) {
		b, version, err := commands.LoadAggregate[domain.Backend](ctx, r.log, domain.BackendStream(cmd.BackendID))
		if err != nil {
			return commands.Result{}, err
		}
		by, err := cmd.Decider(ctx, r.log)
		if err != nil {
			return commands.Result{}, err
		}
		events, err := b.SetProtocol(by, cmd.Protocol, cmd.ControllerURL, token != "")
		if err != nil || len(events) == 0 {
			return commands.Result{}, err
		}
		var secrets []eventstore.SecretWrite
		if set := events[0].(domain.BackendProtocolSet); set.ClientTokenSet {
			secrets = append(secrets, eventstore.SecretWrite{Key: key, Value: r.keyring.Seal([]byte(token), []byte(key))})
		}
		return r.log.Append(ctx, cmd.Actor, []commands.Write{
			{Stream: domain.BackendStream(cmd.BackendID), Expected: eventstore.Exactly(version), Events: events},
		}, secrets...)
	})
}

// errNoClientToken is a rap backend whose client token cannot be read back.
var errNoClientToken = errors.New("the backend's client token is not stored, or cannot be opened with the configured secret keys")

// connection is how a rap backend's controller is reached, its client token opened.
func (r *RAP) connection(ctx context.Context, backendID, slug, controllerURL string) (Connection, error) {
	key := domain.RAPClientTokenSecretKey(backendID)
	sealed, ok, err := r.log.Store().Secret(ctx, key)
	if err != nil {
		return Connection{}, err
	}
	if !ok {
		return Connection{}, errNoClientToken
	}
	token, err := r.keyring.Open(sealed, []byte(key))
	if err != nil {
		return Connection{}, errNoClientToken
	}
	return Connection{Backend: slug, BaseURL: controllerURL, Token: string(token)}, nil
}

// RecordJobCreation records what a controller answered to creating a job request's jobs.
type RecordJobCreation struct {
	JobRequestID string
	Status       string
	Message      string
}

// By is the reactor that asked the controller.
func (RecordJobCreation) By() commands.Actor { return commands.ReactorActor(CreatorName) }

func (r *RAP) recordJobCreation(ctx context.Context, cmd RecordJobCreation) (commands.Result, error) {
	return commands.Decide(ctx, r.log, cmd.By(), domain.JobRequestStream(cmd.JobRequestID),
		func(j *domain.JobRequest, _ domain.Actor) ([]domain.Event, error) {
			return j.RecordCreation(cmd.Status, cmd.Message)
		})
}
