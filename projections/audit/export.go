package audit

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/oklog/ulid/v2"
)

// ExportFormat names the layout of an export's lines (docs/audit.md); its header line carries it.
const ExportFormat = "jobserver-audit-export/1"

// lineFilter is the filter an export was written with, in its header.
type lineFilter struct {
	From   int64  `json:"from,omitempty"`
	Until  string `json:"until,omitempty"`
	Stream string `json:"stream,omitempty"`
}

// line is one line of an export. Its kind says which fields it has:
//   - "export", the first line: the format, when it was written and the filter it was written with;
//   - "event": an event (id ... metadata) at its position in the chain, with the chain's hash before and at
//     it; sealed_id only when the chain holds another event there, the event's fields missing when the
//     log no longer has it, the chain's fields when the chain does not hold the event;
//   - "checkpoint": the chain's head at a position, signed, after the event at that position.
type line struct {
	Kind string `json:"kind"`

	Format     string      `json:"format,omitempty"`
	ExportedAt string      `json:"exported_at,omitempty"`
	Filter     *lineFilter `json:"filter,omitempty"`

	Position int64  `json:"position,omitempty"`
	PrevHash string `json:"prev_hash,omitempty"`
	Hash     string `json:"hash,omitempty"`
	SealedID string `json:"sealed_id,omitempty"`

	ID            string          `json:"id,omitempty"`
	Stream        string          `json:"stream,omitempty"`
	Version       int64           `json:"version,omitempty"`
	Type          string          `json:"type,omitempty"`
	SchemaVersion int             `json:"schema_version,omitempty"`
	RecordedAt    string          `json:"recorded_at,omitempty"`
	Data          json.RawMessage `json:"data,omitempty"`
	Metadata      json.RawMessage `json:"metadata,omitempty"`

	SealedAt  string `json:"sealed_at,omitempty"`
	PublicKey string `json:"public_key,omitempty"`
	Signature string `json:"signature,omitempty"`
}

const (
	kindHeader     = "export"
	kindEvent      = "event"
	kindCheckpoint = "checkpoint"
)

// Export writes the entries of src to w as NDJSON, one line at a time, and returns how many events it
// wrote. progress, when not nil, is told of every 1,000 events written and of the rest at the end.
func Export(w io.Writer, src Source, now time.Time, progress func(int)) (int64, error) {
	buffered := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(buffered)
	enc.SetEscapeHTML(false) // data and metadata go out byte for byte as the chain covers them
	scope := src.Scope()
	header := line{Kind: kindHeader, Format: ExportFormat, ExportedAt: FormatTime(now)}
	if scope.From > 1 || !scope.Until.IsZero() || scope.Stream != "" {
		header.Filter = &lineFilter{Stream: scope.Stream}
		if scope.From > 1 {
			header.Filter.From = scope.From
		}
		if !scope.Until.IsZero() {
			header.Filter.Until = FormatTime(scope.Until)
		}
	}
	if err := enc.Encode(header); err != nil {
		return 0, err
	}
	var events, unreported int64
	for {
		entry, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return events, err
		}
		if err := enc.Encode(lineOf(entry)); err != nil {
			return events, err
		}
		if entry.Checkpoint == nil {
			events++
			if unreported++; unreported == 1000 && progress != nil {
				progress(int(unreported))
				unreported = 0
			}
		}
	}
	if progress != nil && unreported > 0 {
		progress(int(unreported))
	}
	return events, buffered.Flush()
}

func lineOf(entry Entry) line {
	if c := entry.Checkpoint; c != nil {
		return line{Kind: kindCheckpoint, Position: c.Position, Hash: hex.EncodeToString(c.Hash[:]), SealedAt: FormatTime(c.SealedAt),
			PublicKey: FormatPublicKey(c.PublicKey), Signature: base64.StdEncoding.EncodeToString(c.Signature)}
	}
	l := line{Kind: kindEvent}
	if entry.Position > 0 {
		l.Position, l.PrevHash, l.Hash = entry.Position, hex.EncodeToString(entry.PrevHash[:]), hex.EncodeToString(entry.Hash[:])
		if entry.Event == nil || entry.SealedID != entry.Event.ID {
			l.SealedID = entry.SealedID.String()
		}
	}
	if e := entry.Event; e != nil {
		l.ID, l.Stream, l.Version, l.Type, l.SchemaVersion = e.ID.String(), e.Stream, e.Version, e.Type, e.SchemaVersion
		l.RecordedAt, l.Data, l.Metadata = FormatTime(e.RecordedAt), e.Data, e.Metadata
	}
	return l
}

