package commands

import (
	"context"

	"github.com/mediciasafely/jobserver/domain"
)

// Access answers what an actor may do. A user's permissions on a project are the union of the permissions
// of their global roles (from their User stream) and of their roles in the project's membership (from the
// Project stream). The command line may do everything; an anonymous actor nothing.
type Access struct {
	log *EventLog
}

// NewAccess reads roles through log.
func NewAccess(log *EventLog) *Access { return &Access{log: log} }

// GlobalRoles returns the actor's global roles; none for the command line (which needs none) and for
// anonymous actors or users who do not exist.
func (a *Access) GlobalRoles(ctx context.Context, actor Actor) ([]domain.Role, error) {
	if actor.CLI || actor.UserID == "" {
		return nil, nil
	}
	var u domain.User
	if _, err := a.log.Load(ctx, domain.UserStream(actor.UserID), &u); err != nil {
		return nil, err
	}
	return u.GlobalRoles(), nil
}

// ProjectRoles returns the actor's roles in a project's membership; none when they are not a member.
func (a *Access) ProjectRoles(ctx context.Context, actor Actor, projectID string) ([]domain.Role, error) {
	if actor.CLI || actor.UserID == "" || projectID == "" {
		return nil, nil
	}
	var p domain.Project
	if _, err := a.log.Load(ctx, domain.ProjectStream(projectID), &p); err != nil {
		return nil, err
	}
	roles, _ := p.MemberRoles(actor.UserID)
	return roles, nil
}

// Permissions returns what the actor may do on the project (projectID "" for outside any project).
func (a *Access) Permissions(ctx context.Context, actor Actor, projectID string) (domain.PermissionSet, error) {
	if actor.CLI {
		all := domain.PermissionSet{}
		for _, p := range domain.AllPermissions() {
			all[p] = true
		}
		return all, nil
	}
	if actor.UserID == "" {
		return domain.PermissionSet{}, nil
	}
	global, err := a.GlobalRoles(ctx, actor)
	if err != nil {
		return nil, err
	}
	project, err := a.ProjectRoles(ctx, actor, projectID)
	if err != nil {
		return nil, err
	}
	return domain.PermissionsOf(global, project), nil
}

// Can reports whether the actor holds perm on the project (projectID "" for a permission outside projects).
func (a *Access) Can(ctx context.Context, actor Actor, perm domain.Permission, projectID string) (bool, error) {
	if actor.CLI {
		return true, nil
	}
	set, err := a.Permissions(ctx, actor, projectID)
	if err != nil {
		return false, err
	}
	return set.Has(perm), nil
}

// require fails with Forbidden(message) unless the actor holds perm on the project.
func (a *Access) require(ctx context.Context, actor Actor, perm domain.Permission, projectID, message string) error {
	return a.requireThat(ctx, actor, projectID, message, func(s domain.PermissionSet) bool { return s.Has(perm) })
}

// requireThat fails with Forbidden(message) unless the actor's permissions on the project pass allowed.
func (a *Access) requireThat(ctx context.Context, actor Actor, projectID, message string, allowed func(domain.PermissionSet) bool) error {
	set, err := a.Permissions(ctx, actor, projectID)
	if err != nil {
		return err
	}
	if !allowed(set) {
		return domain.Forbidden(message)
	}
	return nil
}
