package identity

import (
	"context"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// CreateProject creates a project (needs project_create). Slug is derived from Name when empty; OrgID may be
// empty (the project belongs to no organisation yet) or name an existing organisation.
type CreateProject struct {
	commands.Actor
	Name  string
	Slug  string
	OrgID string
}

// createProject creates the project and reserves its slug and its name in one append; a slug or name taken
// is a Conflict on "slug" or "name" (both at once when both are taken).
func (h handlers) createProject(ctx context.Context, cmd CreateProject) (Created, error) {
	return commands.Retry(ctx, func() (Created, error) {
		by, err := cmd.Decider(ctx, h.log)
		if err != nil {
			return Created{}, err
		}
		id := domain.NewID(h.log.Now())
		created, writes, err := commands.ProjectCreationWrites(ctx, h.log, by, id, cmd.Name, cmd.Slug, cmd.OrgID)
		if err != nil {
			return Created{}, err
		}
		res, err := h.log.Append(ctx, cmd.Actor, writes)
		return Created{ID: id, Slug: created.Slug, Result: res}, err
	})
}

// AddProjectToOrg puts a project in an organisation (needs project_create). A project belongs to at most one
// organisation: putting it in another one is a Conflict on "org_id".
type AddProjectToOrg struct {
	commands.Actor
	ProjectID string
	OrgID     string
}

// addProjectToOrg records the project's organisation; the organisation it is already in changes nothing.
func (h handlers) addProjectToOrg(ctx context.Context, cmd AddProjectToOrg) (commands.Result, error) {
	return commands.Decide(ctx, h.log, cmd.Actor, domain.ProjectStream(cmd.ProjectID), func(p *domain.Project, by domain.Actor) ([]domain.Event, error) {
		events, err := p.AddToOrg(by, cmd.OrgID)
		if err != nil || len(events) == 0 {
			return events, err
		}
		return events, commands.RequireOrg(ctx, h.log, cmd.OrgID)
	})
}

// AddProjectMember makes a user a member of a project with some of the three Project roles. Only admins add
// members (needs project_membership_add); a Project Coordinator may not.
type AddProjectMember struct {
	commands.Actor
	ProjectID string
	UserID    string
	Roles     []domain.Role
}

// addProjectMember adds the member. A global-only role is Invalid on "roles"; an existing member is a
// Conflict on "user_id" unless they already hold exactly these roles (then nothing changes).
func (h handlers) addProjectMember(ctx context.Context, cmd AddProjectMember) (commands.Result, error) {
	return commands.Decide(ctx, h.log, cmd.Actor, domain.ProjectStream(cmd.ProjectID), func(p *domain.Project, by domain.Actor) ([]domain.Event, error) {
		return ifUserExists(ctx, h.log, cmd.UserID)(p.AddMember(by, cmd.UserID, cmd.Roles))
	})
}

// ChangeProjectMemberRoles replaces an existing member's project roles (needs project_membership_edit on the
// project: a Project Coordinator of it, a global one, or an admin).
type ChangeProjectMemberRoles struct {
	commands.Actor
	ProjectID string
	UserID    string
	Roles     []domain.Role
}

// changeProjectMemberRoles records the new roles; a global-only role is Invalid on "roles", a user who is
// not a member is NotFound, and the roles already held change nothing.
func (h handlers) changeProjectMemberRoles(ctx context.Context, cmd ChangeProjectMemberRoles) (commands.Result, error) {
	return commands.Decide(ctx, h.log, cmd.Actor, domain.ProjectStream(cmd.ProjectID), func(p *domain.Project, by domain.Actor) ([]domain.Event, error) {
		return p.ChangeMemberRoles(by, cmd.UserID, cmd.Roles)
	})
}

// RemoveProjectMember ends a user's membership of a project (needs project_membership_edit on the project).
type RemoveProjectMember struct {
	commands.Actor
	ProjectID string
	UserID    string
}

// removeProjectMember removes the member; a user who is not a member is NotFound.
func (h handlers) removeProjectMember(ctx context.Context, cmd RemoveProjectMember) (commands.Result, error) {
	return commands.Decide(ctx, h.log, cmd.Actor, domain.ProjectStream(cmd.ProjectID), func(p *domain.Project, by domain.Actor) ([]domain.Event, error) {
		return p.RemoveMember(by, cmd.UserID)
	})
}

// RenameProject gives a project a new name (needs project_settings_edit on the project). The slug, and so
// the project's address, stays.
type RenameProject struct {
	commands.Actor
	ProjectID string
	Name      string
}

// renameProject renames the project, reserving the new name and freeing the old one in the same append; a
// name another project holds is a Conflict on "name". The same name again changes nothing.
func (h handlers) renameProject(ctx context.Context, cmd RenameProject) (commands.Result, error) {
	return commands.Retry(ctx, func() (commands.Result, error) {
		p, version, err := commands.LoadAggregate[domain.Project](ctx, h.log, domain.ProjectStream(cmd.ProjectID))
		if err != nil {
			return commands.Result{}, err
		}
		by, err := cmd.On(ctx, h.log, p)
		if err != nil {
			return commands.Result{}, err
		}
		oldName := p.Name()
		events, err := p.Rename(by, cmd.Name)
		if err != nil || len(events) == 0 {
			return commands.Result{}, err
		}
		newName := events[0].(domain.ProjectRenamed).Name
		writes := []commands.Write{{Stream: domain.ProjectStream(p.ID()), Expected: eventstore.Exactly(version), Events: events}}
		if domain.NameKey(newName) != domain.NameKey(oldName) {
			reserved, err := h.log.Reserve(ctx, domain.ProjectNameStream(newName), func(r *domain.Reservation) ([]domain.Event, error) {
				return r.ReserveName("name", domain.ReservedForProject, newName, p.ID())
			})
			if err != nil {
				return commands.Result{}, err
			}
			released, err := h.log.Reserve(ctx, domain.ProjectNameStream(oldName), func(r *domain.Reservation) ([]domain.Event, error) {
				return r.ReleaseName(domain.ReservedForProject, oldName, p.ID()), nil
			})
			if err != nil {
				return commands.Result{}, err
			}
			writes = append(writes, reserved, released)
		}
		return h.log.Append(ctx, cmd.Actor, writes)
	})
}
