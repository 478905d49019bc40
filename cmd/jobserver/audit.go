package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/mediciasafely/jobserver/projections/audit"
)

const auditUsage = `Usage: jobserver audit <task> [flags]

Tamper evidence of the event log (docs/audit.md). The sealer in ` + "`jobserver serve`" + ` chains every event
with SHA-256 in the log's global order and signs the chain's head with JOBSERVER_AUDIT_SIGNING_KEY.

Tasks:
  public-key                                       print the public half of the signing key, to publish
  export [--from POSITION] [--until TIME] [--stream NAME] [--output FILE]
                                                   write the sealed log as NDJSON with its chain and checkpoints
  verify [--export FILE] [--public-key KEY]...     recompute the chain from the database, or offline from an
                                                   export, and check every checkpoint; exit status 1 on tampering
`

// auditTasks runs one task of tamper evidence.
func auditTasks(ctx context.Context, cfg config, args []string, out output) error {
	if len(args) == 0 {
		fmt.Fprint(out.stdout, auditUsage)
		return errUsage
	}
	task, args := args[0], args[1:]
	switch task {
	case "-h", "--help", "help":
		fmt.Fprint(out.stdout, auditUsage)
		return nil
	case "public-key":
		return auditPublicKey(cfg, args, out)
	case "export":
		return auditExport(ctx, cfg, args, out)
	case "verify":
		return auditVerify(ctx, cfg, args, out)
	}
	fmt.Fprintf(out.stderr, "jobserver audit: unknown task %q\n\n%s", task, auditUsage)
	return errUsage
}

func auditPublicKey(cfg config, args []string, out output) error {
	if err := parseTask(adminFlags("public-key", "public-key", out), args); err != nil {
		return err
	}
	key, err := auditSigningKey(cfg.Development)
	if err != nil {
		return err
	}
	fmt.Fprintln(out.stdout, audit.FormatPublicKey(key.Public().(ed25519.PublicKey)))
	return nil
}

func auditExport(ctx context.Context, cfg config, args []string, out output) error {
	fs := adminFlags("export", "export [--from POSITION] [--until TIME] [--stream NAME] [--output FILE]", out)
	from := fs.Int64("from", 1, "first position of the chain to export")
	until := fs.String("until", "", "end before the first event recorded after this time (RFC 3339, or a date: 2026-12-31)")
	stream := fs.String("stream", "", "only this stream's events (each then verifies against its own link)")
	output := fs.String("output", "", "write to this file instead of standard output")
	if err := parseTask(fs, args); err != nil {
		return err
	}
	filter := audit.Filter{From: *from, Stream: *stream}
	if *from < 1 {
		return fmt.Errorf("--from %d: positions start at 1", *from)
	}
	if *until != "" {
		t, err := parseUntil(*until)
		if err != nil {
			return err
		}
		filter.Until = t
	}
	w := out.stdout
	if *output != "" {
		f, err := os.Create(*output)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	b, err := openBackend(ctx, cfg)
	if err != nil {
		return err
	}
	defer b.close()
	src, err := audit.OpenLog(ctx, b.pool, filter)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer src.Close()
	bar := newEventBar(out, "exporting", src.Total())
	n, err := audit.Export(w, src, time.Now(), bar.add)
	bar.finish()
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if *output != "" {
		fmt.Fprintf(out.stderr, "exported %d events to %s\n", n, *output)
	}
	return nil
}

// parseUntil reads --until: a time in RFC 3339, or a date, meaning the end of that day in UTC.
func parseUntil(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d.Add(24*time.Hour - time.Microsecond), nil
	}
	return time.Time{}, fmt.Errorf("--until %q: use RFC 3339 (2026-12-31T23:59:59Z) or a date (2026-12-31)", s)
}

