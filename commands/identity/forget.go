package identity

import (
	"context"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// ForgetUser forgets a person (needs user_manage): their global roles go, PersonForgotten is appended,
// and the keys of their personal data are destroyed: their profile and addresses, their GitHub account's
// reservation (the account is free again: signing in with it makes a new user), and OtherSubjects, further
// entries about them (the researcher entries of applications that name them). The last Core Developer
// cannot be forgotten.
type ForgetUser struct {
	commands.Actor
	UserID        string
	OtherSubjects []string
}

// forgetUser appends first and destroys the keys after: a forget interrupted between the two is finished by
// running it again, which finds the user forgotten and destroys the keys still there (the profile still
// opens then, so the GitHub account's reservation is still known).
func (h handlers) forgetUser(ctx context.Context, cmd ForgetUser) (commands.Result, error) {
	var subjects []string
	res, err := commands.Retry(ctx, func() (commands.Result, error) {
		by, err := cmd.Actor.Decider(ctx, h.log)
		if err != nil {
			return commands.Result{}, err
		}
		u, version, err := loadUser(ctx, h.log, cmd.UserID)
		if err != nil {
			return commands.Result{}, err
		}
		var roster domain.AdminRoster
		rosterVersion, err := h.log.Load(ctx, domain.AdminRosterStream, &roster)
		if err != nil {
			return commands.Result{}, err
		}
		userEvents, rosterEvents, err := u.Forget(by, &roster, cmd.OtherSubjects)
		if err != nil {
			return commands.Result{}, err
		}
		if subjects, err = h.subjectsOf(u, cmd.OtherSubjects); err != nil {
			return commands.Result{}, err
		}
		return h.log.Append(ctx, cmd.Actor, []commands.Write{
			{Stream: domain.UserStream(u.ID()), Expected: eventstore.Exactly(version), Events: userEvents},
			{Stream: domain.AdminRosterStream, Expected: eventstore.Exactly(rosterVersion), Events: rosterEvents},
		})
	})
	if err != nil {
		return commands.Result{}, err
	}
	return res, h.log.ForgetSubjects(ctx, subjects...)
}

// subjectsOf lists whose keys forgetting u destroys: u's own, their GitHub account's reservation's (while
// the profile still tells the account) and others.
func (h handlers) subjectsOf(u *domain.User, others []string) ([]string, error) {
	subjects := append([]string{u.ID()}, others...)
	if u.GitHubID() == 0 {
		return subjects, nil
	}
	link, err := gitHubAccountStream(h.log, u.GitHubID())
	return append(subjects, link), err
}
