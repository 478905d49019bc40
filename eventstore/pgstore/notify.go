package pgstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/eventstore"
)

// notifyChannel is the Postgres NOTIFY channel on which appends are announced to other processes.
const notifyChannel = "jobserver_events"

// Notifier wakes readers when events are appended. Appends in this process wake readers at once; appends
// in other processes arrive through LISTEN/NOTIFY. The NOTIFY is sent after the append commits, from one
// goroutine that folds a burst of appends into one notification, because a NOTIFY inside the append would
// serialise every commit on Postgres' notification lock.
type Notifier struct {
	pool *pgxpool.Pool

	mu      sync.Mutex
	latest  eventstore.Position // the furthest position known to be appended
	changed chan struct{}       // closed and replaced whenever readers should look again

	kick      chan struct{}
	startOnce sync.Once
	ctx       context.Context
	cancel    context.CancelFunc
	done      sync.WaitGroup
}

func newNotifier(pool *pgxpool.Pool) *Notifier {
	ctx, cancel := context.WithCancel(context.Background())
	return &Notifier{pool: pool, changed: make(chan struct{}), kick: make(chan struct{}, 1), ctx: ctx, cancel: cancel}
}

func (n *Notifier) start() {
	n.startOnce.Do(func() {
		n.done.Add(2)
		go n.announce()
		go n.listen()
	})
}

func (n *Notifier) close() {
	n.cancel()
	n.done.Wait()
}

// appended records a committed append of this process.
func (n *Notifier) appended(p eventstore.Position) {
	n.start()
	n.advance(p)
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

func (n *Notifier) advance(p eventstore.Position) {
	n.mu.Lock()
	if n.latest.Less(p) {
		n.latest = p
	}
	close(n.changed)
	n.changed = make(chan struct{})
	n.mu.Unlock()
}

// Poke wakes every reader without news of an append: a consumer that commits may have been the oldest
// running transaction, and its end can make events visible.
func (n *Notifier) Poke() {
	n.mu.Lock()
	close(n.changed)
	n.changed = make(chan struct{})
	n.mu.Unlock()
}

// State returns the furthest position known to be appended and a channel closed at the next wake-up.
func (n *Notifier) State() (eventstore.Position, <-chan struct{}) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.latest, n.changed
}

func (n *Notifier) announce() {
	defer n.done.Done()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-n.kick:
		}
		latest, _ := n.State()
		// Best effort: a lost notification only delays other processes until their next poll.
		_, _ = n.pool.Exec(n.ctx, `SELECT pg_notify($1, $2)`, notifyChannel, formatPosition(latest))
		// A NOTIFY is a transaction with its own commit: one after every append nearly doubles the commits
		// of a busy writer. Appends during the pause leave a kick, so the last one is still announced.
		if sleep(n.ctx, minAnnounceInterval) != nil {
			return
		}
	}
}

// minAnnounceInterval bounds how often appends are announced to other processes, and so how much later
// than this process's readers they hear of one.
const minAnnounceInterval = 25 * time.Millisecond

func (n *Notifier) listen() {
	defer n.done.Done()
	for n.ctx.Err() == nil {
		if err := n.listenOnce(); err != nil && n.ctx.Err() == nil {
			select {
			case <-n.ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

func (n *Notifier) listenOnce() error {
	conn, err := pgx.ConnectConfig(n.ctx, n.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(n.ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	for {
		note, err := conn.WaitForNotification(n.ctx)
		if err != nil {
			return err
		}
		if p, err := parsePosition(note.Payload); err == nil {
			n.advance(p)
		}
	}
}

func formatPosition(p eventstore.Position) string {
	return fmt.Sprintf("%d/%d", p.TxID, p.Seq)
}

func parsePosition(s string) (eventstore.Position, error) {
	tx, seq, ok := strings.Cut(s, "/")
	if !ok {
		return eventstore.Position{}, fmt.Errorf("position %q: want txid/seq", s)
	}
	t, err := strconv.ParseUint(tx, 10, 64)
	if err != nil {
		return eventstore.Position{}, err
	}
	q, err := strconv.ParseInt(seq, 10, 64)
	if err != nil {
		return eventstore.Position{}, err
	}
	return eventstore.Position{TxID: t, Seq: q}, nil
}

// Waiter lets one reader sleep until there may be something new to read.
type Waiter struct {
	n       *Notifier
	armed   <-chan struct{}
	seen    eventstore.Position
	backoff time.Duration
}

// Waiter returns a waiter for one reader and starts listening for other processes' appends.
func (n *Notifier) Waiter() *Waiter {
	n.start()
	_, ch := n.State()
	return &Waiter{n: n, armed: ch}
}

// Arm is called just before a read, so a wake-up that comes during the read is not missed.
func (w *Waiter) Arm() {
	_, w.armed = w.n.State()
}

// Saw records the position of the last event the reader has handled.
func (w *Waiter) Saw(p eventstore.Position) {
	if w.seen.Less(p) {
		w.seen = p
	}
	w.backoff = 0
}

// Wait returns when the reader should read again. When an append the reader has not seen yet is known, its
// transaction (or an older one still running) has not become visible: look again soon, backing off a little.
// Otherwise sleep until woken, or until the fallback poll.
func (w *Waiter) Wait(ctx context.Context) error {
	latest, _ := w.n.State()
	if w.seen.Less(latest) {
		w.backoff = min(max(2*w.backoff, time.Millisecond), 50*time.Millisecond)
		return sleep(ctx, w.backoff)
	}
	w.backoff = 0
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-w.armed:
		return nil
	case <-time.After(pollFallback):
		return nil
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
