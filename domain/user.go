package domain

import (
	"slices"
	"strings"
	"unicode"
)

// UserRegistered records a user's first login with GitHub (stream user-<id>). The profile is personal data,
// sealed under the user's key (schema version 2; version 1 held it in plaintext).
type UserRegistered struct {
	UserID  string
	Profile Personal[GitHubProfile]
}

func (UserRegistered) EventType() string { return "UserRegistered" }

// UserProfileUpdated records a later GitHub login whose profile changed; it carries the whole new profile,
// sealed like UserRegistered's.
type UserProfileUpdated struct {
	UserID  string
	Profile Personal[GitHubProfile]
}

func (UserProfileUpdated) EventType() string { return "UserProfileUpdated" }

// NotificationEmailChanged records the address a user chose for notifications, instead of their GitHub one
// (sealed under the user's key).
type NotificationEmailChanged struct {
	UserID string
	Email  Personal[string]
}

func (NotificationEmailChanged) EventType() string { return "NotificationEmailChanged" }

// PersonForgotten records that a user was forgotten: the keys of their personal data (Subjects: the user,
// and any other entries about them) were destroyed, so nothing sealed under them opens again. It holds no
// personal data; read models overwrite their copies of the person with ForgottenPerson.
type PersonForgotten struct {
	UserID   string
	Subjects []string
}

func (PersonForgotten) EventType() string { return "PersonForgotten" }

// ShownProfile is the profile read models keep of a user: for a forgotten one, no login, no address and
// the name ForgottenPerson.
func ShownProfile(p Personal[GitHubProfile]) GitHubProfile {
	if p.Forgotten() {
		return GitHubProfile{Name: ForgottenPerson}
	}
	return p.Value()
}

// GlobalRoleGranted gives a user a role on everything (for a Project role: on every project).
type GlobalRoleGranted struct {
	UserID string
	Role   Role
}

func (GlobalRoleGranted) EventType() string { return "GlobalRoleGranted" }

// GlobalRoleRevoked takes a global role away.
type GlobalRoleRevoked struct {
	UserID string
	Role   Role
}

func (GlobalRoleRevoked) EventType() string { return "GlobalRoleRevoked" }

// GitHubProfile is what GitHub tells about a user at login.
type GitHubProfile struct {
	ID        int64
	Login     string
	Name      string
	Email     string
	AvatarURL string
}

func (p GitHubProfile) normalized() GitHubProfile {
	p.Login = strings.TrimSpace(p.Login)
	p.Name = NormalizeName(p.Name)
	p.Email = strings.TrimSpace(p.Email)
	p.AvatarURL = strings.TrimSpace(p.AvatarURL)
	return p
}

func (p GitHubProfile) validate() error {
	var v Validation
	v.Check(p.ID > 0, "github_id", "The GitHub account has no id.")
	v.Check(p.Login != "" && len(p.Login) <= 100 && strings.IndexFunc(p.Login, unicode.IsSpace) < 0,
		"login", "The GitHub login is missing or not valid.")
	if p.Name != "" {
		collect(&v, ValidateName("name", p.Name))
	}
	if p.Email != "" {
		collect(&v, ValidateEmail("email", p.Email))
	}
	collect(&v, validateURL("avatar_url", p.AvatarURL))
	return v.Err()
}

// RegisterUser decides the registration of a new user from their first GitHub login.
func RegisterUser(userID string, p GitHubProfile) (UserRegistered, error) {
	p = p.normalized()
	if userID == "" {
		return UserRegistered{}, Invalid("user_id", "A user needs an id.")
	}
	if err := p.validate(); err != nil {
		return UserRegistered{}, err
	}
	return UserRegistered{UserID: userID, Profile: NewPersonal(userID, p)}, nil
}

// User is a person who logged in with GitHub.
type User struct {
	id                string
	githubID          int64
	login             string
	name              string
	email             string
	avatarURL         string
	notificationEmail string
	roles             map[Role]bool
	tokenFingerprint  string
	forgotten         bool
}

