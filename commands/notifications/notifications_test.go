package notifications_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/notifications"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// mailbox is a Mailer that keeps what it was given.
type mailbox struct {
	mu    sync.Mutex
	mails []notifications.Mail
	err   error
}

func (m *mailbox) Send(_ context.Context, mail notifications.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.mails = append(m.mails, mail)
	return nil
}

type world struct {
	store    *eventstore.Memory
	mailbox  *mailbox
	notifier *notifications.Notifier
}

func newWorld(t *testing.T) world {
	store := eventstore.NewMemory()
	box := &mailbox{}
	log := commands.NewEventLog(store, domain.Events, time.Now)
	w := world{store: store, mailbox: box, notifier: notifications.New(commands.Kit{Log: log}, box, "https://jobs.example.org/")}
	w.append(t, domain.UserStream("u1"), domain.UserRegistered{UserID: "u1", Profile: domain.NewPersonal("u1", domain.GitHubProfile{ID: 1, Login: "ada", Name: "Ada", Email: "ada@github.example"})})
	w.append(t, domain.UserStream("u2"), domain.UserRegistered{UserID: "u2", Profile: domain.NewPersonal("u2", domain.GitHubProfile{ID: 2, Login: "nomail", Name: "No Mail"})})
	w.append(t, domain.OrgStream("o1"), domain.OrgCreated{OrgID: "o1", Slug: "university-of-x", Name: "University of X"})
	w.append(t, domain.ProjectStream("p1"), domain.ProjectCreated{ProjectID: "p1", Slug: "project-2", Name: "Project 2", OrgID: "o1"})
	w.append(t, domain.WorkspaceStream("w1"), domain.WorkspaceCreated{WorkspaceID: "w1", ProjectID: "p1", Name: "project2workspace",
		RepoURL: "https://github.com/x/y", Branch: "main", CreatedBy: "u1"})
	return w
}

func (w world) append(t *testing.T, stream string, events ...domain.Event) {
	t.Helper()
	a := eventstore.Append{Stream: stream, Expected: eventstore.Any}
	for _, e := range events {
		name, v, data, err := domain.Events.WithKeys(eventstore.Process()).Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		a.Events = append(a.Events, eventstore.NewEvent{ID: domain.NewULID(time.Now()), Type: name, SchemaVersion: v, Data: data})
	}
	if _, err := w.store.Append(context.Background(), []eventstore.Append{a}); err != nil {
		t.Fatal(err)
	}
}

func (w world) request(t *testing.T, id, by string, notify bool) {
	w.append(t, domain.JobRequestStream(id), domain.JobRequested{JobRequestID: id, WorkspaceID: "w1", ProjectID: "p1",
		BackendID: "b1", RequestedBy: by, WillNotify: notify, RequestedActions: []string{"generate_dataset"}})
}

func finished(requestID, status string) domain.JobStatusChanged {
	return domain.JobStatusChanged{JobRequestID: requestID, JobID: "job7", Action: "generate_dataset", Status: status,
		StatusCode: "succeeded", StatusMessage: "Completed successfully", Finished: true}
}

func TestAFinishedJobOfARequestThatAskedSendsOneMailToTheRequester(t *testing.T) {
	w := newWorld(t)
	w.request(t, "jr1", "u1", true)
	w.append(t, domain.UserStream("u1"), domain.NotificationEmailChanged{UserID: "u1", Email: domain.NewPersonal("u1", "ada@uni.example")})

	if err := w.notifier.NotifyJobFinished(context.Background(), finished("jr1", "succeeded"), "01JEVENT"); err != nil {
		t.Fatal(err)
	}
	if len(w.mailbox.mails) != 1 {
		t.Fatalf("mails = %d, want 1", len(w.mailbox.mails))
	}
	m := w.mailbox.mails[0]
	if m.To != "ada@uni.example" {
		t.Errorf("To = %q, want the notification address", m.To)
	}
	if want := "Job generate_dataset succeeded in workspace project2workspace"; m.Subject != want {
		t.Errorf("Subject = %q, want %q", m.Subject, want)
	}
	if want := "job-finished.01JEVENT@jobs.example.org"; m.MessageID != want {
		t.Errorf("MessageID = %q, want %q", m.MessageID, want)
	}
	for _, want := range []string{
		"https://jobs.example.org/university-of-x/project-2/project2workspace/jr1/job7",
		"generate_dataset (job7)", "Status:      succeeded", "Status code: succeeded", "Message:     Completed successfully",
		"of project Project 2",
	} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("the mail's text lacks %q:\n%s", want, m.Text)
		}
	}
}

func TestAFailedJobIsMailedToo(t *testing.T) {
	w := newWorld(t)
	w.request(t, "jr1", "u1", true)
	e := finished("jr1", "failed")
	e.StatusCode, e.StatusMessage = "nonzero_exit", "Job exited with an error"
	if err := w.notifier.NotifyJobFinished(context.Background(), e, "01JEVENT"); err != nil {
		t.Fatal(err)
	}
	if len(w.mailbox.mails) != 1 || w.mailbox.mails[0].To != "ada@github.example" ||
		w.mailbox.mails[0].Subject != "Job generate_dataset failed in workspace project2workspace" ||
		!strings.Contains(w.mailbox.mails[0].Text, "Job exited with an error") {
		t.Fatalf("mails = %+v", w.mailbox.mails)
	}
}

func TestNoMailWhenNotAskedNotFinishedOrNoAddress(t *testing.T) {
	w := newWorld(t)
	w.request(t, "silent", "u1", false)
	w.request(t, "noaddress", "u2", true)
	w.request(t, "running", "u1", true)
	running := finished("running", "running")
	running.Finished = false
	for _, e := range []domain.JobStatusChanged{finished("silent", "succeeded"), finished("noaddress", "succeeded"), running} {
		if err := w.notifier.NotifyJobFinished(context.Background(), e, "01JEVENT"); err != nil {
			t.Fatalf("%s: %v", e.JobRequestID, err)
		}
	}
	if len(w.mailbox.mails) != 0 {
		t.Fatalf("mails = %+v, want none", w.mailbox.mails)
	}
}

func TestAMailerFailureIsReturnedForTheReactorToRetry(t *testing.T) {
	w := newWorld(t)
	w.request(t, "jr1", "u1", true)
	w.mailbox.err = errors.New("connection refused")
	err := w.notifier.React(context.Background(), finished("jr1", "succeeded"), "01JEVENT")
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v, want the mailer's", err)
	}
}

func TestAnUnknownJobRequestIsAnError(t *testing.T) {
	w := newWorld(t)
	err := w.notifier.NotifyJobFinished(context.Background(), finished("nosuch", "succeeded"), "01JEVENT")
	var de *domain.Error
	if !errors.As(err, &de) || de.Kind != domain.KindNotFound {
		t.Fatalf("err = %v, want not found", err)
	}
}
