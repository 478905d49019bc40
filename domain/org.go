package domain

import "strings"

// OrgCreated records a new organisation (stream org-<id>). It lives at /<slug>.
type OrgCreated struct {
	OrgID string
	Slug  string
	Name  string
}

func (OrgCreated) EventType() string { return "OrgCreated" }

// OrgMemberAdded makes a user a member of the organisation.
type OrgMemberAdded struct {
	OrgID  string
	UserID string
}

func (OrgMemberAdded) EventType() string { return "OrgMemberAdded" }

// OrgMemberRemoved takes a user's organisation membership away.
type OrgMemberRemoved struct {
	OrgID  string
	UserID string
}

func (OrgMemberRemoved) EventType() string { return "OrgMemberRemoved" }

// CreateOrg decides a new organisation. The slug is derived from the name when empty; either way it must be
// a valid slug and not one of ReservedSlugs.
func CreateOrg(by Actor, orgID, name, slug string) (OrgCreated, error) {
	if err := by.Require(OrgCreate); err != nil {
		return OrgCreated{}, err
	}
	name = NormalizeName(name)
	slug = strings.TrimSpace(slug)
	if slug == "" {
		slug = SlugFromName(name)
	}
	var v Validation
	v.Check(orgID != "", "org_id", "An organisation needs an id.")
	collect(&v, ValidateName("name", name))
	collect(&v, ValidateSlug("slug", slug, true))
	if err := v.Err(); err != nil {
		return OrgCreated{}, err
	}
	return OrgCreated{OrgID: orgID, Slug: slug, Name: name}, nil
}

// Org is an organisation: a group of users and the projects an admin put in it.
type Org struct {
	id      string
	slug    string
	name    string
	members map[string]bool
}

// Apply folds one event of the organisation's stream.
func (o *Org) Apply(e Event) {
	switch e := e.(type) {
	case OrgCreated:
		o.id, o.slug, o.name = e.OrgID, e.Slug, e.Name
	case OrgMemberAdded:
		if o.members == nil {
			o.members = map[string]bool{}
		}
		o.members[e.UserID] = true
	case OrgMemberRemoved:
		delete(o.members, e.UserID)
	}
}

// Exists reports whether the organisation was created.
func (o *Org) Exists() bool { return o.id != "" }

// ID is the organisation's id.
func (o *Org) ID() string { return o.id }

// Slug is the organisation's unique slug.
func (o *Org) Slug() string { return o.slug }

// Name is the organisation's name.
func (o *Org) Name() string { return o.name }

// IsMember reports whether the user is a member of the organisation.
func (o *Org) IsMember(userID string) bool { return o.members[userID] }

// Members lists the ids of the organisation's members, sorted.
func (o *Org) Members() []string { return sortedKeys(o.members) }

func (o *Org) mustExist() error {
	if !o.Exists() {
		return NotFound("No such organisation.")
	}
	return nil
}

// AddMember decides adding a user; a member already there needs no event.
func (o *Org) AddMember(by Actor, userID string) ([]Event, error) {
	if err := o.mustExist(); err != nil {
		return nil, err
	}
	return decideMembership(by, OrgCreate, o.members, userID, true, OrgMemberAdded{OrgID: o.id, UserID: userID},
		"This user is not a member of the organisation.")
}

// RemoveMember decides removing a member; a user who is not a member is NotFound.
func (o *Org) RemoveMember(by Actor, userID string) ([]Event, error) {
	if err := o.mustExist(); err != nil {
		return nil, err
	}
	return decideMembership(by, OrgCreate, o.members, userID, false, OrgMemberRemoved{OrgID: o.id, UserID: userID},
		"This user is not a member of the organisation.")
}
