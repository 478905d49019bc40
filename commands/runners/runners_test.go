package runners_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/runners"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

const (
	requestID = "abcdefgh23456789"
	otherID   = "bcdefgh234567892"
)

func setup(t *testing.T) (*eventstore.Memory, *commands.EventLog, *runners.Commands) {
	t.Helper()
	store := eventstore.NewMemory()
	log := commands.NewEventLog(store, domain.Events, time.Now)
	ctx := context.Background()
	_, err := log.Append(ctx, commands.CLIActor, []commands.Write{
		{Stream: domain.BackendStream("b1"), Expected: eventstore.NoStream, Events: []domain.Event{domain.BackendCreated{BackendID: "b1", Slug: "tpp", Name: "TPP"}}},
		{Stream: domain.BackendStream("b2"), Expected: eventstore.NoStream, Events: []domain.Event{domain.BackendCreated{BackendID: "b2", Slug: "emis", Name: "EMIS"}}},
		{Stream: domain.JobRequestStream(requestID), Expected: eventstore.NoStream, Events: []domain.Event{domain.JobRequested{
			JobRequestID: requestID, WorkspaceID: "w1", ProjectID: "p1", BackendID: "b1", RequestedActions: []string{"analyse"}, RequestedBy: "u1"}}},
		{Stream: domain.JobRequestStream(otherID), Expected: eventstore.NoStream, Events: []domain.Event{domain.JobRequested{
			JobRequestID: otherID, WorkspaceID: "w1", ProjectID: "p1", BackendID: "b2", RequestedActions: []string{"analyse"}, RequestedBy: "u1"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return store, log, runners.New(commands.Kit{Log: log})
}

func ts(s string) *time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return &t
}

func job(id, reqID, status, code string) domain.JobReport {
	return domain.JobReport{JobID: id, JobRequestID: reqID, Action: "analyse", RunCommand: "python:v2 analysis/analyse.py",
		Status: status, StatusCode: code, StatusMessage: "msg " + code, CreatedAt: *ts("2026-11-24T19:04:38Z"),
		UpdatedAt: ts("2026-11-24T19:04:38.5+01:00"), TraceContext: map[string]any{"traceparent": "00-aa-bb-01"},
		Metrics: map[string]any{"cpu_mean": 12.5, "mem_mb_peak": 300, "container_id": "c1"}}
}

func streamTypes(t *testing.T, store eventstore.Store, stream string) []string {
	t.Helper()
	events, err := store.ReadStream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range events {
		types = append(types, e.Type)
	}
	return types
}

func TestRecordJobStatusesAppendsOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	store, _, r := setup(t)
	ctx := context.Background()
	report := runners.RecordJobStatuses{BackendID: "b1", Jobs: []domain.JobReport{
		job("j1", requestID, "pending", "created"), job("j2", requestID, "pending", "created"),
		job("j3", "unknownunknown22", "failed", "internal_error"), job("j4", otherID, "pending", "created"),
	}}
	got, err := r.RecordJobStatuses.Handle(ctx, report)
	if err != nil {
		t.Fatal(err)
	}
	if got.Events != 2 || len(got.Updated) != 1 || len(got.Ignored) != 2 {
		t.Fatalf("first report: %+v", got)
	}
	// A fresh event log folds the stream from the store, as another server would: the JSON round trip of
	// times and metrics must still compare equal.
	fresh := runners.New(commands.Kit{Log: commands.NewEventLog(store, domain.Events, time.Now)})
	for _, rr := range []*runners.Commands{r, fresh} {
		again, err := rr.RecordJobStatuses.Handle(ctx, report)
		if err != nil || again.Changed() {
			t.Fatalf("the same report again: %+v, %v", again, err)
		}
	}
	report.Jobs[0] = job("j1", requestID, "succeeded", "succeeded")
	report.Jobs = report.Jobs[:1] // j2 is no longer reported
	got, err = fresh.RecordJobStatuses.Handle(ctx, report)
	if err != nil || got.Events != 2 {
		t.Fatalf("j1 done, j2 gone: %+v, %v", got, err)
	}
	want := []string{"JobRequested", "JobStatusChanged", "JobStatusChanged", "JobStatusChanged", "JobsRemoved"}
	if types := streamTypes(t, store, domain.JobRequestStream(requestID)); !equal(types, want) {
		t.Errorf("stream %q, want %q", types, want)
	}
	if types := streamTypes(t, store, domain.JobRequestStream(otherID)); len(types) != 1 {
		t.Errorf("another backend's request changed: %q", types)
	}
	events, _ := store.ReadStream(ctx, domain.JobRequestStream(requestID))
	if events[3].Metadata.Actor != "backend:b1" {
		t.Errorf("actor %q, want backend:b1", events[3].Metadata.Actor)
	}
}

// TestConcurrentIdenticalReports: runners re-send the same state; reports racing each other append each
// change once, and reports of different changes all land.
func TestConcurrentIdenticalReports(t *testing.T) {
	t.Parallel()
	store, log, _ := setup(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	report := runners.RecordJobStatuses{BackendID: "b1", Jobs: []domain.JobReport{
		job("j1", requestID, "running", "executing"), job("j2", requestID, "succeeded", "succeeded")}}
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each with its own event log, as on separate servers, so no cache hides the race.
			rr := runners.New(commands.Kit{Log: commands.NewEventLog(store, domain.Events, time.Now)})
			if _, err := rr.RecordJobStatuses.Handle(ctx, report); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	events, _ := store.ReadStream(ctx, domain.JobRequestStream(requestID))
	finished := 0
	for _, e := range events[1:] {
		var decoded, err = domain.Events.Decode(e.Type, e.SchemaVersion, e.Data)
		if err != nil {
			t.Fatal(err)
		}
		if c, ok := decoded.(domain.JobStatusChanged); ok && c.Finished {
			finished++
		}
	}
	if len(events) != 3 || finished != 1 {
		t.Errorf("%d events (want 3), %d finished (want 1)", len(events), finished)
	}

	// Two different updates at once: the later decision sees the earlier one; none is lost.
	a := runners.RecordJobStatuses{BackendID: "b1", Jobs: []domain.JobReport{
		job("j1", requestID, "running", "finalizing"), job("j2", requestID, "succeeded", "succeeded")}}
	b := runners.RecordJobStatuses{BackendID: "b1", Jobs: []domain.JobReport{
		job("j1", requestID, "succeeded", "succeeded"), job("j2", requestID, "succeeded", "succeeded")}}
	wg.Add(2)
	for _, cmd := range []runners.RecordJobStatuses{a, b} {
		go func() {
			defer wg.Done()
			rr := runners.New(commands.Kit{Log: commands.NewEventLog(store, domain.Events, time.Now)})
			if _, err := rr.RecordJobStatuses.Handle(ctx, cmd); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if events, _ = store.ReadStream(ctx, domain.JobRequestStream(requestID)); len(events) != 5 {
		t.Errorf("%d events after two different updates, want 5", len(events))
	}
	_ = log
}

func TestRecordFlags(t *testing.T) {
	t.Parallel()
	store, _, r := setup(t)
	ctx := context.Background()
	now := time.Now()
	flags := map[string]domain.RunnerFlag{"paused": {Value: "true", SetAt: now}, "mode": {Value: "", SetAt: now}}
	for i, want := range []int{1, 0} {
		got, err := r.RecordFlags.Handle(ctx, runners.RecordFlags{BackendID: "b1", Flags: flags})
		if err != nil || got.Events != want {
			t.Errorf("round %d: %+v %v, want %d events", i, got, err, want)
		}
	}
	if types := streamTypes(t, store, domain.BackendStream("b1")); len(types) != 2 || types[1] != "BackendFlagChanged" {
		t.Errorf("backend stream %q", types)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
