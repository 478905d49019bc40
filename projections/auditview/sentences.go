package auditview

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mediciasafely/jobserver/domain"
)

// A sentence says what an event did, for people: "Demo Admin gave Demo Researcher the role Project
// Developer in MyStudy". It is written from the event alone, with references where a name goes (a person,
// a project, ...), which the page looks up in this read model's copies when it is drawn: so a renamed
// project or a person's new name shows everywhere, and no name is kept in the sentence itself.
type sentence []part

// part is a run of words, or a reference to a thing whose name is looked up.
type part struct {
	text string
	ref  ref
	// quoted marks a value the event carries (a name as it was given, an action), shown as written.
	quoted bool
}

// refKind is what a reference names.
type refKind int

const (
	noRef refKind = iota
	actorRef
	personRef
	orgRef
	projectRef
	backendRef
	workspaceRef
	jobRequestRef
	releaseRef
	applicationRef
)

// ref is a thing an event names, by id.
type ref struct {
	kind refKind
	id   string
}

// The things a sentence may name.
var actor = ref{kind: actorRef}

func person(id string) ref      { return ref{personRef, id} }
func org(id string) ref         { return ref{orgRef, id} }
func project(id string) ref     { return ref{projectRef, id} }
func backend(id string) ref     { return ref{backendRef, id} }
func workspace(id string) ref   { return ref{workspaceRef, id} }
func jobRequest(id string) ref  { return ref{jobRequestRef, id} }
func release(id string) ref     { return ref{releaseRef, id} }
func application(id string) ref { return ref{applicationRef, id} }

// quoted is a value the event carries, shown as written.
type quoted string

// say builds a sentence of words (strings), references and quoted values, separated by spaces.
func say(words ...any) sentence {
	s := make(sentence, 0, len(words))
	for _, w := range words {
		switch w := w.(type) {
		case string:
			s = append(s, part{text: w})
		case ref:
			s = append(s, part{ref: w})
		case quoted:
			s = append(s, part{text: string(w), quoted: true})
		default:
			panic(fmt.Sprintf("auditview: a sentence cannot say %T", w))
		}
	}
	return s
}

// sentenceOf is the sentence of one event type.
type sentenceOf func(domain.Event) sentence

// typedSentence is the sentence of an event type, by its name.
type typedSentence struct {
	name string
	say  sentenceOf
}

// about is the sentence of event type E.
func about[E domain.Event](say func(E) sentence) typedSentence {
	var zero E
	return typedSentence{zero.EventType(), func(e domain.Event) sentence { return say(e.(E)) }}
}

// index collects the sentences by event type.
func index(all ...typedSentence) map[string]sentenceOf {
	m := make(map[string]sentenceOf, len(all))
	for _, s := range all {
		if _, dup := m[s.name]; dup {
			panic("auditview: two sentences for " + s.name)
		}
		m[s.name] = s.say
	}
	return m
}

