package releases

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	releasecmds "github.com/mediciasafely/jobserver/commands/releases"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/server/dbstatus"
	"github.com/mediciasafely/jobserver/http/web/kit"
	releaseviews "github.com/mediciasafely/jobserver/projections/releases"
)

// api adapts a handler of the release API's GET endpoints: the caller must be logged in, and every error
// is JSON {"detail": ...} with its status, as the API's POST endpoints answer.
func (a *Handlers) api(h kit.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if kit.CurrentUserOf(r) == nil {
			writeDetail(w, http.StatusForbidden, "Authentication credentials were not provided: log in to see released files.")
			return
		}
		if err := h(w, r); err != nil {
			a.failJSON(w, r, err)
		}
	}
}

// failJSON answers an error as JSON: what does not exist 404, a refusal 403, each with its message; a
// database that is not answering 503; anything else 500 with a reference (the request id, also logged).
func (a *Handlers) failJSON(w http.ResponseWriter, r *http.Request, err error) {
	var de *domain.Error
	switch {
	case errors.As(err, &de) && de.Kind == domain.KindNotFound:
		writeDetail(w, http.StatusNotFound, de.Message)
	case errors.As(err, &de) && de.Kind == domain.KindForbidden:
		writeDetail(w, http.StatusForbidden, de.Message)
	case dbstatus.Unavailable(err):
		writeDetail(w, http.StatusServiceUnavailable, dbstatus.Message)
	default:
		reference := middleware.GetReqID(r.Context())
		a.Logger.ErrorContext(r.Context(), "request failed", slog.String("path", r.URL.Path), slog.String("reference", reference),
			slog.Any("error", err))
		writeDetail(w, http.StatusInternalServerError, "Something went wrong on our side. Quote the reference "+reference+" if you report it.")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeDetail(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]string{"detail": message})
}

// workspaceIndex is GET /api/v2/releases/workspace/{workspace}: the latest version of every released file
// of the workspace (reference §5).
func (a *Handlers) workspaceIndex(w http.ResponseWriter, r *http.Request) error {
	v, err := a.Views.LatestFilesOfWorkspace(r.Context(), chi.URLParam(r, "workspace"), viewerID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, releaseviews.WorkspaceIndex(v.Files))
	return nil
}

// releaseIndex is GET /api/v2/releases/release/{release_id}: every file the release lists, deleted ones
// marked so.
func (a *Handlers) releaseIndex(w http.ResponseWriter, r *http.Request) error {
	v, err := a.Views.Release(r.Context(), chi.URLParam(r, "release_id"), viewerID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, releaseviews.ReleaseIndex(v.Files))
	return nil
}

// fileBytes is GET /api/v2/releases/file/{file_id}: the file's bytes, streamed from storage with their
// type, length, date and sha256 (the ETag), and ranges for whoever asks for a part. Whatever the file holds
// it runs in a sandbox (setFileHeaders): researchers write these files, and they are served from our origin.
func (a *Handlers) fileBytes(w http.ResponseWriter, r *http.Request) error {
	v, err := a.Views.File(r.Context(), chi.URLParam(r, "file_id"), viewerID(r))
	if err != nil {
		return err
	}
	if err := v.File.Unavailable(); err != nil {
		return err
	}
	blob, err := a.Blobs.Open(storageContext(r), v.File.SHA256)
	if errors.Is(err, releasecmds.ErrNotFound) {
		return domain.NotFound(bytesGone)
	}
	if err != nil {
		return err
	}
	defer blob.Close()
	setFileHeaders(w.Header(), v.File.Name)
	w.Header().Set("ETag", `"`+v.File.SHA256+`"`)
	http.ServeContent(newStreamWriter(w), r, v.File.Name, *v.File.UploadedAt, blob)
	return nil
}
