// Command jobserver-bench measures the event store and the projections against the raw speed of the same
// Postgres server, in one run on a fresh database that it drops at the end:
//
//   - raw ceiling: single-row INSERTs into a table of the shape of events (same indexes and constraints),
//     1, 4 and 16 writers;
//   - append: pgstore.Store.Append, one event per call with an exact expected version, same writer counts;
//   - read: ReadAll in global order against a raw keyset read of the same rows;
//   - rebuild: projections.Runner.Replay of a one-row-per-event projector, against the raw keyset read;
//   - identity rebuild: the real identity projectors rebuilt (Runner.Prepare) from a log of real identity
//     events of the same size in a second database, against a raw keyset read of that log;
//   - projection lag: append at a steady rate with the live runner on, until the row is visible to a reader;
//   - command: a real command (ChangeProjectMemberRoles) on a project stream of 10,000 events against the
//     same command on a new project, through the command kit on the Postgres store (steady state, p50);
//   - runner API: POST /api/v2/jobs/ of 1,000 jobs unchanged and all changed (against one 1,000-row INSERT),
//     and 20 backends polling every 2 s (runnerapi.go);
//   - event log: 100,000 job requests and 1,000,000 jobs generated as events and rebuilt by the real
//     projectors, then /event-log at 50 clients per filter and deep pages from the real server run as a
//     process of its own, with its memory and the plan of the slowest query, and 200 open pages following
//     their live updates while runners post 100 job changes a second (eventlog*.go);
//   - audit: sealing the seeded log, verifying it against the raw keyset read, 16 writers appending with
//     the sealer running against the same without it, and the seal lag at 1,000 events/s (audit.go);
//   - releases: a 16 MiB file uploaded and downloaded through the real server against cp (and cp + sync) in
//     the same directory, and "Download all" of 200 files totalling 1 GiB with the server's memory (releases.go).
//
// It prints a table and exits 0 even when a target is missed: it is a report, and MISSED says so.
//
//	BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable go run ./cmd/jobserver-bench [-quick] [-only store|identity|runnerapi|eventlog|audit|releases]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"
)

const defaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// config is what one run measures and how long.
type config struct {
	adminURL     string        // a server URL allowed to create and drop databases
	cpuProfile   string        // where to write a Go CPU profile of the whole run, when set
	events       int           // events seeded for the read and rebuild measurements
	duration     time.Duration // length of each append and raw insert measurement
	lagDuration  time.Duration // length of the projection lag measurement
	writerCounts []int
	lagRate      int // events per second appended during the lag measurement
	lagAppenders int
	only         string // "identity": only the identity rebuild, for work on the rebuild; "runnerapi": only the runner API

	pollDuration   time.Duration // length of the runner API polling measurement
	quickRunnerAPI bool          // fewer runner API samples (-quick)

	eventLogRequests int  // job requests generated for the event log measurements
	quickEventLog    bool // fewer event log samples and a shallower deep page (-quick)
	// serverCPUProfile, when set, is where the server's CPU profile of the event log's filtered pages goes.
	serverCPUProfile string

	quickReleases bool // fewer repeats of the 16 MiB file and a release of 100 MiB (-quick)
}

// onlyChoices are the groups of measurements -only can choose.
var onlyChoices = []string{"store", "identity", "runnerapi", "eventlog", "audit", "releases"}

func parseFlags(args []string) (config, error) {
	cfg := config{writerCounts: []int{1, 4, 16}, lagRate: 1000, lagAppenders: 8}
	fs := flag.NewFlagSet("jobserver-bench", flag.ContinueOnError)
	fs.IntVar(&cfg.events, "events", 1_000_000, "events seeded for the read and rebuild measurements")
	fs.DurationVar(&cfg.duration, "duration", 5*time.Second, "length of each append and raw insert measurement")
	fs.DurationVar(&cfg.lagDuration, "lag-duration", 10*time.Second, "length of the projection lag measurement")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a Go CPU profile of the run to this file (go tool pprof)")
	fs.StringVar(&cfg.serverCPUProfile, "server-cpuprofile", "", "write the server's Go CPU profile of the event log's filtered pages (their first "+
		serverProfileLength.String()+") to this file")
	fs.StringVar(&cfg.only, "only", "", `"store" runs only the event store and projection kit rows (the seed, reads, rebuild, appends, lag and the command on a long stream); "identity" only the identity rebuild (its seed, raw read and rebuild); "runnerapi" only the runner API rows; "eventlog" only the event log rows; "audit" only the seed, the reads and the audit rows; "releases" only the released outputs rows`)
	fs.DurationVar(&cfg.pollDuration, "poll-duration", 60*time.Second, "length of the runner API polling measurement")
	fs.IntVar(&cfg.eventLogRequests, "eventlog-requests", 100_000, "job requests generated for the event log (10 jobs each on average)")
	quick := fs.Bool("quick", false, "small sizes for a smoke run (flags given explicitly still win)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: jobserver-bench [flags]\n\nThe server comes from BENCH_DATABASE_URL (default "+defaultAdminURL+").")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if *quick {
		applyQuickSizes(fs, &cfg)
	}
	if cfg.only != "" && !slices.Contains(onlyChoices, cfg.only) {
		return cfg, fmt.Errorf("-only %q: the choices are %s", cfg.only, strings.Join(onlyChoices, ", "))
	}
	if cfg.eventLogRequests < 2 {
		return cfg, errors.New("-eventlog-requests must be at least 2")
	}
	if cfg.pollDuration <= 0 {
		return cfg, errors.New("-poll-duration must be positive")
	}
	if cfg.events < 1 || cfg.duration <= 0 || cfg.lagDuration <= 0 {
		return cfg, errors.New("-events, -duration and -lag-duration must be positive")
	}
	cfg.adminURL = os.Getenv("BENCH_DATABASE_URL")
	if cfg.adminURL == "" {
		cfg.adminURL = defaultAdminURL
	}
	return cfg, nil
}

