package commands

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/mediciasafely/jobserver/domain"
)

// Handler runs one use case.
type Handler[C, R any] interface {
	Handle(ctx context.Context, cmd C) (R, error)
}

// Outcome is what a command returns: Result itself, or a type that embeds it.
type Outcome interface {
	CommandResult() Result
}

// Kit is what every use case is built with: the event log it decides on and the logger its decorators
// write to.
type Kit struct {
	Log    *EventLog
	Logger *slog.Logger
}

// NewHandler makes a use case's function a Handler, wrapped once in the decorators every command has: a
// structured log line and Prometheus metrics (count and duration by command and outcome).
func NewHandler[C any, R Outcome](k Kit, name string, handle func(context.Context, C) (R, error)) Handler[C, R] {
	logger := k.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return observed[C, R]{name: name, handle: handle, logger: logger}
}

var (
	commandsHandled = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "jobserver_commands_total",
		Help: "Commands handled, by command and outcome (ok, unchanged, invalid, forbidden, not_found, conflict, error).",
	}, []string{"command", "outcome"})
	commandSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "jobserver_command_duration_seconds",
		Help:    "Time to handle a command, from load to append, by command and outcome.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"command", "outcome"})
)

type observed[C any, R Outcome] struct {
	name   string
	handle func(context.Context, C) (R, error)
	logger *slog.Logger
}

func (o observed[C, R]) Handle(ctx context.Context, cmd C) (R, error) {
	actor := Anonymous
	if a, ok := any(cmd).(interface{ By() Actor }); ok {
		actor = a.By()
	}
	start := time.Now()
	res, err := o.handle(withReads(ctx, actor), cmd)
	took := time.Since(start)

	outcome := outcomeOf(err)
	var appended Result
	if err == nil {
		appended = res.CommandResult()
		if !appended.Changed() {
			outcome = "unchanged"
		}
	}
	commandsHandled.WithLabelValues(o.name, outcome).Inc()
	commandSeconds.WithLabelValues(o.name, outcome).Observe(took.Seconds())

	attrs := []slog.Attr{
		slog.String("command", o.name), slog.String("actor", actor.String()), slog.String("outcome", outcome),
		slog.Float64("duration_ms", float64(took.Microseconds())/1000), slog.Int("events", appended.Events),
	}
	if id := CorrelationID(ctx); id != "" {
		attrs = append(attrs, slog.String("correlation_id", id))
	}
	level := slog.LevelInfo
	switch {
	case outcome == "error":
		level = slog.LevelError
		attrs = append(attrs, slog.Any("error", err))
	case err != nil:
		// A domain error's message is written for the user and holds no secret.
		attrs = append(attrs, slog.String("reason", err.Error()))
	}
	o.logger.LogAttrs(ctx, level, "command", attrs...)
	return res, err
}

// outcomeOf names the outcome of a command's error for logs and metrics.
func outcomeOf(err error) string {
	if err == nil {
		return "ok"
	}
	switch domain.KindOf(err) {
	case domain.KindInvalid:
		return "invalid"
	case domain.KindForbidden:
		return "forbidden"
	case domain.KindNotFound:
		return "not_found"
	case domain.KindConflict:
		return "conflict"
	}
	if errors.Is(err, context.Canceled) {
		return "cancelled"
	}
	return "error"
}
