package audit

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"

	"github.com/oklog/ulid/v2"
)

// ProblemKind names what was done to the log.
type ProblemKind string

const (
	// Altered: an event's content, or the chain's hash at it, is not what was sealed.
	Altered ProblemKind = "altered"
	// Removed: the chain holds an event that the log no longer has.
	Removed ProblemKind = "removed"
	// Inserted: the log has an event, among sealed ones, that the chain never held.
	Inserted ProblemKind = "inserted"
	// Reordered: an event sealed at one position is at another.
	Reordered ProblemKind = "reordered"
	// ForgedCheckpoint: a checkpoint whose signature does not verify, or whose key is not trusted.
	ForgedCheckpoint ProblemKind = "forged checkpoint"
	// Rewritten: the events up to a signed checkpoint do not hash to its head, although each matches the
	// chain as stored: the chain itself was computed again after a change.
	Rewritten ProblemKind = "rewritten chain"
)

// Problem is the first sign of tampering that verification met.
type Problem struct {
	Kind     ProblemKind
	Position int64     // where in the chain
	ID       ulid.ULID // the event concerned, when known
	Detail   string
}

func (p Problem) String() string {
	id := ""
	if p.ID != (ulid.ULID{}) {
		id = ", event " + p.ID.String()
	}
	return fmt.Sprintf("%s: position %d%s: %s", p.Kind, p.Position, id, p.Detail)
}

// Report is what verification found.
type Report struct {
	// Events and Checkpoints are how many were checked.
	Events, Checkpoints int64
	// Signed is the position of the last checkpoint that held; Last the last position checked. The events
	// after Signed are chained but not yet covered by a signature.
	Signed, Last int64
	// Separately is set for an export of one stream: each event was checked against its own link only.
	Separately bool
	// Problem is the first tampering found, nil when none.
	Problem *Problem
}

// Verify recomputes the chain over the entries of src, checks each against the chain's stored hashes and
// every checkpoint's signature (by one of trusted) and head, and stops at the first problem. progress,
// when not nil, is told of every 1,000 events checked.
func Verify(src Source, trusted []ed25519.PublicKey, progress func(int)) (Report, error) {
	if len(trusted) == 0 {
		return Report{}, errors.New("verify: no public key to check the checkpoints' signatures with")
	}
	scope := src.Scope()
	v := &verifier{src: src, trusted: trusted, last: scope.From - 1, first: true,
		report: Report{Separately: scope.Stream != ""}}
	v.report.Last, v.report.Signed = v.last, v.last
	var unreported int
	for v.report.Problem == nil {
		entry, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return v.report, err
		}
		if err := v.check(entry); err != nil {
			return v.report, err
		}
		if entry.Checkpoint == nil {
			if unreported++; unreported == 1000 && progress != nil {
				progress(unreported)
				unreported = 0
			}
		}
	}
	if progress != nil && unreported > 0 {
		progress(unreported)
	}
	v.report.Last = v.last
	return v.report, nil
}

type verifier struct {
	src     Source
	trusted []ed25519.PublicKey
	report  Report
	chainer Chainer
	first   bool  // no event checked yet
	last    int64 // the position checked last
	head    Hash  // the hash computed at last
}

