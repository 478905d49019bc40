package main

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// TestReencryptSecretsMovesTokensToTheCurrentKey: after a key rotation, tokens sealed under the old key
// still open while it is listed, and the task reseals them under the new one, once.
func TestReencryptSecretsMovesTokensToTheCurrentKey(t *testing.T) {
	o := newOperator(t)
	ctx := context.Background()
	oldKey, newKey := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	oldBytes, _ := hex.DecodeString(oldKey)
	oldRing, err := commands.NewKeyring(oldBytes)
	if err != nil {
		t.Fatal(err)
	}
	key := domain.GitHubTokenSecretKey("u1")
	sealed := oldRing.Seal([]byte("ghp_demo"), []byte(key))
	if _, err := o.store.Append(ctx, []eventstore.Append{{Stream: "test-seed", Expected: eventstore.NoStream, Events: []eventstore.NewEvent{
		{ID: domain.NewULID(time.Now()), Type: "TestSeeded", SchemaVersion: 1, Data: []byte(`{}`)},
	}}}, eventstore.SecretWrite{Key: key, Value: sealed}); err != nil {
		t.Fatal(err)
	}

	t.Setenv("JOBSERVER_SECRET_KEY", newKey)
	t.Setenv("JOBSERVER_OLD_SECRET_KEYS", "")
	if status, _, stderr := o.jobserver("admin", "reencrypt-secrets"); status != 1 || !strings.Contains(stderr, "JOBSERVER_OLD_SECRET_KEYS") {
		t.Fatalf("without the old key: status %d, stderr %s", status, stderr)
	}
	t.Setenv("JOBSERVER_OLD_SECRET_KEYS", oldKey)
	if status, stdout, stderr := o.jobserver("admin", "reencrypt-secrets"); status != 0 || !strings.Contains(stdout, "Re-encrypted 1 secret(s)") {
		t.Fatalf("status %d\nstdout %s\nstderr %s", status, stdout, stderr)
	}
	if _, stdout, _ := o.jobserver("admin", "reencrypt-secrets"); !strings.Contains(stdout, "Re-encrypted 0 secret(s) under the current key; 1 already were") {
		t.Fatalf("second run: %s", stdout)
	}
	newBytes, _ := hex.DecodeString(newKey)
	newRing, _ := commands.NewKeyring(newBytes)
	value, _, err := o.store.Secret(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := newRing.Open(value, []byte(key)); err != nil || string(plain) != "ghp_demo" {
		t.Fatalf("the new key alone opens %q, %v", plain, err)
	}
}
