package main

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/notifications"
	"github.com/mediciasafely/jobserver/commands/runners"
	"github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/integrations/github"
	"github.com/mediciasafely/jobserver/integrations/mail"
	"github.com/mediciasafely/jobserver/integrations/rap"
	"github.com/mediciasafely/jobserver/internal/githubfake"
	"github.com/mediciasafely/jobserver/internal/rapfake"
	"github.com/mediciasafely/jobserver/internal/smtpfake"
	"github.com/mediciasafely/jobserver/projections"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
	wsviews "github.com/mediciasafely/jobserver/projections/workspaces"
)

// clientToken is the demo backend's client token on the fake controller: it must never be seen again.
const clientToken = "rap-client-token-6b1f0c2e9d"

// rapWorld is the demo installation with its backend, rcdemo2, speaking the RAP API to a fake controller:
// the real commands, projectors and reactors (job creation, cancel, the e-mail on completion), the poller
// (called pass by pass), an SMTP server and a clock the test moves.
type rapWorld struct {
	pool       *pgxpool.Pool
	store      *pgstore.Store
	runner     *projections.Runner
	controller *rapfake.Server
	smtp       *smtpfake.Server
	rap        *runners.RAP
	ws         *workspaces.Commands
	views      *wsviews.Queries
	identity   *identityviews.Queries
	researcher commands.Actor
	workspace  string
	backendID  string
	sha        string
	logs       *lockedBuffer

	mu     sync.Mutex
	offset time.Duration
}

func (w *rapWorld) now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return time.Now().Add(w.offset)
}

// later moves the world's clock on.
func (w *rapWorld) later(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.offset += d
}

func newRAPWorld(t *testing.T) *rapWorld {
	t.Helper()
	ctx := context.Background()
	pool, store, runner := startProjectors(t, slices.Concat(identityviews.Projectors(), wsviews.Projectors())...)
	w := &rapWorld{pool: pool, store: store, runner: runner, logs: &lockedBuffer{}}
	logger := slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	kit := commands.Kit{Log: commands.NewEventLog(store, domain.Events, w.now), Logger: logger}
	w.identity, w.views = identityviews.NewQueries(pool), wsviews.NewQueries(pool)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(loadDemoData(ctx, logger, store, newIdentity(store), runner))
	gh := githubfake.New(t)
	repos, err := github.NewRepos(github.Config{WebURL: gh.URL, APIURL: gh.APIURL()})
	must(err)
	ring, err := commands.NewKeyring([]byte("0123456789abcdef0123456789abcdef"))
	must(err)
	w.ws = workspaces.New(kit, github.ForWorkspaces{Repos: repos}, ring)
	repoURL, _ := seedDemoGitHub(gh)
	_, err = loadDemoWorkspace(ctx, logger, store, w.identity, w.ws, repoURL, runner)
	must(err)
	w.sha = gh.Push(demoRepoOwner+"/"+demoRepoName, "main", "Run again", githubfake.DemoFiles())

	researcher, err := w.identity.UserByLogin(ctx, demoResearcher)
	must(err)
	w.researcher = commands.UserActor(researcher.ID)
	page, err := w.views.WorkspacePage(ctx, domain.SlugFromName(demoOrgName), domain.SlugFromName(demoProjectName), demoWorkspaceName, researcher.ID)
	must(err)
	w.workspace = page.Workspace.ID
	backend, err := w.identity.BackendBySlug(ctx, demoBackendSlug)
	must(err)
	w.backendID = backend.ID

	w.controller = rapfake.Start(t, map[string][]string{clientToken: {demoBackendSlug}})
	w.rap = runners.NewRAP(kit, ring, rap.New(rap.Config{Timeout: 2 * time.Second, Logger: logger}),
		rapDirectory{identity: w.identity, workspaces: w.views}, runners.New(kit), runners.RAPOptions{})
	set, err := w.rap.SetBackendProtocol.Handle(ctx, runners.SetBackendProtocol{Actor: commands.CLIActor, BackendID: w.backendID,
		Protocol: domain.ProtocolRAP, ControllerURL: w.controller.URL + rapfake.Base, ClientToken: clientToken})
	must(err)
	must(runner.WaitFor(ctx, set.Position, identityviews.IdentityProjector))

	w.smtp = smtpfake.Start(t)
	mailer, err := mail.NewSMTP(mail.Config{URL: w.smtp.URL(), From: "jobs@example.org", Timeout: 5 * time.Second})
	must(err)
	notifier := notifications.New(kit, mailer, "https://jobs.example.org")
	reactors := projections.NewReactors(pool, store, domain.Events, logger,
		projections.ReactorOptions{InitialBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Standby: 50 * time.Millisecond},
		append(rapReactors(w.rap), projections.DefineReactor(notifications.ReactorName, notifications.Handles(),
			func(ctx context.Context, e projections.Event) error {
				return notifier.React(ctx, e.Payload, e.ID.String())
			}))...)
	must(reactors.Prepare(ctx))
	runCtx, stop := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() { _ = reactors.Run(runCtx); close(stopped) }()
	t.Cleanup(func() { stop(); <-stopped })
	return w
}

