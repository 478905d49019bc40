package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestVerifyExitsOneWhenAReadModelDiffersAndReplayRepairsIt(t *testing.T) {
	o := newOperator(t)
	o.signIn("ada", "Ada Lovelace")

	status, stdout, stderr := o.jobserver("verify")
	if status != 0 || !strings.Contains(stdout, "identity: equal to a rebuild from the log") {
		t.Fatalf("verify of untouched read models: status %d\n%s\n%s", status, stdout, stderr)
	}

	if _, err := o.pool.Exec(context.Background(), `UPDATE readmodel.users SET name = 'Someone Else'`); err != nil {
		t.Fatal(err)
	}
	status, stdout, _ = o.jobserver("verify", "--projection", "identity")
	if status != 1 || !strings.Contains(stdout, "identity: 2 row(s) differ") || !strings.Contains(stdout, "Someone Else") {
		t.Fatalf("verify of a damaged read model: status %d\n%s", status, stdout)
	}

	status, stdout, stderr = o.jobserver("replay", "--projection", "identity")
	if status != 0 || !strings.Contains(stdout, "rebuilt identity") {
		t.Fatalf("replay: status %d\n%s\n%s", status, stdout, stderr)
	}
	status, stdout, _ = o.jobserver("verify")
	if status != 0 {
		t.Fatalf("verify after replay: status %d\n%s", status, stdout)
	}

	if status, _, stderr = o.jobserver("replay", "--projection", "nope"); status != 1 || !strings.Contains(stderr, `no projection named "nope"; there are: identity, workspaces`) {
		t.Errorf("unknown projection: status %d, %s", status, stderr)
	}
}

func TestReplayUntilBuildsTheReadModelsAsTheyWereInASchemaOfTheirOwn(t *testing.T) {
	o := newOperator(t)
	o.signIn("ada", "Ada Lovelace")
	time.Sleep(10 * time.Millisecond)
	then := time.Now().UTC()
	time.Sleep(10 * time.Millisecond)
	o.signIn("bob", "Bob Builder")
	ctx := context.Background()
	users := func(schema string) []string {
		t.Helper()
		var logins []string
		if err := o.pool.QueryRow(ctx, `SELECT coalesce(array_agg(login ORDER BY login), '{}') FROM `+schema+`.users`).Scan(&logins); err != nil {
			t.Fatal(err)
		}
		return logins
	}

	status, stdout, stderr := o.jobserver("replay", "--until", then.Format(time.RFC3339Nano), "--schema", "past")
	if status != 0 || !strings.Contains(stdout, "built every read model as of") {
		t.Fatalf("replay --until: status %d\n%s\n%s", status, stdout, stderr)
	}
	if got := users("past"); !slices.Equal(got, []string{"ada"}) {
		t.Errorf("users as of then: %v, want ada alone", got)
	}
	if got := users("readmodel"); !slices.Equal(got, []string{"ada", "bob"}) {
		t.Errorf("the live users: %v, want ada and bob, untouched", got)
	}
	var events int
	if err := o.pool.QueryRow(ctx, `SELECT count(*) FROM past.auditview_events WHERE type = 'UserRegistered'`).Scan(&events); err != nil || events != 1 {
		t.Errorf("the audit read model as of then holds %d registrations (%v), want 1", events, err)
	}

	if status, _, stderr = o.jobserver("replay", "--until", then.Format(time.RFC3339Nano), "--schema", "past"); status != 1 || !strings.Contains(stderr, `the schema "past" exists already`) {
		t.Errorf("replay into an existing schema: status %d, %s", status, stderr)
	}
	for _, args := range [][]string{{"--until", "2026-01-01"}, {"--schema", "x"}, {"--until", "2026-01-01", "--schema", "readmodel"},
		{"--until", "yesterday", "--schema", "x"}} {
		if status, _, _ := o.jobserver(append([]string{"replay"}, args...)...); status == 0 {
			t.Errorf("replay %v succeeded", args)
		}
	}
	if got := users("readmodel"); !slices.Equal(got, []string{"ada", "bob"}) {
		t.Errorf("the live users after the refusals: %v", got)
	}
}
