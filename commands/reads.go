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
	// reserved holds the owners this command reserved names for, by reservation stream, over all its
	// attempts: a later attempt takes back at once a reservation an earlier one left dangling.
	reserved map[string]string
	actor    Actor
}

type readsKey struct{}

// withReads gives a command's context a record of what its attempts read; the decorators install it.
func withReads(ctx context.Context, actor Actor) context.Context {
	return context.WithValue(ctx, readsKey{}, &reads{versions: map[string]int64{}, reserved: map[string]string{}, actor: actor})
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

// noteReserved records that this command reserved the name of stream for owner.
func (r *reads) noteReserved(stream, owner string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reserved[stream] = owner
}

// reservedEarlier reports whether this command reserved the name of stream for owner.
func (r *reads) reservedEarlier(stream, owner string) bool {
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reserved[stream] == owner
}

// actingFor is who the command acts for, for the events the kit appends on its own (a reservation's
// fence); the command line when the context carries no command.
func (r *reads) actingFor() Actor {
	if r == nil {
		return CLIActor
	}
	return r.actor
}