// request runs jobs as the researcher does on the Run Jobs page, and returns the request's id.
func (w *rapWorld) request(t *testing.T, actions ...string) string {
	t.Helper()
	requested, err := w.ws.RequestJobs.Handle(context.Background(), workspaces.RequestJobs{Actor: w.researcher, WorkspaceID: w.workspace,
		BackendID: w.backendID, SHA: w.sha, Actions: actions, WillNotify: true})
	if err != nil {
		t.Fatal(err)
	}
	return requested.JobRequestID
}

// creation waits until the request's creation has been recorded attempts times, and returns the last.
func (w *rapWorld) creation(t *testing.T, id string, attempts int) domain.JobCreationRecorded {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var last domain.JobCreationRecorded
		events, err := w.store.ReadStream(context.Background(), domain.JobRequestStream(id))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if e.Type == last.EventType() {
				decoded, err := domain.Events.Decode(e.Type, e.SchemaVersion, e.Data)
				if err != nil {
					t.Fatal(err)
				}
				last = decoded.(domain.JobCreationRecorded)
			}
		}
		if last.Attempts >= attempts {
			return last
		}
		if time.Now().After(deadline) {
			t.Fatalf("request %s: creation recorded %d times, want %d", id, last.Attempts, attempts)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// poll runs one pass of the poller on read models that took in everything so far, and waits for them to
// take in what it appended.
func (w *rapWorld) poll(t *testing.T) {
	t.Helper()
	w.caughtUp(t)
	w.rap.Poll(context.Background())
	w.caughtUp(t)
}

func (w *rapWorld) caughtUp(t *testing.T) {
	t.Helper()
	if err := w.runner.WaitFor(context.Background(), w.logEnd(t)); err != nil {
		t.Fatal(err)
	}
}

// logEnd is the position of the last event appended, visible yet or not (a transaction open elsewhere
// holds back the log's visible end, and the read models would seem to have caught up early).
func (w *rapWorld) logEnd(t *testing.T) eventstore.Position {
	t.Helper()
	var txID, seq int64
	if err := w.pool.QueryRow(context.Background(), `SELECT tx_id, seq FROM events ORDER BY tx_id DESC, seq DESC LIMIT 1`).Scan(&txID, &seq); err != nil {
		t.Fatalf("read the log's end: %v", err)
	}
	return eventstore.Position{TxID: uint64(txID), Seq: seq}
}

// jobRequest reads the request as its page shows it.
func (w *rapWorld) jobRequest(t *testing.T, id string) wsviews.JobRequest {
	t.Helper()
	researcher, err := w.identity.UserByLogin(context.Background(), demoResearcher)
	if err != nil {
		t.Fatal(err)
	}
	page, err := w.views.JobRequestPage(context.Background(), domain.SlugFromName(demoOrgName), domain.SlugFromName(demoProjectName),
		demoWorkspaceName, id, researcher.ID)
	if err != nil {
		t.Fatal(err)
	}
	return page.JobRequest
}

// TestJobsOfARAPBackendAreCreatedFollowedAndMailedOnCompletion: the whole journey on a backend whose
// job-runner speaks the RAP API. Run Jobs makes the request; the creation reactor asks the controller to
// create its jobs with the reference body; each poll asks about the active requests in one call and
// records only what changed; the job's success is mailed once; backend/status/ feeds the status page; the
// client token is in no event and no log line.
func TestJobsOfARAPBackendAreCreatedFollowedAndMailedOnCompletion(t *testing.T) {
	t.Parallel()
	w := newRAPWorld(t)
	ctx := context.Background()
	id := w.request(t, "generate_dataset")

	if got := w.creation(t, id, 1); got.Status != domain.CreationPending {
		t.Fatalf("creation: %+v, want pending", got)
	}
	creates := w.controller.Calls("rap/create/")
	if len(creates) != 1 || creates[0].Authorization != clientToken {
		t.Fatalf("creates: %+v", creates)
	}
	body := creates[0].Body
	if body["rap_id"] != id || body["backend"] != demoBackendSlug || body["workspace"] != demoWorkspaceName || body["commit"] != w.sha ||
		body["created_by"] != demoResearcher || body["project"] != domain.SlugFromName(demoProjectName) || body["database_name"] != "default" {
		t.Errorf("create body: %v", body)
	}
	if _, sent := body["analysis_scope"]; sent {
		t.Error("analysis_scope was sent")
	}

	w.poll(t)
	var actions []string
	if err := w.pool.QueryRow(ctx, `SELECT array_agg(action) FROM workspace_jobs WHERE job_request_id = $1`, id).Scan(&actions); err != nil {
		t.Fatal(err)
	}
	if j := w.jobRequest(t, id); j.Status != "pending" || !slices.Equal(actions, []string{"generate_dataset"}) {
		t.Fatalf("after the first poll: %s with jobs of %v", j.Status, actions)
	}
	before := len(mustRead(t, w, id))
	w.poll(t)
	if after := len(mustRead(t, w, id)); after != before {
		t.Errorf("a poll that says nothing new appended %d events", after-before)
	}
	w.controller.SetJobs(id, "running", "executing", "Executing job")
	w.poll(t)
	if j := w.jobRequest(t, id); j.Status != "running" {
		t.Errorf("after the job runs: %s", j.Status)
	}
	w.controller.SetJobs(id, "succeeded", "succeeded", "Completed successfully")
	w.poll(t)
	if j := w.jobRequest(t, id); j.Status != "succeeded" {
		t.Errorf("after the job succeeded: %s", j.Status)
	}
	mails := w.smtp.WaitFor(t, 1, 15*time.Second)
	if subject := mails[0].Header.Get("Subject"); subject != "Job generate_dataset succeeded in workspace "+demoWorkspaceName {
		t.Errorf("mail subject %q", subject)
	}
	statuses := w.controller.Calls("rap/status/")
	if len(statuses) != 4 || len(statuses[0].Body["rap_ids"].([]any)) != 1 {
		t.Errorf("status calls: %+v", statuses)
	}
	w.poll(t)
	if ids := w.controller.Calls("rap/status/")[4].Body["rap_ids"].([]any); len(ids) != 0 {
		t.Errorf("a finished request is still polled: %v", ids)
	}

	// backend/status/ feeds the status page: last seen, paused, db maintenance.
	seen := time.Now().UTC().Truncate(time.Second)
	w.controller.SetBackend(demoBackendSlug, seen, true, true)
	w.poll(t)
	status, err := w.identity.BackendStatusBySlug(ctx, demoBackendSlug)
	if err != nil {
		t.Fatal(err)
	}
	if !status.LastSeen.Equal(seen) || !status.Paused || !status.DBMaintenance {
		t.Errorf("status page: %+v", status)
	}

	// The token is in no event, no stored value in the clear, and no log line.
	var leaks int
	if err := w.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE data::text LIKE '%' || $1 || '%' OR metadata::text LIKE '%' || $1 || '%'`,
		clientToken).Scan(&leaks); err != nil {
		t.Fatal(err)
	}
	var clear int
	if err := w.pool.QueryRow(ctx, `SELECT count(*) FROM secrets WHERE position(convert_to($1, 'UTF8') in value) > 0`, clientToken).Scan(&clear); err != nil {
		t.Fatal(err)
	}
	if leaks != 0 || clear != 0 || strings.Contains(w.logs.String(), clientToken) {
		t.Errorf("the client token leaked: %d events, %d secrets in the clear, in the log: %v", leaks, clear, strings.Contains(w.logs.String(), clientToken))
	}
	if !strings.Contains(w.logs.String(), "endpoint=rap/create/") || !strings.Contains(w.logs.String(), "duration_ms=") {
		t.Error("the calls are not logged with their endpoint and duration")
	}
}

func mustRead(t *testing.T, w *rapWorld, id string) []eventstore.Event {
	t.Helper()
	events, err := w.store.ReadStream(context.Background(), domain.JobRequestStream(id))
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// TestACreateTheControllerDidNotAnswerIsRetriedUntilItDoes: with the controller down the request's
// creation is unknown (still active), a poll before its backoff asks nothing, and once the controller is
// back the retry creates its jobs and the request is pending. Another request whose controller stays
// silent past the retry window fails with "Unknown error creating jobs" when a status poll does not know it.
func TestACreateTheControllerDidNotAnswerIsRetriedUntilItDoes(t *testing.T) {
	t.Parallel()
	w := newRAPWorld(t)
	w.controller.SetDown(true)
	id := w.request(t, "generate_dataset")
	if got := w.creation(t, id, 1); got.Status != domain.CreationUnknownError {
		t.Fatalf("creation with the controller down: %+v", got)
	}
	w.controller.SetDown(false)
	w.poll(t)
	if n := len(w.controller.Calls("rap/create/")); n != 0 {
		t.Errorf("%d creates before the backoff ran out", n)
	}
	if j := w.jobRequest(t, id); j.Status != domain.CreationUnknownError {
		t.Errorf("the page shows %q", j.Status)
	}
	w.later(31 * time.Second)
	w.poll(t)
	if got := w.creation(t, id, 2); got.Status != domain.CreationPending {
		t.Fatalf("creation once the controller answers: %+v", got)
	}
	if len(w.controller.Jobs(id)) != 1 {
		t.Errorf("the controller has %d jobs", len(w.controller.Jobs(id)))
	}

	w.controller.SetDown(true)
	lost := w.request(t, "generate_measures")
	w.creation(t, lost, 1)
	w.controller.SetDown(false)
	w.later(11 * time.Minute)
	w.poll(t)
	if got := w.creation(t, lost, 2); got.Status != domain.CreationFailed || got.Message != domain.UnknownErrorCreatingJobs {
		t.Errorf("a request the controller never knew: %+v", got)
	}
	if j := w.jobRequest(t, lost); j.Status != domain.CreationFailed {
		t.Errorf("its page shows %q", j.Status)
	}
}

// TestARefusedCreateFailsWithTheControllersDetailsAndItsCancelIsHarmless: a 400 "Error creating jobs"
// fails the request with the controller's words and ends it, so it has nothing left to cancel. A request
// whose create went unanswered is still active; cancelling it asks the controller, which knows no jobs of
// that rap_id (404), and nothing is set aside.
func TestARefusedCreateFailsWithTheControllersDetailsAndItsCancelIsHarmless(t *testing.T) {
	t.Parallel()
	w := newRAPWorld(t)
	ctx := context.Background()
	w.controller.FailCreates("Could not find branch 'main'")
	id := w.request(t, "generate_dataset")
	got := w.creation(t, id, 1)
	if got.Status != domain.CreationFailed || got.Message != "Could not find branch 'main'" {
		t.Fatalf("creation refused: %+v", got)
	}
	w.poll(t)
	if j := w.jobRequest(t, id); j.Status != domain.CreationFailed {
		t.Errorf("the page shows %q", j.Status)
	}
	if ids := w.controller.Calls("rap/status/")[0].Body["rap_ids"].([]any); len(ids) != 0 {
		t.Errorf("a failed request is still polled: %v", ids)
	}

	if _, err := w.ws.CancelJobs.Handle(ctx, workspaces.CancelJobs{Actor: w.researcher, JobRequestID: id}); domain.KindOf(err) != domain.KindConflict {
		t.Fatalf("cancelling a failed request: %v, want a conflict", err)
	}

	w.controller.SetDown(true)
	id = w.request(t, "generate_dataset")
	if got := w.creation(t, id, 1); got.Status != domain.CreationUnknownError {
		t.Fatalf("creation with the controller down: %+v", got)
	}
	w.controller.SetDown(false)
	if _, err := w.ws.CancelJobs.Handle(ctx, workspaces.CancelJobs{Actor: w.researcher, JobRequestID: id}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(w.controller.Calls("rap/cancel/")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the cancel never reached the controller")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel := w.controller.Calls("rap/cancel/")[0]
	if cancel.Body["rap_id"] != id || cancel.Authorization != clientToken {
		t.Errorf("cancel: %+v", cancel)
	}
	time.Sleep(200 * time.Millisecond)
	var failures int
	if err := w.pool.QueryRow(ctx, `SELECT count(*) FROM event_failures`).Scan(&failures); err != nil {
		t.Fatal(err)
	}
	if failures != 0 || len(w.controller.Calls("rap/cancel/")) != 1 {
		t.Errorf("a cancel of an unknown rap_id: %d failures set aside, %d calls", failures, len(w.controller.Calls("rap/cancel/")))
	}
}
