package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/schollz/progressbar/v3"

	"github.com/mediciasafely/jobserver/projections"
)

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
func progressFor(ctx context.Context, runner *projections.Runner, verb string, p projections.Projector) (*progressbar.ProgressBar, func(int), error) {
	total, err := runner.CountEvents(ctx)
	if err != nil {
		return nil, nil, err
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetDescription(fmt.Sprintf("%s %-24s", verb, p.Name())),
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("events"),
		progressbar.OptionThrottle(100_000_000),
		progressbar.OptionClearOnFinish(),
	)
	return bar, func(n int) { _ = bar.Add(n) }, nil
}

func replay(ctx context.Context, cfg config, args []string) error {
	fs := flags("replay")
	name := fs.String("projection", "", "rebuild only this projection")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	b, err := openBackend(ctx, cfg)
	if err != nil {
		return err
	}
	defer b.close()
	chosen, err := chooseProjectors(b.runner, *name)
	if err != nil {
		return err
	}
	for _, p := range chosen {
		bar, progress, err := progressFor(ctx, b.runner, "rebuilding", p)
		if err != nil {
			return err
		}
		if err := b.runner.Replay(ctx, p, progress); err != nil {
			return fmt.Errorf("rebuild %s: %w", p.Name(), err)
		}
		_ = bar.Finish()
		fmt.Printf("rebuilt %s\n", p.Name())
	}
	return nil
}

func verify(ctx context.Context, cfg config, args []string) error {
	fs := flags("verify")
	name := fs.String("projection", "", "verify only this projection")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	b, err := openBackend(ctx, cfg)
	if err != nil {
		return err
	}
	defer b.close()
	chosen, err := chooseProjectors(b.runner, *name)
	if err != nil {
		return err
	}
	differing := 0
	for _, p := range chosen {
		bar, progress, err := progressFor(ctx, b.runner, "verifying", p)
		if err != nil {
			return err
		}
		diffs, err := b.runner.Verify(ctx, p, progress)
		if err != nil {
			return fmt.Errorf("verify %s: %w", p.Name(), err)
		}
		_ = bar.Finish()
		if len(diffs) == 0 {
			fmt.Printf("%s: equal to a rebuild from the log\n", p.Name())
			continue
		}
		differing++
		fmt.Printf("%s: %d row(s) differ from a rebuild from the log\n", p.Name(), len(diffs))
		for _, d := range diffs {
			fmt.Printf("  %s %s: %s\n", d.Table, d.Side, d.Row)
		}
	}
	if differing > 0 {
		fmt.Printf("%d read model(s) differ; `jobserver replay` rebuilds them\n", differing)
		return exitError{code: 1}
	}
	return nil
}
