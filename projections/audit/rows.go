package audit

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/oklog/ulid/v2"
)

// place is an event's place in the events table, the key of the store's global order.
type place struct{ txID, seq int64 }

func (p place) less(q place) bool { return p.txID < q.txID || p.txID == q.txID && p.seq < q.seq }

// storedEvent is an event read from the events table, with its place there.
type storedEvent struct {
	place place
	Event
}

// eventColumns are the columns scanStoredEvent reads, of events named e: data and metadata as the stored
// jsonb's text.
const eventColumns = `e.tx_id, e.seq, e.event_id, e.stream_id, e.stream_version, e.event_type, e.schema_version, e.data, e.metadata, e.recorded_at`

// scanStoredEvent scans a row selected as eventColumns.
func scanStoredEvent(row pgx.CollectableRow) (storedEvent, error) { return scanStoredEventAnd(row) }

// scanStoredEventAnd scans a row selected as eventColumns followed by the columns of more.
func scanStoredEventAnd(row pgx.CollectableRow, more ...any) (storedEvent, error) {
	var (
		e             storedEvent
		id            pgtype.UUID
		schemaVersion int32
		data, meta    []byte
	)
	err := row.Scan(append([]any{&e.place.txID, &e.place.seq, &id, &e.Stream, &e.Version, &e.Type, &schemaVersion,
		&data, &meta, &e.RecordedAt}, more...)...)
	if err != nil {
		return e, err
	}
	e.ID, e.SchemaVersion, e.RecordedAt = ulid.ULID(id.Bytes), int(schemaVersion), e.RecordedAt.UTC()
	// One allocation for both, compacted in place of the scanned text.
	both := Compact(make([]byte, 0, len(data)+len(meta)), data)
	e.Data = both[:len(both):len(both)]
	e.Metadata = Compact(both, meta)[len(both):]
	return e, nil
}

// link is a row of audit_chain: the event sealed at a position, and the chain's hash there.
type link struct {
	position int64
	place    place
	eventID  ulid.ULID
	hash     Hash
}

var linkColumnNames = []string{"position", "tx_id", "seq", "event_id", "hash"}

const linkColumns = `position, tx_id, seq, event_id, hash`

func scanLink(row pgx.CollectableRow) (link, error) {
	var (
		l    link
		id   pgtype.UUID
		hash []byte
	)
	if err := row.Scan(&l.position, &l.place.txID, &l.place.seq, &id, &hash); err != nil {
		return l, err
	}
	l.eventID = ulid.ULID(id.Bytes)
	if len(hash) != len(l.hash) {
		return l, fmt.Errorf("audit_chain at position %d: a hash of %d bytes", l.position, len(hash))
	}
	copy(l.hash[:], hash)
	return l, nil
}

const checkpointColumns = `position, hash, sealed_at, public_key, signature`

func scanCheckpoint(row pgx.CollectableRow) (Checkpoint, error) {
	var (
		c          Checkpoint
		hash, key  []byte
		sealedTime time.Time
	)
	if err := row.Scan(&c.Position, &hash, &sealedTime, &key, &c.Signature); err != nil {
		return c, err
	}
	c.SealedAt, c.PublicKey = sealedTime.UTC(), key
	copy(c.Hash[:], hash)
	return c, nil
}
