package main

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/internal/pgtest"
	"github.com/mediciasafely/jobserver/projections"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// operator runs jobserver commands as an operator would, against a database of the test's own.
type operator struct {
	t     *testing.T
	pool  *pgxpool.Pool
	store *pgstore.Store
}

// newOperator points the environment at a fresh database. The environment is the process's, so tests
// that use it cannot run in parallel.
func newOperator(t *testing.T) *operator {
	dsn := pgtest.NewDatabase(t)
	t.Setenv("DATABASE_URL", dsn)
	t.Setenv("JOBSERVER_ENV", "production")
	t.Setenv("JOBSERVER_SECRET_KEY", strings.Repeat("ab", 32))
	t.Setenv("LOG_LEVEL", "warn")
	pool := pgtest.NewPoolFor(t, dsn)
	store := pgstore.New(pool)
	t.Cleanup(store.Close)
	return &operator{t: t, pool: pool, store: store}
}

// jobserver runs the command line with args and returns its exit status and what it wrote.
func (o *operator) jobserver(args ...string) (status int, stdout, stderr string) {
	o.t.Helper()
	var out, errs bytes.Buffer
	status = run(args, &out, &errs)
	return status, out.String(), errs.String()
}

// signIn registers a GitHub user, as their first login does, and waits until the users read model shows
// them, as it does by the time an operator hears that they logged in.
func (o *operator) signIn(login, name string) string {
	o.t.Helper()
	ctx := context.Background()
	signed, err := o.identity().SignInWithGitHub.Handle(ctx, identity.SignInWithGitHub{
		GitHubID: int64(len(login)*1000 + len(name)), Login: login, Name: name,
	})
	if err != nil {
		o.t.Fatal(err)
	}
	// A catch-up sees an event once no older transaction on the server is still open, which may take
	// a moment while other tests write.
	runner := projections.NewRunner(o.pool, o.store, o.events(), slog.New(slog.DiscardHandler), projectors()...)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err := runner.Prepare(ctx); err != nil {
			o.t.Fatal(err)
		}
		if _, err := identityviews.NewQueries(o.pool).User(ctx, signed.UserID); err == nil {
			return signed.UserID
		}
		if time.Now().After(deadline) {
			o.t.Fatalf("%s is not in the read models after 10s", login)
		}
	}
}

// lastEvent is the last event of a stream.
func (o *operator) lastEvent(stream string) eventstore.Event {
	o.t.Helper()
	events, err := o.store.ReadStream(context.Background(), stream)
	if err != nil || len(events) == 0 {
		o.t.Fatalf("stream %s: %d events, %v", stream, len(events), err)
	}
	return events[len(events)-1]
}

func TestAdminWithoutATaskPrintsItsUsage(t *testing.T) {
	o := newOperator(t)
	status, stdout, _ := o.jobserver("admin")
	if status != 2 || !strings.Contains(stdout, "Usage: jobserver admin <task>") || !strings.Contains(stdout, "grant-role") ||
		!strings.Contains(stdout, "create-backend") {
		t.Errorf("status %d, stdout:\n%s", status, stdout)
	}
	status, _, stderr := o.jobserver("admin", "promote")
	if status != 2 || !strings.Contains(stderr, `unknown task "promote"`) {
		t.Errorf("unknown task: status %d, stderr:\n%s", status, stderr)
	}
	status, _, stderr = o.jobserver("admin", "grant-role", "--github-login", "ada")
	if status != 2 || !strings.Contains(stderr, "--role required") {
		t.Errorf("missing flag: status %d, stderr:\n%s", status, stderr)
	}
	_, stdout, _ = o.jobserver("help")
	if !strings.Contains(stdout, "admin") {
		t.Errorf("jobserver help does not list admin:\n%s", stdout)
	}
}

