// Package notifications is the server's e-mail. When a job of a request that asked for notification
// reaches succeeded or failed, its requester gets one mail that says which job, its status and message, and
// links to the job's page. An applicant gets an acknowledgement when they submit an application, and a mail
// whenever an admin sets its status or approves it. It runs as a reactor (see projections.Reactor for what
// "exactly once" means there); it appends no events.
package notifications

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
)

// Mail is one e-mail to send.
type Mail struct {
	To      string
	Subject string
	Text    string
	// MessageID is the Message-ID header's value without angle brackets. It is derived from the event
	// that caused the mail, so a mail sent again for the same event carries the same Message-ID.
	MessageID string
}

// Mailer sends e-mail: SMTP in production, the log in development (integrations/mail).
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// Notifier sends the e-mails on jobs' completion.
type Notifier struct {
	log     *commands.EventLog
	logger  *slog.Logger
	mailer  Mailer
	baseURL string
	host    string
}

// New builds the notifier on the kit's event log. baseURL is the server's public address, which the
// mails link to (e.g. https://jobs.example.org).
func New(k commands.Kit, mailer Mailer, baseURL string) *Notifier {
	logger := k.Logger
	if logger == nil {
		logger = slog.Default()
	}
	baseURL = strings.TrimRight(baseURL, "/")
	host := "jobserver.invalid"
	if u, err := url.Parse(baseURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return &Notifier{log: k.Log, logger: logger, mailer: mailer, baseURL: baseURL, host: host}
}

// jobRequest is what the mail needs of a job request: who asked, whether they asked to be told, and
// where it runs.
type jobRequest struct {
	id, workspaceID, projectID, requestedBy string
	willNotify                              bool
}

func (j *jobRequest) Apply(e domain.Event) {
	if e, ok := e.(domain.JobRequested); ok {
		j.id, j.workspaceID, j.projectID, j.requestedBy, j.willNotify = e.JobRequestID, e.WorkspaceID, e.ProjectID, e.RequestedBy, e.WillNotify
	}
}

// ReactorName is the name of the reactor that sends the mails, and of its checkpoint. Every mail of the
// notifier goes through this one reactor: a reactor holds a connection of the pool for as long as it runs.
const ReactorName = "notification-mail"

// Handles lists the event types React wants.
func Handles() []string {
	return append([]string{domain.JobStatusChanged{}.EventType()}, applicationMailEvents...)
}

// React is the reactor's function: it hands each JobStatusChanged to NotifyJobFinished, and each event of
// an application that the applicant hears of to NotifyApplicant.
func (n *Notifier) React(ctx context.Context, e domain.Event, eventID string) error {
	if e, ok := e.(domain.JobStatusChanged); ok {
		return n.NotifyJobFinished(ctx, e, eventID)
	}
	return n.NotifyApplicant(ctx, e, eventID)
}

// NotifyJobFinished sends the requester one mail about a job that reached succeeded or failed (Finished),
// when its request asked for notification. eventID is the id of the event, from which the mail's
// Message-ID is derived. A request that did not ask, or a requester without an address, sends nothing.
// An error means the mail was not sent and may be retried.
func (n *Notifier) NotifyJobFinished(ctx context.Context, e domain.JobStatusChanged, eventID string) error {
	if !e.Finished {
		return nil
	}
	var req jobRequest
	if _, err := n.log.Load(ctx, domain.JobRequestStream(e.JobRequestID), &req); err != nil {
		return err
	}
	if req.id == "" {
		return domain.NotFound("There is no job request " + e.JobRequestID + ".")
	}
	attrs := []any{"job_request_id", e.JobRequestID, "job_id", e.JobID, "status", e.Status, "event_id", eventID}
	if !req.willNotify {
		n.logger.Debug("no e-mail on the job's completion: its request did not ask for one", attrs...)
		return nil
	}
	var user domain.User
	if _, err := n.log.Load(ctx, domain.UserStream(req.requestedBy), &user); err != nil {
		return err
	}
	to := user.NotificationEmail()
	if to == "" {
		n.logger.Warn("no e-mail on the job's completion: the requester has no address", append(attrs, "user_id", req.requestedBy)...)
		return nil
	}
	var ws domain.Workspace
	if _, err := n.log.Load(ctx, domain.WorkspaceStream(req.workspaceID), &ws); err != nil {
		return err
	}
	var project domain.Project
	if _, err := n.log.Load(ctx, domain.ProjectStream(req.projectID), &project); err != nil {
		return err
	}
	var org domain.Org
	if project.OrgID() != "" {
		if _, err := n.log.Load(ctx, domain.OrgStream(project.OrgID()), &org); err != nil {
			return err
		}
	}
	m := Mail{
		To:        to,
		Subject:   fmt.Sprintf("Job %s %s in workspace %s", e.Action, e.Status, ws.Name()),
		MessageID: fmt.Sprintf("job-finished.%s@%s", eventID, n.host),
	}
	m.Text = n.text(e, ws.Name(), project.Name(), n.pageURL(org.Slug(), project.Slug(), ws.Name(), e.JobRequestID, e.JobID))
	if err := n.mailer.Send(ctx, m); err != nil {
		return fmt.Errorf("e-mail on the completion of job %s: %w", e.JobID, err)
	}
	n.logger.Info("e-mail sent on the job's completion", append(attrs, "message_id", m.MessageID)...)
	return nil
}

// pageURL is the address of a page of the server, {baseURL}/{part}/{part}…, each part escaped: the job's page
// is {org}/{project}/{workspace}/{jobRequestID}/{jobID}.
func (n *Notifier) pageURL(parts ...string) string {
	escaped := make([]string, len(parts))
	for i, p := range parts {
		escaped[i] = url.PathEscape(p)
	}
	return n.baseURL + "/" + strings.Join(escaped, "/")
}

func (n *Notifier) text(e domain.JobStatusChanged, workspace, project, link string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Job %s %s in workspace %s", e.Action, e.Status, workspace)
	if project != "" {
		fmt.Fprintf(&b, " of project %s", project)
	}
	b.WriteString(".\n\n")
	fmt.Fprintf(&b, "Job:         %s (%s)\n", e.Action, e.JobID)
	fmt.Fprintf(&b, "Job request: %s\n", e.JobRequestID)
	fmt.Fprintf(&b, "Status:      %s\n", e.Status)
	if e.StatusCode != "" {
		fmt.Fprintf(&b, "Status code: %s\n", e.StatusCode)
	}
	if e.StatusMessage != "" {
		fmt.Fprintf(&b, "Message:     %s\n", e.StatusMessage)
	}
	fmt.Fprintf(&b, "\nSee the job: %s\n", link)
	b.WriteString("\nYou get this e-mail because you asked to be notified when the jobs of this request finish.\n")
	return b.String()
}
