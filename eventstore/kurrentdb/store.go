// Package kurrentdb is the event store on KurrentDB (EventStoreDB), through its gRPC client
// github.com/EventStore/EventStore-Client-Go/v4, for deployments that outgrow one Postgres. Each of our
// streams is a KurrentDB stream; an event keeps our ULID as its event id (the same 16 bytes read as a
// UUID), so a retried append is recognised by the server as the same events; its type is our type, its
// data our JSON, and its metadata our metadata with the schema version. Positions are the server's
// commit and prepare positions (eventstore.Position's TxID and Seq), which order $all as the pair does.
//
// KurrentDB has no transaction across streams: the store takes one stream per append and no guards
// (eventstore.ErrNotTransactional otherwise), and commands.EventLog appends a command's streams one at
// a time. Secrets stay in Postgres (a eventstore.SecretKeeper), written before the events that mention
// them and put back when the events are refused.
package kurrentdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	neturl "net/url"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/oklog/ulid/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/mediciasafely/jobserver/eventstore"
)

// Store is the event log on a KurrentDB node or cluster.
type Store struct {
	client  *esdb.Client
	secrets eventstore.SecretKeeper
}

// Open connects to the KurrentDB of url (esdb://host:2113?tls=false, esdb+discover://… for a cluster);
// secrets keeps the values that never enter events.
func Open(url string, secrets eventstore.SecretKeeper) (*Store, error) {
	config, err := esdb.ParseConnectionString(url)
	var unparsed *neturl.Error
	if errors.As(err, &unparsed) {
		// Its text quotes the whole string, password included.
		return nil, errors.New("KURRENTDB_URL is not a URL (esdb://host:2113?tls=false, esdb+discover://… for a cluster)")
	}
	if err != nil {
		return nil, fmt.Errorf("KURRENTDB_URL: %w", err)
	}
	config.Logger = clientLog
	client, err := esdb.NewClient(config)
	if err != nil {
		return nil, fmt.Errorf("connect to KurrentDB: %w", err)
	}
	return &Store{client: client, secrets: secrets}, nil
}

// clientLog passes the client's warnings and errors (a lost connection, a dropped subscription) to the
// server's log; its chatter about discovery stays out, and so does a subscription dropped because we
// cancelled it (the log mirror stopping with its server).
func clientLog(level esdb.LogLevel, format string, args ...any) {
	if level != esdb.LogWarn && level != esdb.LogError {
		return
	}
	for _, a := range args {
		if err, ok := a.(error); ok && status.Code(err) == codes.Canceled {
			return
		}
	}
	slog.Warn("KurrentDB client: "+fmt.Sprintf(format, args...), "level", level)
}

// Close closes the connection.
func (s *Store) Close() error { return s.client.Close() }

// Transactional is false: KurrentDB writes one stream per append.
func (s *Store) Transactional() bool { return false }

// ErrStreamDeleted reports a stream that was tombstoned on the server (by an operator: we never delete).
var ErrStreamDeleted = errors.New("stream deleted in KurrentDB")

// storedMetadata is what an event's custom metadata holds.
type storedMetadata struct {
	eventstore.Metadata
	SchemaVersion int `json:"schema_version"`
}

// Append writes the events of one stream (with its secrets first): see eventstore.Store.
func (s *Store) Append(ctx context.Context, appends []eventstore.Append, secrets ...eventstore.SecretWrite) (eventstore.AppendResult, error) {
	if err := eventstore.Validate(appends); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := eventstore.CheckOneStream(appends); err != nil {
		return eventstore.AppendResult{}, err
	}
	return eventstore.WriteSecretsFirst(ctx, s.secrets, secrets, func() (eventstore.AppendResult, error) {
		return s.appendStream(ctx, appends[0])
	})
}

func (s *Store) appendStream(ctx context.Context, a eventstore.Append) (eventstore.AppendResult, error) {
	events := make([]esdb.EventData, len(a.Events))
	for i, e := range a.Events {
		if !json.Valid(e.Data) {
			return eventstore.AppendResult{}, fmt.Errorf("append: event %s (%s) data is not JSON", e.ID, e.Type)
		}
		meta, err := json.Marshal(storedMetadata{Metadata: e.Metadata, SchemaVersion: e.SchemaVersion})
		if err != nil {
			return eventstore.AppendResult{}, fmt.Errorf("append: metadata: %w", err)
		}
		events[i] = esdb.EventData{EventID: uuid.UUID(e.ID), EventType: e.Type, ContentType: esdb.ContentTypeJson, Data: e.Data, Metadata: meta}
	}
	written, err := s.client.AppendToStream(ctx, a.Stream, esdb.AppendToStreamOptions{ExpectedRevision: expectedRevision(a.Expected)}, events...)
	switch {
	case hasCode(err, esdb.ErrorCodeWrongExpectedVersion):
		return s.explainRejectedAppend(ctx, a)
	case hasCode(err, esdb.ErrorCodeStreamDeleted):
		return eventstore.AppendResult{}, fmt.Errorf("append to %s: %w", a.Stream, ErrStreamDeleted)
	case err != nil:
		return eventstore.AppendResult{}, fmt.Errorf("append to %s: %w", a.Stream, err)
	}
	last := eventstore.Position{TxID: written.CommitPosition, Seq: int64(written.PreparePosition)}
	if len(events) > 1 || last.IsZero() {
		// The server answers with the position of the append, which for several events, or a repeated
		// append (no position), is not the position of the last event: read that one back.
		if last, err = s.positionOf(ctx, a.Stream, written.NextExpectedVersion); err != nil {
			return eventstore.AppendResult{}, err
		}
	}
	return eventstore.AppendResult{Last: last, Versions: map[string]int64{a.Stream: int64(written.NextExpectedVersion) + 1}}, nil
}