func TestAdminGrantsAndRevokesAGlobalRoleAsTheCommandLine(t *testing.T) {
	o := newOperator(t)
	adaID := o.signIn("ada", "Ada Lovelace")

	status, stdout, stderr := o.jobserver("admin", "grant-role", "--github-login", "Ada", "--role", "Core Developer")
	if status != 0 || stdout != "Granted Core Developer to ada (Ada Lovelace).\n" {
		t.Fatalf("grant: status %d\nstdout: %s\nstderr: %s", status, stdout, stderr)
	}
	granted := o.lastEvent(domain.UserStream(adaID))
	if granted.Type != "GlobalRoleGranted" || granted.Metadata.Actor != "cli" {
		t.Errorf("recorded %s by %q", granted.Type, granted.Metadata.Actor)
	}

	status, stdout, stderr = o.jobserver("admin", "grant-role", "--github-login", "ada", "--role", "core_developer")
	if status != 0 || !strings.Contains(stdout, "already has the role Core Developer; nothing changed") {
		t.Errorf("grant again: status %d\nstdout: %s\nstderr: %s", status, stdout, stderr)
	}

	// Ada is the only admin: the command line will not leave the system without one.
	status, _, stderr = o.jobserver("admin", "revoke-role", "--github-login", "ada", "--role", "core developer")
	if status != 1 || !strings.Contains(stderr, "last Core Developer") {
		t.Fatalf("revoke of the last admin: status %d, stderr: %s", status, stderr)
	}
	o.signIn("grace", "Grace Hopper")
	if status, _, stderr := o.jobserver("admin", "grant-role", "--github-login", "grace", "--role", "Core Developer"); status != 0 {
		t.Fatalf("grant to grace: status %d, stderr: %s", status, stderr)
	}
	status, stdout, _ = o.jobserver("admin", "revoke-role", "--github-login", "ada", "--role", "core developer")
	if status != 0 || stdout != "Revoked Core Developer from ada (Ada Lovelace).\n" {
		t.Fatalf("revoke: status %d, stdout: %s", status, stdout)
	}
	revoked := o.lastEvent(domain.UserStream(adaID))
	if revoked.Type != "GlobalRoleRevoked" || revoked.Metadata.Actor != "cli" {
		t.Errorf("recorded %s by %q", revoked.Type, revoked.Metadata.Actor)
	}
	if !strings.HasPrefix(granted.Metadata.CorrelationID, "cli-") || revoked.Metadata.CorrelationID == granted.Metadata.CorrelationID {
		t.Errorf("correlation ids %q and %q: want one per run of the command line", granted.Metadata.CorrelationID, revoked.Metadata.CorrelationID)
	}
}

func TestAdminCannotGrantToSomeoneWhoHasNotLoggedIn(t *testing.T) {
	o := newOperator(t)
	o.signIn("ada", "Ada Lovelace")
	status, stdout, stderr := o.jobserver("admin", "grant-role", "--github-login", "grace", "--role", "Core Developer")
	if status != 1 || stdout != "" || !strings.Contains(stderr, "grace has not logged in yet; ask them to log in once") {
		t.Errorf("status %d\nstdout: %s\nstderr: %s", status, stdout, stderr)
	}
	status, _, stderr = o.jobserver("admin", "grant-role", "--github-login", "ada", "--role", "Emperor")
	if status != 1 || !strings.Contains(stderr, "Unknown role “Emperor”.") || !strings.Contains(stderr, "Output Checker") {
		t.Errorf("unknown role: status %d, stderr: %s", status, stderr)
	}
}

