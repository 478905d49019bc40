package web_test

import (
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/internal/testclock"
)

// Reading pages writes nothing to the session store (every page and every live fetch would otherwise be a
// write): a session is written when it changes, or to note its use every ten minutes; one unused for three
// days ends.
func TestASessionIsWrittenWhenItChangesOrAgesAndEndsWhenIdle(t *testing.T) {
	clock := testclock.At(time.Now())
	e := newEnv(t, withClock(clock.Now))
	b := e.browser()
	b.loginAs(e.user("ada"))
	b.get("/event-log").expect(200, `class="user-login"`)
	stored := func() string {
		t.Helper()
		var versions string
		if err := e.pool.QueryRow(t.Context(), `SELECT coalesce(string_agg(token || ':' || xmin::text, ',' ORDER BY token), '')
			FROM sessions`).Scan(&versions); err != nil {
			t.Fatal(err)
		}
		return versions
	}
	read := stored()
	if read == "" {
		t.Fatal("the logged-in browser has no stored session")
	}
	for range 3 {
		b.get("/event-log").expect(200, `class="user-login"`)
	}
	if now := stored(); now != read {
		t.Fatalf("reading pages wrote the session: %s, then %s", read, now)
	}

	clock.Advance(11 * time.Minute)
	b.get("/event-log").expect(200, `class="user-login"`)
	if now := stored(); now == read {
		t.Fatal("a page ten minutes later did not note the session's use")
	}
	clock.Advance(2 * 24 * time.Hour)
	b.get("/event-log").expect(200, `class="user-login"`)

	clock.Advance(3*24*time.Hour + time.Minute)
	p := b.get("/event-log")
	if p.url.Path != "/login" {
		t.Fatalf("a session idle for three days still opens the event log: %d at %s", p.status, p.url)
	}
	if now := stored(); now != "" {
		t.Fatalf("the idle session is still stored: %s", now)
	}
}
