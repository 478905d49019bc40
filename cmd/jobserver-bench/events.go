package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// benchJobStatusChanged is shaped like the events the server records most (a job's status as a runner
// reports it), so rows have a realistic size: about 150 bytes of data and 80 of metadata.
type benchJobStatusChanged struct {
	JobID         string `json:"job_id"`
	Status        string `json:"status"`
	StatusCode    string `json:"status_code"`
	StatusMessage string `json:"status_message"`
	Step          int    `json:"step"`
}

func (benchJobStatusChanged) EventType() string { return "BenchJobStatusChanged" }

var registry = domain.NewRegistry(domain.Type[benchJobStatusChanged]())

// newEvent builds the step-th event of a stream, the way a command handler would: a fresh ULID, the
// encoded payload and metadata.
func newEvent(stream string, step int) eventstore.NewEvent {
	name, version, data, err := registry.Encode(benchJobStatusChanged{
		JobID:         stream,
		Status:        "running",
		StatusCode:    "executing",
		StatusMessage: fmt.Sprintf("Executing job on backend test (step %d)", step),
		Step:          step,
	})
	if err != nil {
		panic(err) // the type is registered above: this cannot fail
	}
	now := time.Now()
	return eventstore.NewEvent{
		ID: domain.NewULID(now), Type: name, SchemaVersion: version, Data: data,
		Metadata: eventstore.Metadata{Actor: "backend:test", CorrelationID: domain.NewID(now)},
	}
}

// rawRow is an event as the raw insert writes it: the same values the store would write.
type rawRow struct {
	eventID       [16]byte
	stream        string
	version       int64
	eventType     string
	schemaVersion int32
	data          []byte
	metadata      []byte
}

func newRawRow(stream string, version int64) rawRow {
	e := newEvent(stream, int(version))
	meta, err := json.Marshal(e.Metadata)
	if err != nil {
		panic(err) // a struct of strings always marshals
	}
	return rawRow{
		eventID: e.ID, stream: stream, version: version, eventType: e.Type,
		schemaVersion: int32(e.SchemaVersion), data: e.Data, metadata: meta,
	}
}

// streamSet is one writer's own streams, each with the version the writer appended last, so every append
// names an exact expected version and never races another writer.
type streamSet struct {
	names    []string
	versions []int64
	next     int
}

func newStreamSet(n int) *streamSet {
	s := &streamSet{names: make([]string, n), versions: make([]int64, n)}
	for i := range s.names {
		s.names[i] = newStreamName()
	}
	return s
}

// newStreamName names a stream the way the server names a job's.
func newStreamName() string { return "job-" + domain.NewID(time.Now()) }

// pick returns the next stream in turn and its current version.
func (s *streamSet) pick() (index int, name string, version int64) {
	i := s.next % len(s.names)
	s.next++
	return i, s.names[i], s.versions[i]
}

func (s *streamSet) appended(index int) { s.versions[index]++ }
