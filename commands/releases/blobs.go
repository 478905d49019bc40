package releases

import (
	"context"
	"errors"
	"io"
	"time"
)

// Blobs is the port where released files' bytes live, named by their sha256 (integrations/blobs: a
// directory, or S3).
type Blobs interface {
	// Put streams r into storage under the sha256 of its bytes, reading at most limit bytes: beyond that it
	// fails with an error that is ErrTooLarge and keeps nothing. Bytes already stored are kept once.
	Put(ctx context.Context, r io.Reader, limit int64) (Stored, error)
	// Open opens stored bytes by their sha256; absent ones are ErrNotFound.
	Open(ctx context.Context, sha256 string) (Blob, error)
	// Delete removes stored bytes; deleting what is absent succeeds.
	Delete(ctx context.Context, sha256 string) error
}

// Stored names stored bytes by what they are.
type Stored struct {
	SHA256 string // lowercase hex
	Size   int64
}

// Blob is stored bytes opened for reading; Seek serves range requests.
type Blob interface {
	io.ReadSeekCloser
	Size() int64
	ModTime() time.Time
}

var (
	// ErrTooLarge is a Put of more bytes than its limit.
	ErrTooLarge = errors.New("releases: the bytes are larger than the limit")
	// ErrNotFound is bytes that are not stored.
	ErrNotFound = errors.New("releases: no such bytes in storage")
)
