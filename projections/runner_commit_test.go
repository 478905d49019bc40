package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/projections"
)

// commitSpy is the things projector that notes, for each event applied live, whether its transaction
// waits for the disk at commit.
type commitSpy struct {
	things
	settings chan string
}

func (p commitSpy) Apply(ctx context.Context, db projections.DB, e projections.Event) error {
	var setting string
	if err := db.QueryRow(ctx, `SELECT current_setting('synchronous_commit')`).Scan(&setting); err != nil {
		return err
	}
	select {
	case p.settings <- setting:
	default:
	}
	return p.things.Apply(ctx, db, e)
}

// A projector's live batches commit without waiting for the disk: what they write is made again from the
// log after a crash, and each flush held back every later append from every reader while it lasted.
func TestLiveBatchesOfAProjectorCommitWithoutWaitingForTheDisk(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	p := commitSpy{settings: make(chan string, 10)}
	r := f.runner(p)
	if err := r.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	runLive(t, r)
	last := f.seed(t, 0, 3)
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := r.WaitFor(waitCtx, last); err != nil {
		t.Fatal(err)
	}
	if got := <-p.settings; got != "off" {
		t.Errorf("a live batch runs with synchronous_commit %s, want off", got)
	}
	if got := f.rows(t); len(got) != 3 {
		t.Errorf("%d rows after the live batch, want 3", len(got))
	}
}
