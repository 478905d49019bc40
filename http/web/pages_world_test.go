package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
)

// myStudy is the world of steps 3 to 6 of the user guide, set up by an admin at the command line: the
// MediciaAIOrg2 organisation with the MyStudy and OtherStudy projects, and the people around them.
type myStudy struct {
	e                     *env
	org, project, other   string // ids of MediciaAIOrg2, MyStudy and OtherStudy
	admin                 string // Ada, a global Core Developer, member of nothing
	coordinator           string // Cora, Project Coordinator of MyStudy
	developer             string // Devon, Project Developer of MyStudy
	collaborator          string // Colin, Project Collaborator of MyStudy
	otherCoordinator      string // Olga, Project Coordinator of OtherStudy only
	outsider              string // Otto, in the organisation but in no project
	studyURL, settingsURL string
}

func setUpMyStudy(e *env) myStudy {
	e.t.Helper()
	s := myStudy{e: e, studyURL: "/mediciaaiorg2/mystudy", settingsURL: "/mediciaaiorg2/mystudy/settings"}
	s.admin = e.user("ada", domain.CoreDeveloper)
	s.coordinator = e.user("cora")
	s.developer = e.user("devon")
	s.collaborator = e.user("colin")
	s.otherCoordinator = e.user("olga")
	s.outsider = e.user("otto")
	s.org = s.newOrg("MediciaAIOrg2", s.coordinator, s.developer, s.collaborator, s.otherCoordinator, s.outsider)
	s.project = s.newProject("MyStudy", s.org)
	s.other = s.newProject("OtherStudy", s.org)
	s.addMember(s.project, s.coordinator, domain.ProjectCoordinator)
	s.addMember(s.project, s.developer, domain.ProjectDeveloper)
	s.addMember(s.project, s.collaborator, domain.ProjectCollaborator)
	s.addMember(s.other, s.otherCoordinator, domain.ProjectCoordinator, domain.ProjectDeveloper)
	return s
}

// newOrg creates an organisation with members and returns its id.
func (s myStudy) newOrg(name string, members ...string) string {
	s.e.t.Helper()
	ctx := context.Background()
	created, err := s.e.cmds.CreateOrg.Handle(ctx, identity.CreateOrg{Actor: commands.CLIActor, Name: name})
	s.e.must(created.Result, err)
	for _, m := range members {
		s.e.must(s.e.cmds.AddOrgMember.Handle(ctx, identity.AddOrgMember{Actor: commands.CLIActor, OrgID: created.ID, UserID: m}))
	}
	return created.ID
}

// newProject creates a project in an organisation ("" for none) and returns its id.
func (s myStudy) newProject(name, orgID string) string {
	s.e.t.Helper()
	created, err := s.e.cmds.CreateProject.Handle(context.Background(), identity.CreateProject{Actor: commands.CLIActor, Name: name, OrgID: orgID})
	s.e.must(created.Result, err)
	return created.ID
}

func (s myStudy) addMember(projectID, userID string, roles ...domain.Role) {
	s.e.t.Helper()
	s.e.must(s.e.cmds.AddProjectMember.Handle(context.Background(), identity.AddProjectMember{
		Actor: commands.CLIActor, ProjectID: projectID, UserID: userID, Roles: roles}))
}

// newBackend creates a backend with members and returns its id.
func (s myStudy) newBackend(slug, name string, members ...string) string {
	s.e.t.Helper()
	ctx := context.Background()
	created, err := s.e.cmds.CreateBackend.Handle(ctx, identity.CreateBackend{Actor: commands.CLIActor, Slug: slug, Name: name})
	s.e.must(created.Result, err)
	for _, m := range members {
		s.e.must(s.e.cmds.AddBackendMember.Handle(ctx, identity.AddBackendMember{Actor: commands.CLIActor, BackendID: created.BackendID, UserID: m}))
	}
	return created.BackendID
}

// as is a browser logged in as the user.
func (s myStudy) as(userID string) *browser {
	s.e.t.Helper()
	b := s.e.browser()
	b.loginAs(userID)
	return b
}

// memberURL is the settings page of one member of MyStudy.
func (s myStudy) memberURL(userID string) string { return s.settingsURL + "/members/" + userID }

// tickRoles is a form with the given roles ticked.
func tickRoles(rs ...domain.Role) url.Values {
	form := url.Values{}
	for _, r := range rs {
		form.Add("roles", string(r))
	}
	return form
}

// renameForm is the settings page's name form, filled in.
func renameForm(name string) url.Values {
	return url.Values{"form": {"rename"}, "name": {name}}
}

// addMemberForm is the settings page's add-member form, filled in.
func addMemberForm(login string, roles ...string) url.Values {
	return url.Values{"form": {"add-member"}, "login": {login}, "roles": roles}
}

// sentToLogin fails unless an anonymous visit to path ended on the login page, which will come back there.
func sentToLogin(t *testing.T, p *page, path string) {
	t.Helper()
	p.expect(http.StatusOK, "Log in with GitHub").at("/login")
	if next := p.url.Query().Get("next"); next != path {
		t.Errorf("login next = %q, want %q", next, path)
	}
}
