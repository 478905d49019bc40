package domain

import (
	"slices"
	"strings"
)

// ProjectCreated records a new project (stream project-<id>). OrgID is "" when it belongs to no organisation yet.
type ProjectCreated struct {
	ProjectID string
	Slug      string
	Name      string
	OrgID     string
}

func (ProjectCreated) EventType() string { return "ProjectCreated" }

// ProjectAddedToOrg puts a project in an organisation; a project belongs to at most one.
type ProjectAddedToOrg struct {
	ProjectID string
	OrgID     string
}

func (ProjectAddedToOrg) EventType() string { return "ProjectAddedToOrg" }

// ProjectRenamed gives a project a new name; its slug, and so its address, stays.
type ProjectRenamed struct {
	ProjectID string
	Name      string
}

func (ProjectRenamed) EventType() string { return "ProjectRenamed" }

// ProjectMemberAdded makes a user a member of the project with some of the three Project roles.
type ProjectMemberAdded struct {
	ProjectID string
	UserID    string
	Roles     []Role
}

func (ProjectMemberAdded) EventType() string { return "ProjectMemberAdded" }

// ProjectMemberRolesChanged replaces a member's project roles.
type ProjectMemberRolesChanged struct {
	ProjectID string
	UserID    string
	Roles     []Role
}

func (ProjectMemberRolesChanged) EventType() string { return "ProjectMemberRolesChanged" }

// ProjectMemberRemoved ends a user's membership of the project.
type ProjectMemberRemoved struct {
	ProjectID string
	UserID    string
}

func (ProjectMemberRemoved) EventType() string { return "ProjectMemberRemoved" }

// CreateProject decides a new project. The name is normalized (see NormalizeName); the slug is derived from
// the name when empty and, like an organisation's, may not be one of ReservedSlugs. orgID may be "".
func CreateProject(by Actor, projectID, name, slug, orgID string) (ProjectCreated, error) {
	if err := by.Require(ProjectCreate); err != nil {
		return ProjectCreated{}, err
	}
	name = NormalizeName(name)
	slug = strings.TrimSpace(slug)
	if slug == "" {
		slug = SlugFromName(name)
	}
	var v Validation
	v.Check(projectID != "", "project_id", "A project needs an id.")
	collect(&v, ValidateName("name", name))
	collect(&v, ValidateSlug("slug", slug, true))
	if err := v.Err(); err != nil {
		return ProjectCreated{}, err
	}
	return ProjectCreated{ProjectID: projectID, Slug: slug, Name: name, OrgID: orgID}, nil
}

// Project is a study: its members with their project roles, and at most one organisation.
type Project struct {
	id      string
	slug    string
	name    string
	orgID   string
	members map[string][]Role
}

// Apply folds one event of the project's stream.
func (p *Project) Apply(e Event) {
	switch e := e.(type) {
	case ProjectCreated:
		p.id, p.slug, p.name, p.orgID = e.ProjectID, e.Slug, e.Name, e.OrgID
	case ProjectAddedToOrg:
		p.orgID = e.OrgID
	case ProjectRenamed:
		p.name = e.Name
	case ProjectMemberAdded:
		if p.members == nil {
			p.members = map[string][]Role{}
		}
		p.members[e.UserID] = SortRoles(e.Roles)
	case ProjectMemberRolesChanged:
		if p.members == nil {
			p.members = map[string][]Role{}
		}
		p.members[e.UserID] = SortRoles(e.Roles)
	case ProjectMemberRemoved:
		delete(p.members, e.UserID)
	}
}

// Exists reports whether the project was created.
func (p *Project) Exists() bool { return p.id != "" }

// ID is the project's id.
func (p *Project) ID() string { return p.id }

// Slug is the project's unique slug.
func (p *Project) Slug() string { return p.slug }

// Name is the project's name.
func (p *Project) Name() string { return p.name }

// OrgID is the id of the organisation the project belongs to, or "".
func (p *Project) OrgID() string { return p.orgID }

// Members lists the ids of the project's members, sorted.
func (p *Project) Members() []string { return sortedKeys(p.members) }

// MemberRoles returns a member's project roles; ok is false when the user is not a member.
func (p *Project) MemberRoles(userID string) (roles []Role, ok bool) {
	rs, ok := p.members[userID]
	return slices.Clone(rs), ok
}

func (p *Project) mustExist() error {
	if !p.Exists() {
		return NotFound("No such project.")
	}
	return nil
}

