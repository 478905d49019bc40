package commands

import (
	"context"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// Created is a created organisation or project.
type Created struct {
	ID     string
	Slug   string
	Result eventstore.AppendResult
}

// CreateOrg creates an organisation (needs org_create). Slug is derived from Name when empty; reserved words
// (domain.ReservedSlugs) are refused.
type CreateOrg struct {
	Actor Actor
	Name  string
	Slug  string
}

// CreateOrgHandler handles CreateOrg.
type CreateOrgHandler struct {
	log    *EventLog
	access *Access
}

// NewCreateOrgHandler builds the handler.
func NewCreateOrgHandler(log *EventLog) *CreateOrgHandler {
	return &CreateOrgHandler{log: log, access: NewAccess(log)}
}

// Handle creates the organisation and reserves its slug in one append; a slug taken is a Conflict on "slug".
func (h *CreateOrgHandler) Handle(ctx context.Context, cmd CreateOrg) (Created, error) {
	if err := h.access.require(ctx, cmd.Actor, domain.OrgCreate, "", "Only admins can create organisations."); err != nil {
		return Created{}, err
	}
	var out Created
	_, err := Retry(ctx, func() (eventstore.AppendResult, error) {
		id := domain.NewID(h.log.Now())
		created, err := domain.CreateOrg(id, cmd.Name, cmd.Slug)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		var slug domain.Reservation
		slugStream := domain.OrgSlugStream(created.Slug)
		slugVersion, err := h.log.Load(ctx, slugStream, &slug)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		reserved, err := slug.ReserveSlug("slug", domain.ReservedForOrg, created.Slug, id)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		res, err := h.log.Append(ctx, cmd.Actor, []Write{
			{Stream: domain.OrgStream(id), Expected: eventstore.NoStream, Events: []domain.Event{created}},
			{Stream: slugStream, Expected: eventstore.Exactly(slugVersion), Events: reserved},
		})
		out = Created{ID: id, Slug: created.Slug, Result: res}
		return res, err
	})
	if err != nil {
		return Created{}, err
	}
	return out, nil
}

// AddOrgMember makes a user a member of an organisation (needs org_create).
type AddOrgMember struct {
	Actor  Actor
	OrgID  string
	UserID string
}

// AddOrgMemberHandler handles AddOrgMember.
type AddOrgMemberHandler struct {
	log    *EventLog
	access *Access
}

// NewAddOrgMemberHandler builds the handler.
func NewAddOrgMemberHandler(log *EventLog) *AddOrgMemberHandler {
	return &AddOrgMemberHandler{log: log, access: NewAccess(log)}
}

// Handle adds the member; a member already there changes nothing (zero result, no error).
func (h *AddOrgMemberHandler) Handle(ctx context.Context, cmd AddOrgMember) (eventstore.AppendResult, error) {
	if err := h.access.require(ctx, cmd.Actor, domain.OrgCreate, "", "Only admins can add organisation members."); err != nil {
		return eventstore.AppendResult{}, err
	}
	if err := requireUser(ctx, h.log, cmd.UserID); err != nil {
		return eventstore.AppendResult{}, err
	}
	return decide(ctx, h.log, cmd.Actor, domain.OrgStream(cmd.OrgID), func(o *domain.Org) ([]domain.Event, error) {
		return o.AddMember(cmd.UserID)
	})
}

// RemoveOrgMember ends a user's organisation membership (needs org_create).
type RemoveOrgMember struct {
	Actor  Actor
	OrgID  string
	UserID string
}

// RemoveOrgMemberHandler handles RemoveOrgMember.
type RemoveOrgMemberHandler struct {
	log    *EventLog
	access *Access
}

// NewRemoveOrgMemberHandler builds the handler.
func NewRemoveOrgMemberHandler(log *EventLog) *RemoveOrgMemberHandler {
	return &RemoveOrgMemberHandler{log: log, access: NewAccess(log)}
}

// Handle removes the member; a user who is not a member is NotFound.
func (h *RemoveOrgMemberHandler) Handle(ctx context.Context, cmd RemoveOrgMember) (eventstore.AppendResult, error) {
	if err := h.access.require(ctx, cmd.Actor, domain.OrgCreate, "", "Only admins can remove organisation members."); err != nil {
		return eventstore.AppendResult{}, err
	}
	return decide(ctx, h.log, cmd.Actor, domain.OrgStream(cmd.OrgID), func(o *domain.Org) ([]domain.Event, error) {
		return o.RemoveMember(cmd.UserID)
	})
}

// requireOrg fails with NotFound unless the organisation exists.
func requireOrg(ctx context.Context, log *EventLog, orgID string) error {
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