// Apply folds one event of the user's stream.
func (u *User) Apply(e Event) {
	switch e := e.(type) {
	case UserRegistered:
		u.id = e.UserID
		u.setProfile(e.Profile)
	case UserProfileUpdated:
		u.setProfile(e.Profile)
	case NotificationEmailChanged:
		u.notificationEmail = e.Email.Value()
	case PersonForgotten:
		u.forgotten = true
	case GlobalRoleGranted:
		if u.roles == nil {
			u.roles = map[Role]bool{}
		}
		u.roles[e.Role] = true
	case GlobalRoleRevoked:
		delete(u.roles, e.Role)
	case GitHubTokenSaved:
		u.tokenFingerprint = e.Fingerprint
	case GitHubTokenCleared:
		u.tokenFingerprint = ""
	}
}

// setProfile takes the user's GitHub profile; a profile whose key was destroyed leaves the user forgotten.
func (u *User) setProfile(p Personal[GitHubProfile]) {
	u.forgotten = u.forgotten || p.Forgotten()
	v := p.Value()
	u.githubID, u.login, u.name, u.email, u.avatarURL = v.ID, v.Login, v.Name, v.Email, v.AvatarURL
}

// personal is s, or what a forgotten user shows instead.
func (u *User) personal(s, forgotten string) string {
	if u.forgotten {
		return forgotten
	}
	return s
}

// Forgotten reports whether the user was forgotten.
func (u *User) Forgotten() bool { return u.forgotten }

// Exists reports whether the user has registered.
func (u *User) Exists() bool { return u.id != "" }

// ID is the user's id.
func (u *User) ID() string { return u.id }

// GitHubID is the user's numeric GitHub id; 0 once the keys of a forgotten user are destroyed.
func (u *User) GitHubID() int64 { return u.githubID }

// Login is the user's GitHub login.
func (u *User) Login() string { return u.personal(u.login, "") }

// Name is the user's name as GitHub last told it.
func (u *User) Name() string { return u.personal(u.name, ForgottenPerson) }

// Email is the user's e-mail address as GitHub last told it.
func (u *User) Email() string { return u.personal(u.email, "") }

// AvatarURL is the address of the user's GitHub avatar.
func (u *User) AvatarURL() string { return u.personal(u.avatarURL, "") }

// NotificationEmail is where notifications go: the address the user chose, else their GitHub one.
func (u *User) NotificationEmail() string {
	if u.notificationEmail != "" {
		return u.personal(u.notificationEmail, "")
	}
	return u.Email()
}

// GlobalRoles lists the user's global roles in the guide's order.
func (u *User) GlobalRoles() []Role {
	rs := make([]Role, 0, len(u.roles))
	for r := range u.roles {
		rs = append(rs, r)
	}
	return SortRoles(rs)
}

// HasGlobalRole reports whether the user holds r globally.
func (u *User) HasGlobalRole(r Role) bool { return u.roles[r] }

func (u *User) mustExist() error {
	if !u.Exists() {
		return NotFound("No such user.")
	}
	return nil
}

// UpdateProfile decides what a later GitHub login changes: an event only when something differs.
func (u *User) UpdateProfile(p GitHubProfile) ([]Event, error) {
	if err := u.mustExist(); err != nil {
		return nil, err
	}
	p = p.normalized()
	if err := p.validate(); err != nil {
		return nil, err
	}
	if u.forgotten {
		return nil, Refused("This user was forgotten.")
	}
	if p.ID != u.githubID {
		return nil, Invalid("github_id", "This is not the GitHub account the user registered with.")
	}
	if p.Login == u.login && p.Name == u.name && p.Email == u.email && p.AvatarURL == u.avatarURL {
		return nil, nil
	}
	return []Event{UserProfileUpdated{UserID: u.id, Profile: NewPersonal(u.id, p)}}, nil
}

// ChangeNotificationEmail decides a new notification address; the same address again needs no event.
// Only the user themself may change it (and the operator's command line).
func (u *User) ChangeNotificationEmail(by Actor, email string) ([]Event, error) {
	if !by.Is(u.id) && !by.Operator {
		return nil, Refused("You can only change your own e-mail address.")
	}
	if err := u.mustExist(); err != nil {
		return nil, err
	}
	email = strings.TrimSpace(email)
	if err := ValidateEmail("email", email); err != nil {
		return nil, err
	}
	if email == u.notificationEmail {
		return nil, nil
	}
	return []Event{NotificationEmailChanged{UserID: u.id, Email: NewPersonal(u.id, email)}}, nil
}

