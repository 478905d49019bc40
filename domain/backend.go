package domain

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// BackendCreated records a new backend, a secure environment whose runner polls the server for jobs
// (stream backend-<id>). Its first runner token is issued with it; the token never enters an event.
type BackendCreated struct {
	BackendID string
	Slug      string
	Name      string
}

func (BackendCreated) EventType() string { return "BackendCreated" }

// RunnerTokenRotated records that the backend's runner token was replaced; the old one no longer works.
type RunnerTokenRotated struct {
	BackendID string
}

func (RunnerTokenRotated) EventType() string { return "RunnerTokenRotated" }

// BackendMemberAdded lets a user see the backend and run jobs on it.
type BackendMemberAdded struct {
	BackendID string
	UserID    string
}

func (BackendMemberAdded) EventType() string { return "BackendMemberAdded" }

// BackendMemberRemoved takes a user's backend membership away.
type BackendMemberRemoved struct {
	BackendID string
	UserID    string
}

func (BackendMemberRemoved) EventType() string { return "BackendMemberRemoved" }

// CreateBackend decides a new backend. The slug is derived from the name when empty.
func CreateBackend(by Actor, backendID, slug, name string) (BackendCreated, error) {
	if err := by.Require(BackendManage); err != nil {
		return BackendCreated{}, err
	}
	name = NormalizeName(name)
	slug = strings.TrimSpace(slug)
	if slug == "" {
		slug = SlugFromName(name)
	}
	var v Validation
	v.Check(backendID != "", "backend_id", "A backend needs an id.")
	collect(&v, ValidateName("name", name))
	collect(&v, ValidateSlug("slug", slug, false))
	if err := v.Err(); err != nil {
		return BackendCreated{}, err
	}
	return BackendCreated{BackendID: backendID, Slug: slug, Name: name}, nil
}

// Backend is a secure environment that runs jobs.
type Backend struct {
	id      string
	slug    string
	name    string
	members map[string]bool
	flags   map[string]string
	// protocol, controllerURL and clientTokenSet are how the server talks to the backend (rap.go).
	protocol       string
	controllerURL  string
	clientTokenSet bool
}

// Apply folds one event of the backend's stream.
func (b *Backend) Apply(e Event) {
	switch e := e.(type) {
	case BackendCreated:
		b.id, b.slug, b.name = e.BackendID, e.Slug, e.Name
	case BackendMemberAdded:
		if b.members == nil {
			b.members = map[string]bool{}
		}
		b.members[e.UserID] = true
	case BackendMemberRemoved:
		delete(b.members, e.UserID)
	case BackendProtocolSet:
		b.applyProtocol(e)
	case BackendFlagChanged:
		if b.flags == nil {
			b.flags = map[string]string{}
		}
		if e.Value == "" {
			delete(b.flags, e.Flag)
		} else {
			b.flags[e.Flag] = e.Value
		}
	}
}

// Clone is a copy that later events do not change, for caching folded state: a runner reports its flags
// every few seconds.
func (b *Backend) Clone() *Backend {
	c := *b
	c.members, c.flags = maps.Clone(b.members), maps.Clone(b.flags)
	return &c
}

// RunnerFlag is one flag of a backend's runner as its Flags header reports it: the value ("" when unset)
// and when the runner set it.
type RunnerFlag struct {
	Value string
	SetAt time.Time
}

// Flags are the runner's flags with a value, by name.
func (b *Backend) Flags() map[string]string { return maps.Clone(b.flags) }

// RecordFlags decides what a runner's report of its flags changes: a BackendFlagChanged for each flag
// whose value differs from the one known (a flag unset, or absent before, has the value ""), in the
// flags' order by name; a new time for the same value is no change.
func (b *Backend) RecordFlags(flags map[string]RunnerFlag) ([]Event, error) {
	if err := b.mustExist(); err != nil {
		return nil, err
	}
	var events []Event
	for _, name := range sortedKeys(flags) {
		f := flags[name]
		if name == "" || b.flags[name] == f.Value {
			continue
		}
		events = append(events, BackendFlagChanged{BackendID: b.id, Flag: name, Value: f.Value, SetAt: f.SetAt})
	}
	return events, nil
}

// Exists reports whether the backend was created.
func (b *Backend) Exists() bool { return b.id != "" }

// ID is the backend's id.
func (b *Backend) ID() string { return b.id }

// Slug is the backend's unique slug.
func (b *Backend) Slug() string { return b.slug }

// Name is the backend's name.
func (b *Backend) Name() string { return b.name }

// IsMember reports whether the user is a member of the backend.
func (b *Backend) IsMember(userID string) bool { return b.members[userID] }

// Members lists the ids of the backend's members, sorted.
func (b *Backend) Members() []string { return sortedKeys(b.members) }

func (b *Backend) mustExist() error {
	if !b.Exists() {
		return NotFound("No such backend.")
	}
	return nil
}

// RotateRunnerToken decides replacing the runner token.
func (b *Backend) RotateRunnerToken(by Actor) ([]Event, error) {
	if err := by.Require(BackendManage); err != nil {
		return nil, err
	}
	if err := b.mustExist(); err != nil {
		return nil, err
	}
	return []Event{RunnerTokenRotated{BackendID: b.id}}, nil
}

// AddMember decides adding a user; a member already there needs no event.
func (b *Backend) AddMember(by Actor, userID string) ([]Event, error) {
	if err := b.mustExist(); err != nil {
		return nil, err
	}
	return decideMembership(by, BackendManage, b.members, userID, true, BackendMemberAdded{BackendID: b.id, UserID: userID},
		"This user is not a member of the backend.")
}

// RemoveMember decides removing a member; a user who is not a member is NotFound.
func (b *Backend) RemoveMember(by Actor, userID string) ([]Event, error) {
	if err := b.mustExist(); err != nil {
		return nil, err
	}
	return decideMembership(by, BackendManage, b.members, userID, false, BackendMemberRemoved{BackendID: b.id, UserID: userID},
		"This user is not a member of the backend.")
}

// decideMembership is the rule shared by the plain member lists of organisations and backends: the actor
// needs perm; adding a member already there, like removing one who is not, needs no event, except that
// removing a stranger is NotFound (notMember says so).
func decideMembership(by Actor, perm Permission, members map[string]bool, userID string, add bool, event Event, notMember string) ([]Event, error) {
	if err := by.Require(perm); err != nil {
		return nil, err
	}
	switch {
	case add && userID == "":
		return nil, Invalid("user_id", "Please choose a user.")
	case add && members[userID]:
		return nil, nil
	case !add && !members[userID]:
		return nil, NotFound(notMember)
	}
	return []Event{event}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
