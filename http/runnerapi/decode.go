package runnerapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mediciasafely/jobserver/domain"
)

// itemErrors are the problems of one job of a POST, by field, as job-server's serializer words them.
type itemErrors map[string][]string

// decodeError is a body that is not a list of valid jobs: Body is the JSON job-server answers with 400.
type decodeError struct{ Body any }

func (e *decodeError) Error() string { return fmt.Sprintf("bad jobs: %v", e.Body) }

const (
	msgRequired = "This field is required."
	msgNull     = "This field may not be null."
	msgBlank    = "This field may not be blank."
	msgString   = "Not a valid string."
	msgObject   = "Expected a dictionary of items."
	msgDatetime = "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)

// decodeJobs reads the body of POST /api/v2/jobs/: a JSON array of jobs (reference §1.4). It tolerates
// what the real client sends (run_command null, requires_db as 0/1/true/false/null or absent, timestamps
// with or without fractions, Z or an offset, unknown keys) and refuses, item by item, what job-server's
// serializer refuses.
func decodeJobs(body []byte) ([]domain.JobReport, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, &decodeError{map[string][]string{"non_field_errors": {`Expected a list of items but got type "dict".`}}}
	}
	var raw any
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil || dec.More() {
		return nil, &decodeError{map[string]string{"detail": "JSON parse error - the body is not one JSON value."}}
	}
	var items []json.RawMessage
	if err := json.Unmarshal(trimmed, &items); err != nil {
		return nil, &decodeError{map[string][]string{"non_field_errors": {fmt.Sprintf("Expected a list of items but got type %q.", jsonType(raw))}}}
	}
	reports := make([]domain.JobReport, 0, len(items))
	problems := make([]itemErrors, len(items))
	bad := false
	for i, item := range items {
		r, errs := decodeJob(item)
		if len(errs) > 0 {
			bad = true
		}
		problems[i] = errs
		reports = append(reports, r)
	}
	if bad {
		for i := range problems {
			if problems[i] == nil {
				problems[i] = itemErrors{}
			}
		}
		return nil, &decodeError{problems}
	}
	return reports, nil
}

func jsonType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "dict"
	case []any:
		return "list"
	case string:
		return "str"
	case json.Number:
		return "int"
	case bool:
		return "bool"
	case nil:
		return "NoneType"
	}
	return "unknown"
}

func decodeJob(item json.RawMessage) (domain.JobReport, itemErrors) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(item, &fields); err != nil || fields == nil {
		var v any
		_ = json.Unmarshal(item, &v)
		return domain.JobReport{}, itemErrors{"non_field_errors": {"Invalid data. Expected a dictionary, but got " + jsonType(v) + "."}}
	}
	errs := itemErrors{}
	str := func(name string, blank, null bool) string {
		v, ok := fields[name]
		if !ok {
			errs[name] = []string{msgRequired}
			return ""
		}
		if string(bytes.TrimSpace(v)) == "null" {
			if !null {
				errs[name] = []string{msgNull}
			}
			return ""
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			errs[name] = []string{msgString}
			return ""
		}
		if !blank && strings.TrimSpace(s) == "" {
			errs[name] = []string{msgBlank}
		}
		return s
	}
	when := func(name string, null bool) *time.Time {
		v, ok := fields[name]
		if !ok {
			errs[name] = []string{msgRequired}
			return nil
		}
		if string(bytes.TrimSpace(v)) == "null" {
			if !null {
				errs[name] = []string{msgNull}
			}
			return nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			errs[name] = []string{msgDatetime}
			return nil
		}
		t, err := parseTime(s)
		if err != nil {
			errs[name] = []string{msgDatetime}
			return nil
		}
		return &t
	}
	object := func(name string) map[string]any {
		v, ok := fields[name]
		if !ok || string(bytes.TrimSpace(v)) == "null" {
			return nil
		}
		var m map[string]any
		if err := json.Unmarshal(v, &m); err != nil {
			errs[name] = []string{msgObject}
			return nil
		}
		return m
	}
	r := domain.JobReport{
		JobID:         str("identifier", false, false),
		JobRequestID:  str("job_request_id", false, false),
		Action:        str("action", true, false),
		RunCommand:    str("run_command", true, true),
		Status:        str("status", false, false),
		StatusCode:    str("status_code", true, false),
		StatusMessage: str("status_message", true, false),
		UpdatedAt:     when("updated_at", true),
		StartedAt:     when("started_at", true),
		CompletedAt:   when("completed_at", true),
		TraceContext:  object("trace_context"),
		Metrics:       object("metrics"),
	}
	if created := when("created_at", false); created != nil {
		r.CreatedAt = *created
	}
	if len(errs) > 0 {
		return domain.JobReport{}, errs
	}
	return r, nil
}

// parseTime reads an ISO 8601 time as the runner writes it: with or without fractions of a second, with Z
// or an offset; a time without a zone is UTC (job-server's time zone).
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04Z07:00", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a time: %q", s)
}
