package domain

import "maps"

// Released files' bytes are stored once per sha256 and shared by every file with those bytes. Whether the
// bytes may go is decided on a stream per sha256 (blob-<sha256>) that counts the live files referencing
// them: an upload references them in the same append as its ReleaseFileUploaded, a deletion releases them
// in the same append as its ReleaseFileDeleted and, when it releases the last reference, starts their
// removal there too. Every such append names the version of the blob stream it read, so an upload and the
// removal of the same bytes cannot both succeed: the loser decides again, on a state that shows the other.

// BlobReferenced records that a live file's bytes are these.
type BlobReferenced struct {
	SHA256    string
	ReleaseID string
	FileID    string
	Size      int64
}

func (BlobReferenced) EventType() string { return "BlobReferenced" }

// BlobReleased records that a file no longer references these bytes (it was deleted).
type BlobReleased struct {
	SHA256    string
	ReleaseID string
	FileID    string
}

func (BlobReleased) EventType() string { return "BlobReleased" }

// BlobRemovalStarted records the decision to remove bytes no live file references. Until BlobRemoved, an
// upload of the same bytes is refused (sending it again later succeeds), since the removal may delete them
// at any moment.
type BlobRemovalStarted struct {
	SHA256 string
}

func (BlobRemovalStarted) EventType() string { return "BlobRemovalStarted" }

// BlobRemoved records that the bytes were deleted from blob storage.
type BlobRemoved struct {
	SHA256 string
}

func (BlobRemoved) EventType() string { return "BlobRemoved" }

// BlobStream is the stream that counts the references to the bytes with sha256.
func BlobStream(sha256 string) string { return "blob-" + sha256 }

// ErrBlobBeingRemoved refuses an upload whose bytes are being removed from storage: the same upload sent
// again once the removal finished stores them anew.
var ErrBlobBeingRemoved = &Error{Kind: KindConflict, Slug: "blob-being-removed",
	Message: "The server was removing these same bytes from storage while they were uploaded; please send the file again."}

// Blob is what is known of the bytes with one sha256: which live files reference them, and whether their
// removal has started.
type Blob struct {
	refs     map[string]bool
	removing bool
}

// Apply folds one event of the blob's stream.
func (b *Blob) Apply(e Event) {
	switch e := e.(type) {
	case BlobReferenced:
		if b.refs == nil {
			b.refs = map[string]bool{}
		}
		b.refs[e.FileID] = true
	case BlobReleased:
		delete(b.refs, e.FileID)
	case BlobRemovalStarted:
		b.removing = true
	case BlobRemoved:
		b.removing = false
	}
}

// Clone is a copy that later events do not change, for caching folded state.
func (b *Blob) Clone() *Blob {
	c := *b
	c.refs = maps.Clone(b.refs)
	return &c
}

// Reference decides that the uploaded file (releaseID, fileID) references the bytes sha256 of size bytes;
// refused with ErrBlobBeingRemoved while their removal runs. A reference already held needs no event.
func (b *Blob) Reference(sha256, releaseID, fileID string, size int64) ([]Event, error) {
	switch {
	case b.removing:
		return nil, ErrBlobBeingRemoved
	case b.refs[fileID]:
		return nil, nil
	}
	return []Event{BlobReferenced{SHA256: sha256, ReleaseID: releaseID, FileID: fileID, Size: size}}, nil
}

// Release decides that a deleted file no longer references the bytes; releasing the last reference starts
// their removal in the same append. A file that held no reference needs no event.
func (b *Blob) Release(sha256, releaseID, fileID string) []Event {
	if !b.refs[fileID] {
		return nil
	}
	events := []Event{BlobReleased{SHA256: sha256, ReleaseID: releaseID, FileID: fileID}}
	if len(b.refs) == 1 {
		events = append(events, BlobRemovalStarted{SHA256: sha256})
	}
	return events
}

// RemoveUnreferenced decides removing bytes that were stored but that no live file references (an upload
// refused once its bytes were stored); bytes referenced, or already being removed, need no event.
func (b *Blob) RemoveUnreferenced(sha256 string) []Event {
	if len(b.refs) > 0 || b.removing {
		return nil
	}
	return []Event{BlobRemovalStarted{SHA256: sha256}}
}

// FinishRemoval decides that the removal started is done, once the bytes were deleted; with no removal
// running it needs no event.
func (b *Blob) FinishRemoval(sha256 string) []Event {
	if !b.removing {
		return nil
	}
	return []Event{BlobRemoved{SHA256: sha256}}
}
