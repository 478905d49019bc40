package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/commands"
	identitycmd "github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/commands/notifications"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/internal/githubfake"
	"github.com/mediciasafely/jobserver/internal/pgtest"
	"github.com/mediciasafely/jobserver/internal/runnerwire"
	"github.com/mediciasafely/jobserver/internal/smtpfake"
	"github.com/mediciasafely/jobserver/projections"
)

// TestMain lets a test start this package's test binary as the jobserver command (JOBSERVER_TEST_MAIN=1),
// so replicas run as processes of their own that a test can kill -9.
func TestMain(m *testing.M) {
	if os.Getenv("JOBSERVER_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// replica is one jobserver process of a deployment of several on one database.
type replica struct {
	name, url string
	cmd       *exec.Cmd
	log       *lockedBuffer
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// replicaSecretKey is the replicas' JOBSERVER_SECRET_KEY: a test writing or reading their events seals and
// opens personal data with the keys it wraps (sealedEvents).
var replicaSecretKey = strings.Repeat("cd", 32)

// deployment is the settings every replica shares, as a load balancer's replicas would.
type deployment struct {
	databaseURL string
	env         []string
}

func newDeployment(t *testing.T, extra ...string) deployment {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	return deployment{databaseURL: dsn, env: append([]string{
		"JOBSERVER_TEST_MAIN=1", "JOBSERVER_ENV=production", "LOG_LEVEL=warn", "JOBSERVER_METRICS_ADDR=off",
		"JOBSERVER_SECRET_KEY=" + replicaSecretKey,
		"JOBSERVER_AUDIT_SIGNING_KEY=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)),
		"JOBSERVER_BLOB_DIR=" + t.TempDir(), "GITHUB_CLIENT_ID=id", "GITHUB_CLIENT_SECRET=secret",
	}, extra...)}
}

// start runs the test binary as `jobserver args…` at addr, its connections named after the replica, and
// waits until it answers /healthz (with no addr, a process without HTTP, until it has started).
func (d deployment) start(t *testing.T, name, addr string, args ...string) *replica {
	t.Helper()
	dsn, err := url.Parse(d.databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	q := dsn.Query()
	q.Set("application_name", name)
	dsn.RawQuery = q.Encode()
	r := &replica{name: name, url: "http://" + addr, log: &lockedBuffer{}}
	r.cmd = exec.Command(os.Args[0], args...)
	r.cmd.Env = append(append(os.Environ(), d.env...), "DATABASE_URL="+dsn.String(), "JOBSERVER_ADDR="+addr)
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("%s's log:\n%s", name, r.log.String())
		}
	})
	if addr == "" {
		return r
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(r.url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r
			}
		}
		select {
		case <-exited:
			t.Fatalf("%s ended before it served: %s", name, r.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer within 30s: %s", name, r.log.String())
		}
	}
}

// lockHolders names the replicas' connections that hold advisory locks: "<replica> locks" holds the
// projectors', "<replica>" a reactor's or the sealer's.
func lockHolders(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT DISTINCT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid)
		WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database() ORDER BY 1`)
	names, err := projections.All(rows, err, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func waitFor(t *testing.T, what string, limit time.Duration, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > limit {
			t.Fatalf("not within %s: %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// runner is one backend's job-runner: it reports its active jobs to whichever replica the load balancer
// picks, and remembers what the server acknowledged.
type runner struct {
	token string
	jobs  []*runnerwire.Job // the active ones
	acked map[string][]string
	round int
}

func (rn *runner) setRunning(round int) {
	started := "2026-12-01T09:01:00Z"
	for _, j := range rn.jobs {
		j.Status, j.StatusCode, j.StartedAt = "running", "executing", &started
		j.StatusMessage = fmt.Sprintf("Executing, step %d", round)
		j.UpdatedAt = time.Date(2026, 12, 1, 10, 0, round, 0, time.UTC).Format(time.RFC3339)
	}
}

func (rn *runner) setFinished() {
	done := "2026-12-01T11:00:00Z"
	for _, j := range rn.jobs {
		j.Status, j.StatusCode, j.StatusMessage, j.UpdatedAt, j.CompletedAt = "succeeded", "succeeded", "Completed successfully", done, &done
	}
}

// post reports the active jobs to the replicas in turn, from the one the round's turn picks, until one
// answers 2xx; what it answered is acknowledged. It reports whether any did.
func (rn *runner) post(replicas []*replica) bool {
	body, _ := json.Marshal(rn.jobs)
	rn.round++
	for i := range replicas {
		r := replicas[(rn.round+i)%len(replicas)]
		req, _ := http.NewRequest(http.MethodPost, r.url+"/api/v2/jobs/", bytes.NewReader(body))
		req.Header.Set("Authorization", rn.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			continue // a replica killed or restarting: the load balancer tries the next
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			for _, j := range rn.jobs {
				rn.acked[j.Identifier] = append(rn.acked[j.Identifier], j.StatusMessage)
			}
			return true
		}
	}
	return false
}

// seedRunners creates, through the commands, a researcher with an e-mail address, a project, and per
// backend a workspace and job requests that ask to be notified, and returns each backend's runner.
func seedRunners(t *testing.T, pool *pgxpool.Pool, store *pgstore.Store, backends, requests, jobsPerRequest int) []*runner {
	t.Helper()
	ctx := context.Background()
	log := commands.NewEventLog(store, sealedEvents(t, pool, replicaSecretKey), time.Now)
	id := identitycmd.New(commands.Kit{Log: log, Logger: slog.Default()})
	cli := commands.CLIActor
	user, err := id.SignInWithGitHub.Handle(ctx, identitycmd.SignInWithGitHub{GitHubID: 777, Login: "replica-researcher", Name: "Replica Researcher", Email: "researcher@uni.example"})
	if err != nil {
		t.Fatal(err)
	}
	org, err := id.CreateOrg.Handle(ctx, identitycmd.CreateOrg{Actor: cli, Name: "Replica Org"})
	if err != nil {
		t.Fatal(err)
	}
	project, err := id.CreateProject.Handle(ctx, identitycmd.CreateProject{Actor: cli, Name: "Replica Project", OrgID: org.ID})
	if err != nil {
		t.Fatal(err)
	}
	var runners []*runner
	for b := range backends {
		backend, err := id.CreateBackend.Handle(ctx, identitycmd.CreateBackend{Actor: cli, Slug: fmt.Sprintf("replica-%d", b), Name: fmt.Sprintf("Replica %d", b)})
		if err != nil {
			t.Fatal(err)
		}
		rn := &runner{token: backend.Token, acked: map[string][]string{}}
		workspaceID := domain.NewID(time.Now())
		writes := []commands.Write{{Stream: domain.WorkspaceStream(workspaceID), Expected: eventstore.NoStream, Events: []domain.Event{
			domain.WorkspaceCreated{WorkspaceID: workspaceID, ProjectID: project.ID, Name: fmt.Sprintf("replica-ws-%d", b),
				RepoURL: "https://github.com/opensafely/replica-study", Branch: "main", CreatedBy: user.UserID},
		}}}
		for range requests {
			reqID := domain.NewID(time.Now())
			actions := make([]string, jobsPerRequest)
			for i := range actions {
				actions[i] = fmt.Sprintf("action_%d", i)
				rn.jobs = append(rn.jobs, &runnerwire.Job{Identifier: domain.NewID(time.Now()), JobRequestID: reqID,
					JobState: runnerwire.JobState{Action: actions[i], RunCommand: "ehrql:v1 generate-dataset analysis/dataset_definition.py",
						Status: "pending", StatusCode: "created", StatusMessage: "Created", CreatedAt: "2026-12-01T09:00:00Z",
						UpdatedAt: "2026-12-01T09:00:00Z", TraceContext: map[string]any{}, Metrics: map[string]any{}, RequiresDB: true}})
			}
			writes = append(writes, commands.Write{Stream: domain.JobRequestStream(reqID), Expected: eventstore.NoStream, Events: []domain.Event{
				domain.JobRequested{JobRequestID: reqID, WorkspaceID: workspaceID, ProjectID: project.ID, BackendID: backend.BackendID,
					SHA: "9e9b68563d90707f3903dec925526ca4601a4e26", RequestedActions: actions, RequestedBy: user.UserID,
					DatabaseName: "default", CodelistsOK: true, WillNotify: true},
			}})
		}
		if _, err := log.Append(ctx, cli, writes); err != nil {
			t.Fatal(err)
		}
		runners = append(runners, rn)
	}
	return runners
}

// logEnd is the position of the last event of the log.
func logEnd(t *testing.T, store *pgstore.Store) eventstore.Position {
	t.Helper()
	var end eventstore.Position
	for {
		events, err := store.ReadAll(context.Background(), end, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) == 0 {
			return end
		}
		end = events[len(events)-1].Position
	}
}

func TestKilledReplicaHoldingTheProjectorsIsTakenOverWithNoAcknowledgedWriteLostAndNoMailTwice(t *testing.T) {
	t.Parallel()
	smtp := smtpfake.Start(t)
	d := newDeployment(t, "SMTP_URL="+smtp.URL(), "JOBSERVER_BASE_URL=https://jobs.example.org")
	pool := pgtest.NewPoolFor(t, d.databaseURL)
	store := pgstore.New(pool)
	t.Cleanup(store.Close)
	ctx := context.Background()

	// Replica a starts first and takes the projectors, the reactors and the sealer; b stands by.
	a := d.start(t, "replica-a", freeAddr(t), "serve")
	waitFor(t, "replica a holds the locks", 15*time.Second, func() bool {
		return slices.Equal(lockHolders(t, pool), []string{"replica-a", "replica-a locks"})
	})
	b := d.start(t, "replica-b", freeAddr(t), "serve")
	replicas := []*replica{a, b}
	runners := seedRunners(t, pool, store, 2, 3, 4) // 24 jobs, whose requests ask for a mail on completion
	jobs := 0
	for _, rn := range runners {
		jobs += len(rn.jobs)
	}

	// Before the kill: rounds of running jobs to both replicas, then the first request of each backend
	// finishes, and its mails are sent.
	for round := 1; round <= 3; round++ {
		for _, rn := range runners {
			rn.setRunning(round)
			if !rn.post(replicas) {
				t.Fatalf("round %d: no replica acknowledged", round)
			}
		}
	}
	var finishedFirst int
	for _, rn := range runners {
		first := rn.jobs[:4]
		rest := rn.jobs[4:]
		rn.jobs = first
		rn.setFinished()
		if !rn.post(replicas) {
			t.Fatal("no replica acknowledged the finished jobs")
		}
		finishedFirst += len(first)
		rn.jobs = rest
	}
	smtp.WaitFor(t, finishedFirst, 15*time.Second)
	// The mails' reactor is done with every event so far, so the kill cannot fall between a mail and its
	// checkpoint (the one window in which a reactor repeats a side effect; see projections.Reactor).
	end := logEnd(t, store)
	waitFor(t, "the mail reactor reached the log's end", 15*time.Second, func() bool {
		var txID, seq int64
		err := pool.QueryRow(ctx, `SELECT tx_id, seq FROM readmodel.reactor_checkpoints WHERE name = $1`, notifications.ReactorName).Scan(&txID, &seq)
		return err == nil && !(eventstore.Position{TxID: uint64(txID), Seq: seq}).Less(end)
	})

	// Under load, the replica holding everything is killed outright.
	var wg sync.WaitGroup
	stopLoad := make(chan struct{})
	for _, rn := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 4; ; round++ {
				select {
				case <-stopLoad:
					return
				default:
				}
				rn.setRunning(round)
				rn.post(replicas)
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	time.Sleep(time.Second)
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	tookOver := waitFor(t, "replica b took over the projectors, the reactors and the sealer", 20*time.Second, func() bool {
		return slices.Equal(lockHolders(t, pool), []string{"replica-b", "replica-b locks"})
	})
	t.Logf("replica b holds every lock %s after replica a was killed", tookOver.Round(time.Millisecond))
	time.Sleep(time.Second)
	close(stopLoad)
	wg.Wait()

	// After the kill: the other jobs finish, through the surviving replica.
	for _, rn := range runners {
		rn.setFinished()
		if !rn.post(replicas) {
			t.Fatal("the surviving replica did not acknowledge the finished jobs")
		}
	}
	mails := smtp.WaitFor(t, jobs, 20*time.Second)

	// Every acknowledged report is in the log and in the read model.
	end = logEnd(t, store)
	waiter := projections.NewRunner(pool, store, sealedEvents(t, pool, replicaSecretKey), slog.New(slog.DiscardHandler), projectors()...)
	waitCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := waiter.WaitFor(waitCtx, end); err != nil {
		t.Fatalf("the read models did not reach the log's end after the takeover: %v", err)
	}
	recorded := map[string][]string{} // job → status messages, in order
	events, err := store.ReadAll(ctx, eventstore.Position{}, 100_000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Type != (domain.JobStatusChanged{}).EventType() {
			continue
		}
		var changed domain.JobStatusChanged
		if err := json.Unmarshal(e.Data, &changed); err != nil {
			t.Fatal(err)
		}
		recorded[changed.JobID] = append(recorded[changed.JobID], changed.StatusMessage)
	}
	acknowledged := 0
	for _, rn := range runners {
		for job, messages := range rn.acked {
			for _, m := range messages {
				acknowledged++
				if !slices.Contains(recorded[job], m) {
					t.Errorf("job %s: the acknowledged report %q is not in the log", job, m)
				}
			}
		}
	}
	var notSucceeded int
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status <> 'succeeded') FROM readmodel.workspace_jobs`).Scan(&notSucceeded); err != nil {
		t.Fatal(err)
	}
	if notSucceeded != 0 || len(recorded) != jobs {
		t.Errorf("%d of %d jobs are not shown succeeded; the log has %d jobs", notSucceeded, jobs, len(recorded))
	}
	t.Logf("%d acknowledged job reports, %d events in the log", acknowledged, len(events))

	// One mail per finished job, none twice, also after the reactor is done with the whole log.
	waitFor(t, "the mail reactor reached the log's end", 15*time.Second, func() bool {
		var txID, seq int64
		err := pool.QueryRow(ctx, `SELECT tx_id, seq FROM readmodel.reactor_checkpoints WHERE name = $1`, notifications.ReactorName).Scan(&txID, &seq)
		return err == nil && !(eventstore.Position{TxID: uint64(txID), Seq: seq}).Less(end)
	})
	mails = smtp.Mails()
	ids := map[string]int{}
	for _, m := range mails {
		ids[m.Header.Get("Message-ID")]++
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("mail %s sent %d times", id, n)
		}
	}
	if len(mails) != jobs || len(ids) != jobs {
		t.Errorf("%d mails (%d distinct) for %d finished jobs", len(mails), len(ids), jobs)
	}

	// The read models equal a rebuild from the log.
	verify := exec.Command(os.Args[0], "verify")
	verify.Env = append(append(os.Environ(), d.env...), "DATABASE_URL="+d.databaseURL)
	if out, err := verify.CombinedOutput(); err != nil {
		t.Errorf("jobserver verify after the takeover: %v\n%s", err, out)
	}
}

