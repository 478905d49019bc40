package releases

import (
	"io"
	"log/slog"
	"mime"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/domain"
	releaseviews "github.com/mediciasafely/jobserver/projections/releases"
)

// downloadRelease is "Download all" of a release: a zip of its files under their paths in the release, so
// that whoever unpacks it follows the folders down to the outputs. A deleted file leaves a note in its
// place saying who deleted it and why; a file not uploaded yet has nothing to put there and is left out.
func (a *Handlers) downloadRelease(w http.ResponseWriter, r *http.Request) error {
	v, err := a.Views.Release(r.Context(), chi.URLParam(r, "release"), viewerID(r))
	if domain.KindOf(err) == domain.KindNotFound {
		return releaseNotFound(r)
	}
	if err := atAddress(r, v.Viewing, err); err != nil {
		return err
	}
	var entries []zipEntry
	for _, f := range v.Files {
		switch {
		case f.Deleted():
			entries = append(entries, zipEntry{Name: f.Name, Modified: *f.DeletedAt, Stub: deletedNote(f)})
		case f.Uploaded():
			entries = append(entries, zipEntry{Name: f.Name, SHA256: f.SHA256, Modified: *f.UploadedAt})
		}
	}
	a.streamZip(w, r, v.Workspace.Name+"-release-"+v.Release.ID+".zip", entries)
	return nil
}

// downloadLatest is "Download all" of the latest version of every released file, each under
// <backend>/<path>, as they are listed.
func (a *Handlers) downloadLatest(w http.ResponseWriter, r *http.Request) error {
	v, err := a.Views.LatestFilesOfWorkspace(r.Context(), chi.URLParam(r, "workspace"), viewerID(r))
	if err := atAddress(r, v.Viewing, err); err != nil {
		return err
	}
	entries := make([]zipEntry, len(v.Files))
	for i, f := range v.Files {
		entries[i] = zipEntry{Name: displayName(f, true), SHA256: f.SHA256, Modified: uploadedAt(f)}
	}
	a.streamZip(w, r, v.Workspace.Name+"-latest.zip", entries)
	return nil
}

// deletedNote is what a zip holds in place of a deleted file.
func deletedNote(f releaseviews.File) string {
	return "This file (" + f.Name + ") was deleted by " + f.DeletedByLogin + " on " +
		f.DeletedAt.UTC().Format("2 January 2006 at 15:04 UTC") + ".\nReason: " + f.DeleteReason + "\n"
}

// streamZip answers with the zip of the entries, written as the files are read from storage. Once the
// first bytes are sent the status cannot change, so a failure part way aborts the response: the browser
// shows a failed download rather than saving a zip that looks whole and is not.
func (a *Handlers) streamZip(w http.ResponseWriter, r *http.Request, filename string, entries []zipEntry) {
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename}))
	ctx := storageContext(r)
	err := writeZip(newStreamWriter(w), entries, func(sha256 string) (io.ReadCloser, error) { return a.Blobs.Open(ctx, sha256) })
	if err == nil {
		return
	}
	level := slog.LevelError
	if r.Context().Err() != nil {
		level = slog.LevelInfo // the browser went away, or the download was cancelled
	}
	a.Logger.Log(r.Context(), level, "download of a release's files stopped part way", slog.String("zip", filename), slog.Any("error", err))
	panic(http.ErrAbortHandler)
}
