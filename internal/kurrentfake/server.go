// Package kurrentfake is an in-process KurrentDB (EventStoreDB) for tests, where no real server can be
// installed. It is a gRPC server built from the client module's own generated service interfaces
// (EventStore-Client-Go/v4/protos/streams and serverfeatures), and it answers the calls the client makes
// as the server's protocol documentation describes them: appends with an expected revision (any, no
// stream, stream exists, exact), a wrong expected version with the stream's current revision, the
// idempotent re-append of the same event ids at the same place (success, nothing written, no position),
// reads of a stream (stream not found; a tombstoned stream is an error with the "stream-deleted"
// trailer), reads and catch-up subscriptions of $all ordered by (commit, prepare) position, and
// tombstones. $all holds system events too (a statistics event at start, a $streamDeleted tombstone),
// as a real server's does, so a reader must leave them out.
//
// What it does not model: clusters and gossip, leader elections, authentication, soft deletes, stream
// metadata, persistent subscriptions, server-side filters, and KurrentDB's on-disk behaviour (scavenging,
// caches: its idempotence for Any looks at the whole stream, where a real server looks at a cache of
// recent appends).
package kurrentfake

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Server is a running fake KurrentDB node.
type Server struct {
	api.UnimplementedStreamsServer
	serverfeatures.UnimplementedServerFeaturesServer

	addr string
	grpc *grpc.Server

	mu      sync.Mutex
	log     []record
	streams map[string]*stream
	next    uint64        // the log position the next record is written at
	changed chan struct{} // closed and replaced on every write
}

type record struct {
	id             *shared.UUID
	stream         string
	revision       uint64
	eventType      string
	contentType    string
	customMetadata []byte
	data           []byte
	commit         uint64
	prepare        uint64
	created        time.Time
}

type stream struct {
	records    []int // indexes into log, by revision
	tombstoned bool
}

// Start runs a fake node on a free port of 127.0.0.1 until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{addr: lis.Addr().String(), grpc: grpc.NewServer(), streams: map[string]*stream{},
		next: 4096, changed: make(chan struct{})}
	// A real node's $all starts with system events of its own.
	s.write("$stats-"+s.addr, []*api.AppendReq_ProposedMessage{systemEvent("$statistics-collected")})
	api.RegisterStreamsServer(s.grpc, s)
	serverfeatures.RegisterServerFeaturesServer(s.grpc, s)
	go func() { _ = s.grpc.Serve(lis) }()
	t.Cleanup(s.grpc.Stop)
	return s
}

// URL is the connection string of the node, without TLS.
func (s *Server) URL() string { return "esdb://" + s.addr + "?tls=false" }

// GetSupportedMethods is what the client asks first on connecting, to learn the node's version.
func (s *Server) GetSupportedMethods(context.Context, *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	methods := []*serverfeatures.SupportedMethod{}
	for _, m := range []string{"read", "append", "tombstone"} {
		methods = append(methods, &serverfeatures.SupportedMethod{MethodName: m, ServiceName: "event_store.client.streams.streams"})
	}
	return &serverfeatures.SupportedMethods{Methods: methods, EventStoreServerVersion: "24.10.0"}, nil
}

// Append takes the options, then the proposed events, and answers once the client closes its side.
func (s *Server) Append(call api.Streams_AppendServer) error {
	first, err := call.Recv()
	if err != nil {
		return err
	}
	options := first.GetOptions()
	if options == nil {
		return status.Error(codes.InvalidArgument, "the first message of an append carries its options")
	}
	var proposed []*api.AppendReq_ProposedMessage
	for {
		req, err := call.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		proposed = append(proposed, req.GetProposedMessage())
	}
	name := string(options.GetStreamIdentifier().GetStreamName())
	resp, err := s.appendTo(call.Context(), name, options, proposed)
	if err != nil {
		return err
	}
	return call.SendAndClose(resp)
}

