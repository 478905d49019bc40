package pgstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/kurrentdb"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/eventstore/storetest"
	"github.com/mediciasafely/jobserver/internal/kurrentfake"
	"github.com/mediciasafely/jobserver/internal/pgtest"
)

// mirrored is a KurrentDB log of record (the in-process gRPC fake) and the Postgres store it is copied to.
type mirrored struct {
	remote *kurrentdb.Store
	local  *pgstore.Store
	mirror *pgstore.Mirror
}

func newMirrored(t testing.TB) mirrored {
	t.Helper()
	pool := pgtest.NewPool(t)
	remote, err := kurrentdb.Open(kurrentfake.Start(t).URL(), pgstore.NewSecrets(pool))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = remote.Close() })
	local := pgstore.New(pool)
	t.Cleanup(local.Close)
	mirror := pgstore.NewMirror(remote, local)
	if err := mirror.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	return mirrored{remote: remote, local: local, mirror: mirror}
}

// appendEvents appends n events to stream in KurrentDB, one append each, and returns the last one's position.
func (m mirrored) appendEvents(t testing.TB, stream string, n int) eventstore.Position {
	t.Helper()
	var last eventstore.Position
	for i := 0; i < n; i++ {
		res, err := m.remote.Append(context.Background(), []eventstore.Append{{Stream: stream, Expected: eventstore.Any,
			Events: []eventstore.NewEvent{storetest.Event("Counted", fmt.Sprintf(`{"n":%d}`, i))}}})
		if err != nil {
			t.Fatal(err)
		}
		last = res.Last
	}
	return last
}

// run runs the mirror until the returned stop is called, and returns what the run ended with.
func (m mirrored) run(t testing.TB) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan error, 1)
	go func() { ended <- m.mirror.Run(ctx) }()
	t.Cleanup(cancel)
	return func() error {
		cancel()
		return <-ended
	}
}

// waitCopied waits until the mirror has copied the event at pos, and returns where the copy lies.
func (m mirrored) waitCopied(t testing.TB, pos eventstore.Position) eventstore.Position {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	local, err := m.mirror.WaitCopied(ctx, pos)
	if err != nil {
		t.Fatal(err)
	}
	return local
}

