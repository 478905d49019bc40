package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/projections/audit"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// grace is the person the forgetting tests forget; every piece of her personal data is distinct, so a grep
// finds any copy of it.
var grace = identity.SignInWithGitHub{GitHubID: 7_000_123, Login: "grace-forgettable", Name: "Grace Forgettable Hopper",
	Email: "grace.forgettable@navy.example", AvatarURL: "https://avatars.example/u/7000123"}

const graceNotifications = "grace.lab@navy.example"

func TestForgetUserDestroysThePersonsDataEverywhereButKeepsTheChain(t *testing.T) {
	o := newOperator(t)
	ctx := context.Background()
	t.Setenv("JOBSERVER_AUDIT_SIGNING_KEY", base64.StdEncoding.EncodeToString(auditKeySeed))
	o.signIn("ada-admin", "Ada Admin")
	if status, _, stderr := o.jobserver("admin", "grant-role", "--github-login", "ada-admin", "--role", "Core Developer"); status != 0 {
		t.Fatalf("grant-role: %s", stderr)
	}
	signed, err := o.identity().SignInWithGitHub.Handle(ctx, grace)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.identity().ChangeNotificationEmail.Handle(ctx, identity.ChangeNotificationEmail{
		Actor: commands.CLIActor, UserID: signed.UserID, Email: graceNotifications}); err != nil {
		t.Fatal(err)
	}
	personal := []string{grace.Login, grace.Name, grace.Email, graceNotifications, "7000123"}

	// Encrypted on store: the events table (and every stream name) holds none of it.
	for _, s := range personal {
		var n int
		if err := o.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE data::text ILIKE '%' || $1 || '%' OR stream_id ILIKE '%' || $1 || '%'`, s).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%q is in %d events (%v)", s, n, err)
		}
	}
	// The read models show it, opened.
	if status, _, stderr := o.jobserver("replay"); status != 0 {
		t.Fatalf("replay: %s", stderr)
	}
	u, err := identityviews.NewQueries(o.pool).UserByLogin(ctx, grace.Login)
	if err != nil || u.Name != grace.Name || u.NotifyAddress() != graceNotifications {
		t.Fatalf("before forgetting: %+v, %v", u, err)
	}

	if status, _, stderr := o.jobserver("admin", "forget-user", "--github-login", "ada-admin"); status != 1 || !strings.Contains(stderr, "last Core Developer") {
		t.Fatalf("forgetting the last admin: status %d, %s", status, stderr)
	}
	status, stdout, stderr := o.jobserver("admin", "forget-user", "--github-login", grace.Login)
	if status != 0 || !strings.Contains(stdout, "Forgot user "+signed.UserID) {
		t.Fatalf("forget-user: status %d\n%s\n%s", status, stdout, stderr)
	}
	if status, _, stderr := o.jobserver("admin", "forget-user", "--github-login", grace.Login); status != 1 || !strings.Contains(stderr, "no user") && !strings.Contains(stderr, "forgotten already") {
		t.Fatalf("a forgotten user has no login to find: status %d, %s", status, stderr)
	}

	// A rebuild from the log shows the forgotten user: their key is gone.
	if status, _, stderr := o.jobserver("replay"); status != 0 {
		t.Fatalf("replay after forgetting: %s", stderr)
	}
	u, err = identityviews.NewQueries(o.pool).User(ctx, signed.UserID)
	if err != nil || u.Name != domain.ForgottenPerson || u.Login != "" || u.Email != "" || u.NotifyAddress() != "" || !u.Forgotten {
		t.Fatalf("after forgetting and a rebuild: %+v, %v", u, err)
	}
	if status, stdout, stderr := o.jobserver("verify"); status != 0 {
		t.Fatalf("verify the read models against a rebuild: %s\n%s", stdout, stderr)
	}

	// The chain covers the ciphertext, which never changed: it still verifies.
	key := ed25519.NewKeyFromSeed(auditKeySeed)
	if _, err := audit.NewSealer(o.pool, o.store.Notifier(), key, nil, audit.SealerOptions{}).Seal(ctx); err != nil {
		t.Fatal(err)
	}
	if status, stdout, stderr := o.jobserver("audit", "verify"); status != 0 || !strings.Contains(stdout, "verified") {
		t.Fatalf("audit verify after forgetting: status %d\n%s\n%s", status, stdout, stderr)
	}

	// Nor does an export of the log (it holds the sealed bytes, whose key is gone).
	file := filepath.Join(t.TempDir(), "log.ndjson")
	if status, _, stderr := o.jobserver("audit", "export", "--output", file); status != 0 {
		t.Fatalf("audit export: %s", stderr)
	}
	export, err := os.ReadFile(file)
	if err != nil || !bytes.Contains(export, []byte("PersonForgotten")) {
		t.Fatalf("the export has no PersonForgotten (%v):\n%.500s", err, export)
	}
	for _, s := range personal {
		if bytes.Contains(bytes.ToLower(export), bytes.ToLower([]byte(s))) {
			t.Errorf("the export holds %q", s)
		}
	}

	// The whole database, dumped, holds none of her personal data.
	dump := pgDump(t, os.Getenv("DATABASE_URL"))
	if !bytes.Contains(dump, []byte("Ada Admin")) || !bytes.Contains(dump, []byte("personal_keys")) {
		t.Fatal("the dump holds neither the other user's name in the read models nor the keys table: the grep below would prove nothing")
	}
	for _, s := range personal {
		if bytes.Contains(bytes.ToLower(dump), bytes.ToLower([]byte(s))) {
			t.Errorf("pg_dump holds %q", s)
		}
	}

	// Signing in with the same GitHub account makes a new user: the old one is nobody's.
	again, err := o.identity().SignInWithGitHub.Handle(ctx, grace)
	if err != nil || !again.Registered || again.UserID == signed.UserID {
		t.Fatalf("signing in again: %+v, %v; want a new user", again, err)
	}
}

// pgDump dumps the database at dsn (data and schema) with the pg_dump on this machine.
func pgDump(t *testing.T, dsn string) []byte {
	t.Helper()
	bin, err := exec.LookPath("pg_dump")
	if err != nil && os.Getenv("CI") != "" {
		t.Fatal("pg_dump is not installed")
	} else if err != nil {
		t.Skip("pg_dump is not installed (CI=1 makes this a failure)")
	}
	out, err := exec.Command(bin, "--no-owner", "--dbname", dsn).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	if !bytes.Contains(out, []byte("CREATE TABLE public.events")) {
		t.Fatalf("pg_dump wrote no events table:\n%.500s", out)
	}
	return out
}
