// Package releaseapi is the release API that a backend's release tools call (airlock, release-hatch,
// osrelease; reference/runner-protocol.md §5): create a release with its file list, then upload each
// file's bytes. It mounts only the POST methods; the GET endpoints on the same paths (file indexes and
// downloads, for logged-in people) belong to the releases pages. Authorization is the backend's raw token,
// OS-User the GitHub login of the user the files are released for; every error is JSON {"detail": ...}.
package releaseapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/releases"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/server"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// Paths of the two endpoints, as chi patterns.
const (
	CreatePath = "/api/v2/releases/workspace/{workspace}"
	UploadPath = "/api/v2/releases/release/{release_id}"
)

// FilePath is the address of a released file's bytes (served by the releases pages).
func FilePath(fileID string) string { return "/api/v2/releases/file/" + fileID }

// DefaultBodyLimit is the largest file list read when Options.BodyLimit is 0.
const DefaultBodyLimit = 32 << 20

// DefaultUploadTimeout bounds one upload when Options.UploadTimeout is 0.
const DefaultUploadTimeout = 5 * time.Minute

// Options are what the API is built from.
type Options struct {
	Logger *slog.Logger
	// Authenticate finds the backend of a token (commands/identity.BackendForToken).
	Authenticate func(ctx context.Context, token string) (backendID string, ok bool, err error)
	// Users finds the user an OS-User header names.
	Users    *identityviews.Queries
	Releases *releases.Commands
	// BaseURL is the server's public address, for release_url and Location.
	BaseURL string
	// BodyLimit is the largest file list accepted, in bytes; a larger one is answered 413. An upload's
	// limit is the release file limit of Releases.
	BodyLimit int64
	// UploadTimeout bounds one upload, which outlives the request deadline of pages: a 16 MiB file takes
	// a while on a slow link.
	UploadTimeout time.Duration
}

type api struct{ Options }

// Routes mounts the POST endpoints.
func Routes(o Options) func(chi.Router) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.BodyLimit <= 0 {
		o.BodyLimit = DefaultBodyLimit
	}
	if o.UploadTimeout <= 0 {
		o.UploadTimeout = DefaultUploadTimeout
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	a := api{o}
	return func(r chi.Router) {
		r.Post(CreatePath, a.authenticated(a.createRelease))
		r.Post(UploadPath, a.authenticated(a.uploadFile))
	}
}

func detail(w http.ResponseWriter, status int, message string) {
	server.WriteJSON(w, status, map[string]string{"detail": message})
}

// caller is who a request comes from: the backend of its token, and the user its OS-User names.
type caller struct {
	backendID string
	user      commands.Actor
}

// authenticated answers 401 unless Authorization holds a backend's token, and 403 unless OS-User names a
// user; then runs handle. Whether that user may release files, and from that backend, the command decides.
func (a api) authenticated(handle func(w http.ResponseWriter, r *http.Request, c caller)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := strings.TrimSpace(r.Header.Get("Authorization"))
		if token == "" {
			detail(w, http.StatusUnauthorized, "Authorization header is missing: send the backend's token.")
			return
		}
		backendID, ok, err := a.Authenticate(r.Context(), token)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if !ok {
			detail(w, http.StatusUnauthorized, "Invalid token.")
			return
		}
		login := strings.TrimSpace(r.Header.Get("OS-User"))
		if login == "" {
			detail(w, http.StatusForbidden, "The OS-User header is missing: name the user the files are released for.")
			return
		}
		user, err := a.Users.UserByLogin(r.Context(), login)
		if domain.KindOf(err) == domain.KindNotFound {
			detail(w, http.StatusForbidden, "There is no user "+strconv.Quote(login)+" on this server.")
			return
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		handle(w, r, caller{backendID: backendID, user: commands.UserActor(user.ID)})
	}
}

// fail answers an error with its status and, for a domain error, its message; anything else is logged and
// answered without detail.
func (a api) fail(w http.ResponseWriter, r *http.Request, err error) {
	var de *domain.Error
	switch {
	case errors.Is(err, domain.ErrBlobBeingRemoved):
		w.Header().Set("Retry-After", "5")
		detail(w, http.StatusServiceUnavailable, domain.ErrBlobBeingRemoved.Message)
	case errors.As(err, &de):
		detail(w, statusOf(de.Kind), de.Message)
	case errors.Is(err, context.DeadlineExceeded):
		detail(w, http.StatusServiceUnavailable, "The server is busy; please try again.")
	default:
		a.Logger.ErrorContext(r.Context(), "release API", slog.String("path", r.URL.Path), slog.Any("error", err))
		detail(w, http.StatusInternalServerError, http.StatusText(http.StatusInternalServerError))
	}
}

