package blobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Dir keeps content in a directory: each blob at ab/abcdef… (its sha256, in a folder named by the first two
// hex digits, so no folder grows past a few thousand entries), written first under tmp/ and renamed into
// place once complete and synced, so a crash leaves at most a temporary file, never half a blob under a
// real name.
type Dir struct {
	root string
}

// NewDir opens (creating) the directory dir and removes the temporary files a crashed Put left behind.
func NewDir(dir string) (*Dir, error) {
	d := &Dir{root: dir}
	if err := os.MkdirAll(d.tempDir(), 0o750); err != nil {
		return nil, fmt.Errorf("blobs: create the blob directory: %w", err)
	}
	if err := d.removeLeftovers(); err != nil {
		return nil, fmt.Errorf("blobs: remove temporary files left by a crash: %w", err)
	}
	return d, nil
}

func (d *Dir) tempDir() string { return filepath.Join(d.root, "tmp") }

func (d *Dir) path(sha string) string { return filepath.Join(d.root, sha[:2], sha) }

// removeLeftovers removes the temporary files no Put is writing. A Put holds an exclusive flock on its
// file until the file is renamed or removed, and the kernel drops the lock of a process that dies, so a
// server starting while another still serves from the same directory (a rolling restart) leaves that
// one's uploads alone.
func (d *Dir) removeLeftovers() error {
	entries, err := os.ReadDir(d.tempDir())
	if err != nil {
		return err
	}
	for _, e := range entries {
		path := filepath.Join(d.tempDir(), e.Name())
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // its Put finished meanwhile
		}
		if err != nil {
			return err
		}
		if lockExclusive(f) == nil {
			err = os.Remove(path)
		}
		f.Close()
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func lockExclusive(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// createTemp creates a temporary file under tmp/ and locks it; if another process's NewDir removed it
// between the two, it tries again with a new one.
func (d *Dir) createTemp() (*os.File, error) {
	for {
		f, err := os.CreateTemp(d.tempDir(), "put-*")
		if err != nil {
			return nil, err
		}
		if err := lockExclusive(f); err != nil {
			f.Close()
			return nil, err
		}
		opened, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		if named, err := os.Stat(f.Name()); err == nil && os.SameFile(opened, named) {
			return f, nil
		}
		f.Close()
	}
}

// Put writes r to a temporary file while hashing it (copyToFile: the disk writes as the bytes arrive), then
// syncs and renames it to its sha256's path and
// syncs the folder, so the blob and its name both survive a crash once Put has returned.
func (d *Dir) Put(ctx context.Context, r io.Reader, limit int64) (Stored, error) {
	c, err := newContent(ctx, r, limit)
	if err != nil {
		return Stored{}, err
	}
	temp, err := d.createTemp()
	if err != nil {
		return Stored{}, fmt.Errorf("blobs: create a temporary file: %w", err)
	}
	renamed := false
	defer func() {
		if !renamed {
			os.Remove(temp.Name()) // removed while still locked, so no NewDir races with it
		}
		temp.Close()
	}()
	if err := copyToFile(temp, c); err != nil {
		return Stored{}, c.failure(fmt.Errorf("blobs: write a temporary file: %w", err))
	}
	stored := c.stored()
	final := d.path(stored.SHA256)
	if _, err := os.Stat(final); err == nil {
		return stored, nil // already stored; a second rename would only move its modification time
	}
	if err := temp.Sync(); err != nil {
		return Stored{}, fmt.Errorf("blobs: sync a temporary file: %w", err)
	}
	folder := filepath.Dir(final)
	err = os.Mkdir(folder, 0o750)
	newFolder := err == nil
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return Stored{}, fmt.Errorf("blobs: create a blob folder: %w", err)
	}
	// Renamed while the file is open and locked: closing first would let a NewDir remove it.
	if err := os.Rename(temp.Name(), final); err != nil {
		return Stored{}, fmt.Errorf("blobs: rename a blob into place: %w", err)
	}
	renamed = true
	if err := syncDir(folder); err != nil {
		return Stored{}, err
	}
	if newFolder {
		if err := syncDir(d.root); err != nil {
			return Stored{}, err
		}
	}
	return stored, nil
}

// syncDir makes the entries created in dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("blobs: sync a folder: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("blobs: sync a folder: %w", err)
	}
	return nil
}

// Open opens the blob for reading.
func (d *Dir) Open(_ context.Context, sha256 string) (Blob, error) {
	sha, ok := parseSHA256(sha256)
	if !ok {
		return nil, ErrNotFound
	}
	f, err := os.Open(d.path(sha))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("blobs: open a blob: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blobs: open a blob: %w", err)
	}
	return fileBlob{File: f, info: info}, nil
}

type fileBlob struct {
	*os.File
	info fs.FileInfo
}

func (b fileBlob) Size() int64        { return b.info.Size() }
func (b fileBlob) ModTime() time.Time { return b.info.ModTime() }

// Delete removes the blob; a reader that has it open keeps reading it.
func (d *Dir) Delete(_ context.Context, sha256 string) error {
	sha, ok := parseSHA256(sha256)
	if !ok {
		return nil // no blob has such a name
	}
	if err := os.Remove(d.path(sha)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blobs: delete a blob: %w", err)
	}
	return nil
}

// List walks the blob folders (ab/abcdef…), leaving out tmp/ and whatever is not named as a blob there.
func (d *Dir) List(ctx context.Context, each func(Listed) error) error {
	folders, err := os.ReadDir(d.root)
	if err != nil {
		return fmt.Errorf("blobs: list the blob directory: %w", err)
	}
	for _, folder := range folders {
		if !folder.IsDir() || len(folder.Name()) != 2 {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(d.root, folder.Name()))
		if err != nil {
			return fmt.Errorf("blobs: list a blob folder: %w", err)
		}
		for _, e := range entries {
			sha, ok := parseSHA256(e.Name())
			if !ok || sha != e.Name() || sha[:2] != folder.Name() || !e.Type().IsRegular() {
				continue
			}
			info, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted since the folder was read
			}
			if err != nil {
				return fmt.Errorf("blobs: list a blob: %w", err)
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := each(Listed{SHA256: sha, Stored: info.ModTime()}); err != nil {
				return err
			}
		}
	}
	return nil
}
