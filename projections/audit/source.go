package audit

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/oklog/ulid/v2"

	"github.com/mediciasafely/jobserver/projections"
)

// Entry is one step of the sealed log: an event at its position in the chain, or a signed checkpoint. An
// untouched log only has entries with both the event and its link; the others are what tampering leaves.
type Entry struct {
	// Position is the event's place in the chain; 0 for an event the chain does not hold.
	Position int64
	// PrevHash and Hash are the chain's hashes before and at Position, as stored.
	PrevHash, Hash Hash
	// SealedID is the id of the event the chain holds at Position (normally Event.ID).
	SealedID ulid.ULID
	// Event is nil when the chain holds an event the log no longer has.
	Event *Event
	// Checkpoint is set, and the rest empty, for a signed checkpoint; it follows the event at its position.
	Checkpoint *Checkpoint
}

// Filter chooses what an export holds. The zero value is the whole sealed log.
type Filter struct {
	// From is the first position (default 1).
	From int64
	// Until ends the export before the first event recorded after it (zero: no end). Events are recorded
	// nearly in order, so what is exported is the log as it stood then.
	Until time.Time
	// Stream limits the export to one stream's events; each is then checked against its own link only, as
	// the chain between them needs the events of every other stream.
	Stream string
}

// Source yields the entries of the sealed log, or of an export, in order.
type Source interface {
	// Next returns the next entry, or io.EOF after the last.
	Next() (Entry, error)
	// Scope is the filter the entries were chosen by.
	Scope() Filter
	// Total is the number of events expected, for a progress bar (0 when unknown).
	Total() int64
	Close()
}

// readBatch is how many rows one keyset read of the log or the chain takes.
const readBatch = 2000