// SetGlobalRoles decides making the user's global roles exactly roles (needs user_manage): an event for
// each role granted and each revoked, appended together. Core Developer grants are also listed on the admin
// roster, which refuses taking the role from the last admin there is, so nobody locks everyone out of the
// staff area. It returns the user's events and the roster's.
func (u *User) SetGlobalRoles(by Actor, roster *AdminRoster, roles []Role) (userEvents, rosterEvents []Event, err error) {
	if err := by.Require(UserManage); err != nil {
		return nil, nil, err
	}
	if err := u.mustExist(); err != nil {
		return nil, nil, err
	}
	want := map[Role]bool{}
	for _, r := range roles {
		if !r.Valid() {
			return nil, nil, Invalid("roles", "Unknown role "+quote(string(r))+".")
		}
		want[r] = true
	}
	for _, r := range allRoles {
		switch {
		case want[r] && !u.roles[r]:
			userEvents = append(userEvents, GlobalRoleGranted{UserID: u.id, Role: r})
		case !want[r] && u.roles[r]:
			userEvents = append(userEvents, GlobalRoleRevoked{UserID: u.id, Role: r})
		}
	}
	switch {
	case want[CoreDeveloper] && !roster.Lists(u.id):
		rosterEvents = []Event{AdminRosterJoined{UserID: u.id}}
	case !want[CoreDeveloper] && u.roles[CoreDeveloper]:
		if roster.OnlyAdmin(u.id) {
			return nil, nil, Refused(u.name + " is the last Core Developer: grant the role to someone else before taking it away.")
		}
		if roster.Lists(u.id) {
			rosterEvents = []Event{AdminRosterLeft{UserID: u.id}}
		}
	}
	return userEvents, rosterEvents, nil
}

// GrantGlobalRole decides one more global role: SetGlobalRoles with r added.
func (u *User) GrantGlobalRole(by Actor, roster *AdminRoster, r Role) (userEvents, rosterEvents []Event, err error) {
	return u.SetGlobalRoles(by, roster, append(u.GlobalRoles(), r))
}

// RevokeGlobalRole decides one global role fewer: SetGlobalRoles with r taken away.
func (u *User) RevokeGlobalRole(by Actor, roster *AdminRoster, r Role) (userEvents, rosterEvents []Event, err error) {
	if !r.Valid() {
		return nil, nil, Invalid("roles", "Unknown role "+quote(string(r))+".")
	}
	return u.SetGlobalRoles(by, roster, slices.DeleteFunc(u.GlobalRoles(), func(held Role) bool { return held == r }))
}

// Forget decides forgetting the user (needs user_manage): their global roles are taken away, as the roles
// form would (so the last Core Developer cannot be forgotten), and PersonForgotten records that the keys
// of their personal data, and of the other subjects about them, are destroyed. A forgotten user needs no
// event. It returns the user's events and the admin roster's.
func (u *User) Forget(by Actor, roster *AdminRoster, otherSubjects []string) (userEvents, rosterEvents []Event, err error) {
	if err := by.Require(UserManage); err != nil {
		return nil, nil, err
	}
	if err := u.mustExist(); err != nil {
		return nil, nil, err
	}
	if u.forgotten {
		return nil, nil, nil
	}
	if u.roles[CoreDeveloper] && roster.OnlyAdmin(u.id) {
		return nil, nil, Refused(u.name + " is the last Core Developer: grant the role to someone else before forgetting them.")
	}
	if userEvents, rosterEvents, err = u.SetGlobalRoles(by, roster, nil); err != nil {
		return nil, nil, err
	}
	subjects := append([]string{u.id}, otherSubjects...)
	return append(userEvents, PersonForgotten{UserID: u.id, Subjects: subjects}), rosterEvents, nil
}
