package applications_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands/applications"
	"github.com/mediciasafely/jobserver/commands/notifications"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/integrations/mail"
	"github.com/mediciasafely/jobserver/internal/smtpfake"
	"github.com/mediciasafely/jobserver/projections"
)

// TestTheApplicantIsMailedOnSubmitOnEachStatusAndOnApproval: the notifier's mail reactor, as the server
// wires it, over SMTP: an acknowledgement when the applicant submits, a mail with the comment when
// an admin sets a status, and a mail linking to the new project when the application is approved fully.
// Reviewers' notes send nothing.
func TestTheApplicantIsMailedOnSubmitOnEachStatusAndOnApproval(t *testing.T) {
	t.Parallel()
	s, ada, admin, org := newApprovalWorld(t)
	const baseURL = "https://jobs.example.org"
	smtp := smtpfake.Start(t)
	mailer, err := mail.NewSMTP(mail.Config{URL: smtp.URL(), From: mail.DefaultFrom(baseURL), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	notifier := notifications.New(s.kit, mailer, baseURL)
	reactors := projections.NewReactors(s.pool, s.store, domain.Events, s.kit.Logger,
		projections.ReactorOptions{InitialBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Standby: 50 * time.Millisecond},
		projections.DefineReactor(notifications.ReactorName, notifications.Handles(), func(ctx context.Context, e projections.Event) error {
			return notifier.React(ctx, e.Payload, e.ID.String())
		}))
	if err := reactors.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() { _ = reactors.Run(rctx); close(stopped) }()
	t.Cleanup(func() { stop(); <-stopped })

	id := s.submittedBy(t, ada, "Kidney Outcomes")
	must(s.ReviewPage.Handle(ctx, applications.ReviewPage{Actor: admin, ApplicationID: id, Page: "study-funding", Notes: "Fine."}))(t)
	must(s.SetStatus.Handle(ctx, applications.SetStatus{Actor: admin, ApplicationID: id, Status: domain.StatusApprovedSubjectTo,
		Comment: "Subject to REC approval."}))(t)
	must(s.ApproveFully.Handle(ctx, applications.ApproveFully{Actor: admin, ApplicationID: id, OrgID: org}))(t)

	mails := smtp.WaitFor(t, 3, 15*time.Second)
	want := []struct{ subject, body string }{
		{"Acknowledgement of your project application: Kidney Outcomes", baseURL + "/applications/" + id},
		{"Your project application Kidney Outcomes is Approved Subject To", "Subject to REC approval."},
		{"Your project application Kidney Outcomes is Approved Fully", baseURL + "/university-of-x/kidney-outcomes"},
	}
	for i, w := range want {
		m := mails[i]
		if len(m.To) != 1 || m.To[0] != "ada@example.org" || m.Header.Get("Subject") != w.subject || !strings.Contains(m.Body, w.body) {
			t.Errorf("mail %d to %v, subject %q, body:\n%s\nwant subject %q and %q in the body", i, m.To, m.Header.Get("Subject"), m.Body, w.subject, w.body)
		}
	}
	// The review came before the approval, so a mail for it would be among the three.
	if n := len(smtp.Mails()); n != 3 {
		t.Errorf("%d mails, want 3", n)
	}
}