func TestTheMirrorCopiesKurrentDBIntoTheEventsTableInItsOrderAndResumesFromItsCheckpoint(t *testing.T) {
	t.Parallel()
	m := newMirrored(t)
	ctx := context.Background()
	// Events already in KurrentDB when the mirror starts, interleaved across streams.
	m.appendEvents(t, "a", 3)
	m.appendEvents(t, "b", 2)
	stop := m.run(t)
	// Events appended while it runs.
	last := m.appendEvents(t, "a", 2)
	local := m.waitCopied(t, last)
	pgtest.WaitVisible(t, m.local, local)

	want, err := m.remote.ReadAll(ctx, eventstore.Position{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.local.ReadAll(ctx, eventstore.Position{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 7 || len(want) != 7 {
		t.Fatalf("the events table holds %d events, KurrentDB %d; want 7 each", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if g.ID != w.ID || g.Stream != w.Stream || g.Version != w.Version || g.Type != w.Type || !sameJSON(t, g.Data, w.Data) ||
			g.Metadata != w.Metadata || g.SchemaVersion != w.SchemaVersion || !g.RecordedAt.Equal(w.RecordedAt.Truncate(time.Microsecond)) {
			t.Errorf("event %d copied as %+v, want %+v", i+1, g, w)
		}
	}
	if got[6].Position != local {
		t.Errorf("WaitCopied answered %v; the last copy lies at %v", local, got[6].Position)
	}
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("a stopped mirror ended with %v", err)
	}

	// Appended while no mirror runs; the next run resumes after the checkpoint and copies each once.
	last = m.appendEvents(t, "b", 3)
	m.run(t)
	pgtest.WaitVisible(t, m.local, m.waitCopied(t, last))
	if n, err := m.mirror.Compare(ctx); err != nil || n != 10 {
		t.Errorf("compared %d events (%v); want the 10 of KurrentDB, equal", n, err)
	}
	if got, _ := m.local.ReadAll(ctx, eventstore.Position{}, 100); len(got) != 10 {
		t.Errorf("the events table holds %d events after the restart; want 10", len(got))
	}
}

// TestTwoMirrorRunsNeverCopyAnEventTwice: the exclusive job's lock does not fence writes, so a run that
// lost it may still be copying when another starts; the checkpoint each batch locks makes them take turns.
func TestTwoMirrorRunsNeverCopyAnEventTwice(t *testing.T) {
	t.Parallel()
	m := newMirrored(t)
	ctx := context.Background()
	m.appendEvents(t, "a", 50)
	stopFirst, stopSecond := m.run(t), m.run(t)
	last := m.appendEvents(t, "b", 50)
	pgtest.WaitVisible(t, m.local, m.waitCopied(t, last))
	first, second := stopFirst(), stopSecond()
	for _, err := range []error{first, second} {
		if !errors.Is(err, context.Canceled) && !errors.Is(err, pgstore.ErrMirrorMoved) {
			t.Errorf("a mirror run ended with %v; want it stopped, or stopped by the other's checkpoint", err)
		}
	}
	if n, err := m.mirror.Compare(ctx); err != nil || n != 100 {
		t.Errorf("compared %d events (%v); want the 100 of KurrentDB, each once", n, err)
	}
}

// TestCompareFindsAnEventTheEventsTableDoesNotHave: verify's check of the mirror can fail.
func TestCompareFindsAnEventTheEventsTableDoesNotHave(t *testing.T) {
	t.Parallel()
	m := newMirrored(t)
	m.run(t)
	m.waitCopied(t, m.appendEvents(t, "a", 2))
	// An event written to the events table behind the mirror's back, before the next copy.
	if _, err := m.local.Append(context.Background(), []eventstore.Append{{Stream: "stray", Expected: eventstore.NoStream,
		Events: []eventstore.NewEvent{storetest.Event("Stray", `{}`)}}}); err != nil {
		t.Fatal(err)
	}
	pgtest.WaitVisible(t, m.local, m.waitCopied(t, m.appendEvents(t, "a", 1)))
	if _, err := m.mirror.Compare(context.Background()); !errors.Is(err, pgstore.ErrMirrorDiffers) {
		t.Errorf("Compare answered %v; want ErrMirrorDiffers", err)
	}
}

// sameJSON reports whether a and b are the same JSON value (jsonb keeps its own spacing and key order).
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

// BenchmarkMirrorCatchUp is the mirror's catch-up rate: 5,000 events already in KurrentDB (the in-process
// fake, which bounds the figure: a real cluster answers over the network) copied into the events table.
// Run with -benchtime=1x; each run starts on a fresh database.
func BenchmarkMirrorCatchUp(b *testing.B) {
	const appends, perAppend = 100, 50
	for range b.N {
		b.StopTimer()
		m := newMirrored(b)
		var last eventstore.Position
		for i := range appends {
			events := make([]eventstore.NewEvent, perAppend)
			for j := range events {
				events[j] = storetest.Event("Counted", fmt.Sprintf(`{"n":%d}`, j))
			}
			res, err := m.remote.Append(context.Background(), []eventstore.Append{{Stream: fmt.Sprintf("s-%d", i), Expected: eventstore.NoStream, Events: events}})
			if err != nil {
				b.Fatal(err)
			}
			last = res.Last
		}
		b.StartTimer()
		start := time.Now()
		stop := m.run(b)
		m.waitCopied(b, last)
		b.ReportMetric(appends*perAppend/time.Since(start).Seconds(), "events/s")
		b.StopTimer()
		_ = stop()
	}
}

// TestTheMirrorsMetricsSayWhatItLastCopiedAndThatARunFailed runs alone (the metrics are the process's).
func TestTheMirrorsMetricsSayWhatItLastCopiedAndThatARunFailed(t *testing.T) {
	m := newMirrored(t)
	ctx := context.Background()
	stop := m.run(t)
	m.waitCopied(t, m.appendEvents(t, "a", 1))
	_ = stop()
	events, err := m.remote.ReadAll(ctx, eventstore.Position{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := metricValue(t, "jobserver_log_mirror_last_copied_timestamp_seconds"), float64(events[0].RecordedAt.UnixMicro())/1e6; got != want {
		t.Errorf("last copied at %f, want the event's recording time %f", got, want)
	}

	failures := metricValue(t, "jobserver_log_mirror_failures_total")
	_ = m.remote.Close() // KurrentDB unreachable: the run stops on its error
	if err := m.mirror.Run(ctx); err == nil {
		t.Fatal("a mirror without its log of record ran")
	}
	if got := metricValue(t, "jobserver_log_mirror_failures_total"); got != failures+1 {
		t.Errorf("failures went from %v to %v; want one more", failures, got)
	}
}

// metricValue reads a counter's or gauge's value from the default registry.
func metricValue(t *testing.T, name string) float64 {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			if c := f.GetMetric()[0].GetCounter(); c != nil {
				return c.GetValue()
			}
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
