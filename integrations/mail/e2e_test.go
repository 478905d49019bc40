package mail_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/notifications"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/integrations/mail"
	"github.com/mediciasafely/jobserver/internal/pgtest"
	"github.com/mediciasafely/jobserver/internal/smtpfake"
	"github.com/mediciasafely/jobserver/projections"
)

func encode(t *testing.T, events ...domain.Event) []eventstore.NewEvent {
	t.Helper()
	var out []eventstore.NewEvent
	for _, e := range events {
		name, v, data, err := domain.Events.WithKeys(eventstore.Process()).Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, eventstore.NewEvent{ID: domain.NewULID(time.Now()), Type: name, SchemaVersion: v, Data: data})
	}
	return out
}

func appendAll(t *testing.T, store eventstore.Store, appends ...eventstore.Append) eventstore.Position {
	t.Helper()
	res, err := store.Append(context.Background(), appends)
	if err != nil {
		t.Fatal(err)
	}
	return res.Last
}

// startReactor runs the job mail reactor as the server wires it, until the returned stop is called.
func startReactor(t *testing.T, rs func() *projections.Reactors) (*projections.Reactors, func()) {
	t.Helper()
	r := rs()
	if err := r.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return r, stop
}

func waitCheckpoint(t *testing.T, r *projections.Reactors, pos eventstore.Position) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		at, err := r.Checkpoint(context.Background(), notifications.ReactorName)
		if err != nil {
			t.Fatal(err)
		}
		if !at.Less(pos) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the reactor did not reach %s", pos)
}

// A job that finishes, in a request that asked for notification, is mailed once over SMTP: not again when
// the runner repeats its report, nor when the server restarts.
func TestAFinishedJobIsMailedOnceOverSMTP(t *testing.T) {
	pool := pgtest.NewPool(t)
	store := pgstore.New(pool)
	t.Cleanup(store.Close)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	appendAll(t, store,
		eventstore.Append{Stream: domain.UserStream("u1"), Expected: eventstore.NoStream, Events: encode(t,
			domain.UserRegistered{UserID: "u1", Profile: domain.NewPersonal("u1", domain.GitHubProfile{ID: 1, Login: "ada", Name: "Ada", Email: "ada@uni.example"})})},
		eventstore.Append{Stream: domain.OrgStream("o1"), Expected: eventstore.NoStream, Events: encode(t,
			domain.OrgCreated{OrgID: "o1", Slug: "university-of-x", Name: "University of X"})},
		eventstore.Append{Stream: domain.ProjectStream("p1"), Expected: eventstore.NoStream, Events: encode(t,
			domain.ProjectCreated{ProjectID: "p1", Slug: "project-2", Name: "Project 2", OrgID: "o1"})},
		eventstore.Append{Stream: domain.WorkspaceStream("w1"), Expected: eventstore.NoStream, Events: encode(t,
			domain.WorkspaceCreated{WorkspaceID: "w1", ProjectID: "p1", Name: "project2workspace", RepoURL: "https://github.com/x/y", Branch: "main", CreatedBy: "u1"})},
	)

	srv := smtpfake.Start(t)
	srv.Reject(451, "greylisted, try again later", 1) // the first attempt fails as a real server may
	mailer, err := mail.NewSMTP(mail.Config{URL: srv.URL(), From: mail.DefaultFrom("https://jobs.example.org"), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	notifier := notifications.New(commands.Kit{Log: commands.NewEventLog(store, domain.Events, time.Now), Logger: logger}, mailer, "https://jobs.example.org")
	reactors := func() *projections.Reactors {
		r := projections.DefineReactor(notifications.ReactorName, notifications.Handles(), func(ctx context.Context, e projections.Event) error {
			return notifier.React(ctx, e.Payload, e.ID.String())
		})
		return projections.NewReactors(pool, store, domain.Events, logger,
			projections.ReactorOptions{InitialBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Standby: 50 * time.Millisecond}, r)
	}
	_, stop := startReactor(t, reactors)

	stream := domain.JobRequestStream("jr1")
	appendAll(t, store, eventstore.Append{Stream: stream, Expected: eventstore.NoStream, Events: encode(t,
		domain.JobRequested{JobRequestID: "jr1", WorkspaceID: "w1", ProjectID: "p1", BackendID: "b1", RequestedBy: "u1",
			WillNotify: true, RequestedActions: []string{"generate_dataset"}})})
	report := eventstore.Append{Stream: stream, Expected: eventstore.Exactly(1), Events: encode(t,
		domain.JobStatusChanged{JobRequestID: "jr1", JobID: "job7", Action: "generate_dataset", Status: "running", StatusCode: "executing"},
		domain.JobStatusChanged{JobRequestID: "jr1", JobID: "job7", Action: "generate_dataset", Status: "succeeded",
			StatusCode: "succeeded", StatusMessage: "Completed successfully", Finished: true})}
	finishedID := report.Events[1].ID.String()
	appendAll(t, store, report)

	mails := srv.WaitFor(t, 1, 15*time.Second)
	m := mails[0]
	if m.To[0] != "ada@uni.example" || m.Header.Get("Subject") != "Job generate_dataset succeeded in workspace project2workspace" {
		t.Errorf("mail to %q, subject %q", m.To, m.Header.Get("Subject"))
	}
	if !strings.Contains(m.Body, "https://jobs.example.org/university-of-x/project-2/project2workspace/jr1/job7") ||
		!strings.Contains(m.Body, "Completed successfully") {
		t.Errorf("the mail's body lacks the link or the message:\n%s", m.Body)
	}
	if id := m.Header.Get("Message-Id"); !strings.Contains(id, finishedID) {
		t.Errorf("Message-ID %q is not derived from the event %s", id, finishedID)
	}

	// The server restarts; the runner posts the same report again: the same events, which the store
	// already holds, so nothing is appended and nothing is mailed.
	stop()
	r2, _ := startReactor(t, reactors)
	appendAll(t, store, report)
	// A later event of another job, not finished: once the reactor is past it, it has seen all there is.
	last := appendAll(t, store, eventstore.Append{Stream: stream, Expected: eventstore.Exactly(3), Events: encode(t,
		domain.JobStatusChanged{JobRequestID: "jr1", JobID: "job8", Action: "analyse", Status: "pending"})})
	waitCheckpoint(t, r2, last)
	if n := len(srv.Mails()); n != 1 {
		t.Fatalf("%d mails after a restart and a repeated report, want 1", n)
	}
}
