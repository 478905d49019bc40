package pgstore_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/internal/pgtest"
)

func testRing(t *testing.T, secret string) *commands.Keyring {
	t.Helper()
	ring, err := commands.NewKeyring([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return ring
}

func TestPersonalDataOpensInAnotherProcessUntilItsSubjectIsForgotten(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	ring := testRing(t, "a server secret key of 32 bytes!")
	writer := pgstore.NewPersonalKeys(pool, ring)
	ada, err := writer.SealPersonal("user-ada", []byte(`"Ada Lovelace"`))
	if err != nil {
		t.Fatal(err)
	}
	grace, err := writer.SealPersonal("user-grace", []byte(`"Grace Hopper"`))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ada, []byte("Ada")) {
		t.Fatal("the sealed value holds the plaintext")
	}
	var wrapped []byte
	if err := pool.QueryRow(ctx, `SELECT wrapped FROM personal_keys WHERE subject = 'user-ada'`).Scan(&wrapped); err != nil {
		t.Fatal(err)
	}

	// Another process (an empty cache) opens both, and names their subjects.
	reader := pgstore.NewPersonalKeys(pool, ring)
	for sealed, want := range map[*[]byte]string{&ada: "user-ada", &grace: "user-grace"} {
		plain, subject, forgotten, err := reader.OpenPersonal(*sealed)
		if err != nil || forgotten || subject != want {
			t.Fatalf("open: %q, %q, %v, %v", plain, subject, forgotten, err)
		}
	}

	if err := writer.ForgetSubjects(ctx, "user-ada"); err != nil {
		t.Fatal(err)
	}
	for name, keys := range map[string]*pgstore.PersonalKeys{"the forgetting process": writer, "a process that opened it before": reader,
		"a fresh process": pgstore.NewPersonalKeys(pool, ring)} {
		if _, _, forgotten, err := keys.OpenPersonal(ada); err != nil || !forgotten {
			t.Errorf("%s opens a forgotten subject's data: forgotten %v, err %v", name, forgotten, err)
		}
		if plain, _, forgotten, err := keys.OpenPersonal(grace); err != nil || forgotten || string(plain) != `"Grace Hopper"` {
			t.Errorf("%s: another subject's data: %q, %v, %v", name, plain, forgotten, err)
		}
	}
	var left int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM personal_keys WHERE subject = 'user-ada'`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("the forgotten key's row: %d left, %v", left, err)
	}

	// A subject sealed again after it was forgotten gets a new key, in every process: the old data stays
	// forgotten.
	again, err := reader.SealPersonal("user-ada", []byte(`"someone else"`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, forgotten, _ := writer.OpenPersonal(ada); !forgotten {
		t.Error("a new key for the subject opened the old data")
	}
	if plain, _, _, err := pgstore.NewPersonalKeys(pool, ring).OpenPersonal(again); err != nil || string(plain) != `"someone else"` {
		t.Errorf("the subject's new key: %q, %v", plain, err)
	}
}

func TestDataSealedUnderKeysThisDatabaseNeverHeldIsAnErrorNotForgotten(t *testing.T) {
	t.Parallel()
	keys := pgstore.NewPersonalKeys(pgtest.NewPool(t), testRing(t, "a server secret key of 32 bytes!"))
	elsewhere, err := eventstore.NewDataKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, forgotten, err := keys.OpenPersonal(elsewhere.Seal([]byte("x"))); forgotten || !errors.Is(err, eventstore.ErrUnknownPersonalKey) {
		t.Fatalf("forgotten %v, err %v; want ErrUnknownPersonalKey", forgotten, err)
	}
}

func TestPseudonymsStayTheSameAcrossProcessesAndKeyRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	old := testRing(t, "the old server secret key, 32 b!")
	before, err := pgstore.NewPersonalKeys(pool, old).Pseudonym("github-account:583231")
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := commands.NewKeyring([]byte("the new server secret key, 32 b!"), []byte("the old server secret key, 32 b!"))
	if err != nil {
		t.Fatal(err)
	}
	moved, err := pgstore.RewrapPersonalKeys(ctx, pool, func(wrapped, keyID []byte) ([]byte, error) {
		if rotated.SealedUnderCurrent(wrapped) {
			return nil, nil
		}
		raw, err := rotated.Open(wrapped, keyID)
		return rotated.Seal(raw, keyID), err
	})
	if err != nil || moved != 1 {
		t.Fatalf("rewrapped %d, %v", moved, err)
	}
	current, err := commands.NewKeyring([]byte("the new server secret key, 32 b!"))
	if err != nil {
		t.Fatal(err)
	}
	after, err := pgstore.NewPersonalKeys(pool, current).Pseudonym("github-account:583231")
	if err != nil || after != before || len(after) != 32 || after == "github-account:583231" {
		t.Fatalf("pseudonym %q after rotation, %q before (%v)", after, before, err)
	}
}