// AddToOrg decides putting the project in an organisation. The organisation it is already in needs no event;
// another one is a Conflict, since a project belongs to at most one organisation.
func (p *Project) AddToOrg(by Actor, orgID string) ([]Event, error) {
	if err := by.Require(ProjectCreate); err != nil {
		return nil, err
	}
	if err := p.mustExist(); err != nil {
		return nil, err
	}
	switch {
	case orgID == "":
		return nil, Invalid("org_id", "Please choose an organisation.")
	case p.orgID == orgID:
		return nil, nil
	case p.orgID != "":
		return nil, Conflict("org_id", "This project already belongs to an organisation.")
	}
	return []Event{ProjectAddedToOrg{ProjectID: p.id, OrgID: orgID}}, nil
}

// Rename decides a new name; the same name again needs no event. The caller reserves the name.
func (p *Project) Rename(by Actor, name string) ([]Event, error) {
	if err := by.Require(ProjectSettingsEdit); err != nil {
		return nil, err
	}
	if err := p.mustExist(); err != nil {
		return nil, err
	}
	name = NormalizeName(name)
	if err := ValidateName("name", name); err != nil {
		return nil, err
	}
	if name == p.name {
		return nil, nil
	}
	return []Event{ProjectRenamed{ProjectID: p.id, Name: name}}, nil
}

// AddMember decides a new member with project roles (only the three Project roles). Adding a member again
// with the roles they hold needs no event; with other roles it is a Conflict (change their roles instead).
func (p *Project) AddMember(by Actor, userID string, roles []Role) ([]Event, error) {
	if err := by.Require(ProjectMembershipAdd); err != nil {
		return nil, err
	}
	if err := p.mustExist(); err != nil {
		return nil, err
	}
	if userID == "" {
		return nil, Invalid("user_id", "Please choose a user.")
	}
	roles, err := ValidateProjectRoles(roles)
	if err != nil {
		return nil, err
	}
	if held, ok := p.members[userID]; ok {
		if slices.Equal(held, roles) {
			return nil, nil
		}
		return nil, Conflict("user_id", "This user is already a member of the project; change their roles instead.")
	}
	return []Event{ProjectMemberAdded{ProjectID: p.id, UserID: userID, Roles: roles}}, nil
}

// ChangeMemberRoles decides new project roles for an existing member; the same roles need no event.
//
// A project's last Project Coordinator may not give up that role themselves (an admin still may take it
// away), so a project is never left without a coordinator by accident.
func (p *Project) ChangeMemberRoles(by Actor, userID string, roles []Role) ([]Event, error) {
	if err := by.Require(ProjectMembershipEdit); err != nil {
		return nil, err
	}
	if err := p.mustExist(); err != nil {
		return nil, err
	}
	roles, err := ValidateProjectRoles(roles)
	if err != nil {
		return nil, err
	}
	held, ok := p.members[userID]
	if !ok {
		return nil, NotFound("This user is not a member of the project.")
	}
	if slices.Equal(held, roles) {
		return nil, nil
	}
	if !slices.Contains(roles, ProjectCoordinator) && p.leavesNoCoordinator(by, userID) {
		return nil, Refused("You are this project's only Project Coordinator: give the role to someone else before you give it up.")
	}
	return []Event{ProjectMemberRolesChanged{ProjectID: p.id, UserID: userID, Roles: roles}}, nil
}

// RemoveMember decides ending a membership; a user who is not a member is NotFound.
// The project's last Project Coordinator may not remove themselves (an admin still may remove them).
func (p *Project) RemoveMember(by Actor, userID string) ([]Event, error) {
	if err := by.Require(ProjectMembershipEdit); err != nil {
		return nil, err
	}
	if err := p.mustExist(); err != nil {
		return nil, err
	}
	if _, ok := p.members[userID]; !ok {
		return nil, NotFound("This user is not a member of the project.")
	}
	if p.leavesNoCoordinator(by, userID) {
		return nil, Refused("You are this project's only Project Coordinator: make someone else a coordinator before you leave.")
	}
	return []Event{ProjectMemberRemoved{ProjectID: p.id, UserID: userID}}, nil
}

// leavesNoCoordinator reports whether the actor is the project's only Project Coordinator, acting on their
// own membership, without an admin's right to add and remove members anyway.
func (p *Project) leavesNoCoordinator(by Actor, userID string) bool {
	if !by.Is(userID) || by.Can.Has(ProjectMembershipAdd) || !slices.Contains(p.members[userID], ProjectCoordinator) {
		return false
	}
	for id, roles := range p.members {
		if id != userID && slices.Contains(roles, ProjectCoordinator) {
			return false
		}
	}
	return true
}

// Clone is a copy that later events do not change, for caching folded state.
func (p *Project) Clone() *Project {
	c := *p
	c.members = make(map[string][]Role, len(p.members))
	for id, roles := range p.members {
		c.members[id] = slices.Clone(roles)
	}
	return &c
}