// expectedRevision maps our expected version (the number of events the stream holds) to the server's
// expected revision (the 0-based number of its last event).
func expectedRevision(v eventstore.ExpectedVersion) esdb.ExpectedRevision {
	switch v {
	case eventstore.Any:
		return esdb.Any{}
	case eventstore.NoStream:
		return esdb.NoStream{}
	default:
		return esdb.Revision(uint64(v) - 1)
	}
}

// explainRejectedAppend decides why the server refused an append: the same events are stored already (a
// repeat the server did not take as one, which succeeds with the original result), some of them are (a
// stored event sent with new ones), or the stream is at another version. A repeat of an exact expected
// version is looked for where the original would have put its events; one with Any in the whole stream.
func (s *Store) explainRejectedAppend(ctx context.Context, a eventstore.Append) (eventstore.AppendResult, error) {
	var from esdb.StreamPosition = esdb.Start{}
	count := wholeStream
	if a.Expected != eventstore.Any {
		from, count = esdb.Revision(uint64(a.Expected)), uint64(len(a.Events))
	}
	window, err := s.readStream(ctx, a.Stream, from, count)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	ours := make(map[ulid.ULID]bool, len(a.Events))
	for _, e := range a.Events {
		ours[e.ID] = true
	}
	res := eventstore.AppendResult{Versions: map[string]int64{}}
	found := 0
	for _, e := range window {
		if ours[e.ID] {
			found++
			res.Last = e.Position
			res.Versions[a.Stream] = e.Version
		}
	}
	switch {
	case found == len(a.Events):
		return res, nil
	case found > 0:
		return eventstore.AppendResult{}, eventstore.ErrDuplicateEventID
	}
	actual, err := s.streamVersion(ctx, a.Stream)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return eventstore.AppendResult{}, &eventstore.ConcurrencyError{Stream: a.Stream, Expected: a.Expected, Actual: actual}
}

// streamVersion reads the version of stream: its last event's, 0 when it has none.
func (s *Store) streamVersion(ctx context.Context, stream string) (int64, error) {
	read, err := s.client.ReadStream(ctx, stream, esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1)
	if err != nil {
		return 0, readError(stream, err)
	}
	defer read.Close()
	last, err := read.Recv()
	switch {
	case errors.Is(err, io.EOF) || hasCode(err, esdb.ErrorCodeResourceNotFound):
		return 0, nil
	case err != nil:
		return 0, readError(stream, err)
	}
	return int64(last.Event.EventNumber) + 1, nil
}

// positionOf reads the position of the event at revision of stream.
func (s *Store) positionOf(ctx context.Context, stream string, revision uint64) (eventstore.Position, error) {
	events, err := s.readStream(ctx, stream, esdb.Revision(revision), 1)
	if err != nil {
		return eventstore.Position{}, err
	}
	if len(events) != 1 {
		return eventstore.Position{}, fmt.Errorf("append to %s: event %d not found after the server acknowledged it", stream, revision+1)
	}
	return events[0].Position, nil
}

func hasCode(err error, code esdb.ErrorCode) bool {
	var e *esdb.Error
	return errors.As(err, &e) && e.Code() == code
}

// wholeStream is the count of a read meant to reach the stream's end.
const wholeStream = ^uint64(0) >> 1

func (s *Store) ReadStream(ctx context.Context, stream string) ([]eventstore.Event, error) {
	return s.readStream(ctx, stream, esdb.Start{}, wholeStream)
}

// ReadStreamAfter returns the events of stream with a version above after: from the revision after on.
func (s *Store) ReadStreamAfter(ctx context.Context, stream string, after int64) ([]eventstore.Event, error) {
	if after <= 0 {
		return s.ReadStream(ctx, stream)
	}
	return s.readStream(ctx, stream, esdb.Revision(uint64(after)), wholeStream)
}

