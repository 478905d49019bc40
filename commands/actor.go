package commands

import (
	"context"

	"github.com/mediciasafely/jobserver/domain"
)

// Actor is who asks for a command: a signed-in user, the operator's command line, or nobody (an anonymous
// visitor). Commands embed it, so the decorators read it from every command alike.
type Actor struct {
	userID    string
	cli       bool
	backendID string
	reactor   string
}

// CLIActor is the operator's command line, which acts with every permission (it already holds the
// database).
var CLIActor = Actor{cli: true}

// Anonymous is a visitor who has not logged in; they may do nothing.
var Anonymous = Actor{}

// UserActor is a signed-in user.
func UserActor(userID string) Actor { return Actor{userID: userID} }

// RunnerActor is a backend's runner, known by its token: it reports that backend's jobs and flags, and
// holds no permission of a person.
func RunnerActor(backendID string) Actor { return Actor{backendID: backendID} }

// ReactorActor is a reactor of the server acting on an event (the removal of released files' bytes): it
// appends what it did, and holds no permission of a person.
func ReactorActor(name string) Actor { return Actor{reactor: name} }

// ActorID is the acting user's id; "" for the command line and for anonymous visitors.
func (a Actor) ActorID() string { return a.userID }

// By returns the actor; through embedding, every command answers who asked for it.
func (a Actor) By() Actor { return a }

// String is how the actor is recorded in event metadata and logs.
func (a Actor) String() string {
	if a.cli {
		return "cli"
	}
	if a.backendID != "" {
		return "backend:" + a.backendID
	}
	if a.reactor != "" {
		return "reactor:" + a.reactor
	}
	if a.userID == "" {
		return "anonymous"
	}
	return "user:" + a.userID
}

// memberships is an aggregate whose members hold project roles (a project); what an actor may do on it is
// read from that same state.
type memberships interface {
	MemberRoles(userID string) ([]domain.Role, bool)
}

// On is the actor as a decision sees them: what they may do, read together with the state being decided
// on. Their global roles come from their own stream, read now; their project roles, when state is a
// project, from that very state, which the append then guards with its expected version.
func (a Actor) On(ctx context.Context, log *EventLog, state any) (domain.Actor, error) {
	if a.cli {
		return domain.Actor{Can: domain.AllPermissionsSet(), Operator: true}, nil
	}
	if a.userID == "" {
		return domain.Actor{Can: domain.PermissionSet{}}, nil
	}
	var u domain.User
	if _, err := log.Load(ctx, domain.UserStream(a.userID), &u); err != nil {
		return domain.Actor{}, err
	}
	var projectRoles []domain.Role
	if m, ok := state.(memberships); ok {
		projectRoles, _ = m.MemberRoles(a.userID)
	}
	return domain.Actor{UserID: a.userID, Can: domain.PermissionsOf(u.GlobalRoles(), projectRoles)}, nil
}

// OnProject is the actor as a decision about something of a project sees them: with the permissions of
// their global roles and of their roles in that project, read now.
func (a Actor) OnProject(ctx context.Context, log *EventLog, projectID string) (domain.Actor, error) {
	if projectID == "" {
		return a.On(ctx, log, nil)
	}
	p, _, err := LoadAggregate[domain.Project](ctx, log, domain.ProjectStream(projectID))
	if err != nil {
		return domain.Actor{}, err
	}
	return a.On(ctx, log, p)
}

// Decider returns the actor as a decision sees them, outside any project: with the permissions of their
// global roles, read now. Commands that create things call it inside their attempt, so a retry reads again.
func (a Actor) Decider(ctx context.Context, log *EventLog) (domain.Actor, error) {
	return a.On(ctx, log, nil)
}

type contextKey int

const (
	correlationKey contextKey = iota
	causationKey
)

// WithCorrelationID tags the events appended under ctx with the id of the request that caused them.
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey, id)
}

// CorrelationID returns the id set by WithCorrelationID, or "".
func CorrelationID(ctx context.Context) string {
	id, _ := ctx.Value(correlationKey).(string)
	return id
}

// WithCausationID tags the events appended under ctx with the id of the event that caused them.
func WithCausationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, causationKey, id)
}

// CausationID returns the id set by WithCausationID, or "".
func CausationID(ctx context.Context) string {
	id, _ := ctx.Value(causationKey).(string)
	return id
}
