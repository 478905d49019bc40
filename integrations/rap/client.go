// Package rap is the client of job-runner controllers' RAP API (reference/rap-api.md), the adapter behind
// the commands/runners Controller port: the token in Authorization as it is (no scheme), paths with
// their trailing slash, never a redirect followed, a timeout on every call, and every call logged with its
// duration and outcome and counted in /metrics by backend and endpoint.
package rap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/mediciasafely/jobserver/commands/runners"
)

// The API's endpoints, relative to the controller's base URL, each with the trailing slash it requires.
const (
	BackendStatusPath = "backend/status/"
	CreatePath        = "rap/create/"
	CancelPath        = "rap/cancel/"
	StatusPath        = "rap/status/"
)

// DefaultTimeout bounds each call when Config.Timeout is 0: a create fetches the repository at the
// commit, which takes seconds.
const DefaultTimeout = 30 * time.Second

// answerLimit is the largest answer read: a status answer lists every job of every active request.
const answerLimit = 64 << 20

var (
	calls = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "jobserver_rap_calls_total",
		Help: "Calls to RAP controllers, by backend, endpoint and outcome (ok, refused, unanswered, bad_answer).",
	}, []string{"backend", "endpoint", "outcome"})
	failures = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "jobserver_rap_call_failures_total",
		Help: "Calls to RAP controllers that did not succeed, by backend and endpoint.",
	}, []string{"backend", "endpoint"})
	seconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "jobserver_rap_call_duration_seconds",
		Help:    "Time of a call to a RAP controller, by endpoint.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"endpoint"})
)

// Config is how the client calls.
type Config struct {
	// Timeout bounds each call (DefaultTimeout when 0).
	Timeout time.Duration
	Logger  *slog.Logger
	// Transport carries the calls (http.DefaultTransport when nil).
	Transport http.RoundTripper
}

// Client calls controllers; one serves every backend.
type Client struct {
	http    *http.Client
	timeout time.Duration
	logger  *slog.Logger
}

var _ runners.Controller = (*Client)(nil)