// readStream reads up to count events of stream forwards from from; a stream not found has none.
func (s *Store) readStream(ctx context.Context, stream string, from esdb.StreamPosition, count uint64) ([]eventstore.Event, error) {
	read, err := s.client.ReadStream(ctx, stream, esdb.ReadStreamOptions{From: from}, count)
	if err != nil {
		return nil, readError(stream, err)
	}
	defer read.Close()
	var out []eventstore.Event
	for {
		resolved, err := read.Recv()
		if errors.Is(err, io.EOF) || hasCode(err, esdb.ErrorCodeResourceNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, readError(stream, err)
		}
		e, err := toEvent(resolved.Event)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
}

func readError(stream string, err error) error {
	if hasCode(err, esdb.ErrorCodeStreamDeleted) {
		err = ErrStreamDeleted
	}
	return fmt.Errorf("read stream %s: %w", stream, err)
}

// ReadAll returns up to limit of our events after the given position in $all, leaving out the server's
// own (system) events. $all is read in batches from the position, which a read includes.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Event, error) {
	out := make([]eventstore.Event, 0, min(limit, 1000))
	from := after
	batch := uint64(max(limit, 64)) + 1
	for len(out) < limit {
		read, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{From: allPosition(from)}, batch)
		if err != nil {
			return nil, fmt.Errorf("read all: %w", err)
		}
		n, err := receiveAll(read, func(r *esdb.RecordedEvent) error {
			p := position(r.Position)
			if !after.Less(p) {
				return nil // the position read from, or before it
			}
			from = p
			if isSystem(r) || len(out) == limit {
				return nil
			}
			e, err := toEvent(r)
			out = append(out, e)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("read all: %w", err)
		}
		if uint64(n) < batch {
			break
		}
		after = from
	}
	return out, nil
}

// receiveAll hands every event of read to each and returns how many there were.
func receiveAll(read *esdb.ReadStream, each func(*esdb.RecordedEvent) error) (int, error) {
	defer read.Close()
	n := 0
	for {
		resolved, err := read.Recv()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
		if err := each(resolved.Event); err != nil {
			return n, err
		}
	}
}

// Subscribe follows $all after the given position with a catch-up subscription: the server sends what is
// stored, then new events as they are written. A subscription the server drops because it became
// unavailable (a restart, a leader change) is made again from the last event handled.
func (s *Store) Subscribe(ctx context.Context, after eventstore.Position, handle func(eventstore.Event) error) error {
	for {
		err := s.subscribeOnce(ctx, &after, handle)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if status.Code(err) != codes.Unavailable {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// errDropped wraps the reason the server gave for dropping a subscription.
type errDropped struct{ cause error }

func (e errDropped) Error() string { return "subscription to $all dropped: " + e.cause.Error() }
func (e errDropped) Unwrap() error { return e.cause }

func (s *Store) subscribeOnce(ctx context.Context, after *eventstore.Position, handle func(eventstore.Event) error) error {
	sub, err := s.client.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: allPosition(*after)})
	if err != nil {
		return fmt.Errorf("subscribe to $all: %w", err)
	}
	defer sub.Close()
	for {
		got := sub.Recv()
		switch {
		case got.SubscriptionDropped != nil:
			return errDropped{cause: got.SubscriptionDropped.Error}
		case got.EventAppeared == nil:
			continue // caught up, checkpoints
		}
		r := got.EventAppeared.Event
		if isSystem(r) {
			continue
		}
		e, err := toEvent(r)
		if err != nil {
			return err
		}
		if err := handle(e); err != nil {
			return err
		}
		*after = e.Position
	}
}

func (s *Store) Secret(ctx context.Context, key string) ([]byte, bool, error) {
	return s.secrets.Secret(ctx, key)
}

// allPosition is where in $all a read or subscription starts: the beginning for the zero position.
func allPosition(p eventstore.Position) esdb.AllPosition {
	if p.IsZero() {
		return esdb.Start{}
	}
	return esdb.Position{Commit: p.TxID, Prepare: uint64(p.Seq)}
}

func position(p esdb.Position) eventstore.Position {
	return eventstore.Position{TxID: p.Commit, Seq: int64(p.Prepare)}
}

// isSystem reports the server's own events ($-prefixed types and streams: statistics, metadata,
// tombstones), which are not ours to deliver.
func isSystem(r *esdb.RecordedEvent) bool {
	return strings.HasPrefix(r.EventType, "$") || strings.HasPrefix(r.StreamID, "$")
}

func toEvent(r *esdb.RecordedEvent) (eventstore.Event, error) {
	var meta storedMetadata
	if err := json.Unmarshal(r.UserMetadata, &meta); err != nil {
		return eventstore.Event{}, fmt.Errorf("event %s of %s: metadata: %w", r.EventID, r.StreamID, err)
	}
	return eventstore.Event{
		ID: ulid.ULID(r.EventID), Stream: r.StreamID, Version: int64(r.EventNumber) + 1, Position: position(r.Position),
		Type: r.EventType, SchemaVersion: meta.SchemaVersion, Data: r.Data, Metadata: meta.Metadata, RecordedAt: r.CreatedDate.UTC(),
	}, nil
}
