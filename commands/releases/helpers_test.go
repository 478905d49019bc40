package releases_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/commands/releases"
	"github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/integrations/blobs"
)

// gitHub answers the workspaces slice's questions about the one repository its workspaces use.
type gitHub struct{}

func (gitHub) TokenLogin(context.Context, string) (string, error)              { return "dev", nil }
func (gitHub) Repository(_ context.Context, _, repoURL string) (string, error) { return repoURL, nil }
func (gitHub) BranchHead(context.Context, string, string, string) (string, error) {
	return "9e9b68563d90707f3903dec925526ca4601a4e26", nil
}
func (gitHub) File(context.Context, string, string, string, string) ([]byte, error) {
	return []byte("version: '4.0'\nactions: {}\n"), nil
}

// interleavingStore is the in-memory store with a hook that runs once, right after the nth read of one
// stream returns: another writer committing between a command's load and its append.
type interleavingStore struct {
	eventstore.Store
	mu     sync.Mutex
	stream string
	nth    int
	reads  int
	hook   func()
}

// after sets the hook to run after the nth read of stream from now on.
func (s *interleavingStore) after(stream string, nth int, hook func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stream, s.nth, s.reads, s.hook = stream, nth, 0, hook
}

func (s *interleavingStore) afterRead(stream string) {
	s.mu.Lock()
	var hook func()
	if stream == s.stream && s.hook != nil {
		s.reads++
		if s.reads == s.nth {
			hook, s.hook = s.hook, nil // the hook's own commands read the stream too
		}
	}
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
}

func (s *interleavingStore) ReadStream(ctx context.Context, stream string) ([]eventstore.Event, error) {
	events, err := s.Store.ReadStream(ctx, stream)
	s.afterRead(stream)
	return events, err
}

func (s *interleavingStore) ReadStreamAfter(ctx context.Context, stream string, after int64) ([]eventstore.Event, error) {
	events, err := eventstore.ReadStreamAfter(ctx, s.Store, stream, after)
	s.afterRead(stream)
	return events, err
}

// limit is the release file limit of the tests' server: small, so an oversize body is cheap.
const limit = 64 << 10

// world is a server with the releases slice on an in-memory event store and a blob directory: backends
// tpp and emis, the project BP Study with the workspace bp-main, and Olive, a global Output Checker and a
// member of tpp.
type world struct {
	*releases.Commands
	id           *identity.Commands
	store        *interleavingStore
	log          *commands.EventLog
	blobs        blobs.Store
	remover      *releases.Remover
	reacted      int // events the remover has seen
	projectID    string
	workspace    string
	tpp, emis    string
	olive        commands.Actor
	nextGitHubID int64
}

func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldOn(t, eventstore.NewMemory())
}

// newWorldOn is the world on an event store of the test's choosing.
func newWorldOn(t *testing.T, events eventstore.Store) *world {
	t.Helper()
	dir, err := blobs.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return newWorldWith(t, events, dir)
}

