package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mediciasafely/jobserver/commands"
	identitycmd "github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// The event log's data generator: a server's history of job requests written as the server writes it, as
// domain events through the event store, so that the read models hold what the real projectors make of
// them. People, organisations, projects with their members and backends come from commands/identity;
// workspaces are WorkspaceCreated events; each job request is a JobRequested (the requester's) followed by
// one JobStatusChanged per job with the job's latest state (its backend's runner's), appended in batches of
// requestsPerAppend on one backend, by several writers at once. The spread is fixed by a seeded generator,
// so two runs hold the same shape of data (the identifiers are new every run).
const (
	seedOrgs                 = 4
	seedProjectsPerOrg       = 10
	seedWorkspacesPerProject = 10
	seedMembersPerProject    = 8
	seedUsers                = 200
	// jobsPerRequestMean is the mean number of jobs of a request: 1,000,000 jobs in 100,000 requests.
	jobsPerRequestMean = 10
	requestsPerAppend  = 100
)

// seedBackends are the backends with the share of the job requests each runs.
var seedBackends = []struct {
	slug  string
	share float64
}{{"tpp", 0.70}, {"emis", 0.20}, {"test", 0.06}, {"expectations", 0.03}, {"databuilder", 0.01}}

// eventLogWorld is what the generator made: the names the filters are given, and the position of the last
// event, for the projectors to reach.
type eventLogWorld struct {
	users      []seedUser
	backends   []seedBackend
	workspaces []seedWorkspace
	// requests are the ids of every job request in the order they were appended (oldest first).
	requests []string
	// jobIDs is a sample of job identifiers, for the text filter.
	jobIDs []string
	// actions are every action name a workspace has.
	actions []string
	jobs    atomic.Int64
	events  atomic.Int64
	last    eventstore.Position
}

type seedUser struct{ id, login string }

type seedBackend struct{ id, slug, token string }

type seedWorkspace struct {
	id, name, projectID string
	members             []int // indexes into users
	actions             []string
	definition          string // its project.yaml
}

// seedEventLog writes the world of requests job requests and about jobsPerRequestMean jobs each.
func seedEventLog(ctx context.Context, env *benchEnv, requests int) (*eventLogWorld, error) {
	events, err := env.events()
	if err != nil {
		return nil, err
	}
	log := commands.NewEventLog(env.store, events, time.Now)
	id := identitycmd.New(commands.Kit{Log: log, Logger: env.logger})
	rng := rand.New(rand.NewPCG(2026, 12))
	w := &eventLogWorld{}
	if err := w.seedIdentity(ctx, id, rng); err != nil {
		return nil, err
	}
	if err := w.seedWorkspaces(ctx, log, rng); err != nil {
		return nil, err
	}
	if err := w.seedRequests(ctx, log, requests); err != nil {
		return nil, err
	}
	return w, nil
}

