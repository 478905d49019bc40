package kit

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/projections/live"
)

// Live updates: a page's live part names a stream of Server-Sent Events (static/live.js opens it) and is
// fetched again, with htmx, each time the stream says "changed". Without JavaScript the page is as rendered.
const (
	// LiveEvent is the name of the stream's one event. Its data is the ids of the job requests that
	// changed, space-separated, or "*" when anything on the page may have.
	LiveEvent = "changed"
	// liveMinInterval is the shortest time between two notices to one page; changes in between go together.
	liveMinInterval = 250 * time.Millisecond
	// liveKeepAlive is how often a quiet stream sends a comment, so proxies keep it open and a client
	// that went away is found out.
	liveKeepAlive = 15 * time.Second
	// liveWriteGrace is how long one write of the stream may take before the client is given up.
	liveWriteGrace = 10 * time.Second
	// liveRetry is how long a browser waits before it connects again after losing the stream.
	liveRetry = 2 * time.Second
)

var liveConnections = promauto.NewGaugeVec(prometheus.GaugeOpts{
	Name: "jobserver_live_connections",
	Help: "Open live-update streams (Server-Sent Events), by the kind of page they serve.",
}, []string{"page"})

// LiveView is what the live part of a page needs: the stream that tells it of changes ("" when live updates
// are off) and the address it fetches itself again from.
type LiveView struct{ Stream, Page string }

// LiveView is the live part of the page of r, told of changes by the stream at streamPath with query (which
// the stream's handler reads as the page does), for a page that reads projector.
func (k *Kit) LiveView(r *http.Request, streamPath string, query url.Values, projector string) LiveView {
	v := LiveView{Page: r.URL.RequestURI()}
	if k.Live == nil {
		return v
	}
	q := url.Values{}
	for key, values := range query {
		q[key] = values
	}
	// The page was read after this position: a stream opened later catches up from it.
	q.Set("since", k.Live.Position(projector))
	v.Stream = streamPath + "?" + q.Encode()
	return v
}

// Live is what one kind of page's stream follows.
type Live struct {
	// Page names the kind of page, for the metrics.
	Page string
	// Projector is the projector whose read model the page reads.
	Projector string
	// Match builds the test of which changed job requests the page shows to the viewer (nil: all of them).
	// It is built again after a change of anything (names, memberships), so what the viewer may see stays
	// current.
	Match func(ctx context.Context) (func(live.Request) bool, error)
}

// Stream answers with the stream of a live page: an event "changed" whenever the projector commits a change
// the page shows, at most one every liveMinInterval. It ends when the client goes away or the server
// stops, and holds one subscription and one goroutine (the request's own) while it runs.
func (k *Kit) Stream(w http.ResponseWriter, r *http.Request, l Live) error {
	if k.Live == nil {
		return domain.NotFound("Live updates are off on this server: reload the page to see changes.")
	}
	match, err := l.buildMatch(r.Context())
	if err != nil {
		return err
	}
	sub, err := k.Live.Subscribe(l.Projector, r.URL.Query().Get("since"), match)
	if err != nil && !errors.Is(err, live.ErrClosed) {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // a proxy in front must pass each event on at once
	w.WriteHeader(http.StatusOK)
	if err != nil {
		// The server is shutting down: the browser comes back after the retry, to this server's successor.
		_, _ = w.Write([]byte("retry: " + strconv.FormatInt(liveRetry.Milliseconds(), 10) + "\n\n"))
		return nil
	}
	defer sub.Close()
	gauge := liveConnections.WithLabelValues(l.Page)
	gauge.Inc()
	defer gauge.Dec()
	rc := http.NewResponseController(w)
	send := func(text string) bool {
		// The server's timeouts bound whole responses; a stream bounds each write instead, and keeps the
		// connection's reads (which tell when the client leaves) from timing out.
		at := time.Now().Add(liveKeepAlive + liveWriteGrace)
		if rc.SetWriteDeadline(at) != nil || rc.SetReadDeadline(at) != nil {
			return false
		}
		if _, err := w.Write([]byte(text)); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("retry: " + strconv.FormatInt(liveRetry.Milliseconds(), 10) + "\n: live\n\n") {
		return nil
	}
	keepAlive := time.NewTicker(liveKeepAlive)
	defer keepAlive.Stop()
	pause := time.NewTimer(0)
	defer pause.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-sub.Done():
			return nil
		case <-keepAlive.C:
			if !send(": keep-alive\n\n") {
				return nil
			}
			continue
		case <-sub.Ready():
		}
		ids, all := sub.Take()
		data := strings.Join(ids, " ")
		if all {
			data = "*"
			if l.Match != nil {
				if match, err := l.buildMatch(r.Context()); err == nil {
					sub.Match(match)
				}
			}
		}
		if !send("event: " + LiveEvent + "\ndata: " + data + "\n\n") {
			return nil
		}
		pause.Reset(liveMinInterval)
		select {
		case <-r.Context().Done():
			return nil
		case <-sub.Done():
			return nil
		case <-pause.C:
		}
	}
}

// liveSetupTimeout bounds the database work of opening a stream, which the server's per-request deadline
// does not (a stream outlives it).
const liveSetupTimeout = 5 * time.Second

func (l Live) buildMatch(ctx context.Context) (func(live.Request) bool, error) {
	if l.Match == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, liveSetupTimeout)
	defer cancel()
	return l.Match(ctx)
}
