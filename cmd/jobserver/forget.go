package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	appviews "github.com/mediciasafely/jobserver/projections/applications"
)

// adminForgetUser forgets the user with a GitHub login: the keys of their personal data (and of the
// researcher entries of applications that name them) are destroyed, and every page, export and rebuild
// shows "forgotten user" where they appeared. The last Core Developer cannot be forgotten.
func adminForgetUser(ctx context.Context, cfg config, args []string, out output) error {
	fs := adminFlags("forget-user", "forget-user --github-login LOGIN", out)
	login := fs.String("github-login", "", "the user's GitHub login")
	if err := parseTask(fs, args, "github-login"); err != nil {
		return err
	}
	b, err := openBackend(ctx, cfg)
	if err != nil {
		return err
	}
	defer b.close()
	// Users and researcher entries are found in read models, which userByLogin catches up with the log.
	u, err := b.userByLogin(ctx, *login, "no user has the GitHub login %s")
	if err != nil {
		return err
	}
	researchers, err := appviews.NewQueries(b.pool).ResearchersNaming(ctx, u.Login, u.Email)
	if err != nil {
		return err
	}
	res, err := identity.New(b.kit(slog.Default())).ForgetUser.Handle(ctx, identity.ForgetUser{
		Actor: commands.CLIActor, UserID: u.ID, OtherSubjects: researchers,
	})
	if err != nil {
		return readable(err)
	}
	// The read models may not show yet a forget that just ended; the user's own events tell.
	if !res.Changed() {
		return fmt.Errorf("user %s was forgotten already", u.ID)
	}
	fmt.Fprintf(out.stdout, "Forgot user %s: their personal data can no longer be read (%d researcher entries with it).\n", u.ID, len(researchers))
	return nil
}
