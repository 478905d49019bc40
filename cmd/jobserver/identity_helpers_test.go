package main

import (
	"encoding/hex"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
)

// newIdentity is the identity commands on store, sealing personal data with the test process's keys (as
// the runners of these tests open it).
func newIdentity(store eventstore.Store) *identity.Commands {
	return identity.New(commands.Kit{Log: commands.NewEventLog(store, domain.Events, time.Now), Logger: slog.Default()})
}

// sealedEvents is the registry that seals and opens personal data with the keys table in pool's database,
// wrapped under secretKeyHex, as a jobserver process with that JOBSERVER_SECRET_KEY does: a test that
// shares a database with such processes writes and reads events with it.
func sealedEvents(t *testing.T, pool *pgxpool.Pool, secretKeyHex string) *domain.Registry {
	t.Helper()
	key, err := hex.DecodeString(secretKeyHex)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring(key)
	if err != nil {
		t.Fatal(err)
	}
	return domain.Events.WithKeys(pgstore.NewPersonalKeys(pool, ring))
}

// events is the registry the operator's commands seal and open personal data with: the keys table of the
// operator's database under JOBSERVER_SECRET_KEY, as the command line's own.
func (o *operator) events() *domain.Registry {
	o.t.Helper()
	return sealedEvents(o.t, o.pool, os.Getenv("JOBSERVER_SECRET_KEY"))
}

// identity is the identity commands as the operator's command line runs them.
func (o *operator) identity() *identity.Commands {
	return identity.New(commands.Kit{Log: commands.NewEventLog(o.store, o.events(), time.Now), Logger: slog.Default()})
}