func (s *Server) appendTo(ctx context.Context, name string, options *api.AppendReq_Options, proposed []*api.AppendReq_ProposedMessage) (*api.AppendResp, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streams[name]
	if st != nil && st.tombstoned {
		return nil, streamDeleted(ctx, name)
	}
	current := int64(-1) // the revision of the stream's last event; -1: no stream
	if st != nil {
		current = int64(len(st.records)) - 1
	}
	var expected int64
	switch options.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_Any:
		if revision, ok := s.idempotentForAny(st, proposed); ok {
			return success(uint64(revision)+uint64(len(proposed))-1, nil), nil
		} else if revision >= 0 {
			return wrongExpectedVersion(options, current), nil // the first event matched, a later one did not
		}
		expected = current
	case *api.AppendReq_Options_StreamExists:
		if current < 0 {
			return wrongExpectedVersion(options, current), nil
		}
		expected = current
	case *api.AppendReq_Options_NoStream:
		expected = -1
	case *api.AppendReq_Options_Revision:
		expected = int64(options.GetRevision())
	default:
		return nil, status.Error(codes.InvalidArgument, "an append needs an expected stream revision")
	}
	switch {
	case expected == current && len(proposed) == 0:
		return success(uint64(max(current, 0)), nil), nil
	case expected == current:
		last := s.write(name, proposed)
		return success(last.revision, &last), nil
	case expected < current && s.sameEventsAt(st, expected+1, proposed):
		return success(uint64(expected+int64(len(proposed))), nil), nil
	default:
		return wrongExpectedVersion(options, current), nil
	}
}

// idempotentForAny recognises, for an append with expected revision Any, events already written: the
// first proposed id found in the stream and every following one matching. It returns the revision of the
// first event found (-1 when none is) and whether all matched.
func (s *Server) idempotentForAny(st *stream, proposed []*api.AppendReq_ProposedMessage) (int64, bool) {
	if st == nil || len(proposed) == 0 {
		return -1, false
	}
	for revision, i := range st.records {
		if sameID(s.log[i].id, proposed[0].GetId()) {
			return int64(revision), s.sameEventsAt(st, int64(revision), proposed)
		}
	}
	return -1, false
}

// sameEventsAt reports whether the stream holds the proposed events' ids from revision from on.
func (s *Server) sameEventsAt(st *stream, from int64, proposed []*api.AppendReq_ProposedMessage) bool {
	if st == nil || from < 0 || from+int64(len(proposed)) > int64(len(st.records)) {
		return false
	}
	for i, p := range proposed {
		if !sameID(s.log[st.records[from+int64(i)]].id, p.GetId()) {
			return false
		}
	}
	return true
}

func sameID(a, b *shared.UUID) bool {
	as, bs := a.GetStructured(), b.GetStructured()
	if as != nil && bs != nil {
		return as.MostSignificantBits == bs.MostSignificantBits && as.LeastSignificantBits == bs.LeastSignificantBits
	}
	return a.GetString_() != "" && a.GetString_() == b.GetString_()
}

// write appends events to a stream, the caller holding the lock, and returns the last. The events of one
// append share its commit position, each at its own prepare position, as in a real node's log.
func (s *Server) write(name string, proposed []*api.AppendReq_ProposedMessage) record {
	st := s.streams[name]
	if st == nil {
		st = &stream{}
		s.streams[name] = st
	}
	prepares := make([]uint64, len(proposed))
	for i, p := range proposed {
		prepares[i] = s.next
		s.next += uint64(len(p.GetData())+len(p.GetCustomMetadata())) + 128
	}
	commit := prepares[len(prepares)-1]
	now := time.Now().UTC()
	for i, p := range proposed {
		st.records = append(st.records, len(s.log))
		s.log = append(s.log, record{
			id: p.GetId(), stream: name, revision: uint64(len(st.records) - 1),
			eventType: p.GetMetadata()["type"], contentType: p.GetMetadata()["content-type"],
			customMetadata: p.GetCustomMetadata(), data: p.GetData(),
			commit: commit, prepare: prepares[i], created: now,
		})
	}
	close(s.changed)
	s.changed = make(chan struct{})
	return s.log[len(s.log)-1]
}

func success(revision uint64, written *record) *api.AppendResp {
	ok := &api.AppendResp_Success{CurrentRevisionOption: &api.AppendResp_Success_CurrentRevision{CurrentRevision: revision}}
	if written == nil {
		ok.PositionOption = &api.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}}
	} else {
		ok.PositionOption = &api.AppendResp_Success_Position{Position: &api.AppendResp_Position{
			CommitPosition: written.commit, PreparePosition: written.prepare}}
	}
	return &api.AppendResp{Result: &api.AppendResp_Success_{Success: ok}}
}

