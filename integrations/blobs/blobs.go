// Package blobs keeps file bytes (released outputs) behind a small port, Store, named by the sha256 of
// their content: Dir keeps them in a directory on this machine, S3 in an S3 bucket for deployments that
// outgrow one machine. Both stream what they store and never leave half-written content under a real name.
package blobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"
)

// ErrTooLarge is a Put of content longer than its limit.
var ErrTooLarge = errors.New("blobs: the content is larger than the limit")

// ErrNotFound is content that is not stored, or a name that could not name any.
var ErrNotFound = errors.New("blobs: no such blob")

// Stored names stored content by what it is.
type Stored struct {
	SHA256 string // lowercase hex
	Size   int64
}

// Blob is stored content opened for reading; Seek allows HTTP range requests (http.ServeContent).
type Blob interface {
	io.ReadSeekCloser
	Size() int64
	ModTime() time.Time
}

// Store is where file bytes live.
type Store interface {
	// Put streams r into storage under the sha256 of its bytes, reading at most limit bytes: beyond that
	// it returns ErrTooLarge and keeps nothing. Content is never held whole in memory. Putting bytes that
	// are already stored keeps one copy and succeeds.
	Put(ctx context.Context, r io.Reader, limit int64) (Stored, error)
	// Open opens stored content by its sha256 (ErrNotFound if absent; a malformed sha256 is ErrNotFound too, never a path).
	Open(ctx context.Context, sha256 string) (Blob, error)
	// Delete removes stored content; deleting what is absent succeeds.
	Delete(ctx context.Context, sha256 string) error
	// List calls each with every blob stored (never a temporary upload), in no set order, and stops at
	// the first error each returns. A blob put or deleted while it lists may or may not be named.
	List(ctx context.Context, each func(Listed) error) error
}

// Listed is a stored blob as List names it: when it was stored is how the orphan sweep tells a crash's
// leftover from an upload still on its way to its event.
type Listed struct {
	SHA256 string // lowercase hex
	Stored time.Time
}

// parseSHA256 returns name in lowercase when it is 64 hex digits: only such a name reaches a path or a key.
func parseSHA256(name string) (string, bool) {
	if len(name) != sha256.Size*2 {
		return "", false
	}
	if _, err := hex.DecodeString(name); err != nil {
		return "", false
	}
	return strings.ToLower(name), true
}

// content is what a Put reads: it hashes and counts the bytes as they pass, ends the Put when its context
// ends, and fails on the first byte past the limit (reading one byte more than the limit is how it knows).
type content struct {
	ctx   context.Context
	r     io.Reader
	limit int64
	hash  hash.Hash
	size  int64
	// err is the first failure Read returned: the cause of a failed Put, whatever the adapter wraps it in.
	err error
}

func newContent(ctx context.Context, r io.Reader, limit int64) (*content, error) {
	if limit < 0 {
		return nil, fmt.Errorf("blobs: a negative limit (%d)", limit)
	}
	return &content{ctx: ctx, r: r, limit: limit, hash: sha256.New()}, nil
}

func (c *content) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if err := c.ctx.Err(); err != nil {
		c.err = err
		return 0, err
	}
	if room := c.limit - c.size + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := c.r.Read(p)
	c.hash.Write(p[:n])
	c.size += int64(n)
	if c.size > c.limit {
		c.err = fmt.Errorf("%w (%d bytes)", ErrTooLarge, c.limit)
		return 0, c.err
	}
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// stored names the content read, once all of it has been.
func (c *content) stored() Stored {
	return Stored{SHA256: hex.EncodeToString(c.hash.Sum(nil)), Size: c.size}
}

// failure is why a Put that read c failed: what Read failed with, rather than how an adapter reported it.
func (c *content) failure(err error) error {
	if c.err != nil {
		return c.err
	}
	return err
}
