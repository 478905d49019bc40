package eventstore_test

import (
	"testing"

	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/storetest"
)

func TestMemoryStoreContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(*testing.T) eventstore.Store { return eventstore.NewMemory() })
}

func TestMemoryStoreWithoutTransactionsContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(*testing.T) eventstore.Store { return eventstore.NewMemoryWithoutTransactions() })
}