func TestASessionStartedOnOneWebReplicaWorksOnAnotherThatShowsWhatTheFirstWroteOnceProjectedElsewhere(t *testing.T) {
	t.Parallel()
	gh := githubfake.New(t)
	gh.AddUser(githubfake.User{ID: 4711, Login: "octo", Name: "Octo Researcher", Email: "octo@uni.example"})
	// Behind the load balancer both answer to one address; here the address is replica b's, so GitHub
	// sends the browser back to b while the login began on a.
	addrA, addrB := freeAddr(t), freeAddr(t)
	d := newDeployment(t, "GITHUB_CLIENT_ID="+gh.ClientID, "GITHUB_CLIENT_SECRET="+gh.ClientSecret,
		"GITHUB_URL="+gh.URL, "GITHUB_API_URL="+gh.APIURL(), "JOBSERVER_BASE_URL=http://"+addrB)
	// Replicas a and b serve pages only; `jobserver project` runs the projectors, so the pages wait on
	// its work.
	a := d.start(t, "replica-a", addrA, "serve", "--no-projectors")
	b := d.start(t, "replica-b", addrB, "serve", "--no-projectors")
	pool := pgtest.NewPoolFor(t, d.databaseURL)
	d.start(t, "projecting", "", "project")
	waitFor(t, "jobserver project holds the locks", 30*time.Second, func() bool {
		return slices.Equal(lockHolders(t, pool), []string{"projecting", "projecting locks"})
	})
	jar, _ := cookiejar.New(nil) // cookies ignore the port: both replicas get them, as behind one address
	browser := &http.Client{Jar: jar, Timeout: 15 * time.Second}

	get := func(u string) (int, string) {
		t.Helper()
		resp, err := browser.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	token := regexp.MustCompile(`name="gorilla.csrf.Token" value="([^"]+)"`)
	csrfOf := func(page string) string {
		t.Helper()
		m := token.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no CSRF token on the page:\n%s", page)
		}
		return m[1]
	}
	post := func(u string, form url.Values) (int, string) {
		t.Helper()
		resp, err := browser.PostForm(u, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}

	// The login begins on a (its state kept in the session) and GitHub sends the browser back to b.
	_, login := get(a.url + "/login")
	status, authorize := post(a.url+"/login/github", url.Values{"gorilla.csrf.Token": {csrfOf(login)}})
	if status != http.StatusOK || !strings.Contains(authorize, `action="/login/oauth/authorize"`) {
		t.Fatalf("POST /login/github on a: %d, want GitHub's authorize page:\n%s", status, authorize)
	}
	form := url.Values{"login": {"octo"}, "authorize": {"1"}}
	for _, name := range []string{"client_id", "redirect_uri", "state", "scope", "response_type"} {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(authorize)
		if m != nil {
			form.Set(name, html.UnescapeString(m[1]))
		}
	}
	status, home := post(gh.URL+"/login/oauth/authorize", form)
	if status != http.StatusOK || !strings.Contains(home, "Octo Researcher") {
		t.Fatalf("back from GitHub on b: %d, want the researcher logged in:\n%s", status, home)
	}

	// Logged in on b; a knows the session too.
	if status, settings := get(a.url + "/settings"); status != http.StatusOK || !strings.Contains(settings, `value="octo@uni.example"`) {
		t.Fatalf("a's settings page for the session b started: %d\n%s", status, settings)
	}
	// A form on a page from b posts to a, whose CSRF check accepts b's token; a redirects once b's
	// projector, in `jobserver project`, shows the change, and the page the redirect leads to, served by b, shows it
	// with the message a left in the session, once.
	_, settings := get(b.url + "/settings")
	noRedirects := &http.Client{Jar: jar, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirects.PostForm(a.url+"/settings", url.Values{"gorilla.csrf.Token": {csrfOf(settings)}, "email": {"octo.new@uni.example"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/settings" {
		t.Fatalf("POST /settings on a: %d to %q, want 303 to /settings", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, settings = get(b.url + "/settings")
	if !strings.Contains(settings, `value="octo.new@uni.example"`) || !strings.Contains(settings, "Settings saved") {
		t.Errorf("b's settings page right after a saved them does not show the new address and the message:\n%s", settings)
	}
	if _, settings = get(b.url + "/settings"); strings.Contains(settings, "Settings saved") {
		t.Errorf("the message a left in the session was shown twice")
	}
}
