package domain

import (
	"regexp"
	"slices"
	"strings"
)

// WorkspaceCreated records a new workspace (stream workspace-<id>): a place in a project where the actions
// of one branch of one GitHub repository run. Its name is unique on the whole server, since runners use it
// as a directory name.
type WorkspaceCreated struct {
	WorkspaceID string
	ProjectID   string
	Name        string
	RepoURL     string
	Branch      string
	CreatedBy   string
	Notify      bool
}

func (WorkspaceCreated) EventType() string { return "WorkspaceCreated" }

// WorkspaceArchived stops a workspace from running jobs; its history and outputs stay.
type WorkspaceArchived struct {
	WorkspaceID string
}

func (WorkspaceArchived) EventType() string { return "WorkspaceArchived" }

// WorkspaceUnarchived lets an archived workspace run jobs again.
type WorkspaceUnarchived struct {
	WorkspaceID string
}

func (WorkspaceUnarchived) EventType() string { return "WorkspaceUnarchived" }

// WorkspaceNotificationsChanged sets whether job requests of the workspace send e-mail by default.
type WorkspaceNotificationsChanged struct {
	WorkspaceID string
	Notify      bool
}

func (WorkspaceNotificationsChanged) EventType() string { return "WorkspaceNotificationsChanged" }

// ReservedForWorkspace is the kind of a workspace name's reservation.
const ReservedForWorkspace = "workspace"

// MaxWorkspaceNameLen is the longest workspace name.
const MaxWorkspaceNameLen = 100

var workspaceNamePattern = regexp.MustCompile(`^[-a-zA-Z0-9_]+$`)

// reservedWorkspaceNames are the project's own pages: a workspace lives at /{org}/{project}/{name}.
var reservedWorkspaceNames = []string{"settings", "new-workspace", "history", "releases", "logs"}

// NewWorkspace is what a workspace is created from: the form's values and what GitHub said about them.
type NewWorkspace struct {
	WorkspaceID string
	Name        string
	RepoURL     string
	Branch      string
	CreatedBy   string
}

// CreateWorkspace decides a new workspace in the project (needs workspace_create on it). The name is
// lowercased; the caller reserves it. Notifications start off, as the user guide says.
func (p *Project) CreateWorkspace(by Actor, w NewWorkspace) (WorkspaceCreated, error) {
	if err := by.Require(WorkspaceCreate); err != nil {
		return WorkspaceCreated{}, err
	}
	if err := p.mustExist(); err != nil {
		return WorkspaceCreated{}, err
	}
	name := strings.ToLower(strings.TrimSpace(w.Name))
	var v Validation
	v.Check(w.WorkspaceID != "", "workspace_id", "A workspace needs an id.")
	switch {
	case name == "":
		v.Add("name", "Please enter a name for the workspace.")
	case len(name) > MaxWorkspaceNameLen:
		v.Add("name", "A workspace name has at most 100 characters.")
	case !workspaceNamePattern.MatchString(name):
		v.Add("name", "A workspace name has only letters, digits, dashes and underscores.")
	case slices.Contains(reservedWorkspaceNames, name):
		v.Add("name", quote(name)+" is the name of one of the project's pages; please choose another.")
	}
	v.Check(strings.TrimSpace(w.RepoURL) != "", "repo", "Please enter the GitHub repository's address.")
	v.Check(strings.TrimSpace(w.Branch) != "", "branch", "Please enter a branch.")
	if err := v.Err(); err != nil {
		return WorkspaceCreated{}, err
	}
	return WorkspaceCreated{WorkspaceID: w.WorkspaceID, ProjectID: p.id, Name: name, RepoURL: strings.TrimSpace(w.RepoURL),
		Branch: strings.TrimSpace(w.Branch), CreatedBy: w.CreatedBy}, nil
}

// WorkspaceNameStream reserves a workspace name on the whole server.
func WorkspaceNameStream(name string) string { return "workspacename-" + strings.ToLower(name) }

// WorkspaceStream is the stream of one workspace.
func WorkspaceStream(workspaceID string) string { return "workspace-" + workspaceID }

// Workspace is a project's place for one branch of one repository.
type Workspace struct {
	id        string
	projectID string
	name      string
	repoURL   string
	branch    string
	archived  bool
	notify    bool
}

// Apply folds one event of the workspace's stream.
func (w *Workspace) Apply(e Event) {
	switch e := e.(type) {
	case WorkspaceCreated:
		w.id, w.projectID, w.name, w.repoURL, w.branch, w.notify = e.WorkspaceID, e.ProjectID, e.Name, e.RepoURL, e.Branch, e.Notify
	case WorkspaceArchived:
		w.archived = true
	case WorkspaceUnarchived:
		w.archived = false
	case WorkspaceNotificationsChanged:
		w.notify = e.Notify
	}
}

// Clone is a copy that later events do not change, for caching folded state.
func (w *Workspace) Clone() *Workspace {
	c := *w
	return &c
}

// Exists reports whether the workspace was created.
func (w *Workspace) Exists() bool { return w.id != "" }

// ID is the workspace's id.
func (w *Workspace) ID() string { return w.id }

// ProjectID is the id of the workspace's project.
func (w *Workspace) ProjectID() string { return w.projectID }

// Name is the workspace's unique name.
func (w *Workspace) Name() string { return w.name }

// RepoURL is the address of the workspace's GitHub repository.
func (w *Workspace) RepoURL() string { return w.repoURL }

// Branch is the branch whose project.yaml the workspace runs.
func (w *Workspace) Branch() string { return w.branch }

// Archived reports whether the workspace is archived (it cannot run jobs).
func (w *Workspace) Archived() bool { return w.archived }

// Notify reports whether the workspace's job requests send e-mail by default.
func (w *Workspace) Notify() bool { return w.notify }

func (w *Workspace) mustExist() error {
	if !w.Exists() {
		return NotFound("No such workspace.")
	}
	return nil
}

// SetArchived decides archiving or unarchiving (needs workspace_archive); the state already held needs
// no event.
func (w *Workspace) SetArchived(by Actor, archived bool) ([]Event, error) {
	if err := by.Require(WorkspaceArchive); err != nil {
		return nil, err
	}
	if err := w.mustExist(); err != nil {
		return nil, err
	}
	switch {
	case archived == w.archived:
		return nil, nil
	case archived:
		return []Event{WorkspaceArchived{WorkspaceID: w.id}}, nil
	}
	return []Event{WorkspaceUnarchived{WorkspaceID: w.id}}, nil
}

// SetNotifications decides the workspace's default for e-mail on job completion (needs
// workspace_toggle_notifications); the setting already held needs no event.
func (w *Workspace) SetNotifications(by Actor, notify bool) ([]Event, error) {
	if err := by.Require(WorkspaceToggleNotifications); err != nil {
		return nil, err
	}
	if err := w.mustExist(); err != nil {
		return nil, err
	}
	if notify == w.notify {
		return nil, nil
	}
	return []Event{WorkspaceNotificationsChanged{WorkspaceID: w.id, Notify: notify}}, nil
}
