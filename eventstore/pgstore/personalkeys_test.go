package pgstore_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
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

// queryCounter counts the queries a pool sends.
type queryCounter struct{ n atomic.Int64 }

func (c *queryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *queryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func TestABatchOfEventsOpensItsPersonalDataWithOneReadOfTheKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	config, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	var queries queryCounter
	config.ConnConfig.Tracer = &queries
	pool, err := pgxpool.NewWithConfig(ctx, config)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	ring := testRing(t, "a server secret key of 32 bytes!")
	writing := domain.Events.WithKeys(pgstore.NewPersonalKeys(pool, ring))
	type stored struct {
		name    string
		version int
		data    []byte
	}
	var log []stored
	for _, e := range []domain.Event{
		domain.UserRegistered{UserID: "user-ada", Profile: domain.NewPersonal("user-ada", domain.GitHubProfile{ID: 1, Login: "ada", Name: "Ada Lovelace"})},
		domain.UserRegistered{UserID: "user-grace", Profile: domain.NewPersonal("user-grace", domain.GitHubProfile{ID: 2, Login: "grace", Name: "Grace Hopper"})},
		domain.NotificationEmailChanged{UserID: "user-ada", Email: domain.NewPersonal("user-ada", "ada@example.org")},
		domain.UserRegistered{UserID: "user-alan", Profile: domain.NewPersonal("user-alan", domain.GitHubProfile{ID: 3, Login: "alan", Name: "Alan Turing"})},
		domain.NotificationEmailChanged{UserID: "user-alan", Email: domain.NewPersonal("user-alan", "alan@example.org")},
		domain.GlobalRoleGranted{UserID: "user-grace", Role: domain.OutputChecker},
	} {
		name, version, data, err := writing.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		log = append(log, stored{name, version, data})
	}
	if err := pgstore.NewPersonalKeys(pool, ring).ForgetSubjects(ctx, "user-alan"); err != nil {
		t.Fatal(err)
	}

	// One by one, as commands and pages decode, each sealed value reads the keys table.
	reading := domain.Events.WithKeys(pgstore.NewPersonalKeys(pool, ring))
	var oneByOne []domain.Event
	before := queries.n.Load()
	for _, s := range log {
		e, err := reading.Decode(s.name, s.version, s.data)
		if err != nil {
			t.Fatal(err)
		}
		oneByOne = append(oneByOne, e)
	}
	if n := queries.n.Load() - before; n != 5 {
		t.Errorf("one by one: %d queries, want one per sealed value (5)", n)
	}

	// As a batch: the same events, with one query.
	var sealed []domain.Event
	for _, s := range log {
		e, err := reading.DecodeSealed(s.name, s.version, s.data)
		if err != nil {
			t.Fatal(err)
		}
		sealed = append(sealed, e)
	}
	before = queries.n.Load()
	opener, err := reading.BatchOpener(sealed)
	if err != nil {
		t.Fatal(err)
	}
	var batch []domain.Event
	for _, e := range sealed {
		opened, err := reading.OpenPersonal(e, opener)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, opened)
	}
	if n := queries.n.Load() - before; n != 1 {
		t.Errorf("a batch of %d events: %d queries, want 1", len(log), n)
	}
	if !reflect.DeepEqual(batch, oneByOne) {
		t.Errorf("the batch opened\n%+v\none by one\n%+v", batch, oneByOne)
	}
	if p := batch[0].(domain.UserRegistered).Profile; p.Value().Name != "Ada Lovelace" || p.Subject() != "user-ada" {
		t.Errorf("Ada's profile: %+v of %q", p.Value(), p.Subject())
	}
	if email := batch[2].(domain.NotificationEmailChanged).Email; email.Value() != "ada@example.org" {
		t.Errorf("Ada's address: %q", email.Value())
	}
	if p := batch[3].(domain.UserRegistered).Profile; !p.Forgotten() || p.Value().Name != "" {
		t.Errorf("the profile of a person forgotten before the batch: %+v, forgotten %v", p.Value(), p.Forgotten())
	}
	if email := batch[4].(domain.NotificationEmailChanged).Email; !email.Forgotten() || email.Value() != "" {
		t.Errorf("the address of a person forgotten before the batch: %q, forgotten %v", email.Value(), email.Forgotten())
	}

	// A value the batch's keys were not read for is opened alone.
	opener, err = reading.BatchOpener(sealed[:1])
	if err != nil {
		t.Fatal(err)
	}
	if grace, err := reading.OpenPersonal(sealed[1], opener); err != nil || !reflect.DeepEqual(grace, oneByOne[1]) {
		t.Errorf("a value outside the batch: %+v, %v", grace, err)
	}

	// A value under a key this database never held fails the batch's opening as it fails alone.
	elsewhere := domain.Events.WithKeys(eventstore.Process())
	name, version, data, err := elsewhere.Encode(domain.UserRegistered{UserID: "user-x",
		Profile: domain.NewPersonal("user-x", domain.GitHubProfile{ID: 9, Login: "x"})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reading.Decode(name, version, data); !errors.Is(err, eventstore.ErrUnknownPersonalKey) {
		t.Fatalf("alone: %v, want ErrUnknownPersonalKey", err)
	}
	stranger, err := reading.DecodeSealed(name, version, data)
	if err != nil {
		t.Fatal(err)
	}
	opener, err = reading.BatchOpener(append(sealed, stranger))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reading.OpenPersonal(stranger, opener); !errors.Is(err, eventstore.ErrUnknownPersonalKey) {
		t.Errorf("in a batch: %v, want ErrUnknownPersonalKey", err)
	}
	if _, err := reading.OpenPersonal(sealed[1], opener); err != nil {
		t.Errorf("another event of the same batch: %v", err)
	}
}
