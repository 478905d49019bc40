// Package rapfake is a job-runner controller for tests: an HTTP server on 127.0.0.1 that serves the RAP
// API's endpoints and bodies as reference/rap-api.md describes them (the check order of §1.1 with its 405,
// 401 and 400 answers, create's decisions of §2.2, cancel's 404s of §2.3, status's job shape of §2.5 and
// backend/status/ of §2.1). Tests move its jobs along, pause its backends, make its creates fail, or take
// it down, and read what was asked of it.
package rapfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/internal/runnerwire"
)

// Base is the path of the API under the server's root, as the real controller serves it.
const Base = "/controller/v1/"

// Call is one request the controller received.
type Call struct {
	Method, Path, Authorization string
	Body                        map[string]any
}

// Job is a job as the controller keeps it (rap-api.md §2.5).
type Job struct {
	Identifier string `json:"identifier"`
	RapID      string `json:"rap_id"`
	Backend    string `json:"backend"`
	runnerwire.JobState

	repoURL, workspace, commit string
}

// Server is the fake controller.
type Server struct {
	*httptest.Server
	mu      sync.Mutex
	tokens  map[string][]string // token → backend slugs, in order
	jobs    []*Job
	calls   []Call
	down    bool
	failure string // the details of the next creates' 400 "Error creating jobs"; "" creates
	paused  map[string]bool
	maint   map[string]bool
	seen    map[string]time.Time
	since   map[string]time.Time // when SetBackend last changed a backend's flags
	now     func() time.Time
	serial  int
}

// Start serves the fake on 127.0.0.1 until the test ends. tokens maps each client token to the backends
// it may use.
func Start(t testing.TB, tokens map[string][]string) *Server {
	t.Helper()
	s := &Server{tokens: tokens, paused: map[string]bool{}, maint: map[string]bool{}, seen: map[string]time.Time{},
		since: map[string]time.Time{}, now: func() time.Time { return time.Now().UTC() }}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Listener = l
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// BaseURL is the API's base URL, ending with a slash, as a backend's controller URL names it.
func (s *Server) BaseURL() string { return s.URL + Base }

// SetDown makes the controller drop every connection (true) or answer again (false).
func (s *Server) SetDown(down bool) { s.locked(func() { s.down = down }) }

// FailCreates makes the next creates answer 400 "Error creating jobs" with details; "" creates again.
func (s *Server) FailCreates(details string) { s.locked(func() { s.failure = details }) }

// SetBackend sets what backend/status/ says of a backend: when its agent was last seen, and its flags.
func (s *Server) SetBackend(slug string, lastSeen time.Time, paused, dbMaintenance bool) {
	s.locked(func() {
		s.seen[slug], s.paused[slug], s.maint[slug], s.since[slug] = lastSeen, paused, dbMaintenance, s.now()
	})
}

// SetJobs moves every job of the rap_id to status (pending, running, succeeded or failed) with code and
// message, as the controller's agent would.
func (s *Server) SetJobs(rapID, status, code, message string) {
	s.locked(func() {
		now := s.stamp()
		for _, j := range s.jobs {
			if j.RapID != rapID {
				continue
			}
			j.Status, j.StatusCode, j.StatusMessage, j.UpdatedAt = status, code, message, now
			if status != "pending" && j.StartedAt == nil {
				j.StartedAt = &now
			}
			if status == "succeeded" || status == "failed" {
				j.CompletedAt = &now
			}
		}
	})
}

// Jobs lists the jobs of a rap_id.
func (s *Server) Jobs(rapID string) []Job {
	var out []Job
	s.locked(func() {
		for _, j := range s.jobs {
			if j.RapID == rapID {
				out = append(out, *j)
			}
		}
	})
	return out
}

// Calls lists the requests received so far, on path when it is not "".
func (s *Server) Calls(path string) []Call {
	var out []Call
	s.locked(func() {
		for _, c := range s.calls {
			if path == "" || c.Path == path {
				out = append(out, c)
			}
		}
	})
	return out
}

func (s *Server) locked(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}

// stamp is the time now as job times are written: whole seconds, Z.
func (s *Server) stamp() string { return s.now().Format("2006-01-02T15:04:05Z") }

func answer(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func refuse(w http.ResponseWriter, status int, kind, details string) {
	answer(w, status, map[string]string{"error": kind, "details": details})
}

var (
	rapIDPattern  = regexp.MustCompile(`^[a-z0-9]{16}$`)
	commitPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)
	workspaceName = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
)

// routes maps each endpoint to its method and handler.
var routes = map[string]struct {
	method string
	handle func(s *Server, w http.ResponseWriter, backends []string, body map[string]any)
}{
	"backend/status/": {http.MethodGet, (*Server).backendStatus},
	"rap/create/":     {http.MethodPost, (*Server).create},
	"rap/cancel/":     {http.MethodPost, (*Server).cancel},
	"rap/status/":     {http.MethodPost, (*Server).status},
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
		return
	}
	raw, _ := io.ReadAll(r.Body)
	call := Call{Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, Base), Authorization: r.Header.Get("Authorization")}
	_ = json.Unmarshal(raw, &call.Body)
	s.calls = append(s.calls, call)

	route, ok := routes[call.Path]
	switch {
	case strings.HasPrefix(r.URL.Path, Base) && !ok && routes[call.Path+"/"].method != "":
		// Django's APPEND_SLASH: a known path without its slash is redirected.
		w.Header().Set("Location", r.URL.Path+"/")
		w.WriteHeader(http.StatusMovedPermanently)
		return
	case !ok:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "<h1>Not Found</h1>")
		return
	case r.Method != route.method:
		w.Header().Set("Allow", route.method)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	token := r.Header.Get("Authorization")
	backends, known := s.tokens[token]
	switch {
	case token == "":
		refuse(w, http.StatusUnauthorized, "Unauthorized", "No token provided")
		return
	case !known:
		refuse(w, http.StatusUnauthorized, "Unauthorized", "Invalid token")
		return
	}
	var body map[string]any
	if route.method == http.MethodPost {
		if err := json.Unmarshal(raw, &body); err != nil || body == nil {
			refuse(w, http.StatusBadRequest, "Validation error", "could not parse JSON from request body")
			return
		}
		if problem := validate(call.Path, body); problem != "" {
			refuse(w, http.StatusBadRequest, "Validation error", "Invalid request body received"+problem)
			return
		}
	}
	route.handle(s, w, backends, body)
}

