// Package testclock is a clock that tests move by hand, for what ages: tokens, sessions.
package testclock

import (
	"sync"
	"time"
)

// Clock tells the time it was set to, until moved on.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// At returns a clock that tells t.
func At(t time.Time) *Clock { return &Clock{now: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
