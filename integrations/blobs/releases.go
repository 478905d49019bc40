package blobs

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/mediciasafely/jobserver/commands/releases"
)

// ForReleases is a Store as the releases slice's port (releases.Blobs) sees it: the same calls, with its
// types and its errors.
type ForReleases struct{ Store }

var _ releases.SweptBlobs = ForReleases{}

// Put stores r; a Put beyond limit is releases.ErrTooLarge.
func (f ForReleases) Put(ctx context.Context, r io.Reader, limit int64) (releases.Stored, error) {
	s, err := f.Store.Put(ctx, r, limit)
	if errors.Is(err, ErrTooLarge) {
		return releases.Stored{}, fmt.Errorf("%w: %w", releases.ErrTooLarge, err)
	}
	return releases.Stored(s), err
}

// Open opens stored bytes; absent ones are releases.ErrNotFound.
func (f ForReleases) Open(ctx context.Context, sha256 string) (releases.Blob, error) {
	b, err := f.Store.Open(ctx, sha256)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: %w", releases.ErrNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}

// List names every stored blob, with when it was stored.
func (f ForReleases) List(ctx context.Context, each func(releases.ListedBlob) error) error {
	return f.Store.List(ctx, func(l Listed) error { return each(releases.ListedBlob(l)) })
}
