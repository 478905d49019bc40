package live

import (
	"sort"
	"sync"
)

// maxPendingRequests bounds what a subscription keeps between two takes: past it, the notice is "everything
// changed", so a slow reader holds a few kilobytes at most.
const maxPendingRequests = 64

// Subscription gathers the changes one open page is told about until it takes them.
type Subscription struct {
	hub       *Hub
	projector string
	ready     chan struct{} // holds a token while changes wait to be taken
	done      chan struct{} // closed when the hub closes

	mu     sync.Mutex
	match  func(Request) bool
	ids    map[string]bool
	all    bool
	closed bool
}

// Ready is readable when changes wait to be taken.
func (s *Subscription) Ready() <-chan struct{} { return s.ready }

// Done is closed when the hub closes: the server is shutting down.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Take returns the job requests that changed since the last take, sorted, or all when everything may have.
func (s *Subscription) Take() (ids []string, all bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.all {
		for id := range s.ids {
			ids = append(ids, id)
		}
		sort.Strings(ids)
	}
	all = s.all
	s.ids, s.all = map[string]bool{}, false
	return ids, all
}

// Match replaces what the subscription accepts (after what the page may show changed, say).
func (s *Subscription) Match(match func(Request) bool) {
	s.mu.Lock()
	s.match = match
	s.mu.Unlock()
}

// Close ends the subscription and frees what it held.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	delete(s.hub.subs, s)
	s.hub.mu.Unlock()
	s.mu.Lock()
	s.closed, s.ids = true, nil
	s.mu.Unlock()
}

// offer keeps what of c the subscription accepts.
func (s *Subscription) offer(c change) {
	if c.all {
		s.notify(nil, true)
		return
	}
	s.mu.Lock()
	var ids []string
	for _, r := range c.requests {
		if s.match == nil || s.match(r) {
			ids = append(ids, r.ID)
		}
	}
	s.mu.Unlock()
	if len(ids) > 0 {
		s.notify(ids, false)
	}
}

func (s *Subscription) notify(ids []string, all bool) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	for _, id := range ids {
		s.ids[id] = true
	}
	s.all = s.all || all || len(s.ids) > maxPendingRequests
	if s.all {
		s.ids = map[string]bool{}
	}
	s.mu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
	}
}
