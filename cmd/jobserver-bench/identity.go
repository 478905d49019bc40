package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/projections"
	"github.com/mediciasafely/jobserver/projections/identity"
)

// The identity rebuild runs on a log of its own (a second bench database): the read models of identity
// and access, projections/identity.Projectors(), rebuilt from the real domain events, against a raw keyset
// read of the same rows. A block is what a hundred people bring: they register (some get a global role,
// update their profile or change their notification address), an organisation with twenty of them, ten
// projects in it with four members each (one member's roles changed, some projects renamed), and now and
// then a backend with members.
const (
	identityBlockUsers    = 100
	identityBlocksPerSeed = 4 // blocks per Append, about 870 events
)

// identityCounts is what a seed wrote, to check the rebuilt tables.
type identityCounts struct {
	events, users, projects, projectMembers atomic.Int64
}

func measureIdentityRebuild(ctx context.Context, cfg config, rep *report) (err error) {
	db, err := createBenchDatabase(ctx, cfg.adminURL)
	if err != nil {
		return err
	}
	defer func() { err = joinErr(err, db.drop()) }()
	env, err := openBenchEnv(ctx, db, seedWriters+4)
	if err != nil {
		return err
	}
	defer env.close()
	var counts identityCounts
	seeding, err := env.events()
	if err != nil {
		return err
	}
	if err := seedIdentity(ctx, env, seeding, cfg.events, &counts); err != nil {
		return err
	}
	if err := copyToRawAndVacuum(ctx, env, false); err != nil {
		return err
	}
	events := int(counts.events.Load())
	var raw float64
	for range readPasses {
		r, err := timeRead(ctx, events, func(ctx context.Context) (int, error) { return readAllRaw(ctx, env) })
		if err != nil {
			return fmt.Errorf("raw keyset read of the identity log: %w", err)
		}
		raw = max(raw, r)
	}
	env.settle(ctx)
	// The rebuild's keys are cold, as in a new process: it reads and unwraps the keys of each batch's
	// personal data once for that batch.
	rebuilding, err := env.events()
	if err != nil {
		return err
	}
	runner := projections.NewRunner(env.pool, env.store, rebuilding, env.logger, identity.Projectors()...)
	fmt.Fprintf(os.Stderr, "rebuilding the identity read models from %d events\n", events)
	start := time.Now()
	if err := runner.Prepare(ctx); err != nil {
		return fmt.Errorf("rebuild identity read models: %w", err)
	}
	elapsed := time.Since(start)
	for table, want := range map[string]int64{"users": counts.users.Load(), "projects": counts.projects.Load(), "project_members": counts.projectMembers.Load()} {
		var n int64
		if err := env.pool.QueryRow(ctx, `SELECT count(*) FROM `+projections.LiveSchema+`.`+table).Scan(&n); err != nil {
			return err
		}
		if n != want {
			return fmt.Errorf("identity rebuild left %d rows in %s, want %d", n, table, want)
		}
	}
	rows, err := rowsWritten(ctx, env)
	if err != nil {
		return err
	}
	value := float64(events) / elapsed.Seconds()
	fmt.Fprintf(os.Stderr, "identity rebuild: %.0f events/s, raw keyset read of the same log %.0f events/s\n", value, raw)
	rep.add(row{section: sectionRebuild, measurement: "rebuild of identity.Projectors() (Prepare; raw: keyset read)", writers: 1,
		value: value, unit: "events/s", raw: raw, goal: atLeastRatio(0.5)})
	rep.note(fmt.Sprintf("identity rebuild: %s real identity events (%s users, %s projects, %s project members) in a database of their own; "+
		"projections/identity's projector rebuilt by Runner.Prepare, as at start-up after an upgrade, its personal data opened through the keys table (one read of it per batch)",
		thousands(int64(events)), thousands(counts.users.Load()), thousands(counts.projects.Load()), thousands(counts.projectMembers.Load())))
	rep.note(fmt.Sprintf("identity rebuild wrote %s rows inserted, %s updated, %s deleted: %.2f rows per event "+
		"(the server's work grows with the rows, not the events)", thousands(rows.inserted), thousands(rows.updated),
		thousands(rows.deleted), float64(rows.inserted+rows.updated+rows.deleted)/float64(events)))
	return nil
}

// writes counts the rows a rebuild wrote.
type writes struct{ inserted, updated, deleted int64 }

// rowsWritten reads the server's counts of rows written to the read-model tables (a rebuilt table keeps its
// counts when it moves into the live schema). Backends report their counts when idle, at most once a
// second, so it waits a little first.
func rowsWritten(ctx context.Context, env *benchEnv) (writes, error) {
	select {
	case <-time.After(2 * time.Second):
	case <-ctx.Done():
		return writes{}, ctx.Err()
	}
	var w writes
	err := env.pool.QueryRow(ctx, `SELECT coalesce(sum(n_tup_ins), 0)::bigint, coalesce(sum(n_tup_upd), 0)::bigint,
		coalesce(sum(n_tup_del), 0)::bigint FROM pg_stat_user_tables WHERE schemaname = $1 AND relname <> 'projection_checkpoints'`,
		projections.LiveSchema).Scan(&w.inserted, &w.updated, &w.deleted)
	return w, err
}

func joinErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// seedIdentity appends blocks of identity events until at least n are in the log.
func seedIdentity(ctx context.Context, env *benchEnv, events *domain.Registry, n int, counts *identityCounts) error {
	bar := eventBar("seeding identity events", n)
	var githubIDs atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for w := range seedWriters {
		g.Go(func() error {
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for counts.events.Load() < int64(n) {
				var appends []eventstore.Append
				for range identityBlocksPerSeed {
					appends = append(appends, identityBlock(events, rng, &githubIDs, counts)...)
				}
				size := countNew(appends)
				if _, err := env.store.Append(gctx, appends); err != nil {
					return fmt.Errorf("seed identity: %w", err)
				}
				counts.events.Add(int64(size))
				_ = bar.Add(size)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	_ = bar.Finish()
	return nil
}

func countNew(appends []eventstore.Append) int {
	n := 0
	for _, a := range appends {
		n += len(a.Events)
	}
	return n
}

// identityBlock is one block of new streams (see above), each a new stream of the append.
func identityBlock(registry *domain.Registry, rng *rand.Rand, githubIDs *atomic.Int64, counts *identityCounts) []eventstore.Append {
	now := time.Now()
	var appends []eventstore.Append
	stream := func(name string, events ...domain.Event) {
		a := eventstore.Append{Stream: name, Expected: eventstore.NoStream}
		for _, e := range events {
			a.Events = append(a.Events, encodeIdentity(registry, e, now))
		}
		appends = append(appends, a)
	}
	users := make([]string, identityBlockUsers)
	for i := range users {
		id := domain.NewID(now)
		users[i] = id
		gh := githubIDs.Add(1)
		login := fmt.Sprintf("researcher-%d", gh)
		events := []domain.Event{domain.UserRegistered{UserID: id, Profile: domain.NewPersonal(id, domain.GitHubProfile{ID: gh, Login: login,
			Name: "Research Person " + login, Email: login + "@example.org", AvatarURL: fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", gh)})}}
		if rng.IntN(10) < 2 {
			events = append(events, domain.GlobalRoleGranted{UserID: id, Role: domain.OutputChecker})
		}
		if rng.IntN(10) == 0 {
			events = append(events, domain.UserProfileUpdated{UserID: id, Profile: domain.NewPersonal(id, domain.GitHubProfile{ID: gh, Login: login,
				Name: "Dr Research Person " + login, Email: login + "@uni.example.org", AvatarURL: fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=5", gh)})})
		}
		if rng.IntN(20) == 0 {
			events = append(events, domain.NotificationEmailChanged{UserID: id, Email: domain.NewPersonal(id, login+"@lab.example.org")})
		}
		stream(domain.UserStream(id), events...)
	}
	counts.users.Add(identityBlockUsers)
	org := domain.NewID(now)
	orgEvents := []domain.Event{domain.OrgCreated{OrgID: org, Slug: "org-" + org, Name: "Research Unit " + org}}
	for _, u := range users[:20] {
		orgEvents = append(orgEvents, domain.OrgMemberAdded{OrgID: org, UserID: u})
	}
	stream(domain.OrgStream(org), orgEvents...)
	for p := range 10 {
		id := domain.NewID(now)
		events := []domain.Event{domain.ProjectCreated{ProjectID: id, Slug: "study-" + id, Name: "Study " + id, OrgID: org}}
		for m := range 4 {
			roles := []domain.Role{domain.ProjectDeveloper}
			if m == 0 {
				roles = []domain.Role{domain.ProjectCoordinator, domain.ProjectDeveloper}
			}
			events = append(events, domain.ProjectMemberAdded{ProjectID: id, UserID: users[(p*4+m)%len(users)], Roles: roles})
		}
		events = append(events, domain.ProjectMemberRolesChanged{ProjectID: id, UserID: users[(p*4+1)%len(users)],
			Roles: []domain.Role{domain.ProjectCollaborator, domain.ProjectDeveloper}})
		if rng.IntN(5) == 0 {
			events = append(events, domain.ProjectRenamed{ProjectID: id, Name: "Study " + id + " (phase 2)"})
		}
		stream(domain.ProjectStream(id), events...)
	}
	counts.projects.Add(10)
	counts.projectMembers.Add(40)
	if rng.IntN(10) == 0 {
		id := domain.NewID(now)
		events := []domain.Event{domain.BackendCreated{BackendID: id, Slug: "backend-" + id, Name: "Backend " + id}}
		for _, u := range users[:5] {
			events = append(events, domain.BackendMemberAdded{BackendID: id, UserID: u})
		}
		stream(domain.BackendStream(id), events...)
	}
	return appends
}

func encodeIdentity(registry *domain.Registry, e domain.Event, now time.Time) eventstore.NewEvent {
	name, version, data, err := registry.Encode(e)
	if err != nil {
		panic(err) // every domain event is registered, and the keys table answers
	}
	return eventstore.NewEvent{ID: domain.NewULID(now), Type: name, SchemaVersion: version, Data: data,
		Metadata: eventstore.Metadata{Actor: "cli", CorrelationID: domain.NewID(now)}}
}
