// Package audit makes the event log tamper-evident: a hash chain over the log's global order, kept beside
// it by a sealer, with checkpoints signed with Ed25519; an export of the log with its chain as NDJSON; and
// a verifier that recomputes the chain from the database or from an export, offline.
//
// The chain: hash_0 is 32 zero bytes, and hash_n = SHA-256(hash_{n-1} || Canonical(event n)), where n is
// the event's position, 1, 2, 3, ... in the order the store delivers events (by transaction id, then
// sequence number; see eventstore.Position). docs/audit.md describes every byte.
package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/oklog/ulid/v2"
)

// Hash is a link of the chain: SHA-256 of the previous link and an event's canonical bytes.
type Hash [sha256.Size]byte

// Event is an event as the chain covers it: every stored field but its place in the log, which the chain
// itself records. Data and Metadata are compact JSON (see Compact).
type Event struct {
	ID            ulid.ULID
	Stream        string
	Version       int64
	Type          string
	SchemaVersion int
	RecordedAt    time.Time
	Data          []byte
	Metadata      []byte
}

// canonicalFormat opens every event's canonical bytes, so that a future change of the form can never
// produce the bytes of this one.
const canonicalFormat = "jobserver-event/1"

// AppendCanonical appends the canonical bytes of e to buf. Every variable-length field is preceded by its
// length, so no two different events have the same bytes:
//
//	"jobserver-event/1"
//	id             16 bytes (the ULID)
//	stream         uint32 length, UTF-8 bytes
//	version        int64
//	type           uint32 length, UTF-8 bytes
//	schema version uint32
//	recorded at    int64 microseconds since 1970-01-01T00:00:00Z
//	data           uint32 length, compact JSON bytes
//	metadata       uint32 length, compact JSON bytes
//
// Integers are big-endian.
func AppendCanonical(buf []byte, e *Event) []byte {
	buf = append(buf, canonicalFormat...)
	buf = append(buf, e.ID[:]...)
	buf = appendString(buf, e.Stream)
	buf = binary.BigEndian.AppendUint64(buf, uint64(e.Version))
	buf = appendString(buf, e.Type)
	buf = binary.BigEndian.AppendUint32(buf, uint32(e.SchemaVersion))
	buf = binary.BigEndian.AppendUint64(buf, uint64(e.RecordedAt.UnixMicro()))
	buf = appendBytes(buf, e.Data)
	return appendBytes(buf, e.Metadata)
}

func appendString(buf []byte, s string) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(s)))
	return append(buf, s...)
}

func appendBytes(buf []byte, b []byte) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(b)))
	return append(buf, b...)
}

// Chainer computes links one after the other, reusing its buffer.
type Chainer struct {
	buf []byte
}

// Next returns SHA-256(prev || canonical bytes of e).
func (c *Chainer) Next(prev Hash, e *Event) Hash {
	c.buf = append(c.buf[:0], prev[:]...)
	c.buf = AppendCanonical(c.buf, e)
	return sha256.Sum256(c.buf)
}

// Compact appends src, valid JSON, to dst without the white space between its tokens. The store keeps
// data and metadata as jsonb, whose text has its keys in jsonb's order (shorter keys first, then bytewise),
// duplicates removed and ", " and ": " between items; the chain covers that text compacted, which an export
// carries as it is. (json.Compact does the same while validating, several times slower: the log's JSON
// was validated when it was stored, an export's when its line was decoded.)
func Compact(dst, src []byte) []byte {
	inString, escaped, from := false, false, 0
	for i, c := range src {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			dst = append(dst, src[from:i]...)
			from = i + 1
		}
	}
	return append(dst, src[from:]...)
}

// timeFormat is how an export writes times: UTC, with the microseconds Postgres keeps.
const timeFormat = "2006-01-02T15:04:05.000000Z07:00"

// FormatTime writes t as an export does.
func FormatTime(t time.Time) string { return t.UTC().Format(timeFormat) }
