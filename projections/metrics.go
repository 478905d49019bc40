package projections

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/mediciasafely/jobserver/eventstore"
)

var (
	liveDelay = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "jobserver_projection_delay_seconds",
		Help:    "Time from an event being recorded to a projector applying it on the live path.",
		Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2, 5},
	}, []string{"projector"})
	projectionFailures = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "jobserver_projection_failures_total",
		Help: "Events a projector could not apply and set aside in event_failures.",
	}, []string{"projector"})
)

func observeLive(projector string, e eventstore.Event) {
	liveDelay.WithLabelValues(projector).Observe(time.Since(e.RecordedAt).Seconds())
}

// Collector reports, at each scrape and from the database (so it is right whichever process applied the
// events), each projector's checkpoint and how far behind the log it is.
func (r *Runner) Collector() prometheus.Collector { return checkpointCollector{r} }

var (
	checkpointDesc = prometheus.NewDesc("jobserver_projection_checkpoint",
		"Sequence number of the last event each projector has applied.", []string{"projector"}, nil)
	lagDesc = prometheus.NewDesc("jobserver_projection_lag_seconds",
		"Age of the oldest event a projector has not applied yet; 0 when caught up.", []string{"projector"}, nil)
)

type checkpointCollector struct{ r *Runner }

func (c checkpointCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- checkpointDesc
	ch <- lagDesc
}

func (c checkpointCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, p := range c.r.projectors {
		var seq int64
		var lag float64
		err := c.r.pool.QueryRow(ctx, `SELECT c.seq, coalesce(extract(epoch FROM now() - (
				SELECT e.recorded_at FROM events e WHERE (e.tx_id, e.seq) > (c.tx_id, c.seq) ORDER BY e.tx_id, e.seq LIMIT 1)), 0)
			FROM `+LiveSchema+`.projection_checkpoints c WHERE c.name = $1`, p.Name()).Scan(&seq, &lag)
		if err != nil {
			continue // no checkpoint yet, or the database is away: report nothing rather than a wrong number
		}
		ch <- prometheus.MustNewConstMetric(checkpointDesc, prometheus.GaugeValue, float64(seq), p.Name())
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, lag, p.Name())
	}
}
