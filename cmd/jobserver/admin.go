package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

const adminUsage = `Usage: jobserver admin <task> [flags]

Operator tasks, for what nobody can do in the web yet (such as making the first admin).
Each change is an event like any other, recorded with the actor "cli".

Tasks:
  grant-role      --github-login LOGIN --role ROLE   give a user a global role
  revoke-role     --github-login LOGIN --role ROLE   take a global role away
  create-backend  --slug SLUG --name NAME            create a backend and print its runner token, once;
                  [--protocol rap --controller-url URL]  one whose job-runner serves the RAP API, its client
                                                     token read from standard input
  reencrypt-secrets                                  move sealed GitHub tokens to the current secret key
  forget-user     --github-login LOGIN               forget a person: destroy the keys of their personal data

The user must have logged in once. ROLE is a role's name or id, e.g. "Core Developer" or core_developer.
`

// admin runs one operator task.
func admin(ctx context.Context, cfg config, args []string, out output) error {
	if len(args) == 0 {
		fmt.Fprint(out.stdout, adminUsage)
		return errUsage
	}
	task, args := args[0], args[1:]
	switch task {
	case "-h", "--help", "help":
		fmt.Fprint(out.stdout, adminUsage)
		return nil
	case "grant-role":
		return adminChangeRole(ctx, cfg, args, out, true)
	case "revoke-role":
		return adminChangeRole(ctx, cfg, args, out, false)
	case "create-backend":
		return adminCreateBackend(ctx, cfg, args, out)
	case "reencrypt-secrets":
		return adminReencryptSecrets(ctx, cfg, args, out)
	case "forget-user":
		return adminForgetUser(ctx, cfg, args, out)
	}
	fmt.Fprintf(out.stderr, "jobserver admin: unknown task %q\n\n%s", task, adminUsage)
	return errUsage
}

// adminFlags is the flag set of one task; synopsis is the task's usage line after "jobserver admin".
func adminFlags(task, synopsis string, out output) *flag.FlagSet {
	fs := flags("admin "+task, out)
	fs.Usage = func() {
		fmt.Fprintf(out.stderr, "Usage: jobserver admin %s\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseTask parses a task's flags and checks that the required ones are set.
func parseTask(fs *flag.FlagSet, args []string, required ...string) error {
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	var missing []string
	for _, name := range required {
		if strings.TrimSpace(fs.Lookup(name).Value.String()) == "" {
			missing = append(missing, "--"+name)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintf(fs.Output(), "%s: %s required\n", fs.Name(), strings.Join(missing, " and "))
		fs.Usage()
		return errUsage
	}
	return nil
}

func adminChangeRole(ctx context.Context, cfg config, args []string, out output, grant bool) error {
	task := "revoke-role"
	if grant {
		task = "grant-role"
	}
	fs := adminFlags(task, task+" --github-login LOGIN --role ROLE", out)
	login := fs.String("github-login", "", "the user's GitHub login")
	roleName := fs.String("role", "", `the role's name or id, e.g. "Core Developer"`)
	if err := parseTask(fs, args, "github-login", "role"); err != nil {
		return err
	}
	role, err := domain.ParseRole(*roleName)
	if err != nil {
		return fmt.Errorf("%s The roles are: %s", readable(err), roleNames())
	}

	b, err := openBackend(ctx, cfg)
	if err != nil {
		return err
	}
	defer b.close()
	u, err := b.userByLogin(ctx, *login, "%s has not logged in yet; ask them to log in once, then run this again")
	if err != nil {
		return err
	}

	cmds := identity.New(b.kit(slog.Default()))
	who := fmt.Sprintf("%s (%s)", u.Login, u.DisplayName())
	var res commands.Result
	if grant {
		res, err = cmds.GrantGlobalRole.Handle(ctx, identity.GrantGlobalRole{Actor: commands.CLIActor, UserID: u.ID, Role: role})
	} else {
		res, err = cmds.RevokeGlobalRole.Handle(ctx, identity.RevokeGlobalRole{Actor: commands.CLIActor, UserID: u.ID, Role: role})
	}
	if err != nil {
		return readable(err)
	}
	switch {
	case !res.Changed() && grant:
		fmt.Fprintf(out.stdout, "%s already has the role %s; nothing changed.\n", who, role.DisplayName())
	case !res.Changed():
		fmt.Fprintf(out.stdout, "%s does not have the role %s; nothing changed.\n", who, role.DisplayName())
	case grant:
		fmt.Fprintf(out.stdout, "Granted %s to %s.\n", role.DisplayName(), who)
	default:
		fmt.Fprintf(out.stdout, "Revoked %s from %s.\n", role.DisplayName(), who)
	}
	return nil
}

// adminCreateBackend creates a backend and prints its runner token as the last line, so a script can take
// it with tail -n 1. The token is written nowhere else: only its hash is stored.
func adminCreateBackend(ctx context.Context, cfg config, args []string, out output) error {
	fs := adminFlags("create-backend", "create-backend --slug SLUG --name NAME [--protocol rap --controller-url URL < token]", out)
	slug := fs.String("slug", "", "the backend's short name in URLs and on job requests, e.g. tpp")
	name := fs.String("name", "", `the backend's name as people read it, e.g. "RC Demo 2"`)
	protocol := backendProtocolFlags(fs)
	if err := parseTask(fs, args, "slug", "name"); err != nil {
		return err
	}
	if err := protocol.read(); err != nil {
		return err
	}
	b, err := openBackend(ctx, cfg)
	if err != nil {
		return err
	}
	defer b.close()
	created, err := identity.New(b.kit(slog.Default())).CreateBackend.Handle(ctx, identity.CreateBackend{
		Actor: commands.CLIActor, Slug: *slug, Name: *name,
	})
	if err != nil {
		return readable(err)
	}
	fmt.Fprintf(out.stdout, "Created backend %s (%s).\n", created.Slug, strings.TrimSpace(*name))
	if err := protocol.set(ctx, cfg, b, created, out); err != nil {
		return err
	}
	fmt.Fprintln(out.stdout, "Give this runner token to the backend's job-runner now; it is shown only this once:")
	fmt.Fprintln(out.stdout, created.Token)
	return nil
}

// readable reduces a refusal of the domain to its message, which is written for people (the field
// details repeat it); other errors pass unchanged.
func readable(err error) error {
	var de *domain.Error
	if errors.As(err, &de) {
		return errors.New(de.Message)
	}
	return err
}

func roleNames() string {
	names := make([]string, 0, len(domain.AllRoles()))
	for _, r := range domain.AllRoles() {
		names = append(names, r.DisplayName())
	}
	return strings.Join(names, ", ")
}

// userByLogin finds the user with a GitHub login in the users read model, caught up with the log first (it
// holds every login so far); notFound words the error for a login no one has, with %s for the login.
func (b *backend) userByLogin(ctx context.Context, login, notFound string) (identityviews.User, error) {
	if err := b.runner.Prepare(ctx); err != nil {
		return identityviews.User{}, fmt.Errorf("prepare read models: %w", err)
	}
	u, err := identityviews.NewQueries(b.pool).UserByLogin(ctx, strings.TrimSpace(login))
	if domain.KindOf(err) == domain.KindNotFound {
		return u, fmt.Errorf(notFound, login)
	}
	if err != nil {
		return u, fmt.Errorf("find user %s: %w", login, err)
	}
	return u, nil
}
