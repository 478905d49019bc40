package projections

import (
	"strings"
	"time"
)

// Cursor is a place in a list ordered newest first by (time, id), as keyset pages carry it in their
// addresses.
type Cursor struct {
	At time.Time
	ID string
}

// String is the cursor as an address carries it.
func (c Cursor) String() string { return c.At.UTC().Format(time.RFC3339Nano) + "~" + c.ID }

// ParseCursor reads a cursor from an address; ok is false when s is not one.
func ParseCursor(s string) (c Cursor, ok bool) {
	at, id, found := strings.Cut(s, "~")
	t, err := time.Parse(time.RFC3339Nano, at)
	if !found || err != nil || id == "" {
		return Cursor{}, false
	}
	return Cursor{At: t, ID: id}, true
}