func TestAdminCreatesABackendAndPrintsItsTokenLast(t *testing.T) {
	o := newOperator(t)
	status, stdout, stderr := o.jobserver("admin", "create-backend", "--slug", "tpp", "--name", "TPP Backend")
	if status != 0 {
		t.Fatalf("status %d\nstderr: %s", status, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if !strings.Contains(stdout, "Created backend tpp (TPP Backend).") {
		t.Errorf("stdout:\n%s", stdout)
	}
	token := lines[len(lines)-1]
	backendID, ok, err := identity.BackendForToken(context.Background(), o.store, token)
	if err != nil || !ok {
		t.Fatalf("the last line %q is not the backend's runner token (ok %v, %v)", token, ok, err)
	}
	created := o.lastEvent(domain.BackendStream(backendID))
	if created.Type != "BackendCreated" || created.Metadata.Actor != "cli" {
		t.Errorf("recorded %s by %q", created.Type, created.Metadata.Actor)
	}
	if strings.Contains(stderr, token) {
		t.Error("the token went to the log")
	}

	status, _, stderr = o.jobserver("admin", "create-backend", "--slug", "tpp", "--name", "Another")
	if status != 1 || stderr == "" {
		t.Errorf("a taken slug: status %d, stderr: %s", status, stderr)
	}
}

func TestDemoDataIsLoadedOnceIntoAnEmptyLog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, store, runner := startProjectors(t, identityviews.Projectors()...)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))

	if err := loadDemoData(ctx, logger, store, newIdentity(store), runner); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "\n"); n != 1 || !strings.Contains(logs.String(), "demo data loaded") {
		t.Errorf("log:\n%s", logs.String())
	}
	if regexp.MustCompile(`[0-9a-f]{64}`).MatchString(logs.String()) {
		t.Errorf("the log holds something like a runner token:\n%s", logs.String())
	}

	// The read models show the demo as soon as it is loaded.
	q := identityviews.NewQueries(pool)
	admin, err := q.UserByLogin(ctx, "demo-admin")
	if err != nil || !slices.Contains(admin.GlobalRoles, domain.CoreDeveloper) {
		t.Fatalf("demo-admin: %+v, %v", admin, err)
	}
	org, err := q.OrgBySlug(ctx, "mediciaaiorg2")
	if err != nil || org.Name != "MediciaAIOrg2" || org.Members != 5 || org.Projects != 1 {
		t.Errorf("organisation: %+v, %v", org, err)
	}
	backend, err := q.BackendBySlug(ctx, "rcdemo2")
	if err != nil || backend.Name != "RC Demo 2" || backend.Members != 4 {
		t.Errorf("backend: %+v, %v", backend, err)
	}
	project, err := q.ProjectInOrg(ctx, "mediciaaiorg2", "mystudy")
	if err != nil || project.Name != "MyStudy" {
		t.Fatalf("project: %+v, %v", project, err)
	}
	members, err := q.ProjectMembers(ctx, project.ID)
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string][]domain.Role{}
	for _, m := range members {
		roles[m.User.Login] = m.Roles
	}
	want := map[string][]domain.Role{
		"demo-coordinator":  {domain.ProjectCoordinator, domain.ProjectDeveloper},
		"demo-researcher":   {domain.ProjectDeveloper},
		"demo-collaborator": {domain.ProjectCollaborator},
	}
	for login, w := range want {
		if !slices.Equal(domain.SortRoles(roles[login]), domain.SortRoles(w)) {
			t.Errorf("%s has %v on MyStudy, want %v", login, roles[login], w)
		}
	}
	if len(roles) != len(want) {
		t.Errorf("MyStudy's members: %v", roles)
	}

	// Everything but the people's own registrations was done by the command line.
	events, err := store.ReadAll(ctx, eventstore.Position{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		own := e.Type == "UserRegistered" || e.Type == "GitHubAccountLinked"
		if !own && e.Metadata.Actor != "cli" {
			t.Errorf("%s recorded by %q", e.Type, e.Metadata.Actor)
		}
	}

	logs.Reset()
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := loadDemoData(waitCtx, logger, store, newIdentity(store), runner); err != nil {
		t.Fatal(err)
	}
	again, err := store.ReadAll(ctx, eventstore.Position{}, 1000)
	if err != nil || len(again) != len(events) || logs.Len() != 0 {
		t.Errorf("a second start added %d events and logged %q", len(again)-len(events), logs.String())
	}
}
