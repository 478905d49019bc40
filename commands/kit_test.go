package commands_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// countingStore counts the events it hands out for single streams.
type countingStore struct {
	*eventstore.Memory
	read int
}

func (s *countingStore) ReadStream(ctx context.Context, stream string) ([]eventstore.Event, error) {
	events, err := s.Memory.ReadStream(ctx, stream)
	s.read += len(events)
	return events, err
}

func (s *countingStore) ReadStreamAfter(ctx context.Context, stream string, after int64) ([]eventstore.Event, error) {
	events, err := s.Memory.ReadStreamAfter(ctx, stream, after)
	s.read += len(events)
	return events, err
}

// TestALongStreamIsFoldedOnceThenFromItsTail: a cloneable aggregate is folded from its first event once; the
// next loads start from the kept state and read only the newer events, and still see every change made by
// another writer.
func TestALongStreamIsFoldedOnceThenFromItsTail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := &countingStore{Memory: eventstore.NewMemory()}
	log := commands.NewEventLog(store, domain.Events, time.Now)
	stream := domain.ProjectStream("p1")
	events := []domain.Event{domain.ProjectCreated{ProjectID: "p1", Slug: "p1", Name: "P1"}}
	for i := range 1000 {
		events = append(events, domain.ProjectRenamed{ProjectID: "p1", Name: "Name " + string(rune('a'+i%26))})
	}
	if _, err := log.Append(ctx, commands.CLIActor, []commands.Write{{Stream: stream, Expected: eventstore.NoStream, Events: events}}); err != nil {
		t.Fatal(err)
	}

	p, version, err := commands.LoadAggregate[domain.Project](ctx, log, stream)
	if err != nil || version != 1001 || store.read != 1001 {
		t.Fatalf("first load: version %d, read %d, err %v", version, store.read, err)
	}
	// Another server appends; this log's kept state must not hide it.
	other := commands.NewEventLog(store.Memory, domain.Events, time.Now)
	if _, err := other.Append(ctx, commands.CLIActor, []commands.Write{{Stream: stream, Expected: eventstore.Exactly(1001),
		Events: []domain.Event{domain.ProjectRenamed{ProjectID: "p1", Name: "Latest"}}}}); err != nil {
		t.Fatal(err)
	}
	store.read = 0
	p, version, err = commands.LoadAggregate[domain.Project](ctx, log, stream)
	if err != nil || version != 1002 || p.Name() != "Latest" || store.read != 1 {
		t.Fatalf("second load: version %d, name %q, read %d events, err %v; want 1002, Latest, 1", version, p.Name(), store.read, err)
	}
	// What a caller does to its copy does not leak into the kept state.
	p.Apply(domain.ProjectRenamed{ProjectID: "p1", Name: "Scribbled"})
	if again, _, _ := commands.LoadAggregate[domain.Project](ctx, log, stream); again.Name() != "Latest" {
		t.Fatalf("kept state changed by a caller: %q", again.Name())
	}
}

type renameTo struct {
	commands.Actor
	Name string
}

// TestEveryCommandLogsOneLineAndCountsItsOutcome: the decorators write one structured line per command with
// who asked, the outcome, the time taken and the events appended, and count it by outcome.
func TestEveryCommandLogsOneLineAndCountsItsOutcome(t *testing.T) {
	t.Parallel()
	ctx := commands.WithCorrelationID(context.Background(), "req-42")
	var out bytes.Buffer
	log := commands.NewEventLog(eventstore.NewMemory(), domain.Events, time.Now)
	kit := commands.Kit{Log: log, Logger: slog.New(slog.NewJSONHandler(&out, nil))}
	stream := domain.ProjectStream("p1")
	if _, err := log.Append(ctx, commands.CLIActor, []commands.Write{{Stream: stream, Expected: eventstore.NoStream,
		Events: []domain.Event{domain.ProjectCreated{ProjectID: "p1", Slug: "p1", Name: "P1"}}}}); err != nil {
		t.Fatal(err)
	}
	rename := commands.NewHandler(kit, "TestRenameProject", func(ctx context.Context, cmd renameTo) (commands.Result, error) {
		return commands.Decide(ctx, log, cmd.Actor, stream, func(p *domain.Project, by domain.Actor) ([]domain.Event, error) {
			return p.Rename(by, cmd.Name)
		})
	})
	okBefore := counted(t, "TestRenameProject", "ok")
	forbiddenBefore := counted(t, "TestRenameProject", "forbidden")

	if _, err := rename.Handle(ctx, renameTo{Actor: commands.CLIActor, Name: "Our Study"}); err != nil {
		t.Fatal(err)
	}
	if _, err := rename.Handle(ctx, renameTo{Actor: commands.UserActor("nobody"), Name: "Hijacked"}); domain.KindOf(err) != domain.KindForbidden {
		t.Fatalf("err = %v, want Forbidden", err)
	}

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want one per command:\n%s", len(lines), out.String())
	}
	var first, second map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &first)
	_ = json.Unmarshal([]byte(lines[1]), &second)
	if first["msg"] != "command" || first["command"] != "TestRenameProject" || first["actor"] != "cli" || first["outcome"] != "ok" ||
		first["events"] != float64(1) || first["correlation_id"] != "req-42" || first["duration_ms"] == nil {
		t.Errorf("first line: %v", first)
	}
	if second["outcome"] != "forbidden" || second["actor"] != "user:nobody" || second["events"] != float64(0) ||
		!strings.Contains(second["reason"].(string), domain.Refusal(domain.ProjectSettingsEdit)) {
		t.Errorf("second line: %v", second)
	}
	if got := counted(t, "TestRenameProject", "ok") - okBefore; got != 1 {
		t.Errorf("ok count grew by %v, want 1", got)
	}
	if got := counted(t, "TestRenameProject", "forbidden") - forbiddenBefore; got != 1 {
		t.Errorf("forbidden count grew by %v, want 1", got)
	}
}

// counted reads the commands counter of the default registry for one command and outcome.
func counted(t *testing.T, command, outcome string) float64 {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "jobserver_commands_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["command"] == command && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
