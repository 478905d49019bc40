package domain

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

var (
	entropyMu sync.Mutex
	entropy   = ulid.Monotonic(rand.Reader, 0)
)

// NewULID returns a new ULID. ULIDs sort by creation time, which keeps ids readable in logs and URLs.
func NewULID(now time.Time) ulid.ULID {
	entropyMu.Lock()
	defer entropyMu.Unlock()
	return ulid.MustNew(ulid.Timestamp(now), entropy)
}

// NewID returns a new ULID as a string, the form in which aggregate ids travel.
func NewID(now time.Time) string {
	return NewULID(now).String()
}
