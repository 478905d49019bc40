// Package rolematrix is the table of who may do what, shared by the tests that drive it through the
// commands and through HTTP: every use case of the identity slice × every kind of actor. A test of each
// layer names a runner for every use in the table, so a page that offers what the command refuses, or a
// route that skips the command, shows up as a row that disagrees.
package rolematrix

import "github.com/mediciasafely/jobserver/domain"

// Setup is who acts: the command line, an anonymous visitor, or a user with at most one role held
// globally, on this project, or on another project.
type Setup struct {
	Key       string
	CLI       bool
	Anonymous bool
	Global    domain.Role
	Project   domain.Role
	Other     domain.Role
}

func (s Setup) String() string {
	switch {
	case s.CLI:
		return "the command line"
	case s.Anonymous:
		return "an anonymous visitor"
	case s.Global != "":
		return "a global " + s.Global.DisplayName()
	case s.Project != "":
		return "a " + s.Project.DisplayName() + " of this project"
	case s.Other != "":
		return "a " + s.Other.DisplayName() + " of another project"
	}
	return "a user without roles"
}

// Setups are the nineteen kinds of actor: the command line, anonymous, a user without roles, each of the
// ten roles held globally, and each of the three project roles on this project and on another one.
func Setups() []Setup {
	setups := []Setup{{Key: "cli", CLI: true}, {Key: "anonymous", Anonymous: true}, {Key: "none"}}
	for _, r := range domain.AllRoles() {
		setups = append(setups, Setup{Key: "global:" + string(r), Global: r})
	}
	for _, r := range domain.ProjectRoles() {
		setups = append(setups, Setup{Key: "project:" + string(r), Project: r})
	}
	for _, r := range domain.ProjectRoles() {
		setups = append(setups, Setup{Key: "other:" + string(r), Other: r})
	}
	return setups
}

// Use is one use case of the matrix, the slice it belongs to, and the setups that may run it; everyone
// else is refused.
type Use struct {
	Slice   string
	Name    string
	Allowed []string
}

// The slices of the matrix.
const (
	Identity     = "identity"
	Workspaces   = "workspaces"
	Applications = "applications"
	Releases     = "releases"
)

// Allows reports whether the setup with key may run the use.
func (u Use) Allows(key string) bool {
	for _, k := range u.Allowed {
		if k == key {
			return true
		}
	}
	return false
}

// admins may do what needs a Core Developer's permission.
var admins = []string{"cli", "global:core_developer"}

// coordinators of the project, global ones, and admins may change members and settings.
var coordinators = []string{"cli", "global:core_developer", "global:project_coordinator", "project:project_coordinator"}

// developers of the project and global ones create and archive workspaces and run and cancel jobs.
var developers = []string{"cli", "global:project_developer", "project:project_developer"}

// reviewers read any application and note and mark its pages (application_review, or application_manage).
var reviewers = []string{"cli", "global:core_developer", "global:governance_reviewer", "global:technical_reviewer"}

// outputCheckers release and delete files of every project.
var outputCheckers = []string{"cli", "global:output_checker"}

// people are the setups of keys that are a person: the command line runs no jobs.
func people(keys []string) []string {
	var out []string
	for _, k := range keys {
		if k != "cli" {
			out = append(out, k)
		}
	}
	return out
}

func everyoneSignedIn() []string {
	var keys []string
	for _, s := range Setups() {
		if !s.Anonymous {
			keys = append(keys, s.Key)
		}
	}
	return keys
}

