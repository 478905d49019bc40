// Package releases holds the use cases of released outputs (step 10 of the user guide, reference §5): a
// backend's release tool creates a release with its file list and uploads each file's bytes on behalf of a
// user; an Output Checker deletes a released file with a reason. The bytes live in blob storage (the Blobs
// port) under their sha256, shared by every file with the same bytes; the Remover reactor deletes them
// once no live file references them.
package releases

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// Commands is every use case of the slice, each decorated once.
type Commands struct {
	CreateRelease     commands.Handler[CreateRelease, Created]
	UploadReleaseFile commands.Handler[UploadReleaseFile, Uploaded]
	DeleteReleaseFile commands.Handler[DeleteReleaseFile, commands.Result]
	handlers
}

// New builds the slice on the kit's event log and the blob storage; maxFileSize is the largest released
// file in bytes (domain.DefaultReleaseFileLimit when 0 or less).
func New(k commands.Kit, blobs Blobs, maxFileSize int64) *Commands {
	if maxFileSize <= 0 {
		maxFileSize = domain.DefaultReleaseFileLimit
	}
	logger := k.Logger
	if logger == nil {
		logger = slog.Default()
	}
	h := handlers{log: k.Log, logger: logger, blobs: blobs, maxFileSize: maxFileSize}
	return &Commands{
		CreateRelease:     commands.NewHandler(k, "CreateRelease", h.createRelease),
		UploadReleaseFile: commands.NewHandler(k, "UploadReleaseFile", h.uploadReleaseFile),
		DeleteReleaseFile: commands.NewHandler(k, "DeleteReleaseFile", h.deleteReleaseFile),
		handlers:          h,
	}
}

type handlers struct {
	log         *commands.EventLog
	logger      *slog.Logger
	blobs       Blobs
	maxFileSize int64
}

// CreateRelease is a release tool's file list for a workspace, sent from the backend of BackendID (known
// by its token) on behalf of the user acting (its OS-User). ReleaseID is "" for a new ULID, or the id the
// tool chose (airlock's release-request id).
type CreateRelease struct {
	commands.Actor
	BackendID     string
	WorkspaceName string
	ReleaseID     string
	Files         []domain.ReleaseFileRequest
	Metadata      map[string]any
	Review        map[string]any
}

// Created is a release, new or created before with the same files.
type Created struct {
	ReleaseID string
	// Path is the address of the release's page: /{org}/{project}/{workspace}/releases/{id}.
	Path string
	commands.Result
}

// createRelease finds the workspace by its reserved name, reads the actor's permissions on its project and
// the backend's members, and decides on the release stream: new, the same again (nothing appended), or a
// conflict. Every stream read guards the append.
func (h handlers) createRelease(ctx context.Context, cmd CreateRelease) (Created, error) {
	releaseID := domain.NewID(h.log.Now())
	if cmd.ReleaseID != "" {
		var err error
		if releaseID, err = domain.NormalizeReleaseID(cmd.ReleaseID); err != nil {
			return Created{}, err
		}
	}
	files := make([]domain.ReleaseFileRequest, len(cmd.Files))
	for i, f := range cmd.Files {
		f.FileID = domain.NewID(h.log.Now())
		files[i] = f
	}
	var ws *domain.Workspace
	res, err := commands.Retry(ctx, func() (commands.Result, error) {
		var err error
		if ws, err = h.workspaceNamed(ctx, cmd.WorkspaceName); err != nil {
			return commands.Result{}, err
		}
		by, err := cmd.OnProject(ctx, h.log, ws.ProjectID())
		if err != nil {
			return commands.Result{}, err
		}
		backend, _, err := commands.LoadAggregate[domain.Backend](ctx, h.log, domain.BackendStream(cmd.BackendID))
		if err != nil {
			return commands.Result{}, err
		}
		existing, version, err := commands.LoadAggregate[domain.Release](ctx, h.log, domain.ReleaseStream(releaseID))
		if err != nil {
			return commands.Result{}, err
		}
		events, err := ws.CreateRelease(by, backend, existing, domain.NewRelease{
			ReleaseID: releaseID, Files: files, Metadata: cmd.Metadata, Review: cmd.Review, MaxFileSize: h.maxFileSize,
		})
		if err != nil {
			return commands.Result{}, err
		}
		return h.log.Append(ctx, cmd.Actor, []commands.Write{{Stream: domain.ReleaseStream(releaseID), Expected: eventstore.Exactly(version), Events: events}})
	})
	if err != nil {
		return Created{}, err
	}
	path, err := h.releasePath(ctx, ws, releaseID)
	return Created{ReleaseID: releaseID, Path: path, Result: res}, err
}

