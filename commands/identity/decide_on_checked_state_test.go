package identity_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// interleavingStore is the in-memory store with a hook that runs once, right after the first read of one
// stream returns: another writer committing between a command's load and its append.
type interleavingStore struct {
	*eventstore.Memory
	stream string
	fired  atomic.Bool
	hook   func()
}

func (s *interleavingStore) afterRead(stream string) {
	// The hook's own command reads the stream too: it must not fire again inside itself.
	if stream == s.stream && s.hook != nil && s.fired.CompareAndSwap(false, true) {
		s.hook()
	}
}

func (s *interleavingStore) ReadStream(ctx context.Context, stream string) ([]eventstore.Event, error) {
	events, err := s.Memory.ReadStream(ctx, stream)
	s.afterRead(stream)
	return events, err
}

func (s *interleavingStore) ReadStreamAfter(ctx context.Context, stream string, after int64) ([]eventstore.Event, error) {
	events, err := s.Memory.ReadStreamAfter(ctx, stream, after)
	s.afterRead(stream)
	return events, err
}

// TestACoordinatorDemotedBetweenLoadAndAppendIsRefused: the permission is read on the state the decision is
// made on. A coordinator whose role is taken away after their command loaded the project, but before it
// appended, loses the race; the command retries on fresh state and is refused.
func TestACoordinatorDemotedBetweenLoadAndAppendIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := &interleavingStore{Memory: eventstore.NewMemory()}
	log := commands.NewEventLog(store, domain.Events, time.Now)
	s := server{Commands: identity.New(commands.Kit{Log: log}), store: store.Memory, log: log}
	cli := commands.CLIActor

	coordinator := s.signIn(t, 1, "coordinator")
	developer := s.signIn(t, 2, "developer")
	project := created(t)(s.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "MyStudy"}))
	ok(t)(s.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: project, UserID: coordinator, Roles: []domain.Role{domain.ProjectCoordinator}}))
	ok(t)(s.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: project, UserID: developer, Roles: []domain.Role{domain.ProjectDeveloper}}))

	store.stream = domain.ProjectStream(project)
	store.hook = func() {
		ok(t)(s.ChangeProjectMemberRoles.Handle(ctx, identity.ChangeProjectMemberRoles{Actor: cli, ProjectID: project, UserID: coordinator, Roles: []domain.Role{domain.ProjectCollaborator}}))
	}
	_, err := s.ChangeProjectMemberRoles.Handle(ctx, identity.ChangeProjectMemberRoles{
		Actor: commands.UserActor(coordinator), ProjectID: project, UserID: developer, Roles: []domain.Role{domain.ProjectCoordinator},
	})
	wantKind(t, err, domain.KindForbidden, "")

	var p domain.Project
	if _, err := s.log.Load(ctx, domain.ProjectStream(project), &p); err != nil {
		t.Fatal(err)
	}
	if roles, _ := p.MemberRoles(developer); len(roles) != 1 || roles[0] != domain.ProjectDeveloper {
		t.Fatalf("the demoted coordinator changed the developer's roles to %v", roles)
	}
}

// TestAProjectKeepsItsLastCoordinator: the last Project Coordinator can neither give up the role nor leave;
// with a second coordinator they can, and an admin always can.
func TestAProjectKeepsItsLastCoordinator(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	cli := commands.CLIActor
	alone := s.signIn(t, 1, "alone")
	second := s.signIn(t, 2, "second")
	admin := s.signIn(t, 3, "admin")
	ok(t)(s.GrantGlobalRole.Handle(ctx, identity.GrantGlobalRole{Actor: cli, UserID: admin, Role: domain.CoreDeveloper}))
	project := created(t)(s.CreateProject.Handle(ctx, identity.CreateProject{Actor: cli, Name: "MyStudy"}))
	ok(t)(s.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: project, UserID: alone, Roles: []domain.Role{domain.ProjectCoordinator, domain.ProjectDeveloper}}))
	me := commands.UserActor(alone)

	_, err := s.ChangeProjectMemberRoles.Handle(ctx, identity.ChangeProjectMemberRoles{Actor: me, ProjectID: project, UserID: alone, Roles: []domain.Role{domain.ProjectDeveloper}})
	wantMessage(t, err, domain.KindForbidden, "only Project Coordinator")
	_, err = s.RemoveProjectMember.Handle(ctx, identity.RemoveProjectMember{Actor: me, ProjectID: project, UserID: alone})
	wantMessage(t, err, domain.KindForbidden, "only Project Coordinator")
	// Keeping the role while changing others is fine.
	ok(t)(s.ChangeProjectMemberRoles.Handle(ctx, identity.ChangeProjectMemberRoles{Actor: me, ProjectID: project, UserID: alone, Roles: []domain.Role{domain.ProjectCoordinator}}))

	ok(t)(s.AddProjectMember.Handle(ctx, identity.AddProjectMember{Actor: cli, ProjectID: project, UserID: second, Roles: []domain.Role{domain.ProjectCoordinator}}))
	ok(t)(s.RemoveProjectMember.Handle(ctx, identity.RemoveProjectMember{Actor: me, ProjectID: project, UserID: alone}))

	// An admin may take the role from the last coordinator.
	ok(t)(s.ChangeProjectMemberRoles.Handle(ctx, identity.ChangeProjectMemberRoles{Actor: commands.UserActor(admin), ProjectID: project, UserID: second, Roles: nil}))
}

