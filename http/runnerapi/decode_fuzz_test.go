package runnerapi

import (
	"errors"
	"testing"
)

// FuzzDecodeJobs: whatever a runner (or anyone with its token) sends, the decoder answers with jobs or a
// 400 body, never a panic; and every job it accepts has what the commands need.
func FuzzDecodeJobs(f *testing.F) {
	for _, seed := range []string{
		`[]`, `{}`, ``, `null`, `[null]`, `["x"]`, `[{"action": "a"}]`, `[1, {"identifier": 2}]`,
		`[{"identifier": "rfzajqkfrp766yxc", "job_request_id": "abcdefgh23456789", "action": "generate_dataset",
		  "run_command": null, "status": "pending", "status_code": "created", "status_message": "Created",
		  "created_at": "2026-11-24T19:04:38Z", "updated_at": "2026-11-24T19:04:38.123456+01:00",
		  "started_at": null, "completed_at": null, "trace_context": {"traceparent": "00-c4-9b-01"},
		  "metrics": {"cpu_mean": 1.5}, "requires_db": 1}]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		jobs, err := decodeJobs(body)
		var bad *decodeError
		if err != nil && !errors.As(err, &bad) {
			t.Fatalf("an error that is not a 400: %v", err)
		}
		for _, j := range jobs {
			if j.JobID == "" || j.JobRequestID == "" || j.Status == "" || j.CreatedAt.IsZero() {
				t.Fatalf("accepted an incomplete job: %+v", j)
			}
		}
	})
}
