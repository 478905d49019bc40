package mail_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands/notifications"
	"github.com/mediciasafely/jobserver/integrations/mail"
	"github.com/mediciasafely/jobserver/internal/smtpfake"
)

const jobLink = "https://jobs.example.org/university-of-x/project-2/project2workspace/jr1/job7"

var sample = notifications.Mail{
	To:        "ada@uni.example",
	Subject:   "Job generate_dataset succeeded in workspace project2workspace",
	Text:      "Job generate_dataset succeeded.\n\nSee the job: " + jobLink + "\n",
	MessageID: "job-finished.01JEVENT@jobs.example.org",
}

func newMailer(t *testing.T, url string) *mail.SMTP {
	t.Helper()
	m, err := mail.NewSMTP(mail.Config{URL: url, From: mail.DefaultFrom("https://jobs.example.org"), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTheSMTPMailerDeliversOverSMTP(t *testing.T) {
	srv := smtpfake.Start(t)
	if err := newMailer(t, srv.URL()).Send(context.Background(), sample); err != nil {
		t.Fatal(err)
	}
	mails := srv.WaitFor(t, 1, 5*time.Second)
	if len(mails) != 1 {
		t.Fatalf("%d mails arrived, want 1", len(mails))
	}
	m := mails[0]
	if m.From != "notifications@jobs.example.org" || len(m.To) != 1 || m.To[0] != "ada@uni.example" {
		t.Errorf("envelope from %q to %q", m.From, m.To)
	}
	for header, want := range map[string]string{
		"To": "<ada@uni.example>", "Subject": sample.Subject, "Message-Id": "<" + sample.MessageID + ">",
		"From": "<notifications@jobs.example.org>", "Auto-Submitted": "auto-generated",
	} {
		if got := m.Header.Get(header); got != want {
			t.Errorf("%s: %q, want %q", header, got, want)
		}
	}
	if !strings.Contains(m.Body, "See the job: "+jobLink) {
		t.Errorf("the body lacks the link:\n%s", m.Body)
	}
}

func TestTheSMTPMailerAuthenticatesAndNeverTellsThePassword(t *testing.T) {
	const password = "s3cret p@ss/word"
	srv := smtpfake.Start(t, smtpfake.WithAuth("mailer", password))
	if err := newMailer(t, srv.URL()).Send(context.Background(), sample); err != nil {
		t.Fatal(err)
	}
	srv.WaitFor(t, 1, 5*time.Second)

	wrong := strings.Replace(srv.URL(), "s3cret", "wrong", 1)
	m := newMailer(t, wrong)
	err := m.Send(context.Background(), sample)
	if err == nil {
		t.Fatal("a wrong password sent the mail")
	}
	for _, text := range []string{err.Error(), m.Server()} {
		if strings.Contains(text, "wrong") || strings.Contains(text, "p@ss") || strings.Contains(text, "p%40ss") {
			t.Errorf("the password shows in %q", text)
		}
	}
	if !strings.Contains(m.Server(), "mailer:xxxxx@") {
		t.Errorf("Server() = %q, want the user with the password masked", m.Server())
	}
}

func TestTheSMTPURLIsCheckedWithoutShowingThePassword(t *testing.T) {
	for _, url := range []string{
		"smtp://user:hunter2%zz@mail.example:587", // does not parse
		"http://user:hunter2@mail.example",
		"smtp://user:hunter2@mail.example:99999",
		"smtp://user:hunter2@mail.example?tls=sometimes",
		"smtp://user:hunter2@:25",
	} {
		_, err := mail.NewSMTP(mail.Config{URL: url, From: "a@b.example"})
		if err == nil {
			t.Errorf("%s: no error", url)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
	if got := mail.Redact("smtps://user:hunter2@mail.example:465"); got != "smtps://user:xxxxx@mail.example:465" {
		t.Errorf("Redact = %q", got)
	}
	if _, err := mail.NewSMTP(mail.Config{URL: "smtps://mail.example", From: "not an address"}); err == nil {
		t.Error("a bad MAIL_FROM was accepted")
	}
}

type temporary interface{ Temporary() bool }

func TestFailuresSayWhetherTheyAreTemporary(t *testing.T) {
	srv := smtpfake.Start(t)
	m := newMailer(t, srv.URL())
	srv.Reject(451, "try again later", 1)
	srv.Reject(554, "no such user", 1)

	var tmp temporary
	err := m.Send(context.Background(), sample)
	if !errors.As(err, &tmp) || !tmp.Temporary() {
		t.Errorf("a 451 reply: %v, want a temporary error", err)
	}
	err = m.Send(context.Background(), sample)
	if !errors.As(err, &tmp) || tmp.Temporary() {
		t.Errorf("a 554 reply: %v, want a permanent error", err)
	}

	// A server that does not answer at all: temporary.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	err = newMailer(t, "smtp://"+addr+"?tls=none").Send(context.Background(), sample)
	if !errors.As(err, &tmp) || !tmp.Temporary() {
		t.Errorf("no server: %v, want a temporary error", err)
	}
	if len(srv.Mails()) != 0 {
		t.Errorf("rejected mails arrived: %d", len(srv.Mails()))
	}
}

func TestTheLogMailerWritesTheMailToTheLog(t *testing.T) {
	var buf bytes.Buffer
	m := mail.NewLog(slog.New(slog.NewTextHandler(&buf, nil)), "notifications@localhost")
	if err := m.Send(context.Background(), sample); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ada@uni.example", sample.Subject, jobLink, sample.MessageID} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, buf.String())
		}
	}
}
