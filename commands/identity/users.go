package commands

import (
	"context"

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
	// Result is where the events landed; zero when the login changed nothing.
	Result eventstore.AppendResult
}

// SignInWithGitHubHandler registers a user on their first login and records changes of their GitHub profile
// on later ones.
type SignInWithGitHubHandler struct {
	log *EventLog
}

// NewSignInWithGitHubHandler builds the handler.
func NewSignInWithGitHubHandler(log *EventLog) *SignInWithGitHubHandler {
	return &SignInWithGitHubHandler{log: log}
}

// Handle signs the GitHub account in. The first login appends UserRegistered and the account's reservation
// in one append; if another login of the same account won that race, this one signs in as the user it
// registered. A later login appends UserProfileUpdated only when the profile changed.
func (h *SignInWithGitHubHandler) Handle(ctx context.Context, cmd SignInWithGitHub) (SignedIn, error) {
	profile := domain.GitHubProfile{
		ID: cmd.GitHubID, Login: cmd.Login, Name: cmd.Name, Email: cmd.Email, AvatarURL: cmd.AvatarURL,
	}
	var out SignedIn
	_, err := Retry(ctx, func() (eventstore.AppendResult, error) {
		out = SignedIn{}
		var link domain.Reservation
		linkStream := domain.GitHubUserStream(cmd.GitHubID)
		linkVersion, err := h.log.Load(ctx, linkStream, &link)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		if link.Held() {
			var u domain.User
			version, err := h.log.Load(ctx, domain.UserStream(link.Owner()), &u)
			if err != nil {
				return eventstore.AppendResult{}, err
			}
			events, err := u.UpdateProfile(profile)
			if err != nil {
				return eventstore.AppendResult{}, err
			}
			out.UserID = u.ID()
			if len(events) == 0 {
				return eventstore.AppendResult{}, nil
			}
			res, err := h.log.Append(ctx, UserActor(u.ID()), []Write{
				{Stream: domain.UserStream(u.ID()), Expected: eventstore.Exactly(version), Events: events},
			})
			out.Result = res
			return res, err
		}

		userID := domain.NewID(h.log.Now())
		registered, err := domain.RegisterUser(userID, profile)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		linked, err := link.LinkGitHubAccount(cmd.GitHubID, userID)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		res, err := h.log.Append(ctx, UserActor(userID), []Write{
			{Stream: domain.UserStream(userID), Expected: eventstore.NoStream, Events: []domain.Event{registered}},
			{Stream: linkStream, Expected: eventstore.Exactly(linkVersion), Events: linked},
		})
		out = SignedIn{UserID: userID, Registered: true, Result: res}
		return res, err
	})
	if err != nil {
		return SignedIn{}, err
	}
	return out, nil
}

// ChangeNotificationEmail sets the address a user's notifications go to. Only the user themself may (and the
// command line).
type ChangeNotificationEmail struct {
	Actor  Actor
	UserID string
	Email  string
}

// ChangeNotificationEmailHandler handles ChangeNotificationEmail.
type ChangeNotificationEmailHandler struct {
	log *EventLog
}

// NewChangeNotificationEmailHandler builds the handler.
func NewChangeNotificationEmailHandler(log *EventLog) *ChangeNotificationEmailHandler {
	return &ChangeNotificationEmailHandler{log: log}
}

// Handle records the new address; the address already set changes nothing (zero result, no error).
func (h *ChangeNotificationEmailHandler) Handle(ctx context.Context, cmd ChangeNotificationEmail) (eventstore.AppendResult, error) {
	if !cmd.Actor.CLI && (cmd.Actor.UserID == "" || cmd.Actor.UserID != cmd.UserID) {
		return eventstore.AppendResult{}, domain.Forbidden("You can only change your own e-mail address.")
	}
	return decide(ctx, h.log, cmd.Actor, domain.UserStream(cmd.UserID), func(u *domain.User) ([]domain.Event, error) {
		return u.ChangeNotificationEmail(cmd.Email)
	})
}

// GrantGlobalRole gives a user one of the ten roles on everything (needs user_manage).
type GrantGlobalRole struct {
	Actor  Actor
	UserID string
	Role   domain.Role
}

// GrantGlobalRoleHandler handles GrantGlobalRole.
type GrantGlobalRoleHandler struct {
	log    *EventLog
	access *Access
}

// NewGrantGlobalRoleHandler builds the handler.
func NewGrantGlobalRoleHandler(log *EventLog) *GrantGlobalRoleHandler {
	return &GrantGlobalRoleHandler{log: log, access: NewAccess(log)}
}

// Handle records the grant; a role the user already holds changes nothing (zero result, no error).
func (h *GrantGlobalRoleHandler) Handle(ctx context.Context, cmd GrantGlobalRole) (eventstore.AppendResult, error) {
	if err := h.access.require(ctx, cmd.Actor, domain.UserManage, "", "Only admins can grant roles."); err != nil {
		return eventstore.AppendResult{}, err
	}
	return decide(ctx, h.log, cmd.Actor, domain.UserStream(cmd.UserID), func(u *domain.User) ([]domain.Event, error) {
		return u.GrantGlobalRole(cmd.Role)
	})
}

// RevokeGlobalRole takes a global role away (needs user_manage).
type RevokeGlobalRole struct {
	Actor  Actor
	UserID string
	Role   domain.Role
}

// RevokeGlobalRoleHandler handles RevokeGlobalRole.
type RevokeGlobalRoleHandler struct {
	log    *EventLog
	access *Access
}

// NewRevokeGlobalRoleHandler builds the handler.
func NewRevokeGlobalRoleHandler(log *EventLog) *RevokeGlobalRoleHandler {
	return &RevokeGlobalRoleHandler{log: log, access: NewAccess(log)}
}

// Handle records the revocation; a role the user does not hold changes nothing (zero result, no error).
func (h *RevokeGlobalRoleHandler) Handle(ctx context.Context, cmd RevokeGlobalRole) (eventstore.AppendResult, error) {
	if err := h.access.require(ctx, cmd.Actor, domain.UserManage, "", "Only admins can revoke roles."); err != nil {
		return eventstore.AppendResult{}, err
	}
	return decide(ctx, h.log, cmd.Actor, domain.UserStream(cmd.UserID), func(u *domain.User) ([]domain.Event, error) {
		return u.RevokeGlobalRole(cmd.Role)
	})
}

// loadUser loads a user who must exist.
func loadUser(ctx context.Context, log *EventLog, userID string) (*domain.User, int64, error) {
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

// requireUser fails with NotFound unless the user exists.
func requireUser(ctx context.Context, log *EventLog, userID string) error {
	_, _, err := loadUser(ctx, log, userID)
	return err
}
