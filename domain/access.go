package domain

// Actor is who asks for a decision, as the decision sees them: their user id ("" for the operator's
// command line and for anonymous visitors) and what they may do on the state being decided on. The
// command that builds it reads the permissions from that same state, so a decision never rests on an
// older read.
type Actor struct {
	UserID string
	Can    PermissionSet
	// Operator marks the operator's command line, which holds every permission (it holds the database).
	Operator bool
}

// Require refuses with the permission's one message unless the actor holds it.
func (a Actor) Require(p Permission) error {
	if !a.Can.Has(p) {
		return Forbidden(p)
	}
	return nil
}

// Is reports whether the actor is the user userID.
func (a Actor) Is(userID string) bool { return a.UserID != "" && a.UserID == userID }

// refusals is the one message per permission that a refusal shows, to commands and pages alike.
var refusals = map[Permission]string{
	StaffAreaAccess:              "The staff area is for MediciaSAFELY admins.",
	ApplicationManage:            "Only admins can manage applications.",
	ApplicationReview:            "Only reviewers can review applications.",
	BackendManage:                "Only admins can create backends, rotate their tokens and change their members.",
	OrgCreate:                    "Only admins can create organisations and change their members.",
	ProjectCreate:                "Only admins can create projects and add them to organisations.",
	UserManage:                   "Only admins can grant and revoke roles.",
	ProjectMembershipAdd:         "Only admins can add members to a project.",
	ProjectMembershipEdit:        "Only a Project Coordinator of this project or a MediciaSAFELY admin can change its members.",
	ProjectSettingsEdit:          "Only a Project Coordinator of this project or a MediciaSAFELY admin can change its settings.",
	AuditLogView:                 "Only auditors and admins can read the full event history.",
	WorkspaceCreate:              "Only a Project Developer of this project can create workspaces.",
	WorkspaceArchive:             "Only a Project Developer of this project can archive workspaces.",
	WorkspaceToggleNotifications: "Only a Project Developer of this project can change a workspace's notifications.",
	JobRun:                       "Only a Project Developer of this project can run jobs.",
	JobCancel:                    "Only a Project Developer of this project, or whoever requested the jobs, can cancel them.",
	ReleaseFileView:              "Only a Project Collaborator, Project Developer or Output Checker can see released files.",
	ReleaseFileUpload:            "Only an Output Checker can upload released files.",
	ReleaseFileDelete:            "Only an Output Checker can delete released files.",
	SnapshotCreate:               "Only a Project Developer of this project can prepare a publication.",
	SnapshotPublish:              "Only an Output Publisher can publish.",
}

// Refusal is the message shown when an actor lacks p.
func Refusal(p Permission) string {
	if m, ok := refusals[p]; ok {
		return m
	}
	return "You do not have permission to do this."
}
