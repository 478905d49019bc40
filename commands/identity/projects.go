package commands

import (
	"context"
	"errors"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// CreateProject creates a project (needs project_create). Slug is derived from Name when empty; OrgID may be
// empty (the project belongs to no organisation yet) or name an existing organisation.
type CreateProject struct {
	Actor Actor
	Name  string
	Slug  string
	OrgID string
}

// CreateProjectHandler handles CreateProject.
type CreateProjectHandler struct {
	log    *EventLog
	access *Access
}

// NewCreateProjectHandler builds the handler.
func NewCreateProjectHandler(log *EventLog) *CreateProjectHandler {
	return &CreateProjectHandler{log: log, access: NewAccess(log)}
}

// Handle creates the project and reserves its slug and its name in one append; a slug or name taken is a
// Conflict on "slug" or "name" (both at once when both are taken).
func (h *CreateProjectHandler) Handle(ctx context.Context, cmd CreateProject) (Created, error) {
	if err := h.access.require(ctx, cmd.Actor, domain.ProjectCreate, "", "Only admins can create projects."); err != nil {
		return Created{}, err
	}
	if cmd.OrgID != "" {
		if err := requireOrg(ctx, h.log, cmd.OrgID); err != nil {
			return Created{}, err
		}
	}
	var out Created
	_, err := Retry(ctx, func() (eventstore.AppendResult, error) {
		id := domain.NewID(h.log.Now())
		created, writes, err := ProjectCreationWrites(ctx, h.log, id, cmd.Name, cmd.Slug, cmd.OrgID)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		res, err := h.log.Append(ctx, cmd.Actor, writes)
		out = Created{ID: id, Slug: created.Slug, Result: res}
		return res, err
	})
	if err != nil {
		return Created{}, err
	}
	return out, nil
}

// ProjectCreationWrites decides a new project and the reservations of its slug and name: the writes to
// append, in one append, to create it. A slug or name taken is a Conflict on "slug" or "name" (both at once
// when both are taken). It checks no permission and not that the organisation exists: a handler that creates
// a project as part of another use case (approving an application) does that, appends these writes with its
// own, and runs all of it inside Retry.
func ProjectCreationWrites(ctx context.Context, log *EventLog, projectID, name, slug, orgID string) (domain.ProjectCreated, []Write, error) {
	created, err := domain.CreateProject(projectID, name, slug, orgID)
	if err != nil {
		return domain.ProjectCreated{}, nil, err
	}
	var slugRes, nameRes domain.Reservation
	slugStream, nameStream := domain.ProjectSlugStream(created.Slug), domain.ProjectNameStream(created.Name)
	slugVersion, err := log.Load(ctx, slugStream, &slugRes)
	if err != nil {
		return domain.ProjectCreated{}, nil, err
	}
	nameVersion, err := log.Load(ctx, nameStream, &nameRes)
	if err != nil {
		return domain.ProjectCreated{}, nil, err
	}
	slugReserved, slugErr := slugRes.ReserveSlug("slug", domain.ReservedForProject, created.Slug, projectID)
	nameReserved, nameErr := nameRes.ReserveName("name", domain.ReservedForProject, created.Name, projectID)
	if err := mergeConflicts(nameErr, slugErr); err != nil {
		return domain.ProjectCreated{}, nil, err
	}
	return created, []Write{
		{Stream: domain.ProjectStream(projectID), Expected: eventstore.NoStream, Events: []domain.Event{created}},
		{Stream: slugStream, Expected: eventstore.Exactly(slugVersion), Events: slugReserved},
		{Stream: nameStream, Expected: eventstore.Exactly(nameVersion), Events: nameReserved},
	}, nil
}

// AddProjectToOrg puts a project in an organisation (needs project_create). A project belongs to at most one
// organisation: putting it in another one is a Conflict on "org_id".
type AddProjectToOrg struct {
	Actor     Actor
	ProjectID string
	OrgID     string
}

// AddProjectToOrgHandler handles AddProjectToOrg.
type AddProjectToOrgHandler struct {
	log    *EventLog
	access *Access
}

// NewAddProjectToOrgHandler builds the handler.
func NewAddProjectToOrgHandler(log *EventLog) *AddProjectToOrgHandler {
	return &AddProjectToOrgHandler{log: log, access: NewAccess(log)}
}

// Handle records the project's organisation; the organisation it is already in changes nothing.
func (h *AddProjectToOrgHandler) Handle(ctx context.Context, cmd AddProjectToOrg) (eventstore.AppendResult, error) {
	if err := h.access.require(ctx, cmd.Actor, domain.ProjectCreate, "", "Only admins can add projects to organisations."); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := requireOrg(ctx, h.log, cmd.OrgID); err != nil {
		return eventstore.AppendResult{}, err
	}
	return decide(ctx, h.log, cmd.Actor, domain.ProjectStream(cmd.ProjectID), func(p *domain.Project) ([]domain.Event, error) {
		return p.AddToOrg(cmd.OrgID)
	})
}

// AddProjectMember makes a user a member of a project with some of the three Project roles. Only admins add
// members (needs project_membership_add); a Project Coordinator may not.
type AddProjectMember struct {
	Actor     Actor
	ProjectID string
	UserID    string
	Roles     []domain.Role
}

// AddProjectMemberHandler handles AddProjectMember.
type AddProjectMemberHandler struct {
	log    *EventLog
	access *Access
}

// NewAddProjectMemberHandler builds the handler.
func NewAddProjectMemberHandler(log *EventLog) *AddProjectMemberHandler {
	return &AddProjectMemberHandler{log: log, access: NewAccess(log)}
}

// Handle adds the member. A global-only role is Invalid on "roles"; an existing member is a Conflict on
// "user_id" unless they already hold exactly these roles (then nothing changes).
func (h *AddProjectMemberHandler) Handle(ctx context.Context, cmd AddProjectMember) (eventstore.AppendResult, error) {
	if err := h.access.require(ctx, cmd.Actor, domain.ProjectMembershipAdd, cmd.ProjectID, "Only admins can add members to a project."); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := requireUser(ctx, h.log, cmd.UserID); err != nil {
		return eventstore.AppendResult{}, err
	}
	return decide(ctx, h.log, cmd.Actor, domain.ProjectStream(cmd.ProjectID), func(p *domain.Project) ([]domain.Event, error) {
		return p.AddMember(cmd.UserID, cmd.Roles)
	})
}

// ChangeProjectMemberRoles replaces an existing member's project roles (needs project_membership_edit on the
// project: a Project Coordinator of it, or a global one).
type ChangeProjectMemberRoles struct {
	Actor     Actor
	ProjectID string
	UserID    string
	Roles     []domain.Role
}

// ChangeProjectMemberRolesHandler handles ChangeProjectMemberRoles.
type ChangeProjectMemberRolesHandler struct {
	log    *EventLog
	access *Access
}

// NewChangeProjectMemberRolesHandler builds the handler.
func NewChangeProjectMemberRolesHandler(log *EventLog) *ChangeProjectMemberRolesHandler {
	return &ChangeProjectMemberRolesHandler{log: log, access: NewAccess(log)}
}

// Handle records the new roles; a global-only role is Invalid on "roles", a user who is not a member is
// NotFound, and the roles already held change nothing.
func (h *ChangeProjectMemberRolesHandler) Handle(ctx context.Context, cmd ChangeProjectMemberRoles) (eventstore.AppendResult, error) {
	if err := h.access.requireThat(ctx, cmd.Actor, cmd.ProjectID, "Only a Project Coordinator or an admin can change the roles of members.", domain.PermissionSet.MayEditMembers); err != nil {
		return eventstore.AppendResult{}, err
	}
	return decide(ctx, h.log, cmd.Actor, domain.ProjectStream(cmd.ProjectID), func(p *domain.Project) ([]domain.Event, error) {
		return p.ChangeMemberRoles(cmd.UserID, cmd.Roles)
	})
}

// RemoveProjectMember ends a user's membership of a project (needs project_membership_edit on the project).
type RemoveProjectMember struct {
	Actor     Actor
	ProjectID string
	UserID    string
}

// RemoveProjectMemberHandler handles RemoveProjectMember.
type RemoveProjectMemberHandler struct {
	log    *EventLog
	access *Access
}

// NewRemoveProjectMemberHandler builds the handler.
func NewRemoveProjectMemberHandler(log *EventLog) *RemoveProjectMemberHandler {
	return &RemoveProjectMemberHandler{log: log, access: NewAccess(log)}
}

// Handle removes the member; a user who is not a member is NotFound.
func (h *RemoveProjectMemberHandler) Handle(ctx context.Context, cmd RemoveProjectMember) (eventstore.AppendResult, error) {
	if err := h.access.requireThat(ctx, cmd.Actor, cmd.ProjectID, "Only a Project Coordinator or an admin can remove members.", domain.PermissionSet.MayEditMembers); err != nil {
		return eventstore.AppendResult{}, err
	}
	return decide(ctx, h.log, cmd.Actor, domain.ProjectStream(cmd.ProjectID), func(p *domain.Project) ([]domain.Event, error) {
		return p.RemoveMember(cmd.UserID)
	})
}

// RenameProject gives a project a new name (needs project_settings_edit on the project). The slug, and so
// the project's address, stays.
type RenameProject struct {
	Actor     Actor
	ProjectID string
	Name      string
}

// RenameProjectHandler handles RenameProject.
type RenameProjectHandler struct {
	log    *EventLog
	access *Access
}

// NewRenameProjectHandler builds the handler.
func NewRenameProjectHandler(log *EventLog) *RenameProjectHandler {
	return &RenameProjectHandler{log: log, access: NewAccess(log)}
}

// Handle renames the project, reserving the new name and freeing the old one in the same append; a name
// another project holds is a Conflict on "name". The same name again changes nothing.
func (h *RenameProjectHandler) Handle(ctx context.Context, cmd RenameProject) (eventstore.AppendResult, error) {
	if err := h.access.requireThat(ctx, cmd.Actor, cmd.ProjectID, "Only a Project Coordinator or an admin can rename the project.", domain.PermissionSet.MayEditSettings); err != nil {
		return eventstore.AppendResult{}, err
	}
	return Retry(ctx, func() (eventstore.AppendResult, error) {
		p, version, err := loadProject(ctx, h.log, cmd.ProjectID)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		oldName := p.Name()
		events, err := p.Rename(cmd.Name)
		if err != nil || len(events) == 0 {
			return eventstore.AppendResult{}, err
		}
		newName := events[0].(domain.ProjectRenamed).Name
		writes := []Write{{Stream: domain.ProjectStream(p.ID()), Expected: eventstore.Exactly(version), Events: events}}
		if domain.NameKey(newName) != domain.NameKey(oldName) {
			var taken, held domain.Reservation
			newStream, oldStream := domain.ProjectNameStream(newName), domain.ProjectNameStream(oldName)
			newVersion, err := h.log.Load(ctx, newStream, &taken)
			if err != nil {
				return eventstore.AppendResult{}, err
			}
			reserved, err := taken.ReserveName("name", domain.ReservedForProject, newName, p.ID())
			if err != nil {
				return eventstore.AppendResult{}, err
			}
			oldVersion, err := h.log.Load(ctx, oldStream, &held)
			if err != nil {
				return eventstore.AppendResult{}, err
			}
			writes = append(writes,
				Write{Stream: newStream, Expected: eventstore.Exactly(newVersion), Events: reserved},
				Write{Stream: oldStream, Expected: eventstore.Exactly(oldVersion), Events: held.ReleaseName(domain.ReservedForProject, oldName, p.ID())},
			)
		}
		return h.log.Append(ctx, cmd.Actor, writes)
	})
}

// loadProject loads a project that must exist.
func loadProject(ctx context.Context, log *EventLog, projectID string) (*domain.Project, int64, error) {
	if projectID == "" {
		return nil, 0, domain.NotFound("No such project.")
	}
	var p domain.Project
	version, err := log.Load(ctx, domain.ProjectStream(projectID), &p)
	if err != nil {
		return nil, 0, err
	}
	if !p.Exists() {
		return nil, 0, domain.NotFound("No such project.")
	}
	return &p, version, nil
}

// mergeConflicts joins the field messages of several Conflict errors into one, so a form shows all of them.
// Any other error is returned as it is; no errors is nil.
func mergeConflicts(errs ...error) error {
	var merged *domain.Error
	for _, err := range errs {
		if err == nil {
			continue
		}
		var de *domain.Error
		if !errors.As(err, &de) || de.Kind != domain.KindConflict {
			return err
		}
		if merged == nil {
			merged = &domain.Error{Kind: de.Kind, Slug: de.Slug, Message: de.Message, Fields: map[string]string{}}
		} else {
			merged.Message = "Please choose another name and slug."
		}
		for f, m := range de.Fields {
			merged.Fields[f] = m
		}
	}
	if merged == nil {
		return nil
	}
	return merged
}