// OpenLog reads the sealed log of pool's database, up to the chain's head when it is called, in batches
// read ahead on connections of their own, so memory stays constant whatever the size of the log.
func OpenLog(ctx context.Context, pool *pgxpool.Pool, f Filter) (Source, error) {
	if f.From < 1 {
		f.From = 1
	}
	if f.Stream != "" {
		return openStream(ctx, pool, f)
	}
	// The last checkpoint first: every checkpoint is written with the links it signs, so the head read
	// after it is at or beyond it, unless the chain was cut back (which verification then reports).
	var lastSigned int64
	if err := pool.QueryRow(ctx, `SELECT coalesce(max(position), 0) FROM audit_checkpoints`).Scan(&lastSigned); err != nil {
		return nil, fmt.Errorf("read the last checkpoint: %w", err)
	}
	head, err := linkAt(ctx, pool, headSQL)
	if err != nil {
		return nil, err
	}
	var before link // the link before From: where the events to read start
	if f.From > 1 {
		if before, err = linkAt(ctx, pool, `SELECT `+linkColumns+` FROM audit_chain WHERE position = $1`, f.From-1); err != nil {
			return nil, err
		}
		if before.position == 0 {
			return nil, fmt.Errorf("position %d is beyond the sealed log (its head is at %d)", f.From, head.position)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &logSource{filter: f, cancel: cancel, prevHash: before.hash, total: max(head.position-before.position, 0)}
	s.events = readAhead(ctx, func(ctx context.Context, last *storedEvent) ([]storedEvent, error) {
		after := before.place
		if last != nil {
			after = last.place
		}
		rows, err := pool.Query(ctx, `SELECT `+eventColumns+` FROM events e
			WHERE (tx_id, seq) > ($1, $2) AND (tx_id, seq) <= ($3, $4) ORDER BY tx_id, seq LIMIT $5`,
			after.txID, after.seq, head.place.txID, head.place.seq, readBatch)
		return projections.All(rows, err, scanStoredEvent)
	})
	s.links = readAhead(ctx, func(ctx context.Context, last *link) ([]link, error) {
		after := before.place
		if last != nil {
			after = last.place
		}
		rows, err := pool.Query(ctx, `SELECT `+linkColumns+` FROM audit_chain
			WHERE (tx_id, seq) > ($1, $2) AND (tx_id, seq) <= ($3, $4) ORDER BY tx_id, seq LIMIT $5`,
			after.txID, after.seq, head.place.txID, head.place.seq, readBatch)
		return projections.All(rows, err, scanLink)
	})
	s.checkpoints = readAhead(ctx, func(ctx context.Context, last *Checkpoint) ([]Checkpoint, error) {
		after := before.position
		if last != nil {
			after = last.Position
		}
		rows, err := pool.Query(ctx, `SELECT `+checkpointColumns+` FROM audit_checkpoints WHERE position > $1 AND position <= $2
			ORDER BY position LIMIT $3`, after, max(head.position, lastSigned), readBatch)
		return projections.All(rows, err, scanCheckpoint)
	})
	return s, nil
}

// headSQL selects the chain's last link (positions grow with the places).
const headSQL = `SELECT ` + linkColumns + ` FROM audit_chain ORDER BY tx_id DESC, seq DESC LIMIT 1`

// Unsealed counts the events after the chain's head: appended since the sealer last ran.
func Unsealed(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	head, err := linkAt(ctx, pool, headSQL)
	if err != nil {
		return 0, err
	}
	var n int64
	err = pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE (tx_id, seq) > ($1, $2)`, head.place.txID, head.place.seq).Scan(&n)
	return n, err
}

func linkAt(ctx context.Context, pool *pgxpool.Pool, sql string, args ...any) (link, error) {
	rows, err := pool.Query(ctx, sql, args...)
	links, err := projections.All(rows, err, scanLink)
	if err != nil || len(links) == 0 {
		return link{}, err
	}
	return links[0], nil
}

// logSource merges the events and the chain by the events' places, and puts each checkpoint after the
// entry at its position.
type logSource struct {
	filter      Filter
	cancel      context.CancelFunc
	events      *batchReader[storedEvent]
	links       *batchReader[link]
	checkpoints *batchReader[Checkpoint]
	prevHash    Hash  // the stored hash of the link before the next one
	position    int64 // the position of the last entry with a link
	total       int64
	ended       bool
}

func (s *logSource) Scope() Filter { return s.filter }
func (s *logSource) Total() int64  { return s.total }
func (s *logSource) Close()        { s.cancel() }

func (s *logSource) Next() (Entry, error) {
	if s.ended {
		return Entry{}, io.EOF
	}
	c, err := s.checkpoints.peek()
	if err != nil {
		return Entry{}, err
	}
	if c != nil && c.Position <= s.position {
		s.checkpoints.pop()
		return Entry{Checkpoint: c}, nil
	}
	e, err := s.events.peek()
	if err != nil {
		return Entry{}, err
	}
	l, err := s.links.peek()
	if err != nil {
		return Entry{}, err
	}
	var entry Entry
	switch {
	case e == nil && l == nil && c != nil: // beyond the chain's head
		s.checkpoints.pop()
		return Entry{Checkpoint: c}, nil
	case e == nil && l == nil:
		s.ended = true
		return Entry{}, io.EOF
	case l == nil || e != nil && e.place.less(l.place):
		s.events.pop()
		entry.Event = &e.Event
	case e == nil || l.place.less(e.place):
		s.links.pop()
		entry.Position, entry.Hash, entry.SealedID = l.position, l.hash, l.eventID
	default:
		s.events.pop()
		s.links.pop()
		entry.Event = &e.Event
		entry.Position, entry.Hash, entry.SealedID = l.position, l.hash, l.eventID
	}
	if entry.Event != nil && !s.filter.Until.IsZero() && entry.Event.RecordedAt.After(s.filter.Until) {
		s.ended = true
		return Entry{}, io.EOF
	}
	if entry.Position > 0 {
		entry.PrevHash, s.prevHash, s.position = s.prevHash, entry.Hash, entry.Position
	}
	return entry, nil
}

// openStream reads one stream's events with their links, up to the chain's head.
func openStream(ctx context.Context, pool *pgxpool.Pool, f Filter) (Source, error) {
	head, err := linkAt(ctx, pool, headSQL)
	if err != nil {
		return nil, err
	}
	var total int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE stream_id = $1`, f.Stream).Scan(&total); err != nil {
		return nil, fmt.Errorf("count the events of %s: %w", f.Stream, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &streamSource{filter: f, cancel: cancel, total: total}
	s.entries = readAhead(ctx, func(ctx context.Context, last *streamEntry) ([]streamEntry, error) {
		var after int64
		if last != nil {
			after = last.Version
		}
		rows, err := pool.Query(ctx, `SELECT `+eventColumns+`, c.position, c.hash, c.event_id, p.hash
			FROM events e
			LEFT JOIN audit_chain c ON c.tx_id = e.tx_id AND c.seq = e.seq
			LEFT JOIN LATERAL (SELECT hash FROM audit_chain p WHERE (p.tx_id, p.seq) < (c.tx_id, c.seq)
				ORDER BY p.tx_id DESC, p.seq DESC LIMIT 1) p ON true
			WHERE e.stream_id = $1 AND e.stream_version > $2 AND (c.position IS NULL OR c.position >= $3)
			  AND (e.tx_id, e.seq) <= ($4, $5)
			ORDER BY e.stream_version LIMIT $6`, f.Stream, after, f.From, head.place.txID, head.place.seq, readBatch)
		return projections.All(rows, err, scanStreamEntry)
	})
	return s, nil
}

// streamEntry is an event of a stream with its link and the hash before it (nil when not sealed).
type streamEntry struct {
	storedEvent
	position *int64
	hash     []byte
	sealedID pgtype.UUID
	prevHash []byte
}

func scanStreamEntry(row pgx.CollectableRow) (streamEntry, error) {
	var s streamEntry
	var err error
	s.storedEvent, err = scanStoredEventAnd(row, &s.position, &s.hash, &s.sealedID, &s.prevHash)
	return s, err
}

type streamSource struct {
	filter  Filter
	cancel  context.CancelFunc
	entries *batchReader[streamEntry]
	total   int64
}

func (s *streamSource) Scope() Filter { return s.filter }
func (s *streamSource) Total() int64  { return s.total }
func (s *streamSource) Close()        { s.cancel() }

func (s *streamSource) Next() (Entry, error) {
	e, err := s.entries.peek()
	if err != nil {
		return Entry{}, err
	}
	if e == nil {
		return Entry{}, io.EOF
	}
	s.entries.pop()
	if !s.filter.Until.IsZero() && e.RecordedAt.After(s.filter.Until) {
		return Entry{}, io.EOF
	}
	entry := Entry{Event: &e.Event}
	if e.position != nil {
		entry.Position, entry.SealedID = *e.position, e.sealedID.Bytes
		copy(entry.Hash[:], e.hash)
		copy(entry.PrevHash[:], e.prevHash) // none before position 1: the zero hash
	}
	return entry, nil
}

// batchReader reads batches ahead on a goroutine of its own, one batch ahead of the one being consumed.
type batchReader[T any] struct {
	batches chan batchResult[T]
	current []T
	next    int
	err     error
	done    bool
}

type batchResult[T any] struct {
	items []T
	err   error
}

// readAhead starts reading with fetch, which returns the batch after last (nil: the first); a batch
// shorter than readBatch is the last.
func readAhead[T any](ctx context.Context, fetch func(ctx context.Context, last *T) ([]T, error)) *batchReader[T] {
	r := &batchReader[T]{batches: make(chan batchResult[T], 1)}
	go func() {
		defer close(r.batches)
		var last *T
		for {
			items, err := fetch(ctx, last)
			select {
			case r.batches <- batchResult[T]{items, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || len(items) < readBatch {
				return
			}
			last = &items[len(items)-1]
		}
	}()
	return r
}

// peek returns the next item without taking it; nil at the end.
func (r *batchReader[T]) peek() (*T, error) {
	for r.next == len(r.current) && !r.done && r.err == nil {
		b, ok := <-r.batches
		switch {
		case !ok:
			r.done = true
		case b.err != nil:
			r.err = b.err
		default:
			r.current, r.next = b.items, 0
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.done {
		return nil, nil
	}
	return &r.current[r.next], nil
}

func (r *batchReader[T]) pop() { r.next++ }
