package domain_test

import (
	"strings"
	"testing"

	"github.com/mediciasafely/jobserver/domain"
)

// developer may do what a Project Developer of the project may; collaborator what a Project Collaborator
// may.
var (
	developer    = domain.Actor{UserID: "dev", Can: domain.PermissionsOf(nil, []domain.Role{domain.ProjectDeveloper})}
	collaborator = domain.Actor{UserID: "collab", Can: domain.PermissionsOf(nil, []domain.Role{domain.ProjectCollaborator})}
	coordinator  = domain.Actor{UserID: "coord", Can: domain.PermissionsOf(nil, []domain.Role{domain.ProjectCoordinator})}
)

func newWorkspace(t *testing.T, events ...domain.Event) *domain.Workspace {
	t.Helper()
	created, err := newProject(t).CreateWorkspace(developer, domain.NewWorkspace{
		WorkspaceID: "w1", Name: "bp-main", RepoURL: "https://github.com/opensafely/bp-study", Branch: "main", CreatedBy: "dev",
	})
	if err != nil {
		t.Fatal(err)
	}
	return fold(&domain.Workspace{}, append([]domain.Event{created}, events...)...)
}

func TestWorkspaceNameRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, want, field, message string
	}{
		{name: "bp-main", want: "bp-main"},
		{name: "  BP_Main-2024 ", want: "bp_main-2024"},
		{name: "x", want: "x"},
		{name: strings.Repeat("a", 100), want: strings.Repeat("a", 100)},
		{name: "", field: "name", message: "enter a name"},
		{name: "   ", field: "name", message: "enter a name"},
		{name: strings.Repeat("a", 101), field: "name", message: "at most 100"},
		{name: "bp main", field: "name", message: "only letters"},
		{name: "bp.main", field: "name", message: "only letters"},
		{name: "bp/main", field: "name", message: "only letters"},
		{name: "étude", field: "name", message: "only letters"},
		{name: "bp-main\n", want: "bp-main"},
		{name: "settings", field: "name", message: "project's pages"},
		{name: "New-Workspace", field: "name", message: "project's pages"},
		{name: "RELEASES", field: "name", message: "project's pages"},
		{name: "history", field: "name", message: "project's pages"},
		{name: "logs", field: "name", message: "project's pages"},
	}
	p := newProject(t)
	for _, c := range cases {
		got, err := p.CreateWorkspace(developer, domain.NewWorkspace{WorkspaceID: "w1", Name: c.name, RepoURL: "https://github.com/o/r", Branch: "main", CreatedBy: "dev"})
		if c.field != "" {
			if !strings.Contains(fieldOf(err, c.field), c.message) {
				t.Errorf("%q: err = %v, want %q on %s", c.name, err, c.message, c.field)
			}
			continue
		}
		if err != nil || got.Name != c.want {
			t.Errorf("%q: got %q, %v; want %q", c.name, got.Name, err, c.want)
		}
	}
}

func TestCreateWorkspaceNeedsAllFieldsAndThePermission(t *testing.T) {
	t.Parallel()
	p := newProject(t)
	_, err := p.CreateWorkspace(developer, domain.NewWorkspace{WorkspaceID: "w1", Name: "ok", RepoURL: " ", Branch: ""})
	if fieldOf(err, "repo") == "" || fieldOf(err, "branch") == "" {
		t.Fatalf("err = %v, want messages on repo and branch", err)
	}
	for _, by := range []domain.Actor{collaborator, coordinator, {UserID: "nobody", Can: domain.PermissionSet{}}} {
		_, err := p.CreateWorkspace(by, domain.NewWorkspace{WorkspaceID: "w1", Name: "ok", RepoURL: "https://github.com/o/r", Branch: "main"})
		wantRefusal(t, err, "Project Developer")
	}
	_, err = (&domain.Project{}).CreateWorkspace(developer, domain.NewWorkspace{WorkspaceID: "w1", Name: "ok", RepoURL: "https://github.com/o/r", Branch: "main"})
	if domain.KindOf(err) != domain.KindNotFound {
		t.Fatalf("in no project: %v", err)
	}
	created, err := p.CreateWorkspace(developer, domain.NewWorkspace{WorkspaceID: "w1", Name: "ok", RepoURL: " https://github.com/o/r ", Branch: " main ", CreatedBy: "dev"})
	if err != nil || created.RepoURL != "https://github.com/o/r" || created.Branch != "main" || created.Notify || created.ProjectID != "p1" {
		t.Fatalf("created %+v, %v", created, err)
	}
	if domain.WorkspaceNameStream("BP-Main") != domain.WorkspaceNameStream("bp-main") {
		t.Fatal("a name's reservation depends on its case")
	}
}

func TestArchivingAndNotificationsChangeOnlyWhatDiffers(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t)
	if w.Archived() || w.Notify() || w.Name() != "bp-main" || w.ProjectID() != "p1" {
		t.Fatalf("new workspace: archived %v, notify %v", w.Archived(), w.Notify())
	}
	steps := []struct {
		decide func(*domain.Workspace) ([]domain.Event, error)
		want   string // the event's type, "" for none
	}{
		{func(w *domain.Workspace) ([]domain.Event, error) { return w.SetArchived(developer, false) }, ""},
		{func(w *domain.Workspace) ([]domain.Event, error) { return w.SetArchived(developer, true) }, "WorkspaceArchived"},
		{func(w *domain.Workspace) ([]domain.Event, error) { return w.SetArchived(developer, true) }, ""},
		{func(w *domain.Workspace) ([]domain.Event, error) { return w.SetArchived(developer, false) }, "WorkspaceUnarchived"},
		{func(w *domain.Workspace) ([]domain.Event, error) { return w.SetNotifications(developer, false) }, ""},
		{func(w *domain.Workspace) ([]domain.Event, error) { return w.SetNotifications(developer, true) }, "WorkspaceNotificationsChanged"},
		{func(w *domain.Workspace) ([]domain.Event, error) { return w.SetNotifications(developer, true) }, ""},
	}
	for i, s := range steps {
		events, err := s.decide(w)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if (s.want == "") != (len(events) == 0) || (s.want != "" && events[0].EventType() != s.want) {
			t.Fatalf("step %d: %v, want %q", i, events, s.want)
		}
		fold(w, events...)
	}
	if !w.Notify() || w.Archived() {
		t.Fatal("the folded state lost a change")
	}
	_, err := w.SetArchived(collaborator, true)
	wantRefusal(t, err, "archive workspaces")
	_, err = w.SetNotifications(coordinator, true)
	wantRefusal(t, err, "notifications")
	_, err = (&domain.Workspace{}).SetArchived(developer, true)
	if domain.KindOf(err) != domain.KindNotFound {
		t.Fatalf("no workspace: %v", err)
	}
}

func TestCloneIsNotChangedByLaterEvents(t *testing.T) {
	t.Parallel()
	w := newWorkspace(t)
	c := w.Clone()
	fold(w, domain.WorkspaceArchived{WorkspaceID: "w1"})
	if c.Archived() || !w.Archived() {
		t.Fatal("the clone shares state")
	}
}