func wrongExpectedVersion(options *api.AppendReq_Options, current int64) *api.AppendResp {
	wrong := &api.AppendResp_WrongExpectedVersion{}
	if current < 0 {
		wrong.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
		wrong.CurrentRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_NoStream_20_6_0{NoStream_20_6_0: &shared.Empty{}}
	} else {
		wrong.CurrentRevisionOption = &api.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: uint64(current)}
		wrong.CurrentRevisionOption_20_6_0 = &api.AppendResp_WrongExpectedVersion_CurrentRevision_20_6_0{CurrentRevision_20_6_0: uint64(current)}
	}
	switch options.GetExpectedStreamRevision().(type) {
	case *api.AppendReq_Options_Any:
		wrong.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
	case *api.AppendReq_Options_StreamExists:
		wrong.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
	case *api.AppendReq_Options_NoStream:
		wrong.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
	default:
		wrong.ExpectedRevisionOption = &api.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: options.GetRevision()}
	}
	return &api.AppendResp{Result: &api.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: wrong}}
}

// streamDeleted is the error a node answers for a tombstoned stream: the client recognises it by the
// "exception" trailer.
func streamDeleted(ctx context.Context, name string) error {
	_ = grpc.SetTrailer(ctx, metadata.Pairs("exception", "stream-deleted", "stream-name", name))
	return status.Errorf(codes.FailedPrecondition, "Event stream '%s' is deleted.", name)
}

// Tombstone deletes a stream for good: its name can never be written again, and reading it is an error.
func (s *Server) Tombstone(ctx context.Context, req *api.TombstoneReq) (*api.TombstoneResp, error) {
	name := string(req.GetOptions().GetStreamIdentifier().GetStreamName())
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.streams[name]; st != nil && st.tombstoned {
		return nil, streamDeleted(ctx, name)
	}
	last := s.write(name, []*api.AppendReq_ProposedMessage{systemEvent("$streamDeleted")})
	s.streams[name].tombstoned = true
	return &api.TombstoneResp{PositionOption: &api.TombstoneResp_Position_{Position: &api.TombstoneResp_Position{
		CommitPosition: last.commit, PreparePosition: last.prepare}}}, nil
}

func systemEvent(eventType string) *api.AppendReq_ProposedMessage {
	id := uuid.New()
	return &api.AppendReq_ProposedMessage{
		Id: &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
			MostSignificantBits:  int64(binary.BigEndian.Uint64(id[:8])),
			LeastSignificantBits: int64(binary.BigEndian.Uint64(id[8:])),
		}}},
		Metadata: map[string]string{"type": eventType, "content-type": "application/json"},
		Data:     []byte(`{}`),
	}
}

// Read reads a stream or $all, a number of events or as a catch-up subscription.
func (s *Server) Read(req *api.ReadReq, call api.Streams_ReadServer) error {
	o := req.GetOptions()
	forwards := o.GetReadDirection() == api.ReadReq_Options_Forwards
	switch {
	case o.GetStream() != nil && o.GetSubscription() == nil:
		return s.readStream(call, o.GetStream(), forwards, o.GetCount())
	case o.GetAll() != nil && o.GetSubscription() == nil && forwards:
		return s.readAll(call, o.GetAll(), o.GetCount())
	case o.GetAll() != nil && o.GetSubscription() != nil:
		if o.GetFilter() != nil {
			return status.Error(codes.Unimplemented, "kurrentfake: server-side filters are not modelled")
		}
		return s.subscribeToAll(call, o.GetAll())
	default:
		return status.Error(codes.Unimplemented, "kurrentfake: this read is not modelled")
	}
}