func auditVerify(ctx context.Context, cfg config, args []string, out output) error {
	fs := adminFlags("verify", "verify [--export FILE] [--public-key KEY]...", out)
	exportFile := fs.String("export", "", "verify this export, offline, instead of the database")
	var keys []ed25519.PublicKey
	fs.Func("public-key", "a trusted public key, as `jobserver audit public-key` prints it (repeat for keys used before a rotation; "+
		"default: the public half of JOBSERVER_AUDIT_SIGNING_KEY)", func(s string) error {
		key, err := audit.ParsePublicKey(s)
		keys = append(keys, key)
		return err
	})
	if err := parseTask(fs, args); err != nil {
		return err
	}
	if len(keys) == 0 {
		key, err := auditSigningKey(cfg.Development)
		if err != nil {
			return fmt.Errorf("no --public-key given, and %w", err)
		}
		keys = append(keys, key.Public().(ed25519.PublicKey))
	}
	var (
		src      audit.Source
		unsealed int64
		err      error
	)
	if *exportFile != "" {
		f, err := os.Open(*exportFile)
		if err != nil {
			return err
		}
		defer f.Close()
		if src, err = audit.ReadExport(f); err != nil {
			return fmt.Errorf("%s: %w", *exportFile, err)
		}
	} else {
		b, err := openBackend(ctx, cfg)
		if err != nil {
			return err
		}
		defer b.close()
		if unsealed, err = audit.Unsealed(ctx, b.pool); err != nil {
			return err
		}
		if src, err = audit.OpenLog(ctx, b.pool, audit.Filter{}); err != nil {
			return err
		}
	}
	defer src.Close()
	bar := newEventBar(out, "verifying", src.Total())
	report, err := audit.Verify(src, keys, bar.add)
	bar.finish()
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	printReport(out.stdout, report, unsealed)
	if report.Problem != nil {
		return exitError{code: 1}
	}
	return nil
}

func printReport(w io.Writer, r audit.Report, unsealed int64) {
	if r.Problem != nil {
		fmt.Fprintf(w, "TAMPERED: %s\n", r.Problem)
		fmt.Fprintf(w, "the %d events before it verified", r.Events)
		if r.Signed > 0 {
			fmt.Fprintf(w, ", up to the checkpoint at position %d", r.Signed)
		}
		fmt.Fprintln(w)
		return
	}
	if r.Separately {
		fmt.Fprintf(w, "verified %d events, each against its link of the chain (an export of one stream: the links "+
			"between them, and the checkpoints, need the whole log)\n", r.Events)
		return
	}
	fmt.Fprintf(w, "verified %d events up to position %d and %d signed checkpoints", r.Events, r.Last, r.Checkpoints)
	if r.Signed > 0 {
		fmt.Fprintf(w, "; the last checkpoint is at position %d", r.Signed)
	}
	fmt.Fprintln(w)
	if r.Last > r.Signed {
		fmt.Fprintf(w, "%d events after it are chained but not signed yet\n", r.Last-r.Signed)
	}
	if unsealed > 0 {
		fmt.Fprintf(w, "%d events appended since are not sealed yet (the sealer runs in `jobserver serve`)\n", unsealed)
	}
}

// auditSigningKey reads JOBSERVER_AUDIT_SIGNING_KEY. In development a key is made once and kept under
// .data/, so the chain's checkpoints stay verifiable across restarts; production must configure one.
func auditSigningKey(development bool) (ed25519.PrivateKey, error) {
	if v := os.Getenv("JOBSERVER_AUDIT_SIGNING_KEY"); v != "" {
		key, err := audit.ParseSigningKey(v)
		if err != nil {
			return nil, fmt.Errorf("JOBSERVER_AUDIT_SIGNING_KEY: %w", err)
		}
		return key, nil
	}
	if !development {
		return nil, errors.New("JOBSERVER_AUDIT_SIGNING_KEY is required in production: the Ed25519 key that signs the audit " +
			"chain's checkpoints (e.g. `openssl rand -base64 32`)")
	}
	path := filepath.Join(".data", "audit-signing-key")
	if b, err := os.ReadFile(path); err == nil {
		if key, err := audit.ParseSigningKey(string(b)); err == nil {
			return key, nil
		}
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(".data", 0o700); err != nil {
		return nil, fmt.Errorf("keep the development audit signing key: %w", err)
	}
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(seed)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("keep the development audit signing key: %w", err)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// eventBar is a progress bar of events on stderr when it is a terminal, and nothing otherwise.
type eventBar struct{ bar *progressbar.ProgressBar }

func newEventBar(out output, description string, total int64) eventBar {
	f, ok := out.stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return eventBar{}
	}
	if total <= 0 {
		total = -1 // unknown: a spinner with the count
	}
	return eventBar{progressbar.NewOptions64(total,
		progressbar.OptionSetDescription(description),
		progressbar.OptionSetWriter(out.stderr),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("events"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

func (b eventBar) add(n int) {
	if b.bar != nil {
		_ = b.bar.Add(n)
	}
}

func (b eventBar) finish() {
	if b.bar != nil {
		_ = b.bar.Finish()
	}
}
