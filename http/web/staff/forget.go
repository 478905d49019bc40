package staff

import (
	"context"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// ResearchersNaming finds the researcher entries of applications that name a person by GitHub login or
// e-mail address (projections/applications), forgotten with them.
type ResearchersNaming func(ctx context.Context, login, email string) ([]string, error)

// staffConfirmForgetUser asks before a user is forgotten, saying what is lost for good.
func (a *Handlers) staffConfirmForgetUser(w http.ResponseWriter, r *http.Request) error {
	user, err := staffLookup(r, chi.URLParam(r, "id"), a.Queries.User)
	if err != nil {
		return err
	}
	if user.Forgotten {
		http.Redirect(w, r, "/staff/users/"+user.ID, http.StatusSeeOther)
		return nil
	}
	researchers, err := a.Researchers(r.Context(), user.Login, user.Email)
	if err != nil {
		return err
	}
	name := user.DisplayName()
	c := kit.Confirm{
		Title:    "Forget " + name,
		Question: "Forget " + name + " for good?",
		Consequence: "The keys of their personal data are destroyed: every page, export and rebuild shows \"" +
			domain.ForgottenPerson + "\" where they appeared, and this cannot be undone. What they did stays in the history, by nobody anyone can name. Lost for good:",
		Items: []string{"their name, e-mail addresses and GitHub login", "their global roles, taken away now",
			"their account: signing in with the same GitHub account makes a new user, with no roles or memberships"},
		Button:    "Forget " + name,
		CancelURL: "/staff/users/" + user.ID,
	}
	if len(researchers) > 0 {
		c.Items = append(c.Items, "the details of the "+strconv.Itoa(len(researchers))+" researcher entries of applications that name them")
	}
	a.ConfirmPage(w, r, c, staffCrumbs(kit.Crumb{Label: "Users", URL: "/staff/users"},
		kit.Crumb{Label: name, URL: "/staff/users/" + user.ID}, kit.Crumb{Label: "Forget"}))
	return nil
}

// staffForgetUser is the button of the confirmation page: one command forgets the user (user_manage; the
// last Core Developer is refused, as taking their role away is).
func (a *Handlers) staffForgetUser(w http.ResponseWriter, r *http.Request) error {
	user, err := staffLookup(r, chi.URLParam(r, "id"), a.Queries.User)
	if err != nil {
		return err
	}
	researchers, err := a.Researchers(r.Context(), user.Login, user.Email)
	if err != nil {
		return err
	}
	res, err := a.Identity.ForgetUser.Handle(r.Context(), identity.ForgetUser{Actor: kit.Actor(r), UserID: user.ID, OtherSubjects: researchers})
	if err != nil {
		return err
	}
	a.Done(w, r, res, "The user was forgotten", "/staff/users/"+user.ID, identityviews.UsersProjector)
	return nil
}