func (s *Server) readStream(call api.Streams_ReadServer, o *api.ReadReq_Options_StreamOptions, forwards bool, count uint64) error {
	name := string(o.GetStreamIdentifier().GetStreamName())
	s.mu.Lock()
	st := s.streams[name]
	if st != nil && st.tombstoned {
		s.mu.Unlock()
		return streamDeleted(call.Context(), name)
	}
	if st == nil {
		s.mu.Unlock()
		return call.Send(&api.ReadResp{Content: &api.ReadResp_StreamNotFound_{StreamNotFound: &api.ReadResp_StreamNotFound{
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(name)}}}})
	}
	var out []record
	n := int64(len(st.records))
	from := int64(0)
	switch {
	case o.GetEnd() != nil:
		from = n - 1
	case o.GetStart() == nil:
		from = int64(o.GetRevision())
	case !forwards:
		from = -1 // backwards from the start: nothing before it
	}
	step := int64(1)
	if !forwards {
		step = -1
		from = min(from, n-1)
	}
	for r := from; r >= 0 && r < n && uint64(len(out)) < count; r += step {
		out = append(out, s.log[st.records[r]])
	}
	s.mu.Unlock()
	return sendAll(call, out)
}

// readAll sends up to count events of $all from a position on, that position included.
func (s *Server) readAll(call api.Streams_ReadServer, o *api.ReadReq_Options_AllOptions, count uint64) error {
	if o.GetEnd() != nil {
		return nil
	}
	s.mu.Lock()
	start := s.indexFrom(o, true)
	end := min(uint64(len(s.log)), uint64(start)+count)
	out := append([]record(nil), s.log[start:end]...)
	s.mu.Unlock()
	return sendAll(call, out)
}

// indexFrom is the index in the log of the first event at or (when inclusive is false) after the
// position o names.
func (s *Server) indexFrom(o *api.ReadReq_Options_AllOptions, inclusive bool) int {
	switch {
	case o.GetStart() != nil:
		return 0
	case o.GetEnd() != nil:
		return len(s.log)
	}
	p := o.GetPosition()
	for i, r := range s.log {
		if r.commit > p.GetCommitPosition() || (r.commit == p.GetCommitPosition() && r.prepare > p.GetPreparePosition()) ||
			(inclusive && r.commit == p.GetCommitPosition() && r.prepare == p.GetPreparePosition()) {
			return i
		}
	}
	return len(s.log)
}

// subscribeToAll confirms the subscription, sends the events after its position, says it caught up, and
// then sends every new event until the client goes away.
func (s *Server) subscribeToAll(call api.Streams_ReadServer, o *api.ReadReq_Options_AllOptions) error {
	if err := call.Send(&api.ReadResp{Content: &api.ReadResp_Confirmation{Confirmation: &api.ReadResp_SubscriptionConfirmation{
		SubscriptionId: fmt.Sprintf("kurrentfake-%d", time.Now().UnixNano())}}}); err != nil {
		return err
	}
	s.mu.Lock()
	next := s.indexFrom(o, false)
	s.mu.Unlock()
	caughtUp := false
	for {
		s.mu.Lock()
		batch := append([]record(nil), s.log[next:]...)
		changed := s.changed
		s.mu.Unlock()
		if err := sendAll(call, batch); err != nil {
			return err
		}
		next += len(batch)
		if !caughtUp {
			caughtUp = true
			if err := call.Send(&api.ReadResp{Content: &api.ReadResp_CaughtUp_{CaughtUp: &api.ReadResp_CaughtUp{}}}); err != nil {
				return err
			}
		}
		select {
		case <-call.Context().Done():
			return nil
		case <-changed:
		}
	}
}

func sendAll(call api.Streams_ReadServer, records []record) error {
	for _, r := range records {
		if err := call.Send(readEvent(r)); err != nil {
			return err
		}
	}
	return nil
}

// readEvent is a record as the node sends it; "created" is in .NET ticks (100 ns) since the Unix epoch.
func readEvent(r record) *api.ReadResp {
	return &api.ReadResp{Content: &api.ReadResp_Event{Event: &api.ReadResp_ReadEvent{
		Event: &api.ReadResp_ReadEvent_RecordedEvent{
			Id:               r.id,
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(r.stream)},
			StreamRevision:   r.revision,
			PreparePosition:  r.prepare,
			CommitPosition:   r.commit,
			Metadata: map[string]string{"type": r.eventType, "content-type": r.contentType,
				"created": strconv.FormatInt(r.created.UnixNano()/100, 10)},
			CustomMetadata: r.customMetadata,
			Data:           r.data,
		},
		Position: &api.ReadResp_ReadEvent_CommitPosition{CommitPosition: r.commit},
	}}}
}