// workspaceNamed loads the workspace that holds a name.
func (h handlers) workspaceNamed(ctx context.Context, name string) (*domain.Workspace, error) {
	var reserved domain.Reservation
	if _, err := h.log.Load(ctx, domain.WorkspaceNameStream(name), &reserved); err != nil {
		return nil, err
	}
	if !reserved.Held() {
		return nil, domain.NotFound("No such workspace: " + name + ".")
	}
	ws, _, err := commands.LoadAggregate[domain.Workspace](ctx, h.log, domain.WorkspaceStream(reserved.Owner()))
	return ws, err
}

// releasePath is the address of a release's page, from the slugs of the workspace's project and organisation.
func (h handlers) releasePath(ctx context.Context, ws *domain.Workspace, releaseID string) (string, error) {
	project, _, err := commands.LoadAggregate[domain.Project](ctx, h.log, domain.ProjectStream(ws.ProjectID()))
	if err != nil {
		return "", err
	}
	var org domain.Org
	if project.OrgID() != "" {
		if _, err := h.log.Load(ctx, domain.OrgStream(project.OrgID()), &org); err != nil {
			return "", err
		}
	}
	return "/" + url.PathEscape(org.Slug()) + "/" + url.PathEscape(project.Slug()) + "/" + url.PathEscape(ws.Name()) +
		"/releases/" + url.PathEscape(releaseID), nil
}

// UploadReleaseFile is the bytes of one listed file of a release, sent from the backend of BackendID on
// behalf of the user acting. DeclaredSize is the request's Content-Length, -1 when it has none. Body is
// read once, streamed into blob storage; it is never held whole in memory.
type UploadReleaseFile struct {
	commands.Actor
	BackendID    string
	ReleaseID    string
	Name         string
	DeclaredSize int64
	Body         io.Reader
}

// Uploaded is a file whose bytes were stored and recorded.
type Uploaded struct {
	FileID string
	commands.Result
}

// uploadReleaseFile decides all it can before reading a byte (so a refused upload stores nothing), then
// streams the body into storage with the size limit, then decides with the bytes' sha256 and appends the
// upload with a reference to the bytes in one append. The first decision is on the state read before
// the body: every stream read guards the append, so a release, role or backend changed during the upload
// makes it decide again on fresh state rather than on what it read, without reading it all again when
// nothing changed. Bytes stored by an upload that is then refused are removed unless another live file
// has the same.
func (h handlers) uploadReleaseFile(ctx context.Context, cmd UploadReleaseFile) (Uploaded, error) {
	id, err := domain.NormalizeReleaseID(cmd.ReleaseID)
	if err != nil {
		return Uploaded{}, domain.NotFound("No such release: " + cmd.ReleaseID + ".")
	}
	cmd.ReleaseID = id
	var stored *Stored // once the body is stored
	out, err := commands.Retry(ctx, func() (Uploaded, error) {
		release, version, by, upload, err := h.uploadState(ctx, cmd)
		if err != nil {
			return Uploaded{}, err
		}
		if stored == nil {
			if _, err := release.CheckUpload(by, upload); err != nil {
				return Uploaded{}, err
			}
			s, err := h.store(ctx, cmd)
			if err != nil {
				return Uploaded{}, err
			}
			stored = &s
		}
		uploaded, err := release.UploadFile(by, upload, stored.SHA256, stored.Size)
		if err != nil {
			return Uploaded{}, err
		}
		blob, blobVersion, err := commands.LoadAggregate[domain.Blob](ctx, h.log, domain.BlobStream(stored.SHA256))
		if err != nil {
			return Uploaded{}, err
		}
		referenced, err := blob.Reference(stored.SHA256, uploaded.ReleaseID, uploaded.FileID, stored.Size)
		if err != nil {
			return Uploaded{}, err
		}
		// Read after the blob stream: a removal that deleted the bytes since the Put has appended there.
		if err := h.stillStored(ctx, stored.SHA256); err != nil {
			return Uploaded{}, err
		}
		res, err := h.log.Append(ctx, cmd.Actor, []commands.Write{
			{Stream: domain.ReleaseStream(cmd.ReleaseID), Expected: eventstore.Exactly(version), Events: []domain.Event{uploaded}},
			{Stream: domain.BlobStream(stored.SHA256), Expected: eventstore.Exactly(blobVersion), Events: referenced},
		})
		return Uploaded{FileID: uploaded.FileID, Result: res}, err
	})
	if err != nil {
		// Bytes being removed, or gone already, need no removal of their own.
		if stored != nil && !errors.Is(err, domain.ErrBlobBeingRemoved) {
			h.removeIfUnreferenced(ctx, cmd.Actor, stored.SHA256)
		}
		return Uploaded{}, err
	}
	return out, nil
}

