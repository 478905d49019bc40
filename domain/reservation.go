package domain

// Kinds of reserved slugs and names, recorded in the reservation events.
const (
	ReservedForBackend = "backend"
	ReservedForOrg     = "org"
	ReservedForProject = "project"
)

// SlugReserved holds a slug for the aggregate that owns it (stream <kind>slug-<slug>).
type SlugReserved struct {
	Kind    string
	Slug    string
	OwnerID string
}

func (SlugReserved) EventType() string { return "SlugReserved" }

// NameReserved holds a name, compared without case, for the aggregate that owns it (stream
// projectname-<lowercased name>).
type NameReserved struct {
	Kind    string
	Name    string
	OwnerID string
}

func (NameReserved) EventType() string { return "NameReserved" }

// NameReleased frees a name when its owner took another one (a renamed project).
type NameReleased struct {
	Kind    string
	Name    string
	OwnerID string
}

func (NameReleased) EventType() string { return "NameReleased" }

// GitHubAccountLinked holds a GitHub account for the user it registered (stream GitHubUserStream: named by
// a keyed pseudonym of the account's id, not the id). The user it holds the account for is sealed under a
// key of the stream's own, destroyed when the user is forgotten: the account is then free again, and the
// stream no longer tells whose it was. (Schema version 2; version 1 named the GitHub id in plaintext.)
type GitHubAccountLinked struct {
	UserID Personal[string]
}

func (GitHubAccountLinked) EventType() string { return "GitHubAccountLinked" }

// Reservation is a unique name held in a stream of its own: a slug, a project name or a GitHub account.
type Reservation struct {
	held  bool
	owner string
}

// Apply folds one event of a reservation stream.
func (r *Reservation) Apply(e Event) {
	switch e := e.(type) {
	case SlugReserved:
		r.held, r.owner = true, e.OwnerID
	case NameReserved:
		r.held, r.owner = true, e.OwnerID
	case NameReleased:
		r.held, r.owner = false, ""
	case GitHubAccountLinked:
		r.held, r.owner = !e.UserID.Forgotten(), e.UserID.Value()
	}
}

// Held reports whether the name is taken.
func (r *Reservation) Held() bool { return r.held }

// Owner is the id of the aggregate holding the name, or "".
func (r *Reservation) Owner() string { return r.owner }

// ReserveSlug decides the reservation of a slug for ownerID. A slug held by another owner is a Conflict on
// field; a slug already held by ownerID needs no event.
func (r *Reservation) ReserveSlug(field, kind, slug, ownerID string) ([]Event, error) {
	if r.held {
		if r.owner == ownerID {
			return nil, nil
		}
		return nil, Conflict(field, "The slug "+quote(slug)+" is already taken; please choose another.")
	}
	return []Event{SlugReserved{Kind: kind, Slug: slug, OwnerID: ownerID}}, nil
}

// ReserveName decides the reservation of a name for ownerID. A name held by another owner is a Conflict on
// field; a name already held by ownerID needs no event.
func (r *Reservation) ReserveName(field, kind, name, ownerID string) ([]Event, error) {
	if r.held {
		if r.owner == ownerID {
			return nil, nil
		}
		return nil, Conflict(field, "The name "+quote(name)+" is already taken; please choose another.")
	}
	return []Event{NameReserved{Kind: kind, Name: name, OwnerID: ownerID}}, nil
}

// ReleaseName decides freeing a name held by ownerID; a name not held by ownerID needs no event.
func (r *Reservation) ReleaseName(kind, name, ownerID string) []Event {
	if !r.held || r.owner != ownerID {
		return nil
	}
	return []Event{NameReleased{Kind: kind, Name: name, OwnerID: ownerID}}
}

// LinkGitHubAccount decides holding the GitHub account of stream (GitHubUserStream) for userID. An account
// already linked to another user is a Conflict (the caller then signs that user in instead).
func (r *Reservation) LinkGitHubAccount(stream, userID string) ([]Event, error) {
	if r.held {
		if r.owner == userID {
			return nil, nil
		}
		return nil, Conflict("", "This GitHub account is already registered.")
	}
	return []Event{GitHubAccountLinked{UserID: NewPersonal(stream, userID)}}, nil
}