// sentences has one sentence per registered event type; a test checks that none is missing, so a new
// event type cannot reach the audit pages without one.
var sentences = index(
	// Users.
	about(func(e domain.UserRegistered) sentence {
		return say(person(e.UserID), "signed up with their GitHub account")
	}),
	about(func(e domain.UserProfileUpdated) sentence {
		return say("The GitHub profile of", person(e.UserID), "was read again")
	}),
	about(func(e domain.NotificationEmailChanged) sentence {
		return say(actor, "changed the notification e-mail address of", person(e.UserID))
	}),
	about(func(e domain.GlobalRoleGranted) sentence {
		return say(actor, "gave", person(e.UserID), "the role", e.Role.DisplayName(), "on every project")
	}),
	about(func(e domain.GlobalRoleRevoked) sentence {
		return say(actor, "took the role", e.Role.DisplayName(), "on every project from", person(e.UserID))
	}),
	about(func(e domain.GitHubAccountLinked) sentence {
		return say("A GitHub account was linked to", person(e.UserID.Value()))
	}),
	about(func(e domain.PersonForgotten) sentence {
		return say(actor, "forgot", person(e.UserID), "(their personal data can no longer be read)")
	}),
	about(func(e domain.AdminRosterJoined) sentence {
		return say(person(e.UserID), "became an admin, being on the server's list of admins")
	}),
	about(func(e domain.AdminRosterLeft) sentence {
		return say(person(e.UserID), "stopped being an admin, being no longer on the server's list of admins")
	}),
	about(func(e domain.GitHubTokenSaved) sentence {
		return say(actor, "saved a GitHub token for", person(e.UserID))
	}),
	about(func(e domain.GitHubTokenCleared) sentence {
		return say(actor, "removed the GitHub token of", person(e.UserID))
	}),
	// Unique names.
	about(func(e domain.SlugReserved) sentence {
		return say(actor, "took the", e.Kind, "address", quoted(e.Slug))
	}),
	about(func(e domain.NameReserved) sentence {
		return say(actor, "took the", e.Kind, "name", quoted(e.Name))
	}),
	about(func(e domain.NameReleased) sentence {
		return say(actor, "gave up the", e.Kind, "name", quoted(e.Name))
	}),
	about(func(e domain.ReservationAbandoned) sentence {
		return say(actor, "released the reservation", quoted(e.Reservation), "that its owner never took up")
	}),
	// Backends.
	about(func(e domain.BackendCreated) sentence {
		return say(actor, "created the backend", backend(e.BackendID))
	}),
	about(func(e domain.RunnerTokenRotated) sentence {
		return say(actor, "rotated the runner token of", backend(e.BackendID))
	}),
	about(func(e domain.BackendMemberAdded) sentence {
		return say(actor, "added", person(e.UserID), "to the backend", backend(e.BackendID))
	}),
	about(func(e domain.BackendMemberRemoved) sentence {
		return say(actor, "removed", person(e.UserID), "from the backend", backend(e.BackendID))
	}),
	// Organisations.
	about(func(e domain.OrgCreated) sentence {
		return say(actor, "created the organisation", org(e.OrgID))
	}),
	about(func(e domain.OrgMemberAdded) sentence {
		return say(actor, "added", person(e.UserID), "to the organisation", org(e.OrgID))
	}),
	about(func(e domain.OrgMemberRemoved) sentence {
		return say(actor, "removed", person(e.UserID), "from the organisation", org(e.OrgID))
	}),
	// Projects.
	about(func(e domain.ProjectCreated) sentence {
		if e.OrgID == "" {
			return say(actor, "created the project", quoted(e.Name))
		}
		return say(actor, "created the project", quoted(e.Name), "in", org(e.OrgID))
	}),
	about(func(e domain.ProjectAddedToOrg) sentence {
		return say(actor, "added the project", project(e.ProjectID), "to the organisation", org(e.OrgID))
	}),
	about(func(e domain.ProjectRenamed) sentence {
		return say(actor, "renamed the project", project(e.ProjectID), "to", quoted(e.Name))
	}),
	about(func(e domain.ProjectMemberAdded) sentence {
		return say(actor, "added", person(e.UserID), "to", project(e.ProjectID), "with", roleList(e.Roles))
	}),
	about(func(e domain.ProjectMemberRolesChanged) sentence {
		return say(actor, "gave", person(e.UserID), roleList(e.Roles), "in", project(e.ProjectID))
	}),
	about(func(e domain.ProjectMemberRemoved) sentence {
		return say(actor, "removed", person(e.UserID), "from", project(e.ProjectID))
	}),
	// Study applications.
	about(func(e domain.ApplicationStarted) sentence {
		return say(actor, "started", application(e.ApplicationID))
	}),
	about(func(e domain.ApplicationPageSaved) sentence {
		return say(actor, "saved the page", quoted(e.Page), "of", application(e.ApplicationID))
	}),
	about(func(e domain.ApplicationResearcherAdded) sentence {
		return say(actor, "added a researcher to", application(e.ApplicationID))
	}),
	about(func(e domain.ApplicationResearcherEdited) sentence {
		return say(actor, "changed a researcher's details in", application(e.ApplicationID))
	}),
	about(func(e domain.ApplicationResearcherRemoved) sentence {
		return say(actor, "removed a researcher from", application(e.ApplicationID))
	}),
	about(func(e domain.ApplicationSubmitted) sentence {
		return say(actor, "submitted", application(e.ApplicationID))
	}),
	about(func(e domain.ApplicationWithdrawn) sentence {
		return say(actor, "withdrew", application(e.ApplicationID))
	}),
	about(func(e domain.ApplicationRestored) sentence {
		return say(actor, "restored", application(e.ApplicationID))
	}),
	about(func(e domain.ApplicationPageReviewed) sentence {
		return say(actor, "reviewed the page", quoted(e.Page), "of", application(e.ApplicationID), ":", e.Approval.Label())
	}),
	about(func(e domain.ApplicationStatusSet) sentence {
		return say(actor, "set the status of", application(e.ApplicationID), "to", e.Status.Label())
	}),
	about(func(e domain.ApplicationApproved) sentence {
		return say(actor, "approved", application(e.ApplicationID), "as the project", project(e.ProjectID))
	}),
	// Workspaces and jobs.
	about(func(e domain.WorkspaceCreated) sentence {
		return say(actor, "created the workspace", quoted(e.Name), "in", project(e.ProjectID), "for the branch", quoted(e.Branch), "of", quoted(e.RepoURL))
	}),
	about(func(e domain.WorkspaceArchived) sentence {
		return say(actor, "archived the workspace", workspace(e.WorkspaceID))
	}),
	about(func(e domain.WorkspaceUnarchived) sentence {
		return say(actor, "unarchived the workspace", workspace(e.WorkspaceID))
	}),
	about(func(e domain.WorkspaceNotificationsChanged) sentence {
		return say(actor, "turned e-mail notifications", onOff(e.Notify), "for the workspace", workspace(e.WorkspaceID))
	}),
	about(func(e domain.JobRequested) sentence {
		return say(actor, "asked to run", quoted(strings.Join(e.RequestedActions, ", ")), "in the workspace", workspace(e.WorkspaceID),
			"on", backend(e.BackendID), "as", jobRequest(e.JobRequestID))
	}),
	about(func(e domain.JobActionsCancelled) sentence {
		return say(actor, "cancelled", quoted(strings.Join(e.Actions, ", ")), "of", jobRequest(e.JobRequestID))
	}),
	about(func(e domain.JobStatusChanged) sentence {
		return say(actor, "reported the job", quoted(e.Action), "of", jobRequest(e.JobRequestID), "as", quoted(e.Status))
	}),
	about(func(e domain.JobsRemoved) sentence {
		return say(actor, "removed", count(len(e.JobIDs), "job", "jobs"), "from", jobRequest(e.JobRequestID))
	}),
	about(func(e domain.JobCreationRecorded) sentence {
		return say(actor, "recorded that creating the jobs of", jobRequest(e.JobRequestID), "on its backend came to", quoted(e.Status),
			"after", count(e.Attempts, "attempt", "attempts"))
	}),
	about(func(e domain.BackendProtocolSet) sentence {
		s := say(actor, "set", backend(e.BackendID), "to speak the", quoted(e.Protocol), "protocol")
		if e.ControllerURL != "" {
			s = append(s, say("through the controller at", quoted(e.ControllerURL))...)
		}
		if e.ClientTokenSet {
			s = append(s, say(", with a new client token")...)
		}
		return s
	}),
	about(func(e domain.BackendFlagChanged) sentence {
		return say(actor, "set the flag", quoted(e.Flag), "of", backend(e.BackendID), "to", quoted(e.Value))
	}),
	// Released files.
	about(func(e domain.ReleaseCreated) sentence {
		return say(actor, "released", count(len(e.Files), "file", "files"), "from the workspace", workspace(e.WorkspaceID),
			"on", backend(e.BackendID), "as", release(e.ReleaseID))
	}),
	about(func(e domain.ReleaseFileUploaded) sentence {
		return say(actor, "uploaded the file", quoted(e.Name), "of", release(e.ReleaseID))
	}),
	about(func(e domain.ReleaseFileDeleted) sentence {
		return say(actor, "deleted the file", quoted(e.Name), "of", release(e.ReleaseID), "because", quoted(e.Reason))
	}),
	about(func(e domain.BlobReferenced) sentence {
		return say("The stored bytes", quoted(shortHash(e.SHA256)), "became a file of", release(e.ReleaseID))
	}),
	about(func(e domain.BlobReleased) sentence {
		return say("The stored bytes", quoted(shortHash(e.SHA256)), "stopped being a file of", release(e.ReleaseID))
	}),
	about(func(e domain.BlobRemovalStarted) sentence {
		return say(actor, "started removing the stored bytes", quoted(shortHash(e.SHA256)), "that no file uses")
	}),
	about(func(e domain.BlobRemoved) sentence {
		return say(actor, "removed the stored bytes", quoted(shortHash(e.SHA256)))
	}),
)

// roleList is "the role X", "the roles X and Y" or "no roles".
func roleList(roles []domain.Role) string {
	names := make([]string, len(roles))
	for i, r := range domain.SortRoles(roles) {
		names[i] = r.DisplayName()
	}
	switch len(names) {
	case 0:
		return "no roles"
	case 1:
		return "the role " + names[0]
	}
	return "the roles " + strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// count is "1 file" or "3 files".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func shortHash(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
