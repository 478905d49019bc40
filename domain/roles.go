package domain

import (
	"slices"
	"strings"
)

// Role is one of the ten roles of the user guide. Its value is a stable id stored in events.
type Role string

// The ten roles, by stable id.
const (
	CoreDeveloper       Role = "core_developer"
	DataInvestigator    Role = "data_investigator"
	GovernanceReviewer  Role = "governance_reviewer"
	OnboardingAgent     Role = "onboarding_agent"
	OutputChecker       Role = "output_checker"
	OutputPublisher     Role = "output_publisher"
	ProjectCollaborator Role = "project_collaborator"
	ProjectCoordinator  Role = "project_coordinator"
	ProjectDeveloper    Role = "project_developer"
	TechnicalReviewer   Role = "technical_reviewer"
)

// Permission is one thing a role allows. Its value is a stable id.
type Permission string

// The permissions of spec/roles.md.
const (
	StaffAreaAccess              Permission = "staff_area_access"
	ApplicationManage            Permission = "application_manage"
	ApplicationReview            Permission = "application_review"
	BackendManage                Permission = "backend_manage"
	OrgCreate                    Permission = "org_create"
	ProjectCreate                Permission = "project_create"
	UserManage                   Permission = "user_manage"
	ProjectMembershipAdd         Permission = "project_membership_add"
	ProjectMembershipEdit        Permission = "project_membership_edit"
	ProjectSettingsEdit          Permission = "project_settings_edit"
	AuditLogView                 Permission = "audit_log_view"
	WorkspaceCreate              Permission = "workspace_create"
	WorkspaceArchive             Permission = "workspace_archive"
	WorkspaceToggleNotifications Permission = "workspace_toggle_notifications"
	JobRun                       Permission = "job_run"
	JobCancel                    Permission = "job_cancel"
	ReleaseFileView              Permission = "release_file_view"
	ReleaseFileUpload            Permission = "release_file_upload"
	ReleaseFileDelete            Permission = "release_file_delete"
	SnapshotCreate               Permission = "snapshot_create"
	SnapshotPublish              Permission = "snapshot_publish"
)

type roleInfo struct {
	display     string
	projectRole bool
	permissions []Permission
}

// roles is the table of spec/roles.md.
var roles = map[Role]roleInfo{
	CoreDeveloper: {display: "Core Developer", permissions: []Permission{
		StaffAreaAccess, ApplicationManage, BackendManage, OrgCreate, ProjectCreate, UserManage,
		ProjectMembershipAdd, AuditLogView,
	}},
	DataInvestigator:   {display: "Data Investigator"},
	GovernanceReviewer: {display: "Governance Reviewer", permissions: []Permission{AuditLogView, ApplicationReview}},
	OnboardingAgent:    {display: "Onboarding Agent"},
	OutputChecker: {display: "Output Checker", permissions: []Permission{
		ReleaseFileUpload, ReleaseFileDelete, ReleaseFileView,
	}},
	OutputPublisher:   {display: "Output Publisher", permissions: []Permission{SnapshotPublish}},
	TechnicalReviewer: {display: "Technical Reviewer", permissions: []Permission{ApplicationReview}},
	ProjectCollaborator: {display: "Project Collaborator", projectRole: true, permissions: []Permission{
		ReleaseFileView,
	}},
	ProjectCoordinator: {display: "Project Coordinator", projectRole: true, permissions: []Permission{
		ProjectSettingsEdit, ProjectMembershipEdit,
	}},
	ProjectDeveloper: {display: "Project Developer", projectRole: true, permissions: []Permission{
		JobRun, JobCancel, WorkspaceCreate, WorkspaceArchive, WorkspaceToggleNotifications, ReleaseFileView,
		SnapshotCreate,
	}},
}

// allRoles is the order of the user guide's list.
var allRoles = []Role{
	CoreDeveloper, DataInvestigator, GovernanceReviewer, OnboardingAgent, OutputChecker, OutputPublisher,
	ProjectCollaborator, ProjectCoordinator, ProjectDeveloper, TechnicalReviewer,
}

// AllRoles lists the ten roles in the order of the user guide.
func AllRoles() []Role { return slices.Clone(allRoles) }

// ProjectRoles lists the three roles that can be given on a single project.
func ProjectRoles() []Role {
	return []Role{ProjectCollaborator, ProjectCoordinator, ProjectDeveloper}
}

// Valid reports whether r is one of the ten roles.
func (r Role) Valid() bool {
	_, ok := roles[r]
	return ok
}