// store streams an upload's body into storage, within the size limit.
func (h handlers) store(ctx context.Context, cmd UploadReleaseFile) (Stored, error) {
	body := &body{r: cmd.Body}
	stored, err := h.blobs.Put(ctx, body, h.maxFileSize)
	switch {
	case errors.Is(err, ErrTooLarge):
		return Stored{}, domain.ReleaseFileTooLarge(h.maxFileSize)
	case err != nil && body.err != nil:
		return Stored{}, domain.Invalid("file", "The file's bytes stopped arriving before their end; nothing was kept. Send the file again.")
	case err != nil:
		return Stored{}, fmt.Errorf("store the bytes of %s: %w", cmd.Name, err)
	}
	return stored, nil
}

// body is an upload's body that remembers a failure to read it (the sender went away mid-stream), so that
// it is told from a failure of the storage.
type body struct {
	r   io.Reader
	err error
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// uploadState loads the release an upload is for and its version, the actor as its project sees them, and
// the backend the upload comes from.
func (h handlers) uploadState(ctx context.Context, cmd UploadReleaseFile) (release *domain.Release, version int64, by domain.Actor, upload domain.Upload, err error) {
	if release, version, err = commands.LoadAggregate[domain.Release](ctx, h.log, domain.ReleaseStream(cmd.ReleaseID)); err != nil {
		return
	}
	if !release.Exists() {
		err = domain.NotFound("No such release: " + cmd.ReleaseID + ".")
		return
	}
	if by, err = cmd.OnProject(ctx, h.log, release.ProjectID()); err != nil {
		return
	}
	backend, _, err := commands.LoadAggregate[domain.Backend](ctx, h.log, domain.BackendStream(cmd.BackendID))
	upload = domain.Upload{Backend: backend, Name: cmd.Name, DeclaredSize: cmd.DeclaredSize, MaxFileSize: h.maxFileSize}
	return
}

// stillStored refuses, as a removal's, bytes that are gone from storage.
func (h handlers) stillStored(ctx context.Context, sha256 string) error {
	b, err := h.blobs.Open(ctx, sha256)
	if errors.Is(err, ErrNotFound) {
		return domain.ErrBlobBeingRemoved
	}
	if err != nil {
		return fmt.Errorf("check the stored bytes %s: %w", sha256, err)
	}
	return b.Close()
}

// cleanupTimeout bounds the removal of a refused upload's bytes, which outlives the request.
const cleanupTimeout = 10 * time.Second

// removeIfUnreferenced starts the removal of bytes that no live file references, through the blob stream
// like any removal, so an upload of the same bytes at the same moment either wins or is told to send
// again. A failure is logged: the upload's own error is what its sender needs.
func (h handlers) removeIfUnreferenced(ctx context.Context, actor commands.Actor, sha256 string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_, err := commands.Retry(ctx, func() (commands.Result, error) {
		blob, version, err := commands.LoadAggregate[domain.Blob](ctx, h.log, domain.BlobStream(sha256))
		if err != nil {
			return commands.Result{}, err
		}
		return h.log.Append(ctx, actor, []commands.Write{{Stream: domain.BlobStream(sha256), Expected: eventstore.Exactly(version),
			Events: blob.RemoveUnreferenced(sha256)}})
	})
	if err != nil {
		h.logger.ErrorContext(ctx, "remove the bytes of a refused upload", slog.String("sha256", sha256), slog.Any("error", err))
	}
}

// DeleteReleaseFile deletes (redacts) a released file (needs release_file_delete on its project), with the
// reason the event keeps.
type DeleteReleaseFile struct {
	commands.Actor
	ReleaseID string
	FileID    string
	Reason    string
}

// deleteReleaseFile decides on the release and, for a file whose bytes were uploaded, releases its
// reference to them in the same append; the last reference gone starts the bytes' removal there too.
func (h handlers) deleteReleaseFile(ctx context.Context, cmd DeleteReleaseFile) (commands.Result, error) {
	return commands.Retry(ctx, func() (commands.Result, error) {
		release, version, err := commands.LoadAggregate[domain.Release](ctx, h.log, domain.ReleaseStream(cmd.ReleaseID))
		if err != nil {
			return commands.Result{}, err
		}
		by, err := cmd.OnProject(ctx, h.log, release.ProjectID())
		if err != nil {
			return commands.Result{}, err
		}
		events, err := release.DeleteFile(by, cmd.FileID, cmd.Reason)
		if err != nil || len(events) == 0 {
			return commands.Result{}, err
		}
		writes := []commands.Write{{Stream: domain.ReleaseStream(cmd.ReleaseID), Expected: eventstore.Exactly(version), Events: events}}
		if sha, uploaded := release.FileSHA256(cmd.FileID); uploaded {
			blob, blobVersion, err := commands.LoadAggregate[domain.Blob](ctx, h.log, domain.BlobStream(sha))
			if err != nil {
				return commands.Result{}, err
			}
			writes = append(writes, commands.Write{Stream: domain.BlobStream(sha), Expected: eventstore.Exactly(blobVersion),
				Events: blob.Release(sha, cmd.ReleaseID, cmd.FileID)})
		}
		return h.log.Append(ctx, cmd.Actor, writes)
	})
}
