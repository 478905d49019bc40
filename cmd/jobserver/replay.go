package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/mediciasafely/jobserver/projections"
)

// openForProjections parses the --projection flag of replay and verify (and the command's own flags, which
// more adds), opens the backend and returns the projectors to work on; the caller closes the backend.
func openForProjections(ctx context.Context, cfg config, command string, args []string, out output, more ...func(*flag.FlagSet)) (*backend, []projections.Projector, error) {
	fs := flags(command, out)
	name := fs.String("projection", "", command+" only this projection")
	for _, add := range more {
		add(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, errUsage
	}
	b, err := openBackend(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	chosen, err := chooseProjectors(b.runner, *name)
	if err != nil {
		b.close()
		return nil, nil, err
	}
	return b, chosen, nil
}

// chooseProjectors returns every projector, or the one named.
func chooseProjectors(runner *projections.Runner, name string) ([]projections.Projector, error) {
	all := runner.Projectors()
	if name == "" {
		return all, nil
	}
	var names []string
	for _, p := range all {
		if p.Name() == name {
			return []projections.Projector{p}, nil
		}
		names = append(names, p.Name())
	}
	return nil, fmt.Errorf("no projection named %q; there are: %s", name, strings.Join(names, ", "))
}

// progressFor draws a bar over the whole log for one projector.
func progressFor(ctx context.Context, out output, runner *projections.Runner, verb string, p projections.Projector) (*progressbar.ProgressBar, func(int), error) {
	total, err := runner.CountEvents(ctx)
	if err != nil {
		return nil, nil, err
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetDescription(fmt.Sprintf("%s %-24s", verb, p.Name())),
		progressbar.OptionSetWriter(out.stderr),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("events"),
		progressbar.OptionThrottle(100_000_000),
		progressbar.OptionClearOnFinish(),
	)
	return bar, func(n int) { _ = bar.Add(n) }, nil
}

func replay(ctx context.Context, cfg config, args []string, out output) error {
	var until, schema string
	b, chosen, err := openForProjections(ctx, cfg, "replay", args, out, func(fs *flag.FlagSet) {
		fs.StringVar(&until, "until", "", "build the read models as they were at this time (RFC 3339, or a date: 2026-12-31), into --schema")
		fs.StringVar(&schema, "schema", "", "with --until: the new schema to build them in, leaving the live tables alone")
	})
	if err != nil {
		return err
	}
	defer b.close()
	if until != "" || schema != "" {
		return replayUntil(ctx, b, until, schema, len(chosen) < len(b.runner.Projectors()), out)
	}
	for _, p := range chosen {
		bar, progress, err := progressFor(ctx, out, b.runner, "rebuilding", p)
		if err != nil {
			return err
		}
		if err := b.runner.Replay(ctx, p, progress); err != nil {
			return fmt.Errorf("rebuild %s: %w", p.Name(), err)
		}
		_ = bar.Finish()
		fmt.Fprintf(out.stdout, "rebuilt %s\n", p.Name())
	}
	return nil
}

func verify(ctx context.Context, cfg config, args []string, out output) error {
	b, chosen, err := openForProjections(ctx, cfg, "verify", args, out)
	if err != nil {
		return err
	}
	defer b.close()
	if err := verifyMirror(ctx, b, out); err != nil {
		return err
	}
	differing := 0
	for _, p := range chosen {
		bar, progress, err := progressFor(ctx, out, b.runner, "verifying", p)
		if err != nil {
			return err
		}
		diffs, err := b.runner.Verify(ctx, p, progress)
		if err != nil {
			return fmt.Errorf("verify %s: %w", p.Name(), err)
		}
		_ = bar.Finish()
		if len(diffs) == 0 {
			fmt.Fprintf(out.stdout, "%s: equal to a rebuild from the log\n", p.Name())
			continue
		}
		differing++
		fmt.Fprintf(out.stdout, "%s: %d row(s) differ from a rebuild from the log\n", p.Name(), len(diffs))
		for _, d := range diffs {
			fmt.Fprintf(out.stdout, "  %s %s: %s\n", d.Table, d.Side, d.Row)
		}
	}
	if differing > 0 {
		fmt.Fprintf(out.stdout, "%d read model(s) differ; `jobserver replay` rebuilds them\n", differing)
		return exitError{code: 1}
	}
	return nil
}

// replayUntil builds every read model as it was at a time into a schema of its own, for inspection with SQL.
func replayUntil(ctx context.Context, b *backend, until, schema string, oneProjection bool, out output) error {
	if until == "" || schema == "" {
		return fmt.Errorf("replay: --until and --schema go together: the read models as of a time are built beside the live ones")
	}
	if oneProjection {
		return fmt.Errorf("replay: --until builds every read model; leave out --projection")
	}
	t, err := parseUntil(until)
	if err != nil {
		return err
	}
	at, err := b.runner.PositionAt(ctx, t)
	if err != nil {
		return err
	}
	total, err := b.runner.CountEvents(ctx)
	if err != nil {
		return err
	}
	bar := newEventBar(out, "rebuilding as of "+t.UTC().Format(time.RFC3339), total)
	if err := b.runner.BuildAt(ctx, schema, at, bar.add); err != nil {
		return fmt.Errorf("replay --until: %w", err)
	}
	bar.finish()
	fmt.Fprintf(out.stdout, "built every read model as of %s in the schema %s\n", t.UTC().Format(time.RFC3339Nano), schema)
	return nil
}
