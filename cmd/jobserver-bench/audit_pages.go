package main

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mediciasafely/jobserver/commands"
	identitycmd "github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/projections"
	auditviews "github.com/mediciasafely/jobserver/projections/auditview"
)

// The audit pages' measurement (issue 13, Performance): /audit filtered by actor and by object over the
// seeded log. The read model (projections/auditview) gets its tables from the projector itself
// (Runner.Prepare) and its rows from the seeded events in one INSERT … SELECT, as the projector writes them,
// each stream's events given to one of auditActors people (about 500 events each over 1,000,000); then
// the page's own query (auditview.Queries.Log: a page of 50 with the data, metadata, sentences and names the
// page shows) runs for actors and streams drawn at random, one page at a time: the first page and the
// Older page after it, as an auditor pages. Then the same through the whole server (below).
const (
	auditActors      = 2000
	auditPageSamples = 500
)

func measureAuditPages(ctx context.Context, env *benchEnv, rep *report) error {
	runner := projections.NewRunner(env.pool, env.store, domain.Events, env.logger, auditviews.Projectors()...)
	if err := runner.Prepare(ctx); err != nil {
		return fmt.Errorf("audit pages: prepare the read model: %w", err)
	}
	start := time.Now()
	indexed, err := env.pool.Exec(ctx, `INSERT INTO auditview_events (id, recorded_at, stream, type, actor, correlation_id)
		SELECT event_id, recorded_at, stream_id, event_type, 'user:bench' || (abs(hashtext(stream_id)) % $1), ''
		FROM public.events`, auditActors)
	if err != nil {
		return fmt.Errorf("audit pages: fill the read model: %w", err)
	}
	events := indexed.RowsAffected()
	if _, err := env.pool.Exec(ctx, `VACUUM ANALYZE auditview_events`); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "audit pages: indexed %d events in %s\n", events, time.Since(start).Round(time.Millisecond))
	// The actors and streams the pages are filtered by, drawn from those the log has.
	sample := func(column string) ([]string, error) {
		rows, err := env.pool.Query(ctx, `SELECT `+column+` FROM auditview_events GROUP BY 1 ORDER BY random() LIMIT $1`, auditPageSamples)
		return projections.All(rows, err, pgx.RowTo[string])
	}
	actors, err := sample("actor")
	if err != nil {
		return fmt.Errorf("audit pages: sample the actors: %w", err)
	}
	streams, err := sample("stream")
	if err != nil {
		return fmt.Errorf("audit pages: sample the streams: %w", err)
	}

	registry, err := env.events()
	if err != nil {
		return err
	}
	views := auditviews.NewQueries(env.pool, registry)
	rng := rand.New(rand.NewPCG(13, 13))
	for _, by := range []struct {
		name   string
		filter func() auditviews.Filter
	}{
		{"actor", func() auditviews.Filter { return auditviews.Filter{Actor: actors[rng.IntN(len(actors))]} }},
		{"object (stream)", func() auditviews.Filter { return auditviews.Filter{Stream: streams[rng.IntN(len(streams))]} }},
	} {
		took, err := timeAuditPages(ctx, views, by.filter)
		if err != nil {
			return fmt.Errorf("audit pages by %s: %w", by.name, err)
		}
		p50, p99 := ms(percentile(took, 0.5)), ms(percentile(took, 0.99))
		fmt.Fprintf(os.Stderr, "/audit by %s: p50 %.1f ms, p99 %.1f ms, max %.1f ms over %d pages\n", by.name, p50, p99, ms(took[len(took)-1]), len(took))
		rep.add(row{section: sectionAudit, measurement: fmt.Sprintf("/audit filtered by %s over %s events, the page's query with its sentences, 1 client: p99 (p50 %.1f ms)",
			by.name, thousands(events), p50), writers: 1, value: p99, unit: "ms", goal: below(50, "ms")})
	}
	return measureServedAuditPages(ctx, env, rep, events, actors, streams)
}

// timeAuditPages reads auditPageSamples first pages of the filters drawn, and the Older page after each
// that has one; it returns the times sorted.
func timeAuditPages(ctx context.Context, views *auditviews.Queries, draw func() auditviews.Filter) ([]time.Duration, error) {
	var took []time.Duration
	for range auditPageSamples {
		f := draw()
		var after *projections.Cursor
		for range 2 {
			begin := time.Now()
			page, err := views.Log(ctx, f, after, nil, 50)
			took = append(took, time.Since(begin))
			if err != nil {
				return nil, err
			}
			if len(page.Entries) == 0 || page.Entries[0].Sentence == nil {
				return nil, fmt.Errorf("an empty page, or one without sentences, for %+v", f)
			}
			if after = page.Older; after == nil {
				break
			}
		}
	}
	slices.Sort(took)
	return took, nil
}