// validate checks a body against the endpoint's schema, as the controller words its first problem.
func validate(path string, body map[string]any) string {
	required := map[string][]string{
		"rap/create/": {"backend", "rap_id", "workspace", "repo_url", "branch", "commit", "database_name", "requested_actions",
			"codelists_ok", "force_run_dependencies", "created_by", "project", "orgs"},
		"rap/cancel/": {"rap_id", "actions"},
		"rap/status/": {"rap_ids"},
	}[path]
	for _, key := range required {
		if _, ok := body[key]; !ok {
			return fmt.Sprintf(": '%s' is a required property", key)
		}
	}
	if id, ok := body["rap_id"]; ok {
		if s, _ := id.(string); !rapIDPattern.MatchString(s) {
			return fmt.Sprintf(" at $.rap_id: %s does not match '^[a-z0-9]{16}$'", pyRepr(id))
		}
	}
	if ids, ok := body["rap_ids"].([]any); ok {
		for i, id := range ids {
			if s, _ := id.(string); !rapIDPattern.MatchString(s) {
				return fmt.Sprintf(" at $.rap_ids[%d]: %s does not match '^[a-z0-9]{16}$'", i, pyRepr(id))
			}
		}
	} else if path == "rap/status/" {
		return fmt.Sprintf(" at $.rap_ids: %s is not of type 'array'", pyRepr(body["rap_ids"]))
	}
	for _, key := range []string{"requested_actions", "actions"} {
		if v, ok := body[key]; ok {
			if list, _ := v.([]any); len(list) == 0 {
				return fmt.Sprintf(" at $.%s: %s should be non-empty", key, pyRepr(v))
			}
		}
	}
	for _, key := range []string{"codelists_ok", "force_run_dependencies"} {
		if v, ok := body[key]; ok {
			if _, isBool := v.(bool); !isBool {
				return fmt.Sprintf(" at $.%s: %s is not of type 'boolean'", key, pyRepr(v))
			}
		}
	}
	if v, ok := body["commit"]; ok {
		if s, _ := v.(string); !commitPattern.MatchString(s) {
			return fmt.Sprintf(" at $.commit: %s does not match '^[0-9a-f]{40}$'", pyRepr(v))
		}
	}
	if v, ok := body["database_name"]; ok && v != "default" {
		return fmt.Sprintf(" at $.database_name: %s is not one of ['default']", pyRepr(v))
	}
	if v, ok := body["analysis_scope"]; ok {
		if _, isObject := v.(map[string]any); !isObject {
			return fmt.Sprintf(" at $.analysis_scope: %s is not of type 'object'", pyRepr(v))
		}
	}
	return ""
}

// pyRepr writes a JSON value as Python's repr would in the controller's messages.
func pyRepr(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case string:
		return "'" + v + "'"
	case bool:
		if v {
			return "True"
		}
		return "False"
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v)
}

