package pgstore_test

import (
	"testing"

	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/eventstore/storetest"
	"github.com/mediciasafely/jobserver/internal/pgtest"
)

func TestPostgresStoreContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) eventstore.Store {
		s := pgstore.New(pgtest.NewPool(t))
		t.Cleanup(s.Close)
		return s
	})
}