// DisplayName is the role's name as the user guide writes it ("Core Developer").
func (r Role) DisplayName() string {
	if info, ok := roles[r]; ok {
		return info.display
	}
	return string(r)
}

// ProjectScoped reports whether the role may be given on one project (the three Project roles); the other
// seven are global only.
func (r Role) ProjectScoped() bool { return roles[r].projectRole }

// Permissions lists what the role allows.
func (r Role) Permissions() []Permission { return slices.Clone(roles[r].permissions) }

// ParseRole accepts a role's id ("core_developer") or display name ("Core Developer"), in any case.
func ParseRole(s string) (Role, error) {
	s = strings.TrimSpace(s)
	for _, r := range allRoles {
		if strings.EqualFold(s, string(r)) || strings.EqualFold(s, roles[r].display) {
			return r, nil
		}
	}
	return "", Invalid("role", "Unknown role "+quote(s)+".")
}

// SortRoles removes duplicates and puts roles in the order of the user guide.
func SortRoles(rs []Role) []Role {
	out := make([]Role, 0, len(rs))
	for _, r := range allRoles {
		if slices.Contains(rs, r) {
			out = append(out, r)
		}
	}
	return out
}

// ValidateProjectRoles checks roles to give on one project: only the three Project roles may be given there.
// It returns them without duplicates, in the guide's order; an empty list is allowed (a member without roles).
func ValidateProjectRoles(rs []Role) ([]Role, error) {
	for _, r := range rs {
		if !r.Valid() {
			return nil, Invalid("roles", "Unknown role "+quote(string(r))+".")
		}
		if !r.ProjectScoped() {
			return nil, Invalid("roles", r.DisplayName()+" can only be granted on all projects, by an admin.")
		}
	}
	return SortRoles(rs), nil
}

// PermissionSet is a set of permissions.
type PermissionSet map[Permission]bool

// Has reports whether p is in the set.
func (s PermissionSet) Has(p Permission) bool { return s[p] }

// List returns the permissions in the set, sorted.
func (s PermissionSet) List() []Permission {
	out := make([]Permission, 0, len(s))
	for p := range s {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// PermissionsOf is what a user may do on a project: the union of the permissions of their global roles and
// of their roles in that project's membership. Roles in the project list that are not project-scoped are
// ignored, since they cannot be given on a single project. Pass no project roles for what a user may do
// outside any project.
func PermissionsOf(global []Role, project []Role) PermissionSet {
	set := PermissionSet{}
	for _, r := range global {
		for _, p := range roles[r].permissions {
			set[p] = true
		}
	}
	for _, r := range project {
		if !r.ProjectScoped() {
			continue
		}
		for _, p := range roles[r].permissions {
			set[p] = true
		}
	}
	for held, implied := range impliedPermissions {
		if set[held] {
			set[implied] = true
		}
	}
	return set
}

// impliedPermissions: an admin who may add members to any project may also change and remove them, and
// one who may create projects may also rename them. roles.md gives project_membership_edit and
// project_settings_edit to the Coordinator only; the guide's settings page offers both to "a Coordinator
// or an admin". This is the one place that choice is made.
var impliedPermissions = map[Permission]Permission{
	ProjectMembershipAdd: ProjectMembershipEdit,
	ProjectCreate:        ProjectSettingsEdit,
}

// AllPermissionsSet is every permission: what the operator's command line may do.
func AllPermissionsSet() PermissionSet {
	set := PermissionSet{}
	for _, p := range allPermissions {
		set[p] = true
	}
	return set
}

// allPermissions is the order of spec/roles.md.
var allPermissions = []Permission{
	StaffAreaAccess, ApplicationManage, ApplicationReview, BackendManage, OrgCreate, ProjectCreate, UserManage,
	ProjectMembershipAdd, ProjectMembershipEdit, ProjectSettingsEdit, AuditLogView, WorkspaceCreate,
	WorkspaceArchive, WorkspaceToggleNotifications, JobRun, JobCancel, ReleaseFileView, ReleaseFileUpload,
	ReleaseFileDelete, SnapshotCreate, SnapshotPublish,
}

// AllPermissions lists every permission.
func AllPermissions() []Permission { return slices.Clone(allPermissions) }

// Valid reports whether p is a known permission.
func (p Permission) Valid() bool { return slices.Contains(allPermissions, p) }

func quote(s string) string { return "\u201c" + s + "\u201d" }