func (s *Server) create(w http.ResponseWriter, backends []string, body map[string]any) {
	rapID, backend := body["rap_id"].(string), fmt.Sprint(body["backend"])
	repoURL, workspace, commit := fmt.Sprint(body["repo_url"]), fmt.Sprint(body["workspace"]), fmt.Sprint(body["commit"])
	if !slices.Contains(backends, backend) {
		refuse(w, http.StatusBadRequest, "Error creating jobs", "Unknown error")
		return
	}
	var existing []*Job
	for _, j := range s.jobs {
		if j.RapID == rapID {
			existing = append(existing, j)
		}
	}
	if len(existing) > 0 {
		first := existing[0]
		if first.repoURL != repoURL || first.workspace != workspace || first.commit != commit {
			refuse(w, http.StatusBadRequest, "Inconsistent request data",
				"Jobs already created for rap_id '"+rapID+"' are inconsistent with request data")
			return
		}
		answer(w, http.StatusOK, map[string]any{"result": "No change", "details": "Jobs already created for rap_id '" + rapID + "'",
			"rap_id": rapID, "count": len(existing)})
		return
	}
	switch {
	case !workspaceName.MatchString(workspace):
		refuse(w, http.StatusBadRequest, "Error creating jobs", "Invalid workspace name (allowed are alphanumeric, dash and underscore)")
		return
	case s.failure != "":
		refuse(w, http.StatusBadRequest, "Error creating jobs", s.failure)
		return
	}
	var actions []string
	for _, a := range body["requested_actions"].([]any) {
		actions = append(actions, fmt.Sprint(a))
	}
	if slices.Equal(actions, []string{"run_all"}) {
		answer(w, http.StatusOK, map[string]any{"result": "Nothing to do", "details": "All actions have already completed successfully",
			"rap_id": rapID, "count": 0})
		return
	}
	now := s.stamp()
	for _, action := range actions {
		s.serial++
		s.jobs = append(s.jobs, &Job{
			Identifier: fmt.Sprintf("%s%04d", rapID[:12], s.serial), RapID: rapID, Backend: backend,
			JobState: runnerwire.JobState{Action: action, RunCommand: "python:v2 analysis/" + action + ".py", Status: "pending",
				StatusCode: "created", StatusMessage: "Created", CreatedAt: now, UpdatedAt: now,
				TraceContext: map[string]any{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
				Metrics:      map[string]any{}},
			repoURL: repoURL, workspace: workspace, commit: commit,
		})
	}
	answer(w, http.StatusCreated, map[string]any{"result": "Success", "details": "Jobs created for rap_id '" + rapID + "'",
		"rap_id": rapID, "count": len(actions)})
}

func (s *Server) cancel(w http.ResponseWriter, backends []string, body map[string]any) {
	rapID := body["rap_id"].(string)
	var actions []string
	for _, a := range body["actions"].([]any) {
		actions = append(actions, fmt.Sprint(a))
	}
	have := map[string]bool{}
	for _, j := range s.jobs {
		if j.RapID == rapID && slices.Contains(backends, j.Backend) {
			have[j.Action] = true
		}
	}
	if len(have) == 0 {
		answer(w, http.StatusNotFound, map[string]any{"error": "jobs not found", "details": "No jobs found for rap_id " + rapID, "rap_id": rapID})
		return
	}
	var missing []string
	for _, a := range actions {
		if !have[a] && !slices.Contains(missing, a) {
			missing = append(missing, a)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		answer(w, http.StatusNotFound, map[string]any{"error": "jobs not found",
			"details": "Jobs matching requested cancelled actions could not be found: " + strings.Join(missing, ","),
			"rap_id":  rapID, "not_found": missing})
		return
	}
	now := s.stamp()
	for _, j := range s.jobs {
		if j.RapID == rapID && slices.Contains(actions, j.Action) {
			j.CompletedAt = &now
			if j.Status == "pending" || j.Status == "running" {
				j.Status, j.StatusCode, j.StatusMessage, j.UpdatedAt = "failed", "cancelled_by_user", "Cancelled by user", now
			}
		}
	}
	answer(w, http.StatusOK, map[string]any{"result": "Success", "details": fmt.Sprintf("%d actions cancelled", len(actions)),
		"count": len(actions)})
}

func (s *Server) status(w http.ResponseWriter, backends []string, body map[string]any) {
	jobs := []Job{}
	unrecognised := []string{}
	for _, v := range body["rap_ids"].([]any) {
		id := v.(string)
		found := false
		for _, j := range s.jobs {
			if j.RapID == id && slices.Contains(backends, j.Backend) {
				jobs, found = append(jobs, *j), true
			}
		}
		if !found && !slices.Contains(unrecognised, id) {
			unrecognised = append(unrecognised, id)
		}
	}
	answer(w, http.StatusOK, map[string]any{"jobs": jobs, "unrecognised_rap_ids": unrecognised})
}

func (s *Server) backendStatus(w http.ResponseWriter, backends []string, _ map[string]any) {
	out := []map[string]any{}
	for _, slug := range backends {
		var lastSeen any
		if t, ok := s.seen[slug]; ok {
			lastSeen = t.UTC().Format("2006-01-02T15:04:05.000000Z")
		}
		flag := func(on bool) map[string]any {
			f := map[string]any{"status": "off", "since": nil}
			if since, ok := s.since[slug]; ok {
				f["since"] = since.Format("2006-01-02T15:04:05.000000Z")
			}
			if on {
				f["status"] = "on"
			}
			return f
		}
		maint := flag(s.maint[slug])
		maint["type"] = nil
		if s.maint[slug] {
			maint["type"] = "scheduled"
		}
		out = append(out, map[string]any{"slug": slug, "last_seen": lastSeen, "paused": flag(s.paused[slug]), "db_maintenance": maint})
	}
	answer(w, http.StatusOK, map[string]any{"backends": out})
}
