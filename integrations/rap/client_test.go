package rap

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mediciasafely/jobserver/commands/runners"
	"github.com/mediciasafely/jobserver/internal/rapfake"
)

const token = "s3cr3t-client-token-of-tpp"

func newClient(t *testing.T, timeout time.Duration) (*Client, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	return New(Config{Timeout: timeout, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}), &logs
}

func createBody(rapID string) runners.CreateRequest {
	return runners.CreateRequest{Backend: "tpp", RapID: rapID, Workspace: "my-workspace", RepoURL: "https://github.com/opensafely/study",
		Branch: "main", Commit: strings.Repeat("a", 40), DatabaseName: "default", RequestedActions: []string{"generate_dataset"},
		CodelistsOK: true, CreatedBy: "alice", Project: "my-project", Orgs: []string{}}
}

// TestCreateSendsTheReferenceBodyWithTheRawTokenAndCountDecides: the call is a POST to rap/create/ with its
// trailing slash, the token as the whole Authorization header, every required key and no analysis_scope;
// a first create answers 201 with a count and a repeat 200 "No change" with the same count.
func TestCreateSendsTheReferenceBodyWithTheRawTokenAndCountDecides(t *testing.T) {
	fake := rapfake.Start(t, map[string][]string{token: {"tpp"}})
	c, logs := newClient(t, 5*time.Second)
	conn := runners.Connection{Backend: "tpp", BaseURL: fake.BaseURL(), Token: token}
	before := counted(t, "jobserver_rap_calls_total", "tpp", CreatePath, "ok")

	first, err := c.Create(context.Background(), conn, createBody("abcdefgh23456789"))
	if err != nil || first.Count != 1 || first.Result != "Success" {
		t.Fatalf("first create: %+v, %v", first, err)
	}
	again, err := c.Create(context.Background(), conn, createBody("abcdefgh23456789"))
	if err != nil || again.Count != 1 || again.Result != "No change" {
		t.Fatalf("repeated create: %+v, %v", again, err)
	}
	sent := fake.Calls(CreatePath)
	if len(sent) != 2 || sent[0].Method != http.MethodPost || sent[0].Authorization != token {
		t.Fatalf("calls: %+v", sent)
	}
	if _, ok := sent[0].Body["analysis_scope"]; ok {
		t.Error("analysis_scope was sent; it must be left out")
	}
	for _, key := range []string{"backend", "rap_id", "workspace", "repo_url", "branch", "commit", "database_name",
		"requested_actions", "codelists_ok", "force_run_dependencies", "created_by", "project", "orgs"} {
		if _, ok := sent[0].Body[key]; !ok {
			t.Errorf("the create body lacks %s", key)
		}
	}
	if got := counted(t, "jobserver_rap_calls_total", "tpp", CreatePath, "ok") - before; got != 2 {
		t.Errorf("counted %v ok creates, want 2", got)
	}
	if strings.Contains(logs.String(), token) || !strings.Contains(logs.String(), `"duration_ms"`) {
		t.Errorf("the log holds the token or lacks the duration:\n%s", logs.String())
	}
}

// TestRefusalsCarryTheControllersDetails: 400s (a creation error, a validation error) and 401s are
// Refusals with the API's details; a cancel of a rap_id the controller does not know is its 404.
func TestRefusalsCarryTheControllersDetails(t *testing.T) {
	fake := rapfake.Start(t, map[string][]string{token: {"tpp"}})
	c, _ := newClient(t, 5*time.Second)
	conn := runners.Connection{Backend: "tpp", BaseURL: fake.BaseURL(), Token: token}
	ctx := context.Background()
	refusal := func(_ any, err error) *runners.Refusal {
		t.Helper()
		var r *runners.Refusal
		if !errors.As(err, &r) {
			t.Fatalf("got %v, want a refusal", err)
		}
		return r
	}

	fake.FailCreates("Could not find branch 'main'")
	r := refusal(c.Create(ctx, conn, createBody("abcdefgh23456789")))
	if r.Status != 400 || r.Kind != "Error creating jobs" || r.Details != "Could not find branch 'main'" {
		t.Errorf("create refused: %+v", r)
	}
	bad := createBody("ABC")
	r = refusal(c.Create(ctx, conn, bad))
	if r.Status != 400 || !strings.Contains(r.Details, "$.rap_id") {
		t.Errorf("invalid rap_id: %+v", r)
	}
	r = refusal(c.Status(ctx, runners.Connection{Backend: "tpp", BaseURL: fake.BaseURL(), Token: "wrong"}, nil))
	if r.Status != 401 || r.Details != "Invalid token" {
		t.Errorf("wrong token: %+v", r)
	}
	r = refusal(c.Cancel(ctx, conn, "zzzzzzzzzzzzzzzz", []string{"generate_dataset"}))
	if r.Status != 404 || r.Kind != "jobs not found" || len(r.NotFound) != 0 {
		t.Errorf("cancel of an unknown rap_id: %+v", r)
	}
}

