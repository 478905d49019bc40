// Package runnerapi is the API the runner inside each backend polls (the classic job-runner sync protocol,
// reference/runner-protocol.md §1–§2): GET /api/v2/job-requests/ lists the active job requests of the
// token's backend, POST /api/v2/jobs/ reports the full state of their jobs. Wire-compatible with an
// unmodified job-runner v2.75.5: raw token in Authorization, JSON in and out, 403 {"detail"} for a bad
// token, 400 with per-item field errors, 405 for a wrong method, never a redirect.
package runnerapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands/runners"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/projections/workspaces"
)

// Paths of the two endpoints, with the trailing slash the client always sends.
const (
	JobRequestsPath = "/api/v2/job-requests/"
	JobsPath        = "/api/v2/jobs/"
)

// DefaultBodyLimit is the largest POST body read when Options.BodyLimit is 0.
const DefaultBodyLimit = 32 << 20

// Options are what the API is built from.
type Options struct {
	Logger *slog.Logger
	// Authenticate finds the backend of a runner token (commands/identity.BackendForToken).
	Authenticate func(ctx context.Context, token string) (backendID string, ok bool, err error)
	Runners      *runners.Commands
	Views        *workspaces.Queries
	// BodyLimit is the largest POST body accepted, in bytes; a larger one is answered 413.
	BodyLimit int64
	// BaseURL is the server's public address, for the next and previous links of the list.
	BaseURL string
	Now     func() time.Time
}

type api struct{ Options }

// Routes mounts the two endpoints.
func Routes(o Options) func(chi.Router) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.BodyLimit <= 0 {
		o.BodyLimit = DefaultBodyLimit
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	a := api{o}
	return func(r chi.Router) {
		r.HandleFunc(JobRequestsPath, a.only(http.MethodGet, a.jobRequests))
		r.HandleFunc(JobsPath, a.only(http.MethodPost, a.jobs))
	}
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func detail(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]string{"detail": message})
}

// only answers 405 to every method but method (and OPTIONS); then authenticates the runner, runs handle
// and, on a 2xx, records the backend's contact and flags.
func (a api) only(method string, handle func(w http.ResponseWriter, r *http.Request, backendID string) int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			w.Header().Set("Allow", method+", OPTIONS")
			detail(w, http.StatusMethodNotAllowed, `Method "`+r.Method+`" not allowed.`)
			return
		}
		backendID, ok := a.authenticate(w, r)
		if !ok {
			return
		}
		if status := handle(w, r, backendID); status/100 == 2 {
			a.contact(r, backendID)
		}
	}
}

// authenticate finds the backend of the raw token in Authorization; 403 as job-server words it otherwise.
func (a api) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	values, present := r.Header["Authorization"]
	switch {
	case !present:
		detail(w, http.StatusForbidden, "Authorization header is missing")
		return "", false
	case len(values) == 0 || strings.TrimSpace(values[0]) == "":
		detail(w, http.StatusForbidden, "Authorization header is empty")
		return "", false
	}
	backendID, ok, err := a.Authenticate(r.Context(), values[0])
	if err != nil {
		a.serverError(w, r, err)
		return "", false
	}
	if !ok {
		detail(w, http.StatusForbidden, "Invalid token")
		return "", false
	}
	return backendID, true
}

func (a api) serverError(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	if errors.Is(err, context.DeadlineExceeded) {
		status = http.StatusServiceUnavailable
	}
	a.Logger.ErrorContext(r.Context(), "runner API", slog.String("path", r.URL.Path), slog.Any("error", err))
	detail(w, status, http.StatusText(status))
}

// contact records that the backend's runner was answered (operational state, not an event) and the
// values of its Flags header (events, for changed values only). Neither fails the answer: the runner's
// sync loop stops on an error, which would stop its jobs' reports.
func (a api) contact(r *http.Request, backendID string) {
	ctx := context.WithoutCancel(r.Context())
	if err := a.Views.BackendSeen(ctx, backendID, r.URL.Path, a.Now()); err != nil {
		a.Logger.ErrorContext(ctx, "record a runner's contact", slog.String("backend", backendID), slog.Any("error", err))
	}
	header, present := r.Header["Flags"]
	if !present || len(header) == 0 {
		return
	}
	flags, ok := parseFlags(header[0])
	if !ok {
		a.Logger.WarnContext(ctx, "a runner's Flags header is not JSON", slog.String("backend", backendID))
		return
	}
	if _, err := a.Runners.RecordFlags.Handle(ctx, runners.RecordFlags{BackendID: backendID, Flags: flags}); err != nil {
		a.Logger.ErrorContext(ctx, "record a runner's flags", slog.String("backend", backendID), slog.Any("error", err))
	}
}

// parseFlags reads the Flags header: {"<flag>": {"v": "<value>"|null, "ts": "<ISO time>"}}.
func parseFlags(header string) (map[string]domain.RunnerFlag, bool) {
	var raw map[string]struct {
		V  *string `json:"v"`
		TS *string `json:"ts"`
	}
	if err := json.Unmarshal([]byte(header), &raw); err != nil {
		return nil, false
	}
	flags := make(map[string]domain.RunnerFlag, len(raw))
	for name, f := range raw {
		var flag domain.RunnerFlag
		if f.V != nil {
			flag.Value = *f.V
		}
		if f.TS != nil {
			flag.SetAt, _ = parseTime(*f.TS)
		}
		flags[name] = flag
	}
	return flags, true
}