// applyQuickSizes shrinks every size the user did not set on the command line.
func applyQuickSizes(fs *flag.FlagSet, cfg *config) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["events"] {
		cfg.events = 20_000
	}
	if !set["duration"] {
		cfg.duration = time.Second
	}
	if !set["lag-duration"] {
		cfg.lagDuration = 2 * time.Second
	}
	if !set["poll-duration"] {
		cfg.pollDuration = 10 * time.Second
	}
	if !set["eventlog-requests"] {
		cfg.eventLogRequests = 10_000
	}
	cfg.quickRunnerAPI = true
	cfg.quickEventLog = true
	cfg.quickReleases = true
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "jobserver-bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.cpuProfile != "" {
		stopProfile, err := startCPUProfile(cfg.cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "jobserver-bench:", err)
			os.Exit(2)
		}
		defer stopProfile()
	}
	err = run(ctx, cfg, os.Stdout)
	switch {
	case err != nil && ctx.Err() != nil:
		fmt.Fprintln(os.Stderr, "jobserver-bench: interrupted; the bench database was dropped")
		os.Exit(130)
	case err != nil:
		fmt.Fprintln(os.Stderr, "jobserver-bench:", err)
		os.Exit(1)
	}
}

// run does every measurement on one fresh database and prints the report to out. The phases run in an
// order that keeps them from disturbing each other: the big seed first (then VACUUM, so no autovacuum or
// hint-bit writes land inside a later measurement), the reads and the rebuild on exactly the seeded events,
// then the write measurements on tables that already hold them, and the live lag last.
func run(ctx context.Context, cfg config, out io.Writer) (err error) {
	db, err := createBenchDatabase(ctx, cfg.adminURL)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, db.drop()) }()
	env, err := openBenchEnv(ctx, db, maxWriters(cfg))
	if err != nil {
		return err
	}
	defer env.close()

	info, err := describeMachine(ctx, env.pool)
	if err != nil {
		return err
	}
	var rep report
	// Each phase names the -only choices that run it; the full run runs them all, in this order.
	phases := []struct {
		name string
		in   []string
		run  func() error
	}{
		{"seed", []string{"store", "audit"}, func() error { return seed(ctx, env, cfg.events) }},
		{"reads", []string{"store", "audit"}, func() error { return measureReads(ctx, env, cfg.events, &rep) }},
		{"rebuild", []string{"store"}, func() error { return measureRebuild(ctx, env, cfg.events, &rep) }},
		{"identity rebuild", []string{"identity"}, func() error { return measureIdentityRebuild(ctx, cfg, &rep) }},
		{"writes", []string{"store"}, func() error { return measureWrites(ctx, env, cfg, &rep) }},
		{"projection lag", []string{"store"}, func() error { return measureLag(ctx, env, cfg, &rep) }},
		{"audit", []string{"audit"}, func() error { return measureAudit(ctx, env, cfg, &rep) }},
		{"command on a long stream", []string{"store"}, func() error { return measureLongStreamCommand(ctx, env, &rep) }},
		{"runner API", []string{"runnerapi"}, func() error { return measureRunnerAPI(ctx, cfg, &rep) }},
		{"event log", []string{"eventlog"}, func() error { return measureEventLog(ctx, cfg, &rep) }},
		{"releases", []string{"releases"}, func() error { return measureReleases(ctx, cfg, &rep) }},
	}
	for _, p := range phases {
		if cfg.only != "" && !slices.Contains(p.in, cfg.only) {
			continue
		}
		if err := p.run(); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	rep.print(out, info, cfg)
	return nil
}

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func maxWriters(cfg config) int {
	n := cfg.lagAppenders
	for _, w := range cfg.writerCounts {
		n = max(n, w)
	}
	return n
}