// statusOf is the status of a domain error's kind. Bad input is 400, as job-server answers: release tools
// (airlock) read a 400 whose detail says a file "has already been uploaded" as success.
func statusOf(k domain.Kind) int {
	switch k {
	case domain.KindForbidden:
		return http.StatusForbidden
	case domain.KindNotFound:
		return http.StatusNotFound
	case domain.KindConflict:
		return http.StatusConflict
	}
	return http.StatusBadRequest
}

// fileList is the body of a create (reference §5).
type fileList struct {
	Files    []file         `json:"files"`
	Metadata map[string]any `json:"metadata"`
	Review   map[string]any `json:"review"`
}

type file struct {
	Name     string         `json:"name"`
	URL      string         `json:"url"`
	Size     *int64         `json:"size"`
	SHA256   string         `json:"sha256"`
	Date     string         `json:"date"`
	Metadata map[string]any `json:"metadata"`
	Review   map[string]any `json:"review"`
}

// createRelease creates a release from the file list, or answers as the first time for the same list.
func (a api) createRelease(w http.ResponseWriter, r *http.Request, c caller) {
	var list fileList
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, a.BodyLimit))
	if err := dec.Decode(&list); err != nil {
		var tooLarge *http.MaxBytesError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooLarge):
			detail(w, http.StatusRequestEntityTooLarge, "The file list is larger than "+strconv.FormatInt(a.BodyLimit, 10)+" bytes.")
		case errors.As(err, &typeErr):
			detail(w, http.StatusBadRequest, fmt.Sprintf("The file list's %s is not a %s.", typeErr.Field, jsonType(typeErr.Type.Kind().String())))
		default:
			detail(w, http.StatusBadRequest, "The body is not a JSON file list: "+err.Error())
		}
		return
	}
	files, err := list.requests()
	if err != nil {
		a.fail(w, r, err)
		return
	}
	releaseID := ""
	if id, present := list.Metadata["airlock_id"]; present {
		s, ok := id.(string)
		if !ok {
			detail(w, http.StatusBadRequest, "metadata.airlock_id is not a string.")
			return
		}
		releaseID = s
	}
	created, err := a.Releases.CreateRelease.Handle(r.Context(), releases.CreateRelease{
		Actor: c.user, BackendID: c.backendID, WorkspaceName: chi.URLParam(r, "workspace"), ReleaseID: releaseID,
		Files: files, Metadata: list.Metadata, Review: list.Review,
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Release-Id", created.ReleaseID)
	server.WriteJSON(w, http.StatusCreated, map[string]string{"release_id": created.ReleaseID, "release_url": a.BaseURL + created.Path})
}

// jsonType names a Go kind as JSON calls it.
func jsonType(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "whole number"
	case kind == "map" || kind == "struct":
		return "JSON object"
	case kind == "slice":
		return "list"
	}
	return kind
}

// requests checks what JSON cannot (required fields, dates) and turns the list into the domain's files.
func (l fileList) requests() ([]domain.ReleaseFileRequest, error) {
	out := make([]domain.ReleaseFileRequest, len(l.Files))
	for i, f := range l.Files {
		if f.Size == nil {
			return nil, domain.Invalid("size", fmt.Sprintf("File %d of the list has no size.", i+1))
		}
		date, err := parseDate(f.Date)
		if err != nil {
			return nil, domain.Invalid("date", fmt.Sprintf("The date of file %d of the list, %q, is not an ISO 8601 date and time.", i+1, f.Date))
		}
		out[i] = domain.ReleaseFileRequest{Name: f.Name, URL: f.URL, Size: *f.Size, SHA256: f.SHA256, Date: date,
			Metadata: f.Metadata, Review: f.Review}
	}
	return out, nil
}

// parseDate reads a date as Python's isoformat writes it: with or without a zone (UTC then), with or
// without fractions of a second.
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC)
}

// uploadFile streams the body into storage as the named file of the release.
func (a api) uploadFile(w http.ResponseWriter, r *http.Request, c caller) {
	disposition, params, err := mime.ParseMediaType(r.Header.Get("Content-Disposition"))
	name := params["filename"]
	if err != nil || disposition != "attachment" || name == "" {
		detail(w, http.StatusBadRequest, `Missing filename: send Content-Disposition: attachment; filename="<path of the file in the workspace>".`)
		return
	}
	// The upload outlives the pages' request deadline; a sender that goes away still ends it, since its
	// body stops.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), a.UploadTimeout)
	defer cancel()
	uploaded, err := a.Releases.UploadReleaseFile.Handle(ctx, releases.UploadReleaseFile{
		Actor: c.user, BackendID: c.backendID, ReleaseID: chi.URLParam(r, "release_id"), Name: name,
		DeclaredSize: r.ContentLength, Body: r.Body,
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("File-Id", uploaded.FileID)
	w.Header().Set("Location", a.BaseURL+FilePath(uploaded.FileID))
	w.WriteHeader(http.StatusCreated)
}
