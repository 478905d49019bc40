package commands

import (
	"context"
	"errors"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// Creating a project is shared by the slices that create one: the identity slice's CreateProject and the
// applications slice's approval, which creates the project in the same append as the approval.

// ProjectCreationWrites decides a new project, checks its organisation exists, and reserves its slug and
// name: the writes to append, in one append, to create it. A slug or name taken is a Conflict on "slug" or
// "name" (both at once when both are taken). A use case that creates a project as part of another
// (approving an application) appends these writes with its own, inside Retry.
func ProjectCreationWrites(ctx context.Context, log *EventLog, by domain.Actor, projectID, name, slug, orgID string) (domain.ProjectCreated, []Write, error) {
	created, err := domain.CreateProject(by, projectID, name, slug, orgID)
	if err != nil {
		return domain.ProjectCreated{}, nil, err
	}
	if orgID != "" {
		if err := RequireOrg(ctx, log, orgID); err != nil {
			return domain.ProjectCreated{}, nil, err
		}
	}
	slugWrite, slugErr := log.Reserve(ctx, domain.ProjectSlugStream(created.Slug), func(r *domain.Reservation) ([]domain.Event, error) {
		return r.ReserveSlug("slug", domain.ReservedForProject, created.Slug, projectID)
	})
	nameWrite, nameErr := log.Reserve(ctx, domain.ProjectNameStream(created.Name), func(r *domain.Reservation) ([]domain.Event, error) {
		return r.ReserveName("name", domain.ReservedForProject, created.Name, projectID)
	})
	if err := mergeConflicts(nameErr, slugErr); err != nil {
		return domain.ProjectCreated{}, nil, err
	}
	return created, []Write{
		{Stream: domain.ProjectStream(projectID), Expected: eventstore.NoStream, Events: []domain.Event{created}},
		slugWrite, nameWrite,
	}, nil
}

// RequireOrg fails with NotFound unless the organisation exists.
func RequireOrg(ctx context.Context, log *EventLog, orgID string) error {
	var o domain.Org
	if orgID != "" {
		if _, err := log.Load(ctx, domain.OrgStream(orgID), &o); err != nil {
			return err
		}
	}
	if !o.Exists() {
		return domain.NotFound("No such organisation.")
	}
	return nil
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
