package domain_test

import (
	"slices"
	"testing"

	"github.com/mediciasafely/jobserver/domain"
)

func TestTheGuideListsTenRolesInThisOrder(t *testing.T) {
	t.Parallel()
	want := []string{
		"Core Developer", "Data Investigator", "Governance Reviewer", "Onboarding Agent", "Output Checker",
		"Output Publisher", "Project Collaborator", "Project Coordinator", "Project Developer", "Technical Reviewer",
	}
	var got []string
	for _, r := range domain.AllRoles() {
		got = append(got, r.DisplayName())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("AllRoles() display names = %q, want %q", got, want)
	}
}

func TestParseRoleAcceptsIDOrDisplayNameInAnyCase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want domain.Role
	}{
		{"core_developer", domain.CoreDeveloper},
		{"Core Developer", domain.CoreDeveloper},
		{"core developer", domain.CoreDeveloper},
		{"  CORE DEVELOPER ", domain.CoreDeveloper},
		{"Project Coordinator", domain.ProjectCoordinator},
		{"project developer", domain.ProjectDeveloper},
		{"PROJECT_COLLABORATOR", domain.ProjectCollaborator},
		{"Technical Reviewer", domain.TechnicalReviewer},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := domain.ParseRole(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("ParseRole(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "admin", "Staff Area Administrator", "core-developer"} {
		t.Run("refuses "+bad, func(t *testing.T) {
			t.Parallel()
			if _, err := domain.ParseRole(bad); domain.KindOf(err) != domain.KindInvalid {
				t.Fatalf("ParseRole(%q) error = %v, want Invalid", bad, err)
			}
		})
	}
	for _, r := range domain.AllRoles() {
		if got, err := domain.ParseRole(r.DisplayName()); err != nil || got != r {
			t.Errorf("ParseRole(%q) = %q, %v", r.DisplayName(), got, err)
		}
	}
}

func TestOnlyTheThreeProjectRolesCanBeGivenOnOneProject(t *testing.T) {
	t.Parallel()
	projectRoles := map[domain.Role]bool{
		domain.ProjectCollaborator: true, domain.ProjectCoordinator: true, domain.ProjectDeveloper: true,
	}
	for _, r := range domain.AllRoles() {
		t.Run(string(r), func(t *testing.T) {
			t.Parallel()
			if r.ProjectScoped() != projectRoles[r] {
				t.Fatalf("%s.ProjectScoped() = %v, want %v", r, r.ProjectScoped(), projectRoles[r])
			}
			_, err := domain.ValidateProjectRoles([]domain.Role{r})
			if projectRoles[r] && err != nil {
				t.Fatalf("ValidateProjectRoles(%s) = %v, want ok", r, err)
			}
			if !projectRoles[r] {
				var de *domain.Error
				if domain.KindOf(err) != domain.KindInvalid || !asError(err, &de) || de.Fields["roles"] == "" {
					t.Fatalf("ValidateProjectRoles(%s) = %v, want Invalid on field roles", r, err)
				}
			}
		})
	}
}

func TestValidateProjectRolesSortsAndDeduplicates(t *testing.T) {
	t.Parallel()
	got, err := domain.ValidateProjectRoles([]domain.Role{domain.ProjectDeveloper, domain.ProjectCollaborator, domain.ProjectDeveloper})
	if err != nil {
		t.Fatal(err)
	}
	if want := []domain.Role{domain.ProjectCollaborator, domain.ProjectDeveloper}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	got, err = domain.ValidateProjectRoles(nil)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("no roles: got %#v, %v; want an empty, non-nil list", got, err)
	}
	if _, err := domain.ValidateProjectRoles([]domain.Role{"wizard"}); domain.KindOf(err) != domain.KindInvalid {
		t.Fatalf("unknown role: err = %v, want Invalid", err)
	}
}

