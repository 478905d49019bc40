package commands

import (
	"context"
	"sync"

	"github.com/mediciasafely/jobserver/eventstore"
)

// reads are the streams a command's current attempt loaded, at the versions it saw. Every stream a
// decision read and does not write is appended as a guard, so the decision holds only if none of them
// moved before it committed: the project whose membership gave a permission, the actor's own roles, the
// workspace whose archive state allowed a job request.
type reads struct {
	mu       sync.Mutex
	versions map[string]int64
}

type readsKey struct{}

// withReads gives a command's context a record of what its attempts read; the decorators install it.
func withReads(ctx context.Context) context.Context {
	return context.WithValue(ctx, readsKey{}, &reads{versions: map[string]int64{}})
}

func readsOf(ctx context.Context) *reads {
	r, _ := ctx.Value(readsKey{}).(*reads)
	return r
}

// record notes that stream was read at version.
func (r *reads) record(stream string, version int64) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.versions[stream] = version
}

// reset forgets what an earlier attempt read.
func (r *reads) reset() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.versions)
}

// guards are the streams read and not written by appends, each to stay at the version read.
func (r *reads) guards(appends []eventstore.Append) []eventstore.Append {
	if r == nil {
		return nil
	}
	written := make(map[string]bool, len(appends))
	for _, a := range appends {
		written[a.Stream] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var guards []eventstore.Append
	for stream, version := range r.versions {
		if !written[stream] {
			guards = append(guards, eventstore.Append{Stream: stream, Expected: eventstore.Exactly(version)})
		}
	}
	return guards
}
