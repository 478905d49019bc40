package runnerapi_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands/notifications"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/runnerapi"
	"github.com/mediciasafely/jobserver/integrations/mail"
	"github.com/mediciasafely/jobserver/internal/smtpfake"
	"github.com/mediciasafely/jobserver/projections"
)

// TestAJobTheRunnerReportsFinishedIsMailedOnce: the whole path of the e-mail on a job's completion, as
// the server wires it. A researcher asks to be notified; the backend's runner reports, through POST
// /api/v2/jobs/, the job running and then succeeded; the mail reactor sends one mail over SMTP, linking to
// the job's page. The runner repeating its identical report, and the server restarting the reactor, send
// no second one.
func TestAJobTheRunnerReportsFinishedIsMailedOnce(t *testing.T) {
	ctx := context.Background()
	w := setup(t, true)
	pool, store, kit := w.pool, w.store, w.kit
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	const baseURL = "https://jobs.example.org"
	smtp := smtpfake.Start(t)
	mailer, err := mail.NewSMTP(mail.Config{URL: smtp.URL(), From: mail.DefaultFrom(baseURL), Timeout: 5 * time.Second})
	must(err)
	notifier := notifications.New(kit, mailer, baseURL)
	newReactors := func() *projections.Reactors {
		return projections.NewReactors(pool, store, domain.Events, logger,
			projections.ReactorOptions{InitialBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Standby: 50 * time.Millisecond},
			projections.DefineReactor(notifications.ReactorName, notifications.Handles(), func(ctx context.Context, e projections.Event) error {
				return notifier.React(ctx, e.Payload, e.ID.String())
			}))
	}
	startReactors := func() (*projections.Reactors, func()) {
		t.Helper()
		r := newReactors()
		must(r.Prepare(ctx))
		rctx, stop := context.WithCancel(ctx)
		stopped := make(chan struct{})
		go func() { _ = r.Run(rctx); close(stopped) }()
		once := func() { stop(); <-stopped }
		t.Cleanup(once)
		return r, once
	}
	_, stop := startReactors()

	post := func(body string) {
		t.Helper()
		if status, got := call(t, "POST", w.url+runnerapi.JobsPath, w.token, nil, body); status != 200 {
			t.Fatalf("POST: %d %v", status, got)
		}
	}
	job := func(status, code, completed string) string {
		return `[{"identifier": "rfzajqkfrp766yxc", "job_request_id": "` + w.requestID + `", "action": "describe_cohort",
			"run_command": "python:v2 analysis/analyse.py", "status": "` + status + `", "status_code": "` + code + `",
			"status_message": "Completed successfully", "created_at": "2026-11-24T19:04:38Z", "updated_at": "2026-11-24T19:09:38Z",
			"started_at": "2026-11-24T19:05:00Z", "completed_at": ` + completed + `, "trace_context": {}, "metrics": {},
			"requires_db": false}]`
	}
	post(job("running", "executing", "null"))
	finished := job("succeeded", "succeeded", `"2026-11-24T19:09:38Z"`)
	post(finished)

	mails := smtp.WaitFor(t, 1, 15*time.Second)
	m := mails[0]
	if len(m.To) != 1 || m.To[0] != "alice@uni.example" ||
		m.Header.Get("Subject") != "Job describe_cohort succeeded in workspace test-ws" {
		t.Errorf("mail to %q, subject %q", m.To, m.Header.Get("Subject"))
	}
	link := baseURL + "/test-org/test-project/test-ws/" + w.requestID + "/rfzajqkfrp766yxc"
	if !strings.Contains(m.Body, link) || !strings.Contains(m.Body, "Completed successfully") {
		t.Errorf("the mail lacks the link to the job's page %s or its message:\n%s", link, m.Body)
	}

	// The runner repeats its report, identical; the server restarts the reactor; the runner repeats it
	// again. Then a report with another job, not finished: once the reactor is past it, it has seen
	// everything before it.
	post(finished)
	stop()
	r2, _ := startReactors()
	post(finished)
	other := strings.Replace(strings.Replace(job("pending", "created", "null"), "rfzajqkfrp766yxc", "itq647utyj25vrhv", 1),
		`"describe_cohort"`, `"generate_dataset"`, 1)
	post(strings.TrimSuffix(finished, "]") + "," + strings.TrimPrefix(other, "["))
	last, err := store.ReadStream(ctx, domain.JobRequestStream(w.requestID))
	must(err)
	if got := len(last); got != 4 {
		t.Errorf("the request's stream has %d events, want 4 (requested, running, succeeded, the other job)", got)
	}
	end := last[len(last)-1].Position
	deadline := time.Now().Add(15 * time.Second)
	for {
		at, err := r2.Checkpoint(ctx, notifications.ReactorName)
		must(err)
		if !at.Less(end) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted reactor did not reach %s (at %s)", end, at)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(smtp.Mails()); n != 1 {
		t.Fatalf("%d mails after repeated reports and a restart, want 1", n)
	}
}