// TestEachRoleHasThePermissionsOfRolesMD restates the table of spec/roles.md.
func TestEachRoleHasThePermissionsOfRolesMD(t *testing.T) {
	t.Parallel()
	table := map[domain.Role][]domain.Permission{
		domain.CoreDeveloper: {"staff_area_access", "application_manage", "backend_manage", "org_create",
			"project_create", "user_manage", "project_membership_add", "audit_log_view"},
		domain.DataInvestigator:    {},
		domain.GovernanceReviewer:  {"audit_log_view", "application_review"},
		domain.OnboardingAgent:     {},
		domain.OutputChecker:       {"release_file_upload", "release_file_delete", "release_file_view"},
		domain.OutputPublisher:     {"snapshot_publish"},
		domain.TechnicalReviewer:   {"application_review"},
		domain.ProjectCollaborator: {"release_file_view"},
		domain.ProjectCoordinator:  {"project_settings_edit", "project_membership_edit"},
		domain.ProjectDeveloper: {"job_run", "job_cancel", "workspace_create", "workspace_archive",
			"workspace_toggle_notifications", "release_file_view", "snapshot_create"},
	}
	if len(table) != len(domain.AllRoles()) {
		t.Fatalf("table has %d roles, AllRoles %d", len(table), len(domain.AllRoles()))
	}
	for role, want := range table {
		t.Run(string(role), func(t *testing.T) {
			t.Parallel()
			want = slices.Clone(want)
			slices.Sort(want)
			got := domain.PermissionsOf([]domain.Role{role}, nil).List()
			// Who may add members to and create every project may also change them (domain.impliedPermissions).
			implied := map[domain.Permission]domain.Permission{"project_membership_add": "project_membership_edit", "project_create": "project_settings_edit"}
			for _, p := range role.Permissions() {
				if i, ok := implied[p]; ok && !slices.Contains(want, i) {
					want = append(want, i)
				}
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("permissions of %s = %v, want %v", role, got, want)
			}
			for _, p := range want {
				if !p.Valid() {
					t.Fatalf("%s is not in AllPermissions", p)
				}
			}
		})
	}
	if n := len(domain.AllPermissions()); n != 21 {
		t.Fatalf("AllPermissions has %d permissions, roles.md names 21", n)
	}
}

func TestPermissionsAreTheUnionOfGlobalAndProjectRoles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		global  []domain.Role
		project []domain.Role
		has     []domain.Permission
		hasNot  []domain.Permission
	}{
		{name: "no roles have no permissions", hasNot: domain.AllPermissions()},
		{
			name:    "a project developer runs jobs on that project",
			project: []domain.Role{domain.ProjectDeveloper},
			has:     []domain.Permission{domain.JobRun, domain.WorkspaceCreate},
			hasNot:  []domain.Permission{domain.ProjectMembershipEdit, domain.ProjectMembershipAdd},
		},
		{
			name:    "a global output checker who coordinates a project has both",
			global:  []domain.Role{domain.OutputChecker},
			project: []domain.Role{domain.ProjectCoordinator},
			has:     []domain.Permission{domain.ReleaseFileDelete, domain.ProjectMembershipEdit, domain.ProjectSettingsEdit},
			hasNot:  []domain.Permission{domain.JobRun, domain.ProjectMembershipAdd},
		},
		{
			name:   "a global project developer runs jobs on every project",
			global: []domain.Role{domain.ProjectDeveloper},
			has:    []domain.Permission{domain.JobRun},
		},
		{
			name:    "a global-only role in a project membership gives nothing",
			project: []domain.Role{domain.CoreDeveloper},
			hasNot:  []domain.Permission{domain.StaffAreaAccess, domain.ProjectMembershipAdd, domain.UserManage},
		},
		{
			name:   "a core developer adds members, and so may also change and remove them and rename projects",
			global: []domain.Role{domain.CoreDeveloper},
			has:    []domain.Permission{domain.ProjectMembershipAdd, domain.UserManage, domain.ProjectMembershipEdit, domain.ProjectSettingsEdit},
			hasNot: []domain.Permission{domain.JobRun},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			set := domain.PermissionsOf(tt.global, tt.project)
			for _, p := range tt.has {
				if !set.Has(p) {
					t.Errorf("missing %s", p)
				}
			}
			for _, p := range tt.hasNot {
				if set.Has(p) {
					t.Errorf("unexpected %s", p)
				}
			}
		})
	}
}
