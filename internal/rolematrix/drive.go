package rolematrix

import (
	"context"
	"fmt"
	"testing"

	"github.com/mediciasafely/jobserver/domain"
)

// CheckRunners fails unless every use of slice has one of the runners named, or is listed as having none,
// and every runner names a use of slice; and every setup a use allows exists.
func CheckRunners(t *testing.T, slice string, runners []string, without map[string]bool) {
	t.Helper()
	uses := UsesOf(slice)
	if len(uses) == 0 {
		t.Fatalf("the table has no uses of the %s slice", slice)
	}
	named := map[string]bool{}
	for _, r := range runners {
		named[r] = true
	}
	known := map[string]bool{}
	for _, s := range Setups() {
		known[s.Key] = true
	}
	for _, u := range uses {
		if !named[u.Name] && !without[u.Name] {
			t.Errorf("nothing runs %q", u.Name)
		}
		delete(named, u.Name)
		for _, k := range u.Allowed {
			if !known[k] {
				t.Errorf("%s: unknown role setup %q", u.Name, k)
			}
		}
	}
	for name := range named {
		t.Errorf("runner %q is not in the table", name)
	}
}

// CheckCommands runs every use of slice as every setup, each in a parallel subtest named for its verdict:
// in a world newWorld builds for the setup, runners[use] runs the use's command, and logLength before and
// after says how many events it appended. Who may gets no error and at least one event; who may not gets a
// refusal (KindForbidden) and no event.
func CheckCommands[W any](t *testing.T, slice string, runners map[string]func(context.Context, W) error,
	newWorld func(*testing.T, Setup) W, logLength func(*testing.T, W) int) {
	for _, u := range UsesOf(slice) {
		for _, who := range Setups() {
			allowed := u.Allows(who.Key)
			verdict := "may not"
			if allowed {
				verdict = "may"
			}
			t.Run(fmt.Sprintf("%s %s %s", who, verdict, u.Name), func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, who)
				before := logLength(t, w)
				err := runners[u.Name](context.Background(), w)
				appended := logLength(t, w) - before
				switch {
				case allowed && err != nil:
					t.Fatalf("want allowed, got %v", err)
				case allowed && appended == 0:
					t.Fatal("allowed, but no event was appended")
				case !allowed && domain.KindOf(err) != domain.KindForbidden:
					t.Fatalf("want a refusal, got %v", err)
				case !allowed && appended != 0:
					t.Fatalf("forbidden, but %d events were appended", appended)
				}
			})
		}
	}
}