// New returns a client.
func New(c Config) *Client {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return &Client{
		http: &http.Client{Transport: c.Transport,
			// A slash-less URL answers 301, and a POST that follows it becomes a body-less GET: never follow.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		timeout: c.Timeout, logger: c.Logger,
	}
}

// Create calls rap/create/: 200 and 201 alike, with the count and details the answer must hold.
func (c *Client) Create(ctx context.Context, conn runners.Connection, r runners.CreateRequest) (runners.Created, error) {
	var answer struct {
		Result  string  `json:"result"`
		Details *string `json:"details"`
		RapID   string  `json:"rap_id"`
		Count   *int    `json:"count"`
	}
	err := c.call(ctx, conn, http.MethodPost, CreatePath, r, &answer, http.StatusOK, http.StatusCreated)
	if err == nil && (answer.Count == nil || answer.Details == nil) {
		err = c.fail(conn, CreatePath, &runners.BadAnswer{Endpoint: CreatePath, Reason: "the answer has no count or no details"})
	}
	if err != nil {
		return runners.Created{}, err
	}
	return runners.Created{Result: answer.Result, Details: *answer.Details, RapID: answer.RapID, Count: *answer.Count}, nil
}

// Cancel calls rap/cancel/.
func (c *Client) Cancel(ctx context.Context, conn runners.Connection, rapID string, actions []string) (runners.Cancelled, error) {
	var answer runners.Cancelled
	err := c.call(ctx, conn, http.MethodPost, CancelPath, map[string]any{"rap_id": rapID, "actions": actions}, &answer, http.StatusOK)
	return answer, err
}

// Status calls rap/status/ for every rap_id at once (an empty list too: the call is the poller's heartbeat).
func (c *Client) Status(ctx context.Context, conn runners.Connection, rapIDs []string) (runners.Statuses, error) {
	if rapIDs == nil {
		rapIDs = []string{}
	}
	var answer runners.Statuses
	err := c.call(ctx, conn, http.MethodPost, StatusPath, map[string]any{"rap_ids": rapIDs}, &answer, http.StatusOK)
	return answer, err
}

// BackendStatus calls backend/status/.
func (c *Client) BackendStatus(ctx context.Context, conn runners.Connection) ([]runners.BackendState, error) {
	var answer struct {
		Backends []runners.BackendState `json:"backends"`
	}
	err := c.call(ctx, conn, http.MethodGet, BackendStatusPath, nil, &answer, http.StatusOK)
	return answer.Backends, err
}

// call makes one call and decodes a success answer (one of ok) into out. A non-success answer with the
// API's JSON is a *runners.Refusal; no answer, or one that is not JSON, a *runners.Unanswered; a success
// answer that does not decode, a *runners.BadAnswer. When ctx itself ends, its error is returned.
func (c *Client) call(ctx context.Context, conn runners.Connection, method, path string, body, out any, ok ...int) error {
	start := time.Now()
	status, err := c.exchange(ctx, conn, method, path, body, out, ok)
	took := time.Since(start)
	outcome := "ok"
	var refusal *runners.Refusal
	var unanswered *runners.Unanswered
	switch {
	case err == nil:
	case errors.As(err, &refusal):
		outcome = "refused"
	case errors.As(err, &unanswered):
		outcome = "unanswered"
	default:
		outcome = "bad_answer"
	}
	calls.WithLabelValues(conn.Backend, path, outcome).Inc()
	seconds.WithLabelValues(path).Observe(took.Seconds())
	level := slog.LevelInfo
	attrs := []slog.Attr{slog.String("backend", conn.Backend), slog.String("endpoint", path), slog.Int("status", status),
		slog.String("outcome", outcome), slog.Float64("duration_ms", float64(took.Microseconds())/1000)}
	if err != nil {
		failures.WithLabelValues(conn.Backend, path).Inc()
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("error", err.Error())) // our errors name the endpoint, never the token
	}
	c.logger.LogAttrs(ctx, level, "rap call", attrs...)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// fail counts a failure found after call had counted the call a success (an answer missing a key).
func (c *Client) fail(conn runners.Connection, path string, err error) error {
	failures.WithLabelValues(conn.Backend, path).Inc()
	c.logger.Warn("rap call", "backend", conn.Backend, "endpoint", path, "outcome", "bad_answer", "error", err.Error())
	return err
}

func (c *Client) exchange(ctx context.Context, conn runners.Connection, method, path string, body, out any, ok []int) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var reader io.Reader
	if body != nil {
		encoded, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("%s: encode the request: %w", path, err)
		}
		reader = bytes.NewReader(encoded)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(conn.BaseURL, "/")+"/"+path, reader)
	if err != nil {
		return 0, &runners.Unanswered{Endpoint: path, Reason: "the controller's URL is not usable"}
	}
	req.Header.Set("Authorization", conn.Token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, &runners.Unanswered{Endpoint: path, Reason: transportReason(err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, answerLimit))
	if err != nil {
		return resp.StatusCode, &runners.Unanswered{Endpoint: path, Reason: "the answer was cut off: " + transportReason(err)}
	}
	for _, want := range ok {
		if resp.StatusCode == want {
			if err := json.Unmarshal(raw, out); err != nil {
				return resp.StatusCode, &runners.BadAnswer{Endpoint: path, Reason: fmt.Sprintf("%d with a body that is not the API's JSON", resp.StatusCode)}
			}
			return resp.StatusCode, nil
		}
	}
	refusal := &runners.Refusal{Endpoint: path, Status: resp.StatusCode}
	if err := json.Unmarshal(raw, refusal); err != nil || (refusal.Kind == "" && refusal.Details == "") {
		return resp.StatusCode, &runners.Unanswered{Endpoint: path, Reason: fmt.Sprintf("%d with a body that is not the API's JSON", resp.StatusCode)}
	}
	refusal.Status = resp.StatusCode
	return resp.StatusCode, refusal
}

// transportReason says why a call got no answer without the URL's details beyond what net/http says
// (the token is a header, which no transport error repeats).
func transportReason(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	return err.Error()
}
