package domain_test

import (
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/domain"
)

func TestJobRequestStatusFollowsTheReferenceRules(t *testing.T) {
	t.Parallel()
	cases := []struct {
		statuses []string
		want     string
	}{
		{nil, "pending"},
		{[]string{"pending"}, "pending"},
		{[]string{"running", "running"}, "running"},
		{[]string{"succeeded", "succeeded"}, "succeeded"},
		{[]string{"failed"}, "failed"},
		{[]string{"Failed", "failed"}, "failed"},
		{[]string{""}, "pending"},
		{[]string{"weird"}, "unknown"},
		{[]string{"pending", "succeeded"}, "running"},
		{[]string{"running", "failed"}, "running"},
		{[]string{"pending", "running"}, "running"},
		{[]string{"succeeded", "failed"}, "failed"},
		{[]string{"succeeded", "weird"}, "unknown"},
	}
	for _, c := range cases {
		if got := domain.JobRequestStatus(c.statuses); got != c.want {
			t.Errorf("JobRequestStatus(%q) = %q, want %q", c.statuses, got, c.want)
		}
	}
}

func at(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func requestOn(backendID string) *domain.JobRequest {
	var j domain.JobRequest
	j.Apply(domain.JobRequested{JobRequestID: "abcdefgh23456789", WorkspaceID: "w1", ProjectID: "p1", BackendID: backendID,
		RequestedActions: []string{"analyse"}, RequestedBy: "u1"})
	return &j
}

func report(id, status, code string) domain.JobReport {
	r := domain.JobReport{JobID: id, JobRequestID: "abcdefgh23456789", Action: "a-" + id, RunCommand: "python:v2 x.py",
		Status: status, StatusCode: code, StatusMessage: code, CreatedAt: *at("2026-11-24T19:04:38Z"),
		UpdatedAt: at("2026-11-24T19:04:38Z"), Metrics: map[string]any{}}
	if domain.IsTerminalJobStatus(status) {
		r.CompletedAt = at("2026-11-24T19:05:00Z")
	}
	return r
}

// TestRecordJobs drives a request through rounds of reports; each round lists what it decides.
func TestRecordJobs(t *testing.T) {
	t.Parallel()
	type decided struct {
		changed  []string // job ids with a JobStatusChanged, in order
		finished []string // those among them with Finished
		removed  []string
	}
	withMetrics := report("j1", "running", "executing")
	withMetrics.Metrics = map[string]any{"cpu_mean": 1.5}
	sameMetricsAgain := withMetrics
	sameMetricsAgain.Metrics = map[string]any{"cpu_mean": 1.5}
	sameMetricsAgain.TraceContext = map[string]any{"traceparent": "00-new"}
	otherZone := withMetrics
	otherZone.CreatedAt = otherZone.CreatedAt.In(time.FixedZone("x", 3600))
	rounds := []struct {
		name    string
		reports []domain.JobReport
		want    decided
		status  string
	}{
		{"two new jobs", []domain.JobReport{report("j1", "pending", "created"), report("j2", "pending", "created")},
			decided{changed: []string{"j1", "j2"}}, "pending"},
		{"the same again", []domain.JobReport{report("j1", "pending", "created"), report("j2", "pending", "created")},
			decided{}, "pending"},
		{"one starts", []domain.JobReport{report("j1", "running", "preparing"), report("j2", "pending", "created")},
			decided{changed: []string{"j1"}}, "running"},
		{"a status code changes", []domain.JobReport{report("j1", "running", "executing"), report("j2", "pending", "created")},
			decided{changed: []string{"j1"}}, "running"},
		{"metrics change", []domain.JobReport{withMetrics, report("j2", "pending", "created")},
			decided{changed: []string{"j1"}}, "running"},
		{"a new trace context and equal times in another zone are no change",
			[]domain.JobReport{sameMetricsAgain, otherZone, report("j2", "pending", "created")}, decided{}, "running"},
		{"one succeeds", []domain.JobReport{report("j1", "succeeded", "succeeded"), report("j2", "pending", "created")},
			decided{changed: []string{"j1"}, finished: []string{"j1"}}, "running"},
		{"its message changes after", []domain.JobReport{func() domain.JobReport {
			r := report("j1", "succeeded", "succeeded")
			r.StatusMessage = "Completed successfully, but 1 file was excluded"
			return r
		}(), report("j2", "pending", "created")}, decided{changed: []string{"j1"}}, "running"},
		{"one vanishes and another is first reported failed", []domain.JobReport{report("j3", "failed", "internal_error")},
			decided{changed: []string{"j3"}, finished: []string{"j3"}, removed: []string{"j1", "j2"}}, "failed"},
	}
	j := requestOn("b1")
	for _, r := range rounds {
		events, err := j.RecordJobs("b1", r.reports)
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		var got decided
		for _, e := range events {
			switch e := e.(type) {
			case domain.JobStatusChanged:
				got.changed = append(got.changed, e.JobID)
				if e.Finished {
					got.finished = append(got.finished, e.JobID)
				}
			case domain.JobsRemoved:
				got.removed = append(got.removed, e.JobIDs...)
			}
			j.Apply(e)
		}
		if !equalStrings(got.changed, r.want.changed) || !equalStrings(got.finished, r.want.finished) ||
			!equalStrings(got.removed, r.want.removed) {
			t.Errorf("%s: decided %+v, want %+v", r.name, got, r.want)
		}
		if s := j.Status(); s != r.status {
			t.Errorf("%s: status %q, want %q", r.name, s, r.status)
		}
		if c := j.Clone(); c.Status() != j.Status() || len(c.Jobs()) != len(j.Jobs()) {
			t.Errorf("%s: the clone differs", r.name)
		}
	}
	if j.IsActive() {
		t.Error("a request whose jobs all failed is still active")
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRecordJobsRefusesAnotherBackendAndUnknownRequests(t *testing.T) {
	t.Parallel()
	j := requestOn("b1")
	if _, err := j.RecordJobs("b2", []domain.JobReport{report("j1", "pending", "created")}); domain.KindOf(err) != domain.KindForbidden {
		t.Errorf("another backend: %v, want forbidden", err)
	}
	var none domain.JobRequest
	if _, err := none.RecordJobs("b1", nil); domain.KindOf(err) != domain.KindNotFound {
		t.Errorf("no request: %v, want not found", err)
	}
	if !j.IsActive() || j.Status() != "pending" {
		t.Error("a request without jobs is active and pending")
	}
}

func TestRecordFlagsDecidesChangedValuesOnly(t *testing.T) {
	t.Parallel()
	var b domain.Backend
	b.Apply(domain.BackendCreated{BackendID: "b1", Slug: "tpp", Name: "TPP"})
	ts := *at("2026-11-24T19:05:14Z")
	rounds := []struct {
		flags map[string]domain.RunnerFlag
		want  []string // flag=value of the events
	}{
		{map[string]domain.RunnerFlag{}, nil},
		{map[string]domain.RunnerFlag{"paused": {"true", ts}, "mode": {"db-maintenance", ts}}, []string{"mode=db-maintenance", "paused=true"}},
		{map[string]domain.RunnerFlag{"paused": {"true", ts.Add(time.Second)}, "mode": {"db-maintenance", ts}}, nil},
		{map[string]domain.RunnerFlag{"paused": {"", ts}, "mode": {"db-maintenance", ts}}, []string{"paused="}},
		{map[string]domain.RunnerFlag{"paused": {"", ts}}, nil},
	}
	for i, r := range rounds {
		events, err := b.RecordFlags(r.flags)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range events {
			f := e.(domain.BackendFlagChanged)
			got = append(got, f.Flag+"="+f.Value)
			b.Apply(e)
		}
		if !equalStrings(got, r.want) {
			t.Errorf("round %d: %q, want %q", i, got, r.want)
		}
	}
	if b.Clone().Flags()["mode"] != "db-maintenance" {
		t.Error("the clone lost a flag")
	}
}
