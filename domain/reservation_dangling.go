package domain

import "time"

// Dangling reservations. On an event store without transactions across streams (KurrentDB), a unique name
// is reserved in an append of its own, before the events of the aggregate it is for. A crash, or a failure
// of a later write of the same command, between the two leaves a reservation its owner does not hold: an
// organisation, backend, project or workspace that was never created, or a project whose rename was never
// recorded. Such a reservation is released when it is next met, never completed on the owner's behalf
// (only the owner's command knew what the owner was to be):
//
//   - A reservation is in force while its owner holds the name: the owner's stream shows the aggregate
//     created, and, for a project's name, the project still bears that name. Otherwise it is dangling.
//   - A command that meets a dangling reservation takes the name once the reservation is older than
//     DanglingReservationGrace (a creation in flight takes milliseconds; the grace spares it), or at once
//     when the reservation was made by an earlier attempt of the same command (a lost race sends a command
//     round again with a new id for what it creates).
//   - Taking it first appends ReservationAbandoned to the owner's stream at the version read there: the
//     owner's own creation (which expects no stream) or rename (which expects the version it read) can
//     then no longer be written, and if it was written first, the fence fails and the reservation is found
//     in force. So a name is never held twice, whichever write lands first; and a name is never lost for
//     good, since any later claimant frees it.
//   - Then ReservationAbandoned and the new reservation are appended to the reservation's stream, in one
//     append at the version read, so two claimants cannot both take it.

// DanglingReservationGrace is how long a reservation whose owner does not hold the name is left alone, in
// case the owner's events are still on their way.
const DanglingReservationGrace = time.Minute

// ReservationAbandoned records that a dangling reservation was released: appended to the stream of the
// aggregate it was made for (a fence against that aggregate's pending write), then to the reservation's
// own stream, before the new reservation.
type ReservationAbandoned struct {
	Reservation string // the reservation's stream
	OwnerID     string
}

func (ReservationAbandoned) EventType() string { return "ReservationAbandoned" }

// ReservationClaim is a reservation stream folded with what it is for: which kind of aggregate holds the
// name, and the name itself, so the owner's state can say whether it still holds it.
type ReservationClaim struct {
	Reservation
	kind   string // ReservedFor…, or "" for a GitHub account (held by a user)
	name   string // a project's reserved name; "" for slugs, workspace names and accounts
	github bool
}

// Apply folds one event of a reservation stream.
func (c *ReservationClaim) Apply(e Event) {
	c.Reservation.Apply(e)
	switch e := e.(type) {
	case SlugReserved:
		c.kind, c.name, c.github = e.Kind, "", false
	case NameReserved:
		c.kind, c.name, c.github = e.Kind, e.Name, false
	case ReservationAbandoned:
		c.held, c.owner = false, ""
	default:
		if e.EventType() == (GitHubAccountLinked{}).EventType() {
			c.kind, c.name, c.github = "", "", true
		}
	}
}

// OwnerStream is the stream of the aggregate holding the name; "" when the name is free.
func (c *ReservationClaim) OwnerStream() string {
	if !c.held {
		return ""
	}
	switch {
	case c.github:
		return UserStream(c.owner)
	case c.kind == ReservedForOrg:
		return OrgStream(c.owner)
	case c.kind == ReservedForBackend:
		return BackendStream(c.owner)
	case c.kind == ReservedForProject:
		return ProjectStream(c.owner)
	case c.kind == ReservedForWorkspace:
		return WorkspaceStream(c.owner)
	}
	return ""
}

// HeldByOwner reports whether the owner, folded from the events of OwnerStream, holds the name. A
// reservation of a kind this does not know is taken as held.
func (c *ReservationClaim) HeldByOwner(owner []Event) bool {
	switch {
	case c.github:
		return folded[User](owner).Exists()
	case c.kind == ReservedForOrg:
		return folded[Org](owner).Exists()
	case c.kind == ReservedForBackend:
		return folded[Backend](owner).Exists()
	case c.kind == ReservedForProject:
		p := folded[Project](owner)
		return p.Exists() && (c.name == "" || NameKey(p.Name()) == NameKey(c.name))
	case c.kind == ReservedForWorkspace:
		return folded[Workspace](owner).Exists()
	}
	return true
}

// Abandon is the event that releases the dangling reservation of stream, for its owner's stream (the fence)
// and for the reservation's own stream.
func (c *ReservationClaim) Abandon(stream string) Event {
	return ReservationAbandoned{Reservation: stream, OwnerID: c.owner}
}

func folded[A any, P interface {
	*A
	Apply(Event)
}](events []Event) P {
	agg := P(new(A))
	for _, e := range events {
		agg.Apply(e)
	}
	return agg
}
