package identity_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// server is the identity handlers on an in-memory event store.
type server struct {
	*identity.Commands
	store *eventstore.Memory
	log   *commands.EventLog
}

func newServer(t *testing.T) server {
	t.Helper()
	store := eventstore.NewMemory()
	log := commands.NewEventLog(store, domain.Events, time.Now)
	return server{Commands: identity.New(commands.Kit{Log: log}), store: store, log: log}
}

// events returns every stored event in global order.
func (s server) events(t *testing.T) []eventstore.Event {
	t.Helper()
	events, err := s.store.ReadAll(context.Background(), eventstore.Position{}, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// eventTypes returns the type names of every stored event, in global order.
func (s server) eventTypes(t *testing.T) []string {
	t.Helper()
	var types []string
	for _, e := range s.events(t) {
		types = append(types, e.Type)
	}
	return types
}

// signIn logs a GitHub account in and returns the user id.
func (s server) signIn(t *testing.T, githubID int64, login string) string {
	t.Helper()
	out, err := s.SignInWithGitHub.Handle(context.Background(), identity.SignInWithGitHub{
		GitHubID: githubID, Login: login, Name: "User " + login, Email: login + "@example.org",
	})
	if err != nil {
		t.Fatalf("sign in %s: %v", login, err)
	}
	return out.UserID
}

// ok returns a function that fails the test when a command returns an error: ok(t)(h.Handle(ctx, cmd)).
func ok(t *testing.T) func(any, error) any {
	return func(v any, err error) any {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// created is ok for commands that create an organisation or a project; it returns the new id.
func created(t *testing.T) func(identity.Created, error) string {
	return func(c identity.Created, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
}

func wantKind(t *testing.T, err error, kind domain.Kind, field string) {
	t.Helper()
	if domain.KindOf(err) != kind {
		t.Fatalf("err = %v (kind %d), want kind %d", err, domain.KindOf(err), kind)
	}
	if field == "" {
		return
	}
	var de *domain.Error
	if !errors.As(err, &de) || de.Fields[field] == "" {
		t.Fatalf("err = %v, want a message on field %q", err, field)
	}
}
