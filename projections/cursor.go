package projections

import (
	"slices"
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

// KeysetPage cuts a keyset page out of rows read with a limit of size+1, in the order of the query: newest
// first for the first page or the page after the row at after (older), oldest first for the page before
// the row at before (newer). It returns the page newest first and the cursors of the neighbouring pages,
// nil at either end; at is the place of a row.
func KeysetPage[T any](rows []T, size int, after, before *Cursor, at func(T) Cursor) (page []T, newer, older *Cursor) {
	more := len(rows) > size
	if more {
		rows = rows[:size]
	}
	if before != nil {
		slices.Reverse(rows)
	}
	if len(rows) == 0 {
		return rows, nil, nil
	}
	first, last := at(rows[0]), at(rows[len(rows)-1])
	if (before != nil && more) || after != nil {
		newer = &first
	}
	if (before == nil && more) || before != nil {
		older = &last
	}
	return rows, newer, older
}
