package identity

import (
	"context"
	"strconv"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// SignInWithGitHub is a login with GitHub: the profile GitHub returned for the signed-in account.
type SignInWithGitHub struct {
	GitHubID  int64
	Login     string
	Name      string
	Email     string
	AvatarURL string
}

// SignedIn tells who signed in.
type SignedIn struct {
	UserID string
	// Registered is true on the user's first login.
	Registered bool
	commands.Result
}

// signInWithGitHub signs the GitHub account in. The first login appends UserRegistered and the account's
// reservation in one append; if another login of the same account won that race, this one signs in as the
// user it registered. A later login appends UserProfileUpdated only when the profile changed.
func (h handlers) signInWithGitHub(ctx context.Context, cmd SignInWithGitHub) (SignedIn, error) {
	profile := domain.GitHubProfile{
		ID: cmd.GitHubID, Login: cmd.Login, Name: cmd.Name, Email: cmd.Email, AvatarURL: cmd.AvatarURL,
	}
	linkStream, err := gitHubAccountStream(h.log, cmd.GitHubID)
	if err != nil {
		return SignedIn{}, err
	}
	return commands.Retry(ctx, func() (SignedIn, error) {
		var link domain.Reservation
		linkVersion, err := h.log.Load(ctx, linkStream, &link)
		if err != nil {
			return SignedIn{}, err
		}
		if link.Held() {
			u, version, err := loadUser(ctx, h.log, link.Owner())
			if err != nil {
				return SignedIn{}, err
			}
			events, err := u.UpdateProfile(profile)
			if err != nil {
				return SignedIn{}, err
			}
			res, err := h.log.Append(ctx, commands.UserActor(u.ID()), []commands.Write{
				{Stream: domain.UserStream(u.ID()), Expected: eventstore.Exactly(version), Events: events},
			})
			return SignedIn{UserID: u.ID(), Result: res}, err
		}

		userID := domain.NewID(h.log.Now())
		registered, err := domain.RegisterUser(userID, profile)
		if err != nil {
			return SignedIn{}, err
		}
		linked, err := link.LinkGitHubAccount(linkStream, userID)
		if err != nil {
			return SignedIn{}, err
		}
		res, err := h.log.Append(ctx, commands.UserActor(userID), []commands.Write{
			{Stream: domain.UserStream(userID), Expected: eventstore.NoStream, Events: []domain.Event{registered}},
			{Stream: linkStream, Expected: eventstore.Exactly(linkVersion), Events: linked},
		})
		return SignedIn{UserID: userID, Registered: true, Result: res}, err
	})
}

// gitHubAccountStream is the reservation stream of a GitHub account, named by a pseudonym of its id.
func gitHubAccountStream(log *commands.EventLog, githubID int64) (string, error) {
	pseudonym, err := log.Pseudonym("github-account:" + strconv.FormatInt(githubID, 10))
	if err != nil {
		return "", err
	}
	return domain.GitHubUserStream(pseudonym), nil
}

// ChangeNotificationEmail sets the address a user's notifications go to. Only the user themself may (and the
// command line).
type ChangeNotificationEmail struct {
	commands.Actor
	UserID string
	Email  string
}

// changeNotificationEmail records the new address; the address already set changes nothing.
func (h handlers) changeNotificationEmail(ctx context.Context, cmd ChangeNotificationEmail) (commands.Result, error) {
	return commands.Decide(ctx, h.log, cmd.Actor, domain.UserStream(cmd.UserID), func(u *domain.User, by domain.Actor) ([]domain.Event, error) {
		return u.ChangeNotificationEmail(by, cmd.Email)
	})
}

// SetGlobalRoles makes a user's global roles exactly Roles (needs user_manage), in one append: the staff
// area's roles form.
type SetGlobalRoles struct {
	commands.Actor
	UserID string
	Roles  []domain.Role
}

func (h handlers) setGlobalRoles(ctx context.Context, cmd SetGlobalRoles) (commands.Result, error) {
	return h.changeGlobalRoles(ctx, cmd.Actor, cmd.UserID, func(u *domain.User, by domain.Actor, roster *domain.AdminRoster) ([]domain.Event, []domain.Event, error) {
		return u.SetGlobalRoles(by, roster, cmd.Roles)
	})
}

// GrantGlobalRole gives a user one of the ten roles on everything (needs user_manage).
type GrantGlobalRole struct {
	commands.Actor
	UserID string
	Role   domain.Role
}

func (h handlers) grantGlobalRole(ctx context.Context, cmd GrantGlobalRole) (commands.Result, error) {
	return h.changeGlobalRoles(ctx, cmd.Actor, cmd.UserID, func(u *domain.User, by domain.Actor, roster *domain.AdminRoster) ([]domain.Event, []domain.Event, error) {
		return u.GrantGlobalRole(by, roster, cmd.Role)
	})
}

// RevokeGlobalRole takes a global role away (needs user_manage); the last Core Developer keeps theirs.
type RevokeGlobalRole struct {
	commands.Actor
	UserID string
	Role   domain.Role
}

func (h handlers) revokeGlobalRole(ctx context.Context, cmd RevokeGlobalRole) (commands.Result, error) {
	return h.changeGlobalRoles(ctx, cmd.Actor, cmd.UserID, func(u *domain.User, by domain.Actor, roster *domain.AdminRoster) ([]domain.Event, []domain.Event, error) {
		return u.RevokeGlobalRole(by, roster, cmd.Role)
	})
}

// changeGlobalRoles loads the user and the admin roster, lets decide choose the events of each, and appends
// both guarded by the versions read: two admins taking the role from each other at once cannot both win.
func (h handlers) changeGlobalRoles(ctx context.Context, actor commands.Actor, userID string,
	decide func(*domain.User, domain.Actor, *domain.AdminRoster) ([]domain.Event, []domain.Event, error)) (commands.Result, error) {
	return commands.Retry(ctx, func() (commands.Result, error) {
		by, err := actor.Decider(ctx, h.log)
		if err != nil {
			return commands.Result{}, err
		}
		u, version, err := loadUser(ctx, h.log, userID)
		if err != nil {
			return commands.Result{}, err
		}
		var roster domain.AdminRoster
		rosterVersion, err := h.log.Load(ctx, domain.AdminRosterStream, &roster)
		if err != nil {
			return commands.Result{}, err
		}
		userEvents, rosterEvents, err := decide(u, by, &roster)
		if err != nil {
			return commands.Result{}, err
		}
		return h.log.Append(ctx, actor, []commands.Write{
			{Stream: domain.UserStream(userID), Expected: eventstore.Exactly(version), Events: userEvents},
			{Stream: domain.AdminRosterStream, Expected: eventstore.Exactly(rosterVersion), Events: rosterEvents},
		})
	})
}

// loadUser loads a user who must exist.
func loadUser(ctx context.Context, log *commands.EventLog, userID string) (*domain.User, int64, error) {
	if userID == "" {
		return nil, 0, domain.NotFound("No such user.")
	}
	var u domain.User
	version, err := log.Load(ctx, domain.UserStream(userID), &u)
	if err != nil {
		return nil, 0, err
	}
	if !u.Exists() {
		return nil, 0, domain.NotFound("No such user.")
	}
	return &u, version, nil
}

// ifUserExists passes a decision's events on when the user they add exists, and NotFound when not. It is
// asked after the decision, so an actor who may not add anyone learns nothing about who exists.
func ifUserExists(ctx context.Context, log *commands.EventLog, userID string) func([]domain.Event, error) ([]domain.Event, error) {
	return func(events []domain.Event, err error) ([]domain.Event, error) {
		if err != nil || len(events) == 0 {
			return events, err
		}
		if _, _, err := loadUser(ctx, log, userID); err != nil {
			return nil, err
		}
		return events, nil
	}
}
