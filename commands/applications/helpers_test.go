package applications_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/applications"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/internal/pgtest"
)

var (
	ctx = context.Background()
	cli = commands.CLIActor
)

// server is the applications and identity commands on one event store.
type server struct {
	*applications.Commands
	id    *identity.Commands
	store eventstore.Store
	kit   commands.Kit
	pool  *pgxpool.Pool // nil on the in-memory store
}

// newPostgresServer runs the commands on the Postgres event store, in a database of the test's own.
func newPostgresServer(t *testing.T) *server {
	t.Helper()
	pool := pgtest.NewPool(t)
	store := pgstore.New(pool)
	t.Cleanup(store.Close)
	s := newServerOn(store)
	s.pool = pool
	return s
}

// newApprovalWorld is a Postgres server with an applicant, an admin and an organisation.
func newApprovalWorld(t *testing.T) (s *server, applicant, admin commands.Actor, orgID string) {
	t.Helper()
	s = newPostgresServer(t)
	applicant = commands.UserActor(s.signIn(t, 1, "ada"))
	admin = s.withRole(t, 2, "root", domain.CoreDeveloper)
	orgID = must(s.id.CreateOrg.Handle(ctx, identity.CreateOrg{Actor: cli, Name: "University of X"}))(t).ID
	return s, applicant, admin, orgID
}

// newMemoryServer runs the commands on the in-memory event store.
func newMemoryServer() *server { return newServerOn(eventstore.NewMemory()) }

func newServerOn(store eventstore.Store) *server {
	kit := commands.Kit{Log: commands.NewEventLog(store, domain.Events, time.Now), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return &server{Commands: applications.New(kit), id: identity.New(kit), store: store, kit: kit}
}

// events returns every stored event in global order.
func (s *server) events(t *testing.T) []eventstore.Event {
	t.Helper()
	if s.pool != nil {
		// The global log shows an append once every older transaction has ended: wait for the newest.
		var last eventstore.Position
		if err := s.pool.QueryRow(ctx, `SELECT tx_id, seq FROM events ORDER BY tx_id DESC, seq DESC LIMIT 1`).Scan(&last.TxID, &last.Seq); err != nil {
			t.Fatal(err)
		}
		pgtest.WaitVisible(t, s.store, last)
	}
	events, err := s.store.ReadAll(ctx, eventstore.Position{}, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// count returns how many stored events have type name.
func (s *server) count(t *testing.T, name string) int {
	t.Helper()
	n := 0
	for _, e := range s.events(t) {
		if e.Type == name {
			n++
		}
	}
	return n
}

// must fails the test on err and returns v.
func must[V any](v V, err error) func(t *testing.T) V {
	return func(t *testing.T) V {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// signIn registers a GitHub account with an e-mail address and returns the user id.
func (s *server) signIn(t *testing.T, githubID int64, login string) string {
	t.Helper()
	return must(s.id.SignInWithGitHub.Handle(ctx, identity.SignInWithGitHub{
		GitHubID: githubID, Login: login, Name: "User " + login, Email: login + "@example.org",
	}))(t).UserID
}

// withRole signs a user in and grants them a global role.
func (s *server) withRole(t *testing.T, githubID int64, login string, role domain.Role) commands.Actor {
	t.Helper()
	id := s.signIn(t, githubID, login)
	must(s.id.GrantGlobalRole.Handle(ctx, identity.GrantGlobalRole{Actor: cli, UserID: id, Role: role}))(t)
	return commands.UserActor(id)
}

// completeAnswers answers every required question of every page, for a research study named study.
func completeAnswers(study string) map[string]domain.Answers {
	all := map[string]domain.Answers{}
	for _, p := range domain.ApplicationPages() {
		a := domain.Answers{}
		for _, f := range p.Fields {
			switch {
			case !f.Required:
			case f.Kind == domain.FieldEmail:
				a[f.Key] = "ada@example.org"
			case f.Kind == domain.FieldPhone:
				a[f.Key] = "+44 20 7946 0000"
			case f.Kind == domain.FieldCheckbox || f.Kind == domain.FieldYesNo:
				a[f.Key] = "yes"
			default:
				a[f.Key] = "An answer to " + f.Label
			}
		}
		all[p.Key] = a
	}
	all[domain.PageStudyInformation][domain.FieldStudyName] = study
	all[domain.PageTypeOfStudy] = domain.Answers{"is_study_research": "yes"}
	return all
}

var grace = domain.Researcher{Name: "Grace Hopper", JobTitle: "Statistician", Email: "grace@example.org", GitHubUsername: "grace-hopper",
	NeedsServerAccess: true, HasSafeResearcherTraining: true, TrainingWithOrg: "ONS", TrainingPassedAt: "2026-01-15"}

// startedBy starts an application as applicant and returns its id.
func (s *server) startedBy(t *testing.T, applicant commands.Actor) string {
	t.Helper()
	return must(s.Start.Handle(ctx, applications.Start{Actor: applicant, TermsAccepted: true}))(t).ApplicationID
}

// filledBy starts an application as applicant and completes every page that applies to a research study
// named study, with one researcher.
func (s *server) filledBy(t *testing.T, applicant commands.Actor, study string) string {
	t.Helper()
	id := s.startedBy(t, applicant)
	all := completeAnswers(study)
	for _, p := range domain.ApplicationPages() {
		if p.Researchers || !p.Applies(all) {
			continue
		}
		must(s.SavePage.Handle(ctx, applications.SavePage{Actor: applicant, ApplicationID: id, Page: p.Key, Answers: all[p.Key]}))(t)
	}
	must(s.AddResearcher.Handle(ctx, applications.AddResearcher{Actor: applicant, ApplicationID: id, Researcher: grace}))(t)
	return id
}

// submittedBy is filledBy, submitted.
func (s *server) submittedBy(t *testing.T, applicant commands.Actor, study string) string {
	t.Helper()
	id := s.filledBy(t, applicant, study)
	must(s.Submit.Handle(ctx, applications.Submit{Actor: applicant, ApplicationID: id}))(t)
	return id
}

func wantKind(t *testing.T, err error, kind domain.Kind, fields ...string) {
	t.Helper()
	if domain.KindOf(err) != kind {
		t.Fatalf("err = %v (kind %d), want kind %d", err, domain.KindOf(err), kind)
	}
	for _, f := range fields {
		if de := asDomain(err); de == nil || de.Fields[f] == "" {
			t.Errorf("err = %v, want a message on field %q", err, f)
		}
	}
}
