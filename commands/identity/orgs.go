package identity

import (
	"context"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// CreateOrg creates an organisation (needs org_create). Slug is derived from Name when empty; reserved words
// (domain.ReservedSlugs) are refused.
type CreateOrg struct {
	commands.Actor
	Name string
	Slug string
}

// createOrg creates the organisation and reserves its slug in one append; a slug taken is a Conflict on
// "slug".
func (h handlers) createOrg(ctx context.Context, cmd CreateOrg) (Created, error) {
	return commands.Retry(ctx, func() (Created, error) {
		by, err := cmd.Decider(ctx, h.log)
		if err != nil {
			return Created{}, err
		}
		id := domain.NewID(h.log.Now())
		created, err := domain.CreateOrg(by, id, cmd.Name, cmd.Slug)
		if err != nil {
			return Created{}, err
		}
		slug, err := h.log.Reserve(ctx, domain.OrgSlugStream(created.Slug), func(r *domain.Reservation) ([]domain.Event, error) {
			return r.ReserveSlug("slug", domain.ReservedForOrg, created.Slug, id)
		})
		if err != nil {
			return Created{}, err
		}
		res, err := h.log.Append(ctx, cmd.Actor, []commands.Write{
			{Stream: domain.OrgStream(id), Expected: eventstore.NoStream, Events: []domain.Event{created}}, slug,
		})
		return Created{ID: id, Slug: created.Slug, Result: res}, err
	})
}

// AddOrgMember makes a user a member of an organisation (needs org_create).
type AddOrgMember struct {
	commands.Actor
	OrgID  string
	UserID string
}

// addOrgMember adds the member; a member already there changes nothing.
func (h handlers) addOrgMember(ctx context.Context, cmd AddOrgMember) (commands.Result, error) {
	return commands.Decide(ctx, h.log, cmd.Actor, domain.OrgStream(cmd.OrgID), func(o *domain.Org, by domain.Actor) ([]domain.Event, error) {
		return ifUserExists(ctx, h.log, cmd.UserID)(o.AddMember(by, cmd.UserID))
	})
}

// RemoveOrgMember ends a user's organisation membership (needs org_create).
type RemoveOrgMember struct {
	commands.Actor
	OrgID  string
	UserID string
}

// removeOrgMember removes the member; a user who is not a member is NotFound.
func (h handlers) removeOrgMember(ctx context.Context, cmd RemoveOrgMember) (commands.Result, error) {
	return commands.Decide(ctx, h.log, cmd.Actor, domain.OrgStream(cmd.OrgID), func(o *domain.Org, by domain.Actor) ([]domain.Event, error) {
		return o.RemoveMember(by, cmd.UserID)
	})
}
