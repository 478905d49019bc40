// Package live tells open pages when the read models they show have changed, so they can fetch their
// part again without a reload. One Hub per server process watches the checkpoints of the projectors that
// pages read: a checkpoint moves only when its projector commits, whichever process on the database ran
// it, so a notice never comes before the page could read the change. The hub reads from the log which job
// requests the committed events touched and hands each subscriber those it asked for. Clients cost no
// database work: the hub's reads are one per committed batch for the whole process.
package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/projections"
)

// Request is a job request that changed, with what a page needs to tell whether it shows it. Every field
// is fixed when the request is made.
type Request struct {
	ID, ProjectID, WorkspaceID, BackendID, RequestedBy string
}

// Hub follows the projectors' commits and tells subscribers what changed.
type Hub struct {
	pool     *pgxpool.Pool
	notifier *pgstore.Notifier
	registry *domain.Registry
	logger   *slog.Logger
	watched  map[string]*watched
	requests *lru.Cache[string, Request]

	mu     sync.Mutex
	subs   map[*Subscription]struct{}
	closed bool
}

// watched is a projector the hub follows: the events it handles and the checkpoint last told about.
type watched struct {
	handles map[string]bool
	at      eventstore.Position
	known   bool // at has been read from the database
}

// Timings of the hub's watch. A checkpoint behind the newest append is read again soon (its projector,
// in this process or another, is about to commit); otherwise the hub sleeps until an append or a commit
// of this process wakes it, or until the fallback read that covers a lost notification.
const (
	minPollInterval = 20 * time.Millisecond
	maxBehindWait   = 100 * time.Millisecond
	fallbackPoll    = time.Second
	// maxEventsPerNotice is the most events the hub reads to say what changed; past it, everything did.
	maxEventsPerNotice = 5000
)

// NewHub returns a hub following the projectors' commits. Run it.
func NewHub(pool *pgxpool.Pool, store *pgstore.Store, registry *domain.Registry, logger *slog.Logger, projectors ...projections.Projector) *Hub {
	h := &Hub{pool: pool, notifier: store.Notifier(), registry: registry, logger: logger, watched: map[string]*watched{},
		subs: map[*Subscription]struct{}{}}
	h.requests, _ = lru.New[string, Request](20_000)
	for _, p := range projectors {
		w := &watched{handles: map[string]bool{}}
		for _, t := range p.Handles() {
			w.handles[t] = true
		}
		h.watched[p.Name()] = w
	}
	return h
}

// Run follows the checkpoints until ctx ends.
func (h *Hub) Run(ctx context.Context) error {
	var behindWait time.Duration
	failing := false
	for {
		started := time.Now()
		latest, woken := h.notifier.State()
		behind, err := h.poll(ctx, latest)
		if ctx.Err() != nil {
			return nil
		}
		wait := fallbackPoll
		switch {
		case err != nil:
			if !failing {
				h.logger.Warn("live updates: reading the projectors' checkpoints failed; retrying", slog.Any("error", err))
			}
			failing, woken = true, nil
		case behind:
			failing = false
			behindWait = min(max(2*behindWait, 5*time.Millisecond), maxBehindWait)
			wait = behindWait
		default:
			failing, behindWait = false, 0
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-woken:
		case <-timer.C:
		}
		timer.Stop()
		// A burst of appends wakes the hub once per append: read at most every minPollInterval.
		if rest := minPollInterval - time.Since(started); rest > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(rest):
			}
		}
	}
}

// poll reads the checkpoints, tells the subscribers of each projector that moved what its events touched,
// and reports whether a checkpoint is still behind latest.
func (h *Hub) poll(ctx context.Context, latest eventstore.Position) (bool, error) {
	names := make([]string, 0, len(h.watched))
	for name := range h.watched {
		names = append(names, name)
	}
	rows, err := h.pool.Query(ctx, `SELECT name, tx_id, seq FROM `+projections.LiveSchema+`.projection_checkpoints WHERE name = ANY($1)`, names)
	if err != nil {
		return false, err
	}
	moved := map[string]eventstore.Position{}
	for rows.Next() {
		var name string
		var txID, seq int64
		if err := rows.Scan(&name, &txID, &seq); err != nil {
			rows.Close()
			return false, err
		}
		moved[name] = eventstore.Position{TxID: uint64(txID), Seq: seq}
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	behind := false
	for name, w := range h.watched {
		at, ok := moved[name]
		if at.Less(latest) {
			behind = true
		}
		if !ok || at == w.at {
			continue
		}
		if h.moveUnfollowed(name, w, at) {
			continue
		}
		c := change{all: true} // a checkpoint that went back is a rebuild: everything changed
		if w.at.Less(at) {
			if c, err = h.changesBetween(ctx, w, at); err != nil {
				return behind, fmt.Errorf("what projector %s committed: %w", name, err)
			}
		}
		h.setPosition(w, at)
		h.publish(name, c)
	}
	for _, w := range h.watched {
		if !w.known {
			h.setPosition(w, eventstore.Position{}) // no checkpoint yet: the projector has applied nothing
		}
	}
	return behind, nil
}

// Open is the number of open subscriptions.
func (h *Hub) Open() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// moveUnfollowed moves w to at, and reports true, when there is nobody to tell: nothing was open before the
// hub's first read, and nothing follows the projector now. It checks and moves under the lock Subscribe
// takes, so a page that subscribes meanwhile is either followed here, and told by the publish, or finds
// its since behind w.at, and is told everything at once; with the check and the move apart, a page
// subscribing between them heard of neither and missed what the commit changed.
func (h *Hub) moveUnfollowed(projector string, w *watched, at eventstore.Position) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if w.known {
		for s := range h.subs {
			if s.projector == projector {
				return false
			}
		}
	}
	w.at, w.known = at, true
	return true
}

