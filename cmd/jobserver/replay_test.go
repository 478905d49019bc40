package main

import (
	"context"
	"strings"
	"testing"
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