// seedIdentity registers the people, the organisations with their projects and members, and the backends.
func (w *eventLogWorld) seedIdentity(ctx context.Context, id *identitycmd.Commands, rng *rand.Rand) error {
	cli := commands.CLIActor
	for i := range seedUsers {
		login := fmt.Sprintf("researcher-%03d", i)
		signed, err := id.SignInWithGitHub.Handle(ctx, identitycmd.SignInWithGitHub{GitHubID: int64(700_000 + i), Login: login,
			Name: "Researcher " + strconv.Itoa(i), Email: login + "@example.org"})
		if err != nil {
			return fmt.Errorf("user %s: %w", login, err)
		}
		w.users = append(w.users, seedUser{id: signed.UserID, login: login})
		w.last = signed.Position
	}
	for _, b := range seedBackends {
		nb, err := id.CreateBackend.Handle(ctx, identitycmd.CreateBackend{Actor: cli, Slug: b.slug, Name: strings.ToUpper(b.slug)})
		if err != nil {
			return fmt.Errorf("backend %s: %w", b.slug, err)
		}
		w.backends = append(w.backends, seedBackend{id: nb.BackendID, slug: b.slug, token: nb.Token})
	}
	for o := range seedOrgs {
		org, err := id.CreateOrg.Handle(ctx, identitycmd.CreateOrg{Actor: cli, Name: fmt.Sprintf("Research Institute %d", o)})
		if err != nil {
			return fmt.Errorf("org: %w", err)
		}
		for p := range seedProjectsPerOrg {
			project, err := id.CreateProject.Handle(ctx, identitycmd.CreateProject{Actor: cli, OrgID: org.ID,
				Name: fmt.Sprintf("Study %d of institute %d", p, o)})
			if err != nil {
				return fmt.Errorf("project: %w", err)
			}
			members := rng.Perm(seedUsers)[:seedMembersPerProject]
			for i, u := range members {
				role := domain.ProjectDeveloper
				if i == 0 {
					role = domain.ProjectCoordinator
				}
				res, err := id.AddProjectMember.Handle(ctx, identitycmd.AddProjectMember{Actor: cli, ProjectID: project.ID,
					UserID: w.users[u].id, Roles: []domain.Role{role}})
				if err != nil {
					return fmt.Errorf("project member: %w", err)
				}
				w.last = res.Position
			}
			for k := range seedWorkspacesPerProject {
				w.workspaces = append(w.workspaces, seedWorkspace{projectID: project.ID, members: members,
					name: fmt.Sprintf("study-%d-%d-%s", o, p, workspaceWords[k%len(workspaceWords)])})
			}
		}
	}
	return nil
}

var workspaceWords = []string{"main", "sensitivity", "dev", "cohort", "outcomes", "revision", "draft", "released", "validation", "extension"}

// actionStems are the kinds of action a study's project.yaml has; each workspace has its own variants.
var actionStems = []string{"generate_dataset", "generate_measures", "describe_cohort", "table_one", "model_cox",
	"model_logistic", "plot_incidence", "sensitivity_analysis", "check_codelists", "summarise_outcomes",
	"match_controls", "extract_vaccinations", "impute_missing", "report", "redact_small_numbers"}

var cohorts = []string{"adults", "children", "vaccinated", "covid", "long_covid", "asthma", "copd", "diabetes", "ckd", "cancer"}

// seedWorkspaces appends a WorkspaceCreated for each workspace (one append), each with its own actions:
// every stem, and every stem for a cohort of its own, so action names repeat across workspaces as they do
// in studies built from the same template (31 actions, more than a request's most jobs).
func (w *eventLogWorld) seedWorkspaces(ctx context.Context, log *commands.EventLog, rng *rand.Rand) error {
	seen := map[string]bool{}
	var writes []commands.Write
	for i := range w.workspaces {
		ws := &w.workspaces[i]
		ws.id = domain.NewID(time.Now())
		cohort := cohorts[rng.IntN(len(cohorts))]
		for _, stem := range actionStems {
			ws.actions = append(ws.actions, stem, stem+"_"+cohort)
		}
		ws.actions = append(ws.actions, "run_all")
		var def strings.Builder
		def.WriteString("version: \"4.0\"\n\nactions:\n")
		for _, a := range ws.actions {
			if !seen[a] {
				seen[a] = true
				w.actions = append(w.actions, a)
			}
			fmt.Fprintf(&def, "  %s:\n    run: python:v2 python analysis/%s.py --cohort %s\n    outputs:\n      moderately_sensitive:\n        %s: output/%s/*.csv\n",
				a, a, cohort, a, a)
		}
		ws.definition = def.String()
		creator := w.users[ws.members[0]].id
		writes = append(writes, commands.Write{Stream: domain.WorkspaceStream(ws.id), Expected: eventstore.NoStream, Events: []domain.Event{
			domain.WorkspaceCreated{WorkspaceID: ws.id, ProjectID: ws.projectID, Name: ws.name,
				RepoURL: "https://github.com/opensafely/" + ws.name, Branch: "main", CreatedBy: creator},
		}})
	}
	res, err := log.Append(ctx, commands.CLIActor, writes)
	if err != nil {
		return fmt.Errorf("workspaces: %w", err)
	}
	w.last = res.Position
	return nil
}

