package commands_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mediciasafely/jobserver/commands"
)

func TestSealedSecretsOpenOnlyWithTheirKeyAndTheirBinding(t *testing.T) {
	t.Parallel()
	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	old, err := commands.NewKeyring(oldKey)
	if err != nil {
		t.Fatal(err)
	}
	sealed := old.Seal([]byte("ghp_secret"), []byte("github-token/u1"))
	if bytes.Contains(sealed, []byte("ghp_secret")) {
		t.Fatal("the sealed value holds the plaintext")
	}
	if got, err := old.Open(sealed, []byte("github-token/u1")); err != nil || string(got) != "ghp_secret" {
		t.Fatalf("open: %q, %v", got, err)
	}
	if _, err := old.Open(sealed, []byte("github-token/u2")); !errors.Is(err, commands.ErrUnsealable) {
		t.Fatalf("opened under another binding: %v", err)
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	if _, err := old.Open(tampered, []byte("github-token/u1")); !errors.Is(err, commands.ErrUnsealable) {
		t.Fatalf("opened a tampered value: %v", err)
	}

	// Rotation: the new keyring still opens what the old key sealed while the old key is listed.
	rotated, err := commands.NewKeyring(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	if rotated.SealedUnderCurrent(sealed) {
		t.Fatal("a value sealed under the old key counts as current")
	}
	if got, err := rotated.Open(sealed, []byte("github-token/u1")); err != nil || string(got) != "ghp_secret" {
		t.Fatalf("open after rotation: %q, %v", got, err)
	}
	resealed := rotated.Seal([]byte("ghp_secret"), []byte("github-token/u1"))
	if !rotated.SealedUnderCurrent(resealed) {
		t.Fatal("a resealed value is not under the current key")
	}
	newOnly, _ := commands.NewKeyring(newKey)
	if _, err := newOnly.Open(sealed, []byte("github-token/u1")); !errors.Is(err, commands.ErrUnsealable) {
		t.Fatalf("opened with a key no longer listed: %v", err)
	}
	if _, err := commands.NewKeyring([]byte("short")); err == nil {
		t.Fatal("a short secret key was accepted")
	}
}
