package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mediciasafely/jobserver/projections/audit"
)

// auditKeySeed is the seed of the signing key the audit tests configure.
var auditKeySeed = bytes.Repeat([]byte{42}, ed25519.SeedSize)

func TestAuditExportAndVerifyFindTamperingInTheDatabaseAndInAnExport(t *testing.T) {
	o := newOperator(t)
	t.Setenv("JOBSERVER_AUDIT_SIGNING_KEY", base64.StdEncoding.EncodeToString(auditKeySeed))
	o.signIn("ada", "Ada Lovelace")
	grace := o.signIn("grace", "Grace Hopper")
	key := ed25519.NewKeyFromSeed(auditKeySeed)
	if _, err := audit.NewSealer(o.pool, o.store.Notifier(), key, nil, audit.SealerOptions{}).Seal(context.Background()); err != nil {
		t.Fatal(err)
	}

	status, stdout, stderr := o.jobserver("audit", "public-key")
	public := audit.FormatPublicKey(key.Public().(ed25519.PublicKey))
	if status != 0 || strings.TrimSpace(stdout) != public {
		t.Fatalf("public-key: status %d, %q, %s; want %s", status, stdout, stderr, public)
	}
	status, stdout, stderr = o.jobserver("audit", "verify")
	if status != 0 || !strings.Contains(stdout, "verified 4 events up to position 4 and 1 signed checkpoints") {
		t.Fatalf("verify of the database: status %d\n%s\n%s", status, stdout, stderr)
	}

	file := filepath.Join(t.TempDir(), "log.ndjson")
	if status, _, stderr = o.jobserver("audit", "export", "--output", file); status != 0 {
		t.Fatalf("export: status %d: %s", status, stderr)
	}
	// Offline: no database, and the key given as the auditor holds it.
	dsn := os.Getenv("DATABASE_URL")
	t.Setenv("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none?sslmode=disable")
	t.Setenv("JOBSERVER_AUDIT_SIGNING_KEY", "")
	status, stdout, stderr = o.jobserver("audit", "verify", "--export", file, "--public-key", public)
	if status != 0 || !strings.Contains(stdout, "verified 4 events") {
		t.Fatalf("verify of the export: status %d\n%s\n%s", status, stdout, stderr)
	}
	export, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// Her name is sealed in the export (forgetting her must not break the chain); her user id is not.
	if bytes.Contains(export, []byte("Grace Hopper")) {
		t.Fatalf("the export holds a name in plaintext:\n%s", export)
	}
	last := byte('0')
	if grace[len(grace)-1] == last {
		last = '1'
	}
	altered := bytes.Replace(export, []byte(grace), append([]byte(grace[:len(grace)-1]), last), 1)
	if bytes.Equal(altered, export) {
		t.Fatalf("the export does not hold the user id to alter:\n%s", export)
	}
	if err := os.WriteFile(file, altered, 0o600); err != nil {
		t.Fatal(err)
	}
	status, stdout, _ = o.jobserver("audit", "verify", "--export", file, "--public-key", public)
	if status != 1 || !strings.Contains(stdout, "TAMPERED: altered: position ") {
		t.Errorf("verify of an altered export: status %d\n%s", status, stdout)
	}
	if status, _, stderr = o.jobserver("audit", "verify", "--export", file); status != 1 || !strings.Contains(stderr, "--public-key") {
		t.Errorf("offline verify without a key: status %d, %s; want one asking for --public-key", status, stderr)
	}

	// A superuser alters history in the database, past the trigger.
	err = pgx.BeginFunc(context.Background(), o.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `SET LOCAL session_replication_role = replica;
			UPDATE events SET data = jsonb_set(data, '{name}', '"Someone Else"') WHERE event_type = 'UserRegistered'`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("DATABASE_URL", dsn)
	status, stdout, _ = o.jobserver("audit", "verify", "--public-key", public)
	if status != 1 || !strings.Contains(stdout, "TAMPERED: altered: position ") {
		t.Errorf("verify of an altered database: status %d\n%s", status, stdout)
	}
}

func TestProductionRefusesToServeWithoutAnAuditSigningKey(t *testing.T) {
	t.Setenv("JOBSERVER_ENV", "production")
	t.Setenv("GITHUB_CLIENT_ID", "id")
	t.Setenv("GITHUB_CLIENT_SECRET", "secret")
	t.Setenv("JOBSERVER_SECRET_KEY", strings.Repeat("ab", 32))
	t.Setenv("JOBSERVER_AUDIT_SIGNING_KEY", "")
	for _, args := range [][]string{{"serve"}, {"audit", "public-key"}} {
		var stdout, stderr bytes.Buffer
		if status := run(args, &stdout, &stderr); status != 1 || !strings.Contains(stderr.String(), "JOBSERVER_AUDIT_SIGNING_KEY is required in production") {
			t.Errorf("%v: status %d, %s; want a refusal naming JOBSERVER_AUDIT_SIGNING_KEY", args, status, stderr.String())
		}
	}
	t.Setenv("JOBSERVER_AUDIT_SIGNING_KEY", "not a key")
	var stdout, stderr bytes.Buffer
	if status := run([]string{"audit", "public-key"}, &stdout, &stderr); status != 1 || !strings.Contains(stderr.String(), "base64 of a 32-byte seed") {
		t.Errorf("a bad key: status %d, %s", status, stderr.String())
	}
}
