package notifications

import (
	"context"
	"fmt"

	"github.com/mediciasafely/jobserver/domain"
)

// applicationMailEvents are the events of an application its applicant hears of: the acknowledgement when
// they submit, and a mail whenever an admin sets its status or approves it.
var applicationMailEvents = []string{
	domain.ApplicationSubmitted{}.EventType(), domain.ApplicationStatusSet{}.EventType(), domain.ApplicationApproved{}.EventType(),
}

// NotifyApplicant sends the applicant the e-mail an application's event calls for (other events send
// nothing). eventID is the event's id, from which the mail's Message-ID is derived. An applicant without
// an address gets nothing; an error means the mail was not sent and may be retried.
func (n *Notifier) NotifyApplicant(ctx context.Context, e domain.Event, eventID string) error {
	var applicationID, kind, subject, text string
	switch e := e.(type) {
	case domain.ApplicationSubmitted:
		applicationID, kind = e.ApplicationID, "application-submitted"
	case domain.ApplicationStatusSet:
		applicationID, kind = e.ApplicationID, "application-status"
	case domain.ApplicationApproved:
		applicationID, kind = e.ApplicationID, "application-approved"
	default:
		return nil
	}
	var a domain.Application
	if _, err := n.log.Load(ctx, domain.ApplicationStream(applicationID), &a); err != nil {
		return err
	}
	if !a.Exists() {
		return domain.NotFound("There is no application " + applicationID + ".")
	}
	var user domain.User
	if _, err := n.log.Load(ctx, domain.UserStream(a.Applicant()), &user); err != nil {
		return err
	}
	attrs := []any{"application_id", applicationID, "event_id", eventID}
	to := user.NotificationEmail()
	if to == "" {
		n.logger.Warn("no e-mail about the application: the applicant has no address", append(attrs, "user_id", a.Applicant())...)
		return nil
	}
	study := a.StudyName()
	if study == "" {
		study = "your study"
	}
	link := n.pageURL("applications", applicationID)
	switch e := e.(type) {
	case domain.ApplicationSubmitted:
		subject = "Acknowledgement of your project application: " + study
		text = fmt.Sprintf("Thank you for applying for a MediciaSAFELY project for %s.\n\n"+
			"We have received your application and will review it. Its status is on your applications page:\n%s\n",
			study, link)
	case domain.ApplicationStatusSet:
		subject = fmt.Sprintf("Your project application %s is %s", study, e.Status.Label())
		text = fmt.Sprintf("The status of your application for %s is now %s.\n", study, e.Status.Label())
		if e.Comment != "" {
			text += "\n" + e.Comment + "\n"
		}
		text += "\nSee the application: " + link + "\n"
	case domain.ApplicationApproved:
		projectURL, err := n.projectURL(ctx, e.ProjectID)
		if err != nil {
			return err
		}
		subject = fmt.Sprintf("Your project application %s is %s", study, domain.StatusApprovedFully.Label())
		text = fmt.Sprintf("Your application for %s is %s: you now have a MediciaSAFELY project, %s.\n\nSee the project: %s\n",
			study, domain.StatusApprovedFully.Label(), e.ProjectName, projectURL)
	}
	m := Mail{To: to, Subject: subject, Text: text, MessageID: fmt.Sprintf("%s.%s@%s", kind, eventID, n.host)}
	if err := n.mailer.Send(ctx, m); err != nil {
		return fmt.Errorf("e-mail about application %s: %w", applicationID, err)
	}
	n.logger.Info("e-mail sent about the application", append(attrs, "message_id", m.MessageID)...)
	return nil
}

// projectURL is the address of a project's page, {baseURL}/{org}/{project}.
func (n *Notifier) projectURL(ctx context.Context, projectID string) (string, error) {
	var project domain.Project
	if _, err := n.log.Load(ctx, domain.ProjectStream(projectID), &project); err != nil {
		return "", err
	}
	var org domain.Org
	if project.OrgID() != "" {
		if _, err := n.log.Load(ctx, domain.OrgStream(project.OrgID()), &org); err != nil {
			return "", err
		}
	}
	return n.pageURL(org.Slug(), project.Slug()), nil
}