// jobRequest is one job request as the runner reads it (reference §1.3).
type jobRequest struct {
	Backend              string    `json:"backend"`
	SHA                  string    `json:"sha"`
	Identifier           string    `json:"identifier"`
	ForceRunDependencies bool      `json:"force_run_dependencies"`
	RequestedActions     []string  `json:"requested_actions"`
	CancelledActions     []string  `json:"cancelled_actions"`
	CreatedBy            string    `json:"created_by"`
	CreatedAt            string    `json:"created_at"`
	Workspace            workspace `json:"workspace"`
	DatabaseName         string    `json:"database_name"`
	Project              string    `json:"project"`
	Orgs                 []string  `json:"orgs"`
	CodelistsOK          bool      `json:"codelists_ok"`
}

type workspace struct {
	Name      string `json:"name"`
	Repo      string `json:"repo"`
	Branch    string `json:"branch"`
	CreatedBy string `json:"created_by"`
	CreatedAt string `json:"created_at"`
}

type page struct {
	Count    int          `json:"count"`
	Next     *string      `json:"next"`
	Previous *string      `json:"previous"`
	Results  []jobRequest `json:"results"`
}

const pageSize = 100

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// queryInt reads a non-negative integer query parameter; anything else is def, as job-server does.
func queryInt(r *http.Request, name string, def int) int {
	n, err := strconv.Atoi(r.URL.Query().Get(name))
	if err != nil || n < 0 {
		return def
	}
	return n
}

// jobRequests lists the active job requests of the backend, newest first; backend is ignored (the token
// says which), limit and offset page as job-server's LimitOffsetPagination does.
func (a api) jobRequests(w http.ResponseWriter, r *http.Request, backendID string) int {
	limit := queryInt(r, "limit", pageSize)
	if limit == 0 {
		limit = pageSize
	}
	limit = min(limit, 1000)
	offset := queryInt(r, "offset", 0)
	rows, count, err := a.Views.ActiveJobRequests(r.Context(), backendID, limit, offset)
	if err != nil {
		a.serverError(w, r, err)
		return http.StatusInternalServerError
	}
	p := page{Count: count, Results: make([]jobRequest, 0, len(rows))}
	for _, j := range rows {
		p.Results = append(p.Results, jobRequest{
			Backend: j.BackendSlug, SHA: j.SHA, Identifier: j.ID, ForceRunDependencies: j.ForceRunDependencies,
			RequestedActions: nonNil(j.RequestedActions), CancelledActions: nonNil(j.CancelledActions),
			CreatedBy: j.CreatedBy, CreatedAt: isoTime(j.CreatedAt),
			Workspace: workspace{Name: j.WorkspaceName, Repo: j.WorkspaceRepo, Branch: j.WorkspaceBranch,
				CreatedBy: j.WorkspaceCreatedBy, CreatedAt: isoTime(j.WorkspaceCreatedAt)},
			DatabaseName: j.DatabaseName, Project: j.ProjectSlug, Orgs: nonNil(j.OrgSlugs), CodelistsOK: j.CodelistsOK,
		})
	}
	link := func(off int) *string {
		base := a.BaseURL
		if base == "" {
			base = "http://" + r.Host
		}
		s := strings.TrimRight(base, "/") + JobRequestsPath + "?limit=" + strconv.Itoa(limit)
		if off > 0 {
			s += "&offset=" + strconv.Itoa(off)
		}
		return &s
	}
	if offset+limit < count {
		p.Next = link(offset + limit)
	}
	if offset > 0 {
		p.Previous = link(max(offset-limit, 0))
	}
	writeJSON(w, http.StatusOK, p)
	return http.StatusOK
}

// jobs records the state of every job the runner reports.
func (a api) jobs(w http.ResponseWriter, r *http.Request, backendID string) int {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.BodyLimit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		detail(w, http.StatusRequestEntityTooLarge, "Request body is larger than "+strconv.FormatInt(a.BodyLimit, 10)+" bytes.")
		return http.StatusRequestEntityTooLarge
	case err != nil:
		detail(w, http.StatusBadRequest, "The request body could not be read.")
		return http.StatusBadRequest
	}
	reports, err := decodeJobs(body)
	var bad *decodeError
	if errors.As(err, &bad) {
		writeJSON(w, http.StatusBadRequest, bad.Body)
		return http.StatusBadRequest
	}
	_, err = a.Runners.RecordJobStatuses.Handle(r.Context(), runners.RecordJobStatuses{BackendID: backendID, Jobs: reports})
	if err != nil {
		a.serverError(w, r, err)
		return http.StatusInternalServerError
	}
	// No wait for the read models: the runner's next GET comes seconds later, and a request it finished
	// that is still listed then costs one more report that changes nothing.
	writeJSON(w, http.StatusOK, map[string]string{"status": "success"})
	return http.StatusOK
}