// seedRequests appends the job requests in batches of requestsPerAppend, on seedWriters writers.
func (w *eventLogWorld) seedRequests(ctx context.Context, log *commands.EventLog, requests int) error {
	batches := (requests + requestsPerAppend - 1) / requestsPerAppend
	w.requests = make([]string, requests)
	bar := eventBar("seeding job requests (events)", requests*(1+jobsPerRequestMean))
	var claimed atomic.Int64
	var mu sync.Mutex // guards w.last
	g, gctx := errgroup.WithContext(ctx)
	for range seedWriters {
		g.Go(func() error {
			for {
				b := int(claimed.Add(1) - 1)
				if b >= batches {
					return nil
				}
				first := b * requestsPerAppend
				n := min(requestsPerAppend, requests-first)
				pos, events, err := w.appendBatch(gctx, log, b, first, n, requests)
				if err != nil {
					return err
				}
				_ = bar.Add(events)
				mu.Lock()
				if w.last.Less(pos) {
					w.last = pos
				}
				mu.Unlock()
			}
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	_ = bar.Finish()
	return nil
}

// appendBatch writes job requests first..first+n-1 (of total): their JobRequested events with the
// requester's actor, then their jobs' JobStatusChanged with their backend's runner's, as two appends. It
// returns the position of the last event and how many it wrote.
func (w *eventLogWorld) appendBatch(ctx context.Context, log *commands.EventLog, batch, first, n, total int) (eventstore.Position, int, error) {
	rng := rand.New(rand.NewPCG(uint64(batch), 7))
	backend := w.backends[pickBackend(rng)]
	var requested, reported []commands.Write
	jobs := 0
	for i := range n {
		index := first + i
		ws := &w.workspaces[pickWorkspace(rng, len(w.workspaces))]
		reqID := domain.NewJobRequestID()
		w.requests[index] = reqID
		requester := w.users[ws.members[rng.IntN(len(ws.members))]].id
		// Pairs of requests have k and 2×mean−k jobs, so the total is exactly mean × requests.
		k := jobCountOf(uint64(batch), index-index%2)
		if index%2 == 1 {
			k = 2*jobsPerRequestMean - k
		}
		start := rng.IntN(len(ws.actions) - k + 1)
		actions := ws.actions[start : start+k]
		wanted := []string{actions[len(actions)-1]}
		if rng.IntN(10) < 3 {
			wanted = []string{"run_all"}
		}
		requested = append(requested, commands.Write{Stream: domain.JobRequestStream(reqID), Expected: eventstore.NoStream,
			Events: []domain.Event{domain.JobRequested{JobRequestID: reqID, WorkspaceID: ws.id, ProjectID: ws.projectID,
				BackendID: backend.id, SHA: fmt.Sprintf("%040x", rng.Uint64()), RequestedActions: wanted,
				ForceRunDependencies: rng.IntN(10) == 0, WillNotify: rng.IntN(4) == 0, ProjectDefinition: ws.definition,
				RequestedBy: requester, DatabaseName: "default", CodelistsOK: true}}})
		events := jobStates(rng, reqID, actions, requestAge(index, total))
		if index%1000 == 0 {
			w.jobIDs = append(w.jobIDs, events[0].(domain.JobStatusChanged).JobID)
		}
		reported = append(reported, commands.Write{Stream: domain.JobRequestStream(reqID), Expected: eventstore.Exactly(1), Events: events})
		jobs += k
	}
	if _, err := log.Append(ctx, commands.CLIActor, requested); err != nil {
		return eventstore.Position{}, 0, fmt.Errorf("job requests: %w", err)
	}
	res, err := log.Append(ctx, commands.RunnerActor(backend.id), reported)
	if err != nil {
		return eventstore.Position{}, 0, fmt.Errorf("jobs: %w", err)
	}
	w.jobs.Add(int64(jobs))
	w.events.Add(int64(n + jobs))
	return res.Position, n + jobs, nil
}

// jobCountOf is the job count of the even-numbered request index: the same for its odd partner to pair with.
func jobCountOf(batch uint64, index int) int {
	return 1 + rand.New(rand.NewPCG(batch, uint64(index))).IntN(2*jobsPerRequestMean-1)
}

func pickBackend(rng *rand.Rand) int {
	x := rng.Float64()
	for i, b := range seedBackends {
		if x < b.share {
			return i
		}
		x -= b.share
	}
	return 0
}

// pickWorkspace favours some workspaces, as a few busy studies run most jobs: the square of a uniform
// number puts half the requests in the first 30% of the workspaces.
func pickWorkspace(rng *rand.Rand, n int) int {
	x := rng.Float64()
	return int(x * x * float64(n))
}

// requestAge is how far along the history request index of total is: 0 for the oldest, 1 for the newest.
func requestAge(index, total int) float64 { return float64(index) / float64(max(total-1, 1)) }

// historyStart is when the generated history begins; it spans a year.
var historyStart = time.Date(2025, 12, 1, 8, 0, 0, 0, time.UTC)

// jobStates is the latest state of each job of a request: the newest 1% are still at work (a third not
// started, the others with some jobs done, one running and the rest waiting); of the rest, 1% are stuck
// running, 11% failed part way (the jobs after the failure failing on their dependency), and the others
// succeeded.
func jobStates(rng *rand.Rand, reqID string, actions []string, age float64) []domain.Event {
	created := historyStart.Add(time.Duration(age * float64(365*24*time.Hour)))
	const (
		succeeded = iota
		waiting
		running
		failing
	)
	outcome, at := succeeded, rng.IntN(len(actions)) // at: the job that is running or failed
	switch x := rng.Float64(); {
	case age > 0.99 && x < 0.3:
		outcome = waiting
	case age > 0.99 || x < 0.01:
		outcome = running
	case x < 0.12:
		outcome = failing
	}
	events := make([]domain.Event, len(actions))
	started := created.Add(time.Duration(rng.IntN(600)) * time.Second)
	for j, action := range actions {
		e := domain.JobStatusChanged{JobRequestID: reqID, JobID: domain.NewJobRequestID(), Action: action,
			RunCommand: "python:v2 python analysis/" + action + ".py", CreatedAt: created,
			TraceContext: map[string]any{"traceparent": fmt.Sprintf("00-%016x%016x-%016x-01", rng.Uint64(), rng.Uint64(), rng.Uint64())},
			Metrics:      map[string]any{}}
		done := started.Add(time.Duration(30+rng.IntN(3*3600)) * time.Second)
		switch {
		case outcome == waiting || outcome == running && j > at:
			e.Status, e.StatusCode, e.StatusMessage = domain.JobPending, "waiting_on_dependencies", "Waiting on dependencies"
			e.UpdatedAt = &created
		case outcome == running && j == at:
			e.Status, e.StatusCode, e.StatusMessage = domain.JobRunning, "executing", "Executing job on the backend"
			e.StartedAt, e.UpdatedAt = &started, &started
		case outcome == failing && j == at:
			e.Status, e.StatusCode, e.StatusMessage = domain.JobFailed, "nonzero_exit", "Job exited with an error: see the log on the backend"
			e.StartedAt, e.CompletedAt, e.UpdatedAt, e.Finished = &started, &done, &done, true
		case outcome == failing && j > at:
			e.Status, e.StatusCode, e.StatusMessage = domain.JobFailed, "dependency_failed", "Not starting as dependency failed"
			e.CompletedAt, e.UpdatedAt, e.Finished = &started, &started, true
		default:
			e.Status, e.StatusCode, e.StatusMessage = domain.JobSucceeded, "succeeded", "Completed successfully"
			e.StartedAt, e.CompletedAt, e.UpdatedAt, e.Finished = &started, &done, &done, true
			e.Metrics = map[string]any{"cpu_mean": 40 + rng.Float64()*60, "mem_mb_peak": float64(200 + rng.IntN(8000))}
			started = done
		}
		events[j] = e
	}
	return events
}