// TestStatusReadsTheJobShape: rap/status/ answers the 15 keys of each job, with whole-second times, and
// the rap_ids it does not know.
func TestStatusReadsTheJobShape(t *testing.T) {
	fake := rapfake.Start(t, map[string][]string{token: {"tpp"}})
	c, _ := newClient(t, 5*time.Second)
	conn := runners.Connection{Backend: "tpp", BaseURL: fake.BaseURL(), Token: token}
	ctx := context.Background()
	if _, err := c.Create(ctx, conn, createBody("abcdefgh23456789")); err != nil {
		t.Fatal(err)
	}
	fake.SetJobs("abcdefgh23456789", "succeeded", "succeeded", "Completed successfully")
	s, err := c.Status(ctx, conn, []string{"abcdefgh23456789", "unknown234567890"})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Jobs) != 1 || len(s.Unrecognised) != 1 || s.Unrecognised[0] != "unknown234567890" {
		t.Fatalf("status: %+v", s)
	}
	j := s.Jobs[0]
	if j.RapID != "abcdefgh23456789" || j.Status != "succeeded" || j.CompletedAt == nil || j.CreatedAt.IsZero() ||
		j.TraceContext["traceparent"] == nil || j.Action != "generate_dataset" {
		t.Errorf("job: %+v", j)
	}

	fake.SetBackend("tpp", time.Date(2026, 12, 1, 11, 30, 45, 123456000, time.UTC), true, false)
	states, err := c.BackendStatus(ctx, conn)
	if err != nil || len(states) != 1 || !states[0].Paused.On() || states[0].DBMaintenance.On() || states[0].LastSeen == nil ||
		!states[0].LastSeen.Equal(time.Date(2026, 12, 1, 11, 30, 45, 123456000, time.UTC)) {
		t.Errorf("backend status: %+v, %v", states, err)
	}
}

// TestNoAnswerIsUnanswered: a controller that drops the connection, one that answers a proxy's HTML, and
// one slower than the timeout leave the outcome unknown; each is counted as a failure.
func TestNoAnswerIsUnanswered(t *testing.T) {
	fake := rapfake.Start(t, map[string][]string{token: {"tpp"}})
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>502 Bad Gateway</html>"))
	}))
	defer html.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Second):
		}
	}))
	defer slow.Close()
	c, _ := newClient(t, 200*time.Millisecond)
	before := counted(t, "jobserver_rap_call_failures_total", "tpp", CreatePath, "")

	fake.SetDown(true)
	for name, base := range map[string]string{"down": fake.BaseURL(), "html": html.URL + "/", "slow": slow.URL + "/"} {
		start := time.Now()
		_, err := c.Create(context.Background(), runners.Connection{Backend: "tpp", BaseURL: base, Token: token}, createBody("abcdefgh23456789"))
		var u *runners.Unanswered
		if !errors.As(err, &u) {
			t.Errorf("%s: got %v, want no answer", name, err)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("%s: took %s, past the timeout", name, took)
		}
	}
	if got := counted(t, "jobserver_rap_call_failures_total", "tpp", CreatePath, "") - before; got != 3 {
		t.Errorf("counted %v failures, want 3", got)
	}
}

// counted reads a counter of the default registry (the one /metrics serves) for a backend, an endpoint
// and, when not "", an outcome.
func counted(t *testing.T, name, backend, endpoint, outcome string) float64 {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["backend"] == backend && labels["endpoint"] == endpoint && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
