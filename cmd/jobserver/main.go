// Command jobserver runs the MediciaSAFELY job server and its operator tools.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
)

// command is one subcommand of jobserver.
type command struct {
	name, summary string
	run           func(ctx context.Context, cfg config, args []string, out output) error
}

// output is where a command writes: results to stdout, usage and problems to stderr. Passing them (rather
// than writing to os.Stdout) lets a test read what an operator would see.
type output struct {
	stdout, stderr io.Writer
}

func subcommands() []command {
	return []command{
		{"serve", "run the web server and the projectors (migrates first); serve --no-projectors for a web-only replica", serve},
		{"project", "run the projectors, reactors and audit sealer without the web server (migrates first)", project},
		{"migrate", "apply database migrations", migrate},
		{"replay", "rebuild read models from the event log: replay [--projection NAME], or as of a time beside the live ones: replay --until TIME --schema NAME", replay},
		{"verify", "rebuild read models in a scratch schema and compare with the live ones: verify [--projection NAME]", verify},
		{"admin", "operator tasks: grant-role, revoke-role, create-backend (`jobserver admin` lists them)", admin},
		{"audit", "tamper evidence: public-key, export, verify (`jobserver audit` lists them)", auditTasks},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage means the arguments were wrong; the usage has been printed.
var errUsage = errors.New("usage")

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	var cmd *command
	for _, c := range subcommands() {
		if c.name == args[0] {
			cmd = &c
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "jobserver: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	cfg, err := loadConfig()
	if err != nil {
		fmt.Fprintf(stderr, "jobserver: configuration: %v\n", err)
		return 2
	}
	slog.SetDefault(slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel})))
	// Events an operator's command appends carry one id per run of the command line.
	runID := "cli-" + domain.NewID(time.Now())
	ctx, stop := signal.NotifyContext(commands.WithCausationID(commands.WithCorrelationID(context.Background(), runID), runID), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := cmd.run(ctx, cfg, args[1:], output{stdout: stdout, stderr: stderr}); err != nil {
		if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
			return 2
		}
		var exit exitError
		if errors.As(err, &exit) {
			return exit.code
		}
		fmt.Fprintf(stderr, "jobserver %s: %v\n", cmd.name, err)
		return 1
	}
	return 0
}

// exitError ends the program with a status other than 1, having said what it had to.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: jobserver <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range subcommands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Environment:")
	for _, s := range settings {
		fallback := s.fallback
		if fallback == "" {
			fallback = "none"
		}
		fmt.Fprintf(w, "  %s (default: %s)\n      %s\n", s.name, fallback, s.help)
	}
}

// flags returns a flag set for a subcommand that prints its usage on bad flags.
func flags(name string, out output) *flag.FlagSet {
	fs := flag.NewFlagSet("jobserver "+name, flag.ContinueOnError)
	fs.SetOutput(out.stderr)
	return fs
}
