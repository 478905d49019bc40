package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	identitycmd "github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

const (
	// longStreamEvents is the length of the long project stream the command runs on.
	longStreamEvents = 10_000
	// commandSamples commands are timed on each project, alternating between them; the p50 counts.
	commandSamples = 300
)

// measureLongStreamCommand times a real command (identity's ChangeProjectMemberRoles, through the command
// kit, on the Postgres store) on a project stream of longStreamEvents events and on a new project of two
// events, alternating. The kit keeps folded states, so only the first command on the long stream folds it
// all (reported as a note); the row is the steady state, p50 over commandSamples commands on each.
func measureLongStreamCommand(ctx context.Context, env *benchEnv, rep *report) error {
	log := commands.NewEventLog(env.store, domain.Events, time.Now)
	cmds := identitycmd.New(commands.Kit{Log: log, Logger: env.logger})
	member := "u" + domain.NewID(time.Now())
	long, err := seedProject(ctx, log, member, longStreamEvents)
	if err != nil {
		return fmt.Errorf("long stream: %w", err)
	}
	fresh, err := seedProject(ctx, log, member, 2)
	if err != nil {
		return fmt.Errorf("new stream: %w", err)
	}
	env.settle(ctx)
	roleSets := [][]domain.Role{{domain.ProjectDeveloper}, {domain.ProjectDeveloper, domain.ProjectCollaborator}}
	change := func(project string, i int) (time.Duration, error) {
		start := time.Now()
		res, err := cmds.ChangeProjectMemberRoles.Handle(ctx, identitycmd.ChangeProjectMemberRoles{
			Actor: commands.CLIActor, ProjectID: project, UserID: member, Roles: roleSets[i%2],
		})
		if err == nil && !res.Changed() {
			err = fmt.Errorf("command on %s changed nothing", project)
		}
		return time.Since(start), err
	}
	first, err := change(long, 0)
	if err != nil {
		return err
	}
	var onLong, onFresh []time.Duration
	for i := 1; i <= commandSamples; i++ {
		d, err := change(long, i)
		if err != nil {
			return err
		}
		onLong = append(onLong, d)
		if d, err = change(fresh, i); err != nil {
			return err
		}
		onFresh = append(onFresh, d)
	}
	longP50, freshP50 := percentile(sortedCopy(onLong), 0.5), percentile(sortedCopy(onFresh), 0.5)
	fmt.Fprintf(os.Stderr, "command: p50 %.2f ms on a stream of %d events, %.2f ms on a new stream; first on the long stream %.1f ms\n",
		ms(longP50), longStreamEvents, ms(freshP50), ms(first))
	rep.add(row{section: sectionCommand, measurement: fmt.Sprintf("command p50 on a stream of %s events (raw: same command, new stream)", thousands(longStreamEvents)),
		writers: 1, value: ms(longP50), unit: "ms", raw: ms(freshP50), goal: atMostRatio(2)})
	rep.note(fmt.Sprintf("command = identity's ChangeProjectMemberRoles through the command kit on the Postgres store, alternating "+
		"between a project of %s events and a new one, %d times each; steady state: the kit keeps the folded state, so only the first "+
		"command on the long stream folds all of it (%.1f ms), later ones read the stream's tail", thousands(longStreamEvents), commandSamples, ms(first)))
	return nil
}

// seedProject appends a project stream of n events (created, one member, then renames to the same name)
// through the command kit's event log and returns the project's id.
func seedProject(ctx context.Context, log *commands.EventLog, member string, n int) (string, error) {
	id := domain.NewID(time.Now())
	name := "Bench study " + id
	events := []domain.Event{
		domain.ProjectCreated{ProjectID: id, Slug: "bench-" + id, Name: name},
		domain.ProjectMemberAdded{ProjectID: id, UserID: member, Roles: []domain.Role{domain.ProjectCollaborator}},
	}
	for len(events) < n {
		events = append(events, domain.ProjectRenamed{ProjectID: id, Name: name})
	}
	stream := domain.ProjectStream(id)
	for version := 0; version < len(events); version += seedBatch {
		chunk := events[version:min(len(events), version+seedBatch)]
		_, err := log.Append(ctx, commands.CLIActor, []commands.Write{{Stream: stream, Expected: eventstore.Exactly(int64(version)), Events: chunk}})
		if err != nil {
			return "", err
		}
	}
	return id, nil
}

func sortedCopy(ds []time.Duration) []time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
