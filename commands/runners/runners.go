// Package runners holds the use cases of the backends' runners: the state of every job they report, and
// their flags. A runner is known by its backend's token; it acts as commands.RunnerActor(backendID).
//
// A backend speaks one of two protocols. The classic runner polls us (http/runnerapi calls these
// commands). Today's job-runner is the server instead: its controller serves the RAP API
// (reference/rap-api.md) and we are its client, through the Controller port (integrations/rap): how a
// backend is reached (protocol, controller URL, sealed client token: rap_backends.go), creating and
// cancelling a request's jobs (rap_creator.go, reactors), and following them (rap_poller.go), which turns the
// controller's answers into the same events as the classic runner's reports.
package runners

import (
	"context"
	"log/slog"
	"sort"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// Commands is every use case of the slice, each decorated once.
type Commands struct {
	RecordJobStatuses commands.Handler[RecordJobStatuses, Recorded]
	RecordFlags       commands.Handler[RecordFlags, commands.Result]
}

// New builds the slice on the kit's event log.
func New(k commands.Kit) *Commands {
	logger := k.Logger
	if logger == nil {
		logger = slog.Default()
	}
	h := handlers{log: k.Log, logger: logger}
	return &Commands{
		RecordJobStatuses: commands.NewHandler(k, "RecordJobStatuses", h.recordJobStatuses),
		RecordFlags:       commands.NewHandler(k, "RecordRunnerFlags", h.recordFlags),
	}
}

type handlers struct {
	log    *commands.EventLog
	logger *slog.Logger
}

// RecordJobStatuses is one report of a backend's runner: the full state of every job of its active job
// requests.
type RecordJobStatuses struct {
	BackendID string
	Jobs      []domain.JobReport
	// KeepUnreported is set for a report that may leave a request's jobs out (a RAP controller's status
	// answer): a known job it does not name is kept, not removed as the classic runner's complete list means.
	KeepUnreported bool
}

// By is the runner of the backend, for the decorators and the events' metadata.
func (c RecordJobStatuses) By() commands.Actor { return commands.RunnerActor(c.BackendID) }

// Recorded is what a report changed.
type Recorded struct {
	commands.Result
	// Updated lists the job requests that got events; Ignored those the server does not know, or that run
	// on another backend. Both sorted.
	Updated []string
	Ignored []string
}

// recordJobStatuses groups the report by job request, decides on each request's state, and appends what
// changed in all of them in one append, each stream guarded by the version its decision read: one commit
// for the whole report however many requests it carries, and a lost race (another report of the same
// request at the same time) decides again from fresh state, so each change is appended once. A request
// the server does not know, or of another backend, is ignored, as job-server does: to the runner they are
// the same, and an error would stop its sync loop for every other request.
func (h handlers) recordJobStatuses(ctx context.Context, cmd RecordJobStatuses) (Recorded, error) {
	groups := map[string][]domain.JobReport{}
	for _, j := range cmd.Jobs {
		groups[j.JobRequestID] = append(groups[j.JobRequestID], j)
	}
	ids := make([]string, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	streams := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" {
			streams = append(streams, domain.JobRequestStream(id))
		}
	}
	return commands.Retry(ctx, func() (Recorded, error) {
		requests, versions, err := commands.LoadAggregates[domain.JobRequest](ctx, h.log, streams)
		if err != nil {
			return Recorded{}, err
		}
		var out Recorded
		var writes []commands.Write
		for _, id := range ids {
			stream := domain.JobRequestStream(id)
			events, err := decide(requests[stream], id, cmd, groups[id])
			switch domain.KindOf(err) {
			case 0:
			case domain.KindNotFound, domain.KindForbidden:
				h.logger.InfoContext(ctx, "ignoring an unrecognised job request", "job_request", id, "backend", cmd.BackendID,
					"reason", err.Error())
				out.Ignored = append(out.Ignored, id)
				continue
			}
			if err != nil {
				return Recorded{}, err
			}
			if len(events) > 0 {
				out.Updated = append(out.Updated, id)
				writes = append(writes, commands.Write{Stream: stream, Expected: eventstore.Exactly(versions[stream]), Events: events})
			}
		}
		res, err := h.log.Append(ctx, cmd.By(), writes)
		out.Result = res
		return out, err
	})
}

// decide is what one job request's part of a report changes (j is nil for a report naming none).
func decide(j *domain.JobRequest, jobRequestID string, cmd RecordJobStatuses, reports []domain.JobReport) ([]domain.Event, error) {
	if jobRequestID == "" || j == nil {
		return nil, domain.NotFound("A job names no job request.")
	}
	if cmd.KeepUnreported {
		return j.UpdateJobs(cmd.BackendID, reports)
	}
	return j.RecordJobs(cmd.BackendID, reports)
}

// RecordFlags is a runner's report of its flags (its Flags header).
type RecordFlags struct {
	BackendID string
	Flags     map[string]domain.RunnerFlag
}

// By is the runner of the backend.
func (c RecordFlags) By() commands.Actor { return commands.RunnerActor(c.BackendID) }

// recordFlags appends a BackendFlagChanged for each flag whose value changed; a report that repeats the
// known values appends nothing.
func (h handlers) recordFlags(ctx context.Context, cmd RecordFlags) (commands.Result, error) {
	return commands.Decide(ctx, h.log, cmd.By(), domain.BackendStream(cmd.BackendID),
		func(b *domain.Backend, _ domain.Actor) ([]domain.Event, error) {
			return b.RecordFlags(cmd.Flags)
		})
}
