package projections

import (
	"context"

	"github.com/mediciasafely/jobserver/eventstore"
)

// Waiter waits, up to ctx's deadline, until the named projectors (every one when none is named) have
// applied the events up to pos: how a page shows what its user just did.
type Waiter interface {
	WaitFor(ctx context.Context, pos eventstore.Position, projectors ...string) error
}
