package workspaces_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/integrations/github"
	"github.com/mediciasafely/jobserver/internal/githubfake"
	"github.com/mediciasafely/jobserver/internal/testclock"
)

// The fake GitHub's accounts and their personal access tokens.
const (
	devGitHubID    = 101
	collabGitHubID = 102
	devToken       = "ghp_devDevDevDevDevDevDevDevDevDevDev0001"
	collabToken    = "ghp_collabCollabCollabCollabCollab0002"
	demoRepo       = "opensafely/bp-study"
)

// logBuffer is what the decorators logged.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is the workspaces slice (and the identity slice, to set things up) on an in-memory event store,
// with the real GitHub adapter calling a fake GitHub over HTTP.
type server struct {
	*workspaces.Commands
	id       *identity.Commands
	store    *eventstore.Memory
	log      *commands.EventLog
	keyring  *commands.Keyring
	clock    *testclock.Clock
	logs     *logBuffer
	fake     *githubfake.Server
	demoSHA  string // head of the demo study's main
	repoURL  string // the demo study's address
	projects int    // made by createProjectWithDeveloper
}

func newServer(t *testing.T) *server {
	t.Helper()
	fake := githubfake.New(t)
	fake.AddUser(githubfake.User{ID: devGitHubID, Login: "dev"})
	fake.AddUser(githubfake.User{ID: collabGitHubID, Login: "collab"})
	fake.AddToken(devGitHubID, devToken, "repo")
	fake.AddToken(collabGitHubID, collabToken, "repo")
	sha := fake.AddDemoRepository("opensafely", "bp-study")

	repos, err := github.NewRepos(github.Config{WebURL: fake.URL, APIURL: fake.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	keyring, err := commands.NewKeyring(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	c := testclock.At(time.Now())
	store := eventstore.NewMemory()
	log := commands.NewEventLog(store, domain.Events, c.Now)
	logs := &logBuffer{}
	kit := commands.Kit{Log: log, Logger: slog.New(slog.NewJSONHandler(logs, nil))}
	return &server{
		Commands: workspaces.New(kit, github.ForWorkspaces{Repos: repos}, keyring),
		id:       identity.New(kit),
		store:    store, log: log, keyring: keyring, clock: c, logs: logs, fake: fake,
		demoSHA: sha, repoURL: fake.URL + "/" + demoRepo,
	}
}

// events returns every stored event in global order.
func (s *server) events(t *testing.T) []eventstore.Event {
	t.Helper()
	events, err := s.store.ReadAll(context.Background(), eventstore.Position{}, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// eventsOf returns the stored events of one type, decoded.
func eventsOf[E domain.Event](t *testing.T, s *server) []E {
	t.Helper()
	var out []E
	var zero E
	for _, stored := range s.events(t) {
		if stored.Type != zero.EventType() {
			continue
		}
		e, err := domain.Events.Decode(stored.Type, stored.SchemaVersion, stored.Data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e.(E))
	}
	return out
}

// githubCalls is how many API requests the fake GitHub has answered.
func (s *server) githubCalls() int {
	n := 0
	for _, e := range []string{githubfake.EndpointUser, githubfake.EndpointRepository, githubfake.EndpointBranch, githubfake.EndpointContents} {
		n += s.fake.Requests(e)
	}
	return n
}

// signIn registers a user and returns their id.
func (s *server) signIn(t *testing.T, githubID int64, login string) string {
	t.Helper()
	out, err := s.id.SignInWithGitHub.Handle(context.Background(), identity.SignInWithGitHub{
		GitHubID: githubID, Login: login, Name: "User " + login, Email: login + "@example.org",
	})
	if err != nil {
		t.Fatalf("sign in %s: %v", login, err)
	}
	return out.UserID
}

// world is a project with a developer (dev, a member of the backend, with a GitHub token), a second
// developer who is not on the backend (outsider), a collaborator, a backend and a workspace of the demo
// study made by dev.
type world struct {
	*server
	dev, outsider, collab commands.Actor
	projectID, backendID  string
	workspaceID           string
	otherBackendID        string
	devID, outsiderID     string
	collabID              string
	workspaceName         string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	cli := commands.CLIActor
	w := &world{server: newServer(t)}
	w.devID = w.signIn(t, 1, "dev")
	w.outsiderID = w.signIn(t, 2, "outsider")
	w.collabID = w.signIn(t, 3, "collab")
	w.dev, w.outsider, w.collab = commands.UserActor(w.devID), commands.UserActor(w.outsiderID), commands.UserActor(w.collabID)

	b := must(w.id.CreateBackend.Handle(ctx, identity.CreateBackend{Actor: cli, Slug: "tpp", Name: "TPP"}))(t)
	w.backendID = b.BackendID
	must(w.id.AddBackendMember.Handle(ctx, identity.AddBackendMember{Actor: cli, BackendID: w.backendID, UserID: w.devID}))(t)
	w.otherBackendID = must(w.id.CreateBackend.Handle(ctx, identity.CreateBackend{Actor: cli, Slug: "emis", Name: "EMIS"}))(t).BackendID
	w.projectID = must(w.id.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "BP Study"}))(t).ID
	for user, role := range map[string]domain.Role{w.devID: domain.ProjectDeveloper, w.outsiderID: domain.ProjectDeveloper, w.collabID: domain.ProjectCollaborator} {
		must(w.id.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: w.projectID, UserID: user, Roles: []domain.Role{role}}))(t)
	}
	created := must(w.CreateWorkspace.Handle(ctx, workspaces.CreateWorkspace{
		Actor: w.dev, ProjectID: w.projectID, Name: "bp-main", RepoURL: w.repoURL, Branch: "main", Token: devToken,
	}))(t)
	w.workspaceID, w.workspaceName = created.WorkspaceID, created.Name
	return w
}

// request makes a job request in the world's workspace as dev, at the demo study's first commit.
func (w *world) request(t *testing.T, actions ...string) string {
	t.Helper()
	r := must(w.RequestJobs.Handle(context.Background(), workspaces.RequestJobs{
		Actor: w.dev, WorkspaceID: w.workspaceID, BackendID: w.backendID, SHA: w.demoSHA, Actions: actions, Token: devToken,
	}))(t)
	return r.JobRequestID
}

// must fails the test when a command returned an error, and gives its result otherwise:
// must(h.Handle(ctx, cmd))(t).
func must[R any](r R, err error) func(t *testing.T) R {
	return func(t *testing.T) R {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

// wantField checks err is of kind, with a message on field that contains every one of parts.
func wantField(t *testing.T, err error, kind domain.Kind, field string, parts ...string) {
	t.Helper()
	if domain.KindOf(err) != kind {
		t.Fatalf("err = %v (kind %d), want kind %d", err, domain.KindOf(err), kind)
	}
	if field == "" {
		return
	}
	var de *domain.Error
	if !errors.As(err, &de) || de.Fields[field] == "" {
		t.Fatalf("err = %v, want a message on field %q", err, field)
	}
	for _, p := range parts {
		if !strings.Contains(de.Fields[field], p) {
			t.Fatalf("message on %q = %q, want it to say %q", field, de.Fields[field], p)
		}
	}
}

// createProjectWithDeveloper makes a project in which userID is a Project Developer.
func createProjectWithDeveloper(t *testing.T, s *server, userID string) string {
	t.Helper()
	ctx := context.Background()
	s.projects++
	name := fmt.Sprintf("Study %d", s.projects)
	projectID := must(s.id.CreateProject.Handle(ctx, identity.CreateProject{Actor: commands.CLIActor, Name: name}))(t).ID
	must(s.id.AddProjectMember.Handle(ctx, identity.AddProjectMember{
		Actor: commands.CLIActor, ProjectID: projectID, UserID: userID, Roles: []domain.Role{domain.ProjectDeveloper},
	}))(t)
	return projectID
}

// identityChange gives userID exactly role on the world's project.
func identityChange(w *world, userID string, role domain.Role) identity.ChangeProjectMemberRoles {
	return identity.ChangeProjectMemberRoles{Actor: commands.CLIActor, ProjectID: w.projectID, UserID: userID, Roles: []domain.Role{role}}
}