// ReadExport reads an export written by Export, checking its header first. Its entries are read one line
// at a time.
func ReadExport(r io.Reader) (Source, error) {
	s := &exportSource{lines: bufio.NewScanner(r)}
	s.lines.Buffer(make([]byte, 0, 64<<10), 64<<20) // an event's line can be as long as its data
	var header line
	if err := s.read(&header); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the export is empty")
		}
		return nil, err
	}
	if header.Kind != kindHeader || header.Format != ExportFormat {
		return nil, fmt.Errorf("line 1: not a header of an export in the format %s", ExportFormat)
	}
	s.filter.From = 1
	if f := header.Filter; f != nil {
		s.filter.From, s.filter.Stream = max(f.From, 1), f.Stream
		if f.Until != "" {
			if err := decodeTime(f.Until, &s.filter.Until); err != nil {
				return nil, fmt.Errorf("line 1: until: %w", err)
			}
		}
	}
	return s, nil
}

type exportSource struct {
	lines  *bufio.Scanner
	number int
	filter Filter
}

func (s *exportSource) Scope() Filter { return s.filter }
func (s *exportSource) Total() int64  { return 0 }
func (s *exportSource) Close()        {}

// read decodes the next line into l.
func (s *exportSource) read(l *line) error {
	if !s.lines.Scan() {
		if err := s.lines.Err(); err != nil {
			return fmt.Errorf("line %d: %w", s.number+1, err)
		}
		return io.EOF
	}
	s.number++
	if err := json.Unmarshal(s.lines.Bytes(), l); err != nil {
		return fmt.Errorf("line %d: %w", s.number, err)
	}
	return nil
}

func (s *exportSource) Next() (Entry, error) {
	var l line
	if err := s.read(&l); err != nil {
		return Entry{}, err
	}
	entry, err := entryOf(l)
	if err != nil {
		return Entry{}, fmt.Errorf("line %d: %w", s.number, err)
	}
	return entry, nil
}

// entryOf reads a line back into the entry it was written from.
func entryOf(l line) (Entry, error) {
	switch l.Kind {
	case kindCheckpoint:
		c := &Checkpoint{Position: l.Position}
		err := errors.Join(decodeHash(l.Hash, &c.Hash), decodeTime(l.SealedAt, &c.SealedAt))
		key, keyErr := ParsePublicKey(l.PublicKey)
		sig, sigErr := base64.StdEncoding.DecodeString(l.Signature)
		if err = errors.Join(err, keyErr, sigErr); err != nil {
			return Entry{}, fmt.Errorf("checkpoint: %w", err)
		}
		c.PublicKey, c.Signature = key, sig
		return Entry{Checkpoint: c}, nil
	case kindEvent:
	default:
		return Entry{}, fmt.Errorf("a line of kind %q", l.Kind)
	}
	var entry Entry
	var errs []error
	if l.ID != "" {
		e := &Event{Stream: l.Stream, Version: l.Version, Type: l.Type, SchemaVersion: l.SchemaVersion}
		var err error
		e.ID, err = ulid.ParseStrict(l.ID)
		errs = append(errs, err, decodeTime(l.RecordedAt, &e.RecordedAt))
		// Decoding the line checked that both are JSON.
		e.Data, e.Metadata = Compact(nil, l.Data), Compact(nil, l.Metadata)
		entry.Event, entry.SealedID = e, e.ID
	}
	if l.Position > 0 {
		entry.Position = l.Position
		errs = append(errs, decodeHash(l.PrevHash, &entry.PrevHash), decodeHash(l.Hash, &entry.Hash))
		if l.SealedID != "" {
			var err error
			entry.SealedID, err = ulid.ParseStrict(l.SealedID)
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Entry{}, err
	}
	if entry.Event == nil && entry.Position == 0 {
		return Entry{}, errors.New("an event line with neither an event nor a position")
	}
	return entry, nil
}

func decodeHash(s string, h *Hash) error {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return fmt.Errorf("hash %q: want %d hex digits", s, 2*len(h))
	}
	copy(h[:], b)
	return nil
}

func decodeTime(s string, t *time.Time) error {
	parsed, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("time %q: %w", s, err)
	}
	*t = parsed.UTC()
	return nil
}