// newWorldWith is the world on an event store and a blob store of the test's choosing.
func newWorldWith(t *testing.T, events eventstore.Store, dir blobs.Store) *world {
	t.Helper()
	ctx := context.Background()
	store := &interleavingStore{Store: events}
	log := commands.NewEventLog(store, domain.Events, time.Now)
	kit := commands.Kit{Log: log}
	w := &world{Commands: releases.New(kit, blobs.ForReleases{Store: dir}, limit), id: identity.New(kit), store: store, log: log,
		blobs: dir, remover: releases.NewRemover(kit, blobs.ForReleases{Store: dir}), workspace: "bp-main", nextGitHubID: 1}
	cli := commands.CLIActor
	w.tpp = must(w.id.CreateBackend.Handle(ctx, identity.CreateBackend{Actor: cli, Slug: "tpp", Name: "TPP"}))(t).BackendID
	w.emis = must(w.id.CreateBackend.Handle(ctx, identity.CreateBackend{Actor: cli, Slug: "emis", Name: "EMIS"}))(t).BackendID
	org := must(w.id.CreateOrg.Handle(ctx, identity.CreateOrg{Actor: cli, Name: "BP Org"}))(t).ID
	w.projectID = must(w.id.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "BP Study", OrgID: org}))(t).ID
	dev := w.user(t, "dev", "", w.tpp)
	must(w.id.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: w.projectID, UserID: dev.ActorID(),
		Roles: []domain.Role{domain.ProjectDeveloper}}))(t)
	ring, err := commands.NewKeyring([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	must(workspaces.New(kit, gitHub{}, ring).CreateWorkspace.Handle(ctx, workspaces.CreateWorkspace{Actor: dev, ProjectID: w.projectID,
		Name: w.workspace, RepoURL: "https://github.com/opensafely/bp-study", Branch: "main", Token: "ghp_dev"}))(t)
	w.olive = w.user(t, "olive", domain.OutputChecker, w.tpp)
	return w
}

// user signs a new user in, grants them a global role (none for "") and adds them to backends.
func (w *world) user(t *testing.T, login string, role domain.Role, backends ...string) commands.Actor {
	t.Helper()
	ctx := context.Background()
	w.nextGitHubID++
	u := must(w.id.SignInWithGitHub.Handle(ctx, identity.SignInWithGitHub{GitHubID: w.nextGitHubID, Login: login, Name: login}))(t).UserID
	if role != "" {
		must(w.id.GrantGlobalRole.Handle(ctx, identity.GrantGlobalRole{Actor: commands.CLIActor, UserID: u, Role: role}))(t)
	}
	for _, b := range backends {
		must(w.id.AddBackendMember.Handle(ctx, identity.AddBackendMember{Actor: commands.CLIActor, BackendID: b, UserID: u}))(t)
	}
	return commands.UserActor(u)
}

func must[R any](r R, err error) func(t *testing.T) R {
	return func(t *testing.T) R {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

// sum is the hex sha256 of content.
func sum(content string) string {
	s := sha256.Sum256([]byte(content))
	return hex.EncodeToString(s[:])
}

// listed is a file of a release's list with these bytes.
func listed(name, content string) domain.ReleaseFileRequest {
	return domain.ReleaseFileRequest{Name: name, URL: name, Size: int64(len(content)), SHA256: sum(content),
		Date: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC), Metadata: map[string]any{"tool": "test"}}
}

// release creates a release of files in bp-main from tpp as Olive.
func (w *world) release(t *testing.T, files ...domain.ReleaseFileRequest) string {
	t.Helper()
	return must(w.CreateRelease.Handle(context.Background(), releases.CreateRelease{Actor: w.olive, BackendID: w.tpp,
		WorkspaceName: w.workspace, Files: files}))(t).ReleaseID
}

// upload sends content as the file name of a release, as Olive from tpp.
func (w *world) upload(releaseID, name, content string) (releases.Uploaded, error) {
	return w.UploadReleaseFile.Handle(context.Background(), releases.UploadReleaseFile{Actor: w.olive, BackendID: w.tpp,
		ReleaseID: releaseID, Name: name, DeclaredSize: int64(len(content)), Body: strings.NewReader(content)})
}

// delete deletes a file of a release as Olive.
func (w *world) delete(t *testing.T, releaseID, fileID string) {
	t.Helper()
	must(w.DeleteReleaseFile.Handle(context.Background(), releases.DeleteReleaseFile{Actor: w.olive, ReleaseID: releaseID, FileID: fileID,
		Reason: "Small numbers"}))(t)
}

// react runs the remover over the events appended since it last ran, as the reactor runner does.
func (w *world) react(t *testing.T) {
	t.Helper()
	events := w.events(t)
	for _, e := range events[w.reacted:] {
		payload, err := domain.Events.Decode(e.Type, e.SchemaVersion, e.Data)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.remover.React(context.Background(), payload, e.ID.String()); err != nil {
			t.Fatal(err)
		}
	}
	w.reacted = len(events)
}

func (w *world) events(t *testing.T) []eventstore.Event {
	t.Helper()
	events, err := w.store.ReadAll(context.Background(), eventstore.Position{}, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// count is how many events of each type were appended after the first skip events.
func (w *world) count(t *testing.T, skip int) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, e := range w.events(t)[skip:] {
		counts[e.Type]++
	}
	return counts
}

// stored reports whether bytes with sha are in the blob directory.
func (w *world) stored(t *testing.T, sha string) bool {
	t.Helper()
	b, err := w.blobs.Open(context.Background(), sha)
	if errors.Is(err, blobs.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	return true
}

// untouched is a body that fails the test if anything reads it.
type untouched struct{ t *testing.T }

func (u untouched) Read([]byte) (int, error) {
	u.t.Error("a refused upload read its body")
	return 0, io.EOF
}

// wantKind fails unless err is a domain error of kind whose message contains part.
func wantKind(t *testing.T, err error, kind domain.Kind, part string) {
	t.Helper()
	if domain.KindOf(err) != kind || !strings.Contains(err.Error(), part) {
		t.Fatalf("want a %v error saying %q, got %v", kind, part, err)
	}
}
