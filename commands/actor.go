package commands

import "context"

// Actor is who asks for a command: a signed-in user, or the command line run by an operator.
type Actor struct {
	// UserID is the acting user's id; empty for the command line.
	UserID string
	// CLI marks the operator's command line, which acts with every permission (it already holds the database).
	CLI bool
}

// CLIActor is the operator's command line.
var CLIActor = Actor{CLI: true}

// UserActor is a signed-in user.
func UserActor(userID string) Actor { return Actor{UserID: userID} }

// String is how the actor is recorded in event metadata.
func (a Actor) String() string {
	if a.CLI {
		return "cli"
	}
	if a.UserID == "" {
		return "anonymous"
	}
	return "user:" + a.UserID
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