// check checks one entry; a problem found is recorded in the report, an error is one of reading.
func (v *verifier) check(entry Entry) error {
	if c := entry.Checkpoint; c != nil {
		v.checkCheckpoint(c)
		return nil
	}
	e := entry.Event
	switch {
	case e == nil:
		return v.fail(Removed, entry.Position, entry.SealedID, "sealed here, but no longer in the log")
	case entry.Position == 0:
		return v.fail(Inserted, v.last, e.ID, fmt.Sprintf("in the log after position %d, never sealed", v.last))
	}
	if v.report.Separately || v.first && entry.Position > 1 && entry.Position == v.last+1 {
		// An export of one stream, or starting from a later position: the chain before this event is not in
		// the export; its stored hash is where the computation starts.
		v.head = entry.PrevHash
	}
	if !v.report.Separately {
		switch {
		case entry.Position <= v.last:
			return v.fail(Reordered, entry.Position, e.ID, fmt.Sprintf("comes after position %d", v.last))
		case entry.Position > v.last+1:
			return v.missing(v.last + 1)
		}
	}
	if entry.SealedID != e.ID {
		return v.misplaced(entry)
	}
	if entry.PrevHash != v.head {
		return v.fail(Altered, entry.Position-1, ulid.ULID{}, "the chain's stored hash here is not the hash of the events up to it")
	}
	h := v.chainer.Next(v.head, e)
	if h != entry.Hash {
		return v.fail(Altered, entry.Position, e.ID, "its content does not hash to the hash sealed for it")
	}
	v.first, v.last, v.head = false, entry.Position, h
	v.report.Events++
	return nil
}

func (v *verifier) checkCheckpoint(c *Checkpoint) {
	trusted := false
	for _, k := range v.trusted {
		trusted = trusted || bytes.Equal(k, c.PublicKey)
	}
	switch {
	case !trusted:
		v.problem(ForgedCheckpoint, c.Position, ulid.ULID{}, "signed with a key that is not trusted: "+FormatPublicKey(c.PublicKey))
		return
	case !c.Valid():
		v.problem(ForgedCheckpoint, c.Position, ulid.ULID{}, "its signature does not verify")
		return
	case v.report.Separately:
	case c.Position != v.last:
		v.problem(Removed, v.last+1, ulid.ULID{}, fmt.Sprintf("the export goes on to a checkpoint at position %d", c.Position))
		return
	case c.Hash != v.head:
		v.problem(Rewritten, c.Position, ulid.ULID{}, fmt.Sprintf("the events up to here do not hash to the head signed at %s: "+
			"one after position %d was changed, removed or inserted, and the chain written again to hide it", FormatTime(c.SealedAt), v.report.Signed))
		return
	}
	v.report.Checkpoints++
	if !v.report.Separately {
		v.report.Signed = c.Position
	}
}

func (v *verifier) problem(kind ProblemKind, position int64, id ulid.ULID, detail string) {
	v.report.Problem = &Problem{Kind: kind, Position: position, ID: id, Detail: detail}
}

// fail records a problem; it returns nil, so that check can end with it.
func (v *verifier) fail(kind ProblemKind, position int64, id ulid.ULID, detail string) error {
	v.problem(kind, position, id, detail)
	return nil
}

// missing tells apart a position that comes later (reordered) from one that does not come (removed), by
// reading on.
func (v *verifier) missing(position int64) error {
	found, err := v.find(func(e Entry) bool { return e.Position == position })
	if err != nil {
		return err
	}
	if found != nil {
		id := found.SealedID
		return v.fail(Reordered, position, id, "comes later in the log than the positions after it")
	}
	return v.fail(Removed, position, ulid.ULID{}, "no event in the log or export holds this position")
}

// misplaced tells apart an event that was sealed elsewhere (reordered) from one the chain never held here
// (the sealed one altered into another), by reading on.
func (v *verifier) misplaced(entry Entry) error {
	id := entry.Event.ID
	found, err := v.find(func(e Entry) bool { return e.Checkpoint == nil && e.Position > 0 && e.SealedID == id })
	if err != nil {
		return err
	}
	if found != nil {
		return v.fail(Reordered, entry.Position, id, fmt.Sprintf("sealed at position %d, found at position %d", found.Position, entry.Position))
	}
	return v.fail(Altered, entry.Position, id, "the chain holds event "+entry.SealedID.String()+" here")
}

// find reads on until an entry matches.
func (v *verifier) find(match func(Entry) bool) (*Entry, error) {
	for {
		e, err := v.src.Next()
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if match(e) {
			return &e, nil
		}
	}
}