// TestTheLastCoreDeveloperKeepsTheRole: nobody, not even an admin acting on themselves, takes Core Developer
// from the last person holding it; once another holds it, it can go.
func TestTheLastCoreDeveloperKeepsTheRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newServer(t)
	cli := commands.CLIActor
	ada := s.signIn(t, 1, "ada")
	grace := s.signIn(t, 2, "grace")
	ok(t)(s.GrantGlobalRole.Handle(ctx, identity.GrantGlobalRole{Actor: cli, UserID: ada, Role: domain.CoreDeveloper}))

	_, err := s.SetGlobalRoles.Handle(ctx, identity.SetGlobalRoles{Actor: commands.UserActor(ada), UserID: ada, Roles: []domain.Role{domain.OutputChecker}})
	wantMessage(t, err, domain.KindForbidden, "last Core Developer")
	_, err = s.RevokeGlobalRole.Handle(ctx, identity.RevokeGlobalRole{Actor: cli, UserID: ada, Role: domain.CoreDeveloper})
	wantMessage(t, err, domain.KindForbidden, "last Core Developer")

	ok(t)(s.SetGlobalRoles.Handle(ctx, identity.SetGlobalRoles{Actor: commands.UserActor(ada), UserID: grace, Roles: []domain.Role{domain.CoreDeveloper, domain.OutputChecker}}))
	res := ok(t)(s.SetGlobalRoles.Handle(ctx, identity.SetGlobalRoles{Actor: commands.UserActor(grace), UserID: ada, Roles: []domain.Role{domain.OutputChecker}})).(commands.Result)
	if res.Events != 3 { // Core Developer revoked, Output Checker granted, off the roster
		t.Fatalf("%d events, want 3 in one append", res.Events)
	}
	_, err = s.SetGlobalRoles.Handle(ctx, identity.SetGlobalRoles{Actor: commands.UserActor(grace), UserID: grace, Roles: nil})
	wantMessage(t, err, domain.KindForbidden, "last Core Developer")
}

// TestTwoAdminsRevokingEachOtherAtOnceLeaveOne: the roster stream is appended with both revocations, so
// only one of two concurrent revocations wins.
func TestTwoAdminsRevokingEachOtherAtOnceLeaveOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for round := 0; round < 20; round++ {
		s := newServer(t)
		a, b := s.signIn(t, 1, "a"), s.signIn(t, 2, "b")
		for _, u := range []string{a, b} {
			ok(t)(s.GrantGlobalRole.Handle(ctx, identity.GrantGlobalRole{Actor: commands.CLIActor, UserID: u, Role: domain.CoreDeveloper}))
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, pair := range [][2]string{{a, b}, {b, a}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.RevokeGlobalRole.Handle(ctx, identity.RevokeGlobalRole{Actor: commands.UserActor(pair[0]), UserID: pair[1], Role: domain.CoreDeveloper})
			}()
		}
		wg.Wait()
		admins := 0
		for _, u := range []string{a, b} {
			var user domain.User
			if _, err := s.log.Load(ctx, domain.UserStream(u), &user); err != nil {
				t.Fatal(err)
			}
			if user.HasGlobalRole(domain.CoreDeveloper) {
				admins++
			}
		}
		if admins != 1 {
			t.Fatalf("round %d: %d admins left (errors %v)", round, admins, errs)
		}
	}
}

func wantMessage(t *testing.T, err error, kind domain.Kind, words string) {
	t.Helper()
	wantKind(t, err, kind, "")
	if !strings.Contains(err.Error(), words) {
		t.Fatalf("err = %v, want it to say %q", err, words)
	}
}

// TestAnAdminDemotedBetweenLoadAndAppendIsRefused: a decision that read the actor's global roles from
// their own stream guards that stream when it appends elsewhere, so an admin whose role is revoked while
// their command runs is refused on the retry, not let through on the roles read before.
func TestAnAdminDemotedBetweenLoadAndAppendIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := &interleavingStore{Memory: eventstore.NewMemory()}
	log := commands.NewEventLog(store, domain.Events, time.Now)
	s := server{Commands: identity.New(commands.Kit{Log: log}), store: store.Memory, log: log}
	cli := commands.CLIActor
	admin, other := s.signIn(t, 1, "admin"), s.signIn(t, 2, "other")
	for _, u := range []string{admin, other} {
		ok(t)(s.GrantGlobalRole.Handle(ctx, identity.GrantGlobalRole{Actor: cli, UserID: u, Role: domain.CoreDeveloper}))
	}

	store.stream = domain.UserStream(admin)
	store.hook = func() {
		ok(t)(s.RevokeGlobalRole.Handle(ctx, identity.RevokeGlobalRole{Actor: cli, UserID: admin, Role: domain.CoreDeveloper}))
	}
	_, err := s.CreateOrg.Handle(ctx, identity.CreateOrg{Actor: commands.UserActor(admin), Name: "Late Org"})
	wantKind(t, err, domain.KindForbidden, "")
	var slug domain.Reservation
	if _, err := s.log.Load(ctx, domain.OrgSlugStream("late-org"), &slug); err != nil || slug.Held() {
		t.Fatalf("the demoted admin's organisation was created (slug held %v, err %v)", slug.Held(), err)
	}
}
