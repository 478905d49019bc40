package releases

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// RemoverName is the name of the reactor that deletes bytes whose removal started, and of its checkpoint.
const RemoverName = "release-blob-removal"

// Remover deletes from blob storage the bytes whose removal was decided (BlobRemovalStarted) and records
// that they are gone (BlobRemoved). It decides nothing: the decision was appended, guarded by the blob
// stream's version, by the deletion or the refused upload that released the last reference; until
// BlobRemoved, uploads of the same bytes are told to send them again. Reacting twice to one event is
// harmless: the second finds the removal finished.
type Remover struct {
	log    *commands.EventLog
	logger *slog.Logger
	blobs  Blobs
}

// NewRemover builds the reactor on the kit's event log and the blob storage.
func NewRemover(k commands.Kit, blobs Blobs) *Remover {
	logger := k.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &Remover{log: k.Log, logger: logger, blobs: blobs}
}

// RemoverHandles lists the event types the Remover reacts to.
func RemoverHandles() []string { return []string{domain.BlobRemovalStarted{}.EventType()} }

// React finishes the removal an event started; eventID, the event's id, is the cause of what it appends.
func (r *Remover) React(ctx context.Context, e domain.Event, eventID string) error {
	started, ok := e.(domain.BlobRemovalStarted)
	if !ok {
		return nil
	}
	ctx = commands.WithCausationID(ctx, eventID)
	res, err := finishRemoval(ctx, r.log, r.blobs, commands.ReactorActor(RemoverName), started.SHA256)
	if err == nil && res.Changed() {
		r.logger.InfoContext(ctx, "removed the bytes no released file references", slog.String("sha256", started.SHA256))
	}
	return err
}

// finishRemoval deletes the bytes sha256 from storage if their removal has started, and records that
// they are gone; with no removal running it does nothing.
func finishRemoval(ctx context.Context, log *commands.EventLog, blobs Blobs, actor commands.Actor, sha256 string) (commands.Result, error) {
	return commands.Retry(ctx, func() (commands.Result, error) {
		blob, version, err := commands.LoadAggregate[domain.Blob](ctx, log, domain.BlobStream(sha256))
		if err != nil {
			return commands.Result{}, err
		}
		finished := blob.FinishRemoval(sha256)
		if len(finished) == 0 {
			return commands.Result{}, nil
		}
		if err := blobs.Delete(ctx, sha256); err != nil {
			return commands.Result{}, fmt.Errorf("delete the bytes %s: %w", sha256, err)
		}
		return log.Append(ctx, actor, []commands.Write{{Stream: domain.BlobStream(sha256), Expected: eventstore.Exactly(version), Events: finished}})
	})
}
