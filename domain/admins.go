package domain

// AdminRosterJoined lists a user who was granted Core Developer on the admin roster (stream "admins").
type AdminRosterJoined struct {
	UserID string
}

func (AdminRosterJoined) EventType() string { return "AdminRosterJoined" }

// AdminRosterLeft takes a user whose Core Developer role was revoked off the admin roster.
type AdminRosterLeft struct {
	UserID string
}

func (AdminRosterLeft) EventType() string { return "AdminRosterLeft" }

// AdminRosterStream is the one stream of the admin roster. Every change of a Core Developer grant is
// appended to it together with the user's own events, so two admins revoking each other at once cannot
// both succeed and leave nobody.
const AdminRosterStream = "admins"

// AdminRoster is the set of users holding Core Developer, kept so a decision can see how many are left.
type AdminRoster struct {
	admins map[string]bool
}

// Apply folds one event of the roster.
func (r *AdminRoster) Apply(e Event) {
	switch e := e.(type) {
	case AdminRosterJoined:
		if r.admins == nil {
			r.admins = map[string]bool{}
		}
		r.admins[e.UserID] = true
	case AdminRosterLeft:
		delete(r.admins, e.UserID)
	}
}

// Lists reports whether the user is on the roster.
func (r *AdminRoster) Lists(userID string) bool { return r.admins[userID] }

// OnlyAdmin reports whether userID is the one admin left.
func (r *AdminRoster) OnlyAdmin(userID string) bool { return len(r.admins) == 1 && r.admins[userID] }
