package pgtest

import (
	"context"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/eventstore"
)

// WaitVisible waits until the event at pos can be read from the global log: an append's event becomes
// visible once every transaction older than it has ended.
func WaitVisible(t *testing.T, store eventstore.Store, pos eventstore.Position) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		events, err := store.ReadAll(context.Background(), eventstore.Position{TxID: pos.TxID, Seq: pos.Seq - 1}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) == 1 && events[0].Position == pos {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("event at %v did not become visible", pos)
}
