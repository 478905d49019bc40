package kurrentdb_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/kurrentdb"
	"github.com/mediciasafely/jobserver/eventstore/storetest"
	"github.com/mediciasafely/jobserver/internal/kurrentfake"
)

func open(t *testing.T, url string) *kurrentdb.Store {
	t.Helper()
	s, err := kurrentdb.Open(url, eventstore.NewMemorySecrets())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestKurrentDBStoreContract runs the store contract against the in-process server that speaks
// KurrentDB's gRPC protocol (internal/kurrentfake), a fresh one per test.
func TestKurrentDBStoreContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) eventstore.Store { return open(t, kurrentfake.Start(t).URL()) })
}

// TestKurrentDBStoreContractOnARealServer runs the contract against the KurrentDB of KURRENTDB_URL, each
// test in streams of its own and reading $all from where it started.
func TestKurrentDBStoreContractOnARealServer(t *testing.T) {
	url := os.Getenv("KURRENTDB_URL")
	if url == "" {
		t.Skip("KURRENTDB_URL is not set; the contract ran against internal/kurrentfake only")
	}
	t.Parallel()
	store := open(t, url)
	storetest.Run(t, func(t *testing.T) eventstore.Store { return isolate(t, store) })
}

// TestEventIDsAreOurULIDs: the server holds each event under our ULID's 16 bytes, which is what lets it
// recognise a retried append.
func TestEventIDsAreOurULIDs(t *testing.T) {
	t.Parallel()
	server := kurrentfake.Start(t)
	s := open(t, server.URL())
	e := storetest.Event("OrgCreated", `{"name":"Research"}`)
	if _, err := s.Append(context.Background(), []eventstore.Append{{Stream: "org-1", Expected: eventstore.NoStream, Events: []eventstore.NewEvent{e}}}); err != nil {
		t.Fatal(err)
	}
	client := rawClient(t, server.URL())
	read, err := client.ReadStream(context.Background(), "org-1", esdb.ReadStreamOptions{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer read.Close()
	got, err := read.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if got.Event.EventID != uuid.UUID(e.ID) || got.Event.EventType != "OrgCreated" || got.Event.ContentType != "application/json" {
		t.Errorf("stored as id %s, type %s, content type %s; want %s, OrgCreated, JSON", got.Event.EventID, got.Event.EventType, got.Event.ContentType, uuid.UUID(e.ID))
	}
	if !strings.Contains(string(got.Event.UserMetadata), `"schema_version":1`) || !strings.Contains(string(got.Event.UserMetadata), `"actor":"user:test"`) {
		t.Errorf("metadata = %s", got.Event.UserMetadata)
	}
}

// TestTheServersOwnEventsAreLeftOut: $all holds the server's system events (statistics, tombstones);
// ReadAll and Subscribe deliver only ours.
func TestTheServersOwnEventsAreLeftOut(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	server := kurrentfake.Start(t)
	s := open(t, server.URL())
	for _, stream := range []string{"a", "gone", "b"} {
		if _, err := s.Append(ctx, []eventstore.Append{{Stream: stream, Expected: eventstore.Any, Events: []eventstore.NewEvent{storetest.Event("E", `{}`)}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rawClient(t, server.URL()).TombstoneStream(ctx, "gone", esdb.TombstoneStreamOptions{ExpectedRevision: esdb.Any{}}); err != nil {
		t.Fatal(err)
	}
	all, err := s.ReadAll(ctx, eventstore.Position{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if streams := streamsOf(all); streams != "a gone b" {
		t.Errorf("ReadAll delivered events of %q, want only ours: a gone b", streams)
	}
	var followed []eventstore.Event
	err = s.Subscribe(ctx, eventstore.Position{}, func(e eventstore.Event) error {
		followed = append(followed, e)
		if len(followed) == 3 {
			return errEnough
		}
		return nil
	})
	if !errors.Is(err, errEnough) || streamsOf(followed) != "a gone b" {
		t.Errorf("Subscribe delivered %q (%v), want a gone b", streamsOf(followed), err)
	}
}

var errEnough = errors.New("enough")

// TestATombstonedStreamIsAnErrorNotAnEmptyStream: a stream an operator deleted for good cannot pass for a
// stream that never existed (which a reservation would then take as free).
func TestATombstonedStreamIsAnErrorNotAnEmptyStream(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	server := kurrentfake.Start(t)
	s := open(t, server.URL())
	if _, err := s.Append(ctx, []eventstore.Append{{Stream: "orgslug-x", Expected: eventstore.NoStream, Events: []eventstore.NewEvent{storetest.Event("SlugReserved", `{}`)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := rawClient(t, server.URL()).TombstoneStream(ctx, "orgslug-x", esdb.TombstoneStreamOptions{ExpectedRevision: esdb.Any{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadStream(ctx, "orgslug-x"); !errors.Is(err, kurrentdb.ErrStreamDeleted) {
		t.Errorf("reading a tombstoned stream: err = %v", err)
	}
	_, err := s.Append(ctx, []eventstore.Append{{Stream: "orgslug-x", Expected: eventstore.NoStream, Events: []eventstore.NewEvent{storetest.Event("SlugReserved", `{}`)}}})
	if !errors.Is(err, kurrentdb.ErrStreamDeleted) {
		t.Errorf("appending to a tombstoned stream: err = %v", err)
	}
}

func streamsOf(events []eventstore.Event) string {
	names := make([]string, len(events))
	for i, e := range events {
		names[i] = e.Stream
	}
	return strings.Join(names, " ")
}

func rawClient(t *testing.T, url string) *esdb.Client {
	t.Helper()
	config, err := esdb.ParseConnectionString(url)
	if err != nil {
		t.Fatal(err)
	}
	client, err := esdb.NewClient(config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// TestAConnectionStringThatIsNotAURLIsRefusedWithoutItsPassword: the parser's own error quotes the whole
// string, which would put the password in the server's log.
func TestAConnectionStringThatIsNotAURLIsRefusedWithoutItsPassword(t *testing.T) {
	t.Parallel()
	_, err := kurrentdb.Open("esdb://admin:hunter2@[::1:2113?tls=false", eventstore.NewMemorySecrets())
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "KURRENTDB_URL") {
		t.Errorf("Open answered %v; want a refusal naming KURRENTDB_URL and not the password", err)
	}
}