// Uses is the table of spec/roles.md: for identity: admins (Core Developers) create backends,
// organisations and projects, grant roles and add project members; a Project Coordinator of a project (or
// a global one, or an admin) changes members' roles, removes members and renames the project, but a
// coordinator of another project may not; everyone signed in changes only their own notification
// address; an anonymous visitor may do nothing. A Project Developer of the project (or a global one)
// creates, archives and configures workspaces, runs jobs on a backend they belong to, and cancels jobs.
// Everyone signed in starts and fills in applications of their own; only admins change someone else's,
// set statuses and approve; reviewers (and admins) note and mark pages. An Output Checker releases files
// from a backend they belong to (on behalf of themself: the command line is nobody) and deletes released
// files.
func Uses() []Use {
	return []Use{
		{Slice: Identity, Name: "ChangeNotificationEmail of their own address", Allowed: everyoneSignedIn()},
		{Slice: Identity, Name: "ChangeNotificationEmail of someone else", Allowed: []string{"cli"}},
		{Slice: Identity, Name: "SetGlobalRoles", Allowed: admins},
		{Slice: Identity, Name: "GrantGlobalRole", Allowed: admins},
		{Slice: Identity, Name: "RevokeGlobalRole", Allowed: admins},
		{Slice: Identity, Name: "ForgetUser", Allowed: admins},
		{Slice: Identity, Name: "CreateBackend", Allowed: admins},
		{Slice: Identity, Name: "RotateRunnerToken", Allowed: admins},
		{Slice: Identity, Name: "AddBackendMember", Allowed: admins},
		{Slice: Identity, Name: "RemoveBackendMember", Allowed: admins},
		{Slice: Identity, Name: "CreateOrg", Allowed: admins},
		{Slice: Identity, Name: "AddOrgMember", Allowed: admins},
		{Slice: Identity, Name: "RemoveOrgMember", Allowed: admins},
		{Slice: Identity, Name: "CreateProject", Allowed: admins},
		{Slice: Identity, Name: "AddProjectToOrg", Allowed: admins},
		{Slice: Identity, Name: "AddProjectMember", Allowed: admins},
		{Slice: Identity, Name: "ChangeProjectMemberRoles", Allowed: coordinators},
		{Slice: Identity, Name: "RemoveProjectMember", Allowed: coordinators},
		{Slice: Identity, Name: "RenameProject", Allowed: coordinators},
		{Slice: Workspaces, Name: "CreateWorkspace", Allowed: developers},
		{Slice: Workspaces, Name: "ArchiveWorkspace", Allowed: developers},
		{Slice: Workspaces, Name: "SetWorkspaceNotifications", Allowed: developers},
		{Slice: Workspaces, Name: "RequestJobs", Allowed: people(developers)},
		{Slice: Workspaces, Name: "CancelJobs of someone else's request", Allowed: developers},
		{Slice: Applications, Name: "StartApplication", Allowed: people(everyoneSignedIn())},
		{Slice: Applications, Name: "SaveApplicationPage of their own application", Allowed: everyoneSignedIn()},
		{Slice: Applications, Name: "SaveApplicationPage of someone else's application", Allowed: admins},
		{Slice: Applications, Name: "AddApplicationResearcher of someone else's application", Allowed: admins},
		{Slice: Applications, Name: "EditApplicationResearcher of someone else's application", Allowed: admins},
		{Slice: Applications, Name: "RemoveApplicationResearcher of someone else's application", Allowed: admins},
		{Slice: Applications, Name: "SubmitApplication of someone else's application", Allowed: admins},
		{Slice: Applications, Name: "WithdrawApplication of someone else's application", Allowed: admins},
		{Slice: Applications, Name: "RestoreApplication of someone else's application", Allowed: admins},
		{Slice: Applications, Name: "ReviewApplicationPage", Allowed: reviewers},
		{Slice: Applications, Name: "SetApplicationStatus", Allowed: admins},
		{Slice: Applications, Name: "ApproveApplication", Allowed: admins},
		{Slice: Releases, Name: "CreateRelease", Allowed: people(outputCheckers)},
		{Slice: Releases, Name: "UploadReleaseFile", Allowed: people(outputCheckers)},
		{Slice: Releases, Name: "DeleteReleaseFile", Allowed: outputCheckers},
	}
}

// UsesOf lists the uses of one slice.
func UsesOf(slice string) []Use {
	var uses []Use
	for _, u := range Uses() {
		if u.Slice == slice {
			uses = append(uses, u)
		}
	}
	return uses
}