// The audit pages through the whole server (issue 13's target is the page, not its query): `jobserver
// serve` as a process of its own (startServer, development mode), and a Governance Reviewer (audit_log_view)
// registered through the commands before it starts, logged in through its development login, asks for
// /audit?actor=... and
// /audit?stream=... with the actors and streams the query rows drew, one page at a time, each first page
// and the Older page its link leads to: the session, the permission check, the filter's form, the query,
// the sentences and the template.

func measureServedAuditPages(ctx context.Context, env *benchEnv, rep *report, events int64, actors, streams []string) error {
	auditor, err := registerAuditor(ctx, env)
	if err != nil {
		return err
	}
	// The server catches its read models up, the auditor's roles among them, before it serves.
	server, err := startServer(ctx, env.pool.Config().ConnString(), env.secretKey)
	if err != nil {
		return fmt.Errorf("audit pages through the server: %w", err)
	}
	defer server.stop()
	browser, err := server.login(ctx, auditor)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(13, 14))
	for _, by := range []struct {
		name, param string
		values      []string
	}{{"actor", "actor", actors}, {"object (stream)", "stream", streams}} {
		took, err := timeServedAuditPages(ctx, browser, server.url, func() string {
			return "/audit?" + url.Values{by.param: {by.values[rng.IntN(len(by.values))]}}.Encode()
		})
		if err != nil {
			return fmt.Errorf("/audit by %s through the server: %w", by.name, err)
		}
		p50, p99 := ms(percentile(took, 0.5)), ms(percentile(took, 0.99))
		fmt.Fprintf(os.Stderr, "GET /audit?%s=: p50 %.1f ms, p99 %.1f ms, max %.1f ms over %d pages\n", by.param, p50, p99, ms(took[len(took)-1]), len(took))
		rep.add(row{section: sectionAudit, measurement: fmt.Sprintf("GET /audit?%s= over %s events through jobserver serve (session, permission, query, sentences, template), 1 browser: p99 (p50 %.1f ms, %d pages)",
			by.param, thousands(events), p50, len(took)), writers: 1, value: p99, unit: "ms", goal: below(50, "ms")})
	}
	rep.note("audit pages through the server: load average " + loadAverage() + " after them")
	return nil
}

// registerAuditor signs a person up as their first login would and grants them Governance Reviewer, the
// role that holds audit_log_view and nothing of an admin's; it returns their id.
func registerAuditor(ctx context.Context, env *benchEnv) (string, error) {
	events, err := env.events()
	if err != nil {
		return "", err
	}
	id := identitycmd.New(commands.Kit{Log: commands.NewEventLog(env.store, events, time.Now), Logger: env.logger})
	signed, err := id.SignInWithGitHub.Handle(ctx, identitycmd.SignInWithGitHub{GitHubID: 4343, Login: "bench-auditor", Name: "Bench Auditor"})
	if err != nil {
		return "", fmt.Errorf("register the auditor: %w", err)
	}
	if _, err := id.GrantGlobalRole.Handle(ctx, identitycmd.GrantGlobalRole{Actor: commands.CLIActor, UserID: signed.UserID,
		Role: domain.GovernanceReviewer}); err != nil {
		return "", fmt.Errorf("make the auditor a Governance Reviewer: %w", err)
	}
	return signed.UserID, nil
}

// timeServedAuditPages loads auditPageSamples first pages of the addresses drawn, and the Older page after
// each that has one; it returns the times, each until the page has arrived whole, sorted.
func timeServedAuditPages(ctx context.Context, browser *http.Client, base string, draw func() string) ([]time.Duration, error) {
	var took []time.Duration
	for range auditPageSamples {
		address := draw()
		for range 2 {
			body, elapsed, err := get(ctx, browser, base+address)
			if err != nil {
				return nil, err
			}
			took = append(took, elapsed)
			if !bytes.Contains(body, []byte(`<li id="event-`)) {
				return nil, fmt.Errorf("%s shows no event", address)
			}
			older := olderLink.FindSubmatch(body)
			if older == nil {
				break
			}
			address = html.UnescapeString(string(older[1]))
		}
	}
	slices.Sort(took)
	return took, nil
}