func (h *Hub) setPosition(w *watched, at eventstore.Position) {
	h.mu.Lock()
	w.at, w.known = at, true
	h.mu.Unlock()
}

// change is what one projector's commits touched: job requests, or everything (names the pages copy, a
// membership, more events than worth reading).
type change struct {
	requests []Request
	all      bool
}

// changesBetween reads the events after w's position up to at and says which job requests they touched.
func (h *Hub) changesBetween(ctx context.Context, w *watched, at eventstore.Position) (change, error) {
	var c change
	touched := map[string]bool{}
	var unknown []string
	from, read := w.at, 0
	for from.Less(at) {
		events, err := pgstore.ReadAll(ctx, h.pool, from, 500)
		if err != nil {
			return c, err
		}
		if len(events) == 0 {
			break
		}
		for _, e := range events {
			if at.Less(e.Position) {
				break
			}
			from, read = e.Position, read+1
			if !w.handles[e.Type] {
				continue
			}
			payload, err := h.registry.Decode(e.Type, e.SchemaVersion, e.Data)
			if err != nil {
				return c, err
			}
			id := requestOf(payload)
			if id == "" {
				c.all = true
				continue
			}
			if r, ok := payload.(domain.JobRequested); ok {
				h.requests.Add(id, requestFrom(r))
			}
			if !touched[id] {
				touched[id] = true
				if r, ok := h.requests.Get(id); ok {
					c.requests = append(c.requests, r)
				} else {
					unknown = append(unknown, id)
				}
			}
		}
		if read > maxEventsPerNotice {
			return change{all: true}, nil
		}
		if len(events) < 500 {
			break
		}
	}
	found, err := h.lookUp(ctx, unknown)
	c.requests = append(c.requests, found...)
	return c, err
}

// requestOf is the job request an event of the job request's stream is about, "" for any other event.
func requestOf(e domain.Event) string {
	switch e := e.(type) {
	case domain.JobRequested:
		return e.JobRequestID
	case domain.JobStatusChanged:
		return e.JobRequestID
	case domain.JobsRemoved:
		return e.JobRequestID
	case domain.JobActionsCancelled:
		return e.JobRequestID
	case domain.JobCreationRecorded:
		return e.JobRequestID
	}
	return ""
}

func requestFrom(e domain.JobRequested) Request {
	return Request{ID: e.JobRequestID, ProjectID: e.ProjectID, WorkspaceID: e.WorkspaceID, BackendID: e.BackendID,
		RequestedBy: e.RequestedBy}
}

// lookUp reads what the hub does not remember of job requests from their first events.
func (h *Hub) lookUp(ctx context.Context, ids []string) ([]Request, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	streams := make([]string, len(ids))
	for i, id := range ids {
		streams[i] = domain.JobRequestStream(id)
	}
	rows, err := h.pool.Query(ctx, `SELECT event_type, schema_version, data FROM events
		WHERE stream_id = ANY($1) AND event_type = $2`, streams, domain.JobRequested{}.EventType())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var found []Request
	for rows.Next() {
		var typ string
		var version int
		var data []byte
		if err := rows.Scan(&typ, &version, &data); err != nil {
			return nil, err
		}
		payload, err := h.registry.Decode(typ, version, data)
		if err != nil {
			return nil, err
		}
		if r, ok := payload.(domain.JobRequested); ok {
			h.requests.Add(r.JobRequestID, requestFrom(r))
			found = append(found, requestFrom(r))
		}
	}
	return found, rows.Err()
}

// Position is where the projector's read model is as far as the hub knows, for a page to name when it
// subscribes (Subscribe's since): a page rendered from the read model is at least there.
func (h *Hub) Position(projector string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if w, ok := h.watched[projector]; ok {
		return w.at.String()
	}
	return ""
}

// ErrUnknownProjector is returned by Subscribe for a projector the hub does not follow.
var ErrUnknownProjector = errors.New("live: the hub does not follow this projector")

// ErrClosed is returned by Subscribe once the hub is closed.
var ErrClosed = errors.New("live: the server is shutting down")

// Close ends every subscription (their Done channels close) and refuses new ones: the server is shutting
// down, and open streams must not hold it up.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		close(s.done)
		delete(h.subs, s)
	}
}

// Subscribe starts telling the subscription of what the projector's commits change and match accepts
// (every request when match is nil). since is the Position a page was rendered at: when the read model
// has moved past it already, the subscription starts with a notice of everything, which covers the
// changes made between the page and its subscription. Close the subscription when done.
func (h *Hub) Subscribe(projector, since string, match func(Request) bool) (*Subscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	w, ok := h.watched[projector]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownProjector, projector)
	}
	s := &Subscription{hub: h, projector: projector, match: match, ready: make(chan struct{}, 1), done: make(chan struct{}),
		ids: map[string]bool{}}
	if at, err := parsePosition(since); err != nil || at.Less(w.at) {
		s.notify(nil, true)
	}
	h.subs[s] = struct{}{}
	return s, nil
}

func (h *Hub) publish(projector string, c change) {
	if !c.all && len(c.requests) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.projector == projector {
			s.offer(c)
		}
	}
}

func parsePosition(s string) (eventstore.Position, error) {
	tx, seq, ok := strings.Cut(s, "/")
	t, err1 := strconv.ParseUint(tx, 10, 64)
	q, err2 := strconv.ParseInt(seq, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return eventstore.Position{}, fmt.Errorf("position %q: want txid/seq", s)
	}
	return eventstore.Position{TxID: t, Seq: q}, nil
}
