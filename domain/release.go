package domain

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/oklog/ulid/v2"
)

// ReleaseFileRequest is one file of a release as a backend's release tool lists it (reference §5): its path
// in the workspace, the size and sha256 of its bytes, when it was written, and the tool's metadata and
// review, kept as they came. FileID is the id the server gives it when the release is created.
type ReleaseFileRequest struct {
	FileID   string
	Name     string
	URL      string
	Size     int64
	SHA256   string
	Date     time.Time
	Metadata map[string]any
	Review   map[string]any
}

// ReleaseCreated records a release (stream release-<id>): the files a backend's release tool will upload
// out of a workspace on behalf of a user, before any byte arrives.
type ReleaseCreated struct {
	ReleaseID   string
	WorkspaceID string
	ProjectID   string
	BackendID   string
	CreatedBy   string
	Files       []ReleaseFileRequest
	Metadata    map[string]any
	Review      map[string]any
}

func (ReleaseCreated) EventType() string { return "ReleaseCreated" }

// ReleaseFileUploaded records that the bytes of one file of a release arrived and matched its sha256. The
// bytes themselves live in blob storage under their sha256, never in an event.
type ReleaseFileUploaded struct {
	ReleaseID  string
	FileID     string
	Name       string
	SHA256     string
	Size       int64
	UploadedBy string
	BackendID  string
}

func (ReleaseFileUploaded) EventType() string { return "ReleaseFileUploaded" }

// ReleaseFileDeleted records that a released file was deleted (redacted): who (DeletedBy; when is the
// event's time) and why. It disappears from lists and downloads; its bytes go once no live file shares them.
type ReleaseFileDeleted struct {
	ReleaseID string
	FileID    string
	Name      string
	SHA256    string
	DeletedBy string
	Reason    string
}

func (ReleaseFileDeleted) EventType() string { return "ReleaseFileDeleted" }

// ReleaseStream is the stream of one release.
func ReleaseStream(releaseID string) string { return "release-" + releaseID }

// DefaultReleaseFileLimit is the largest released file by default, as in the reference (16 MiB).
const DefaultReleaseFileLimit = 16 << 20

// MaxDeleteReasonLen is the longest reason for deleting a released file.
const MaxDeleteReasonLen = 2000

// maxReleaseFileNameLen is the longest path of a released file.
const maxReleaseFileNameLen = 1000

var sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// NormalizeSHA256 is a hex sha256 as stored: lowercase, without surrounding space.
func NormalizeSHA256(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// IsSHA256 reports whether s is a normalized hex sha256.
func IsSHA256(s string) bool { return sha256Pattern.MatchString(s) }

// ValidateReleaseFileName refuses a released file's path that could leave its release's folder or that a
// zip or a file system would read differently: empty, absolute, with an empty, "." or ".." segment, a
// backslash, a control character (NUL included), invalid UTF-8, or longer than 1000 bytes.
func ValidateReleaseFileName(name string) error {
	const field = "name"
	switch {
	case name == "":
		return Invalid(field, "A released file needs a name.")
	case !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0:
		return Invalid(field, "The file name "+quote(name)+" holds characters that are not text.")
	case len(name) > maxReleaseFileNameLen:
		return Invalid(field, "A released file's name has at most 1000 bytes.")
	case strings.HasPrefix(name, "/"):
		return Invalid(field, "The file name "+quote(name)+" is absolute; name files relative to the workspace.")
	case strings.Contains(name, `\`):
		return Invalid(field, "The file name "+quote(name)+" holds a backslash; separate folders with /.")
	}
	for _, segment := range strings.Split(name, "/") {
		switch segment {
		case "":
			return Invalid(field, "The file name "+quote(name)+" has an empty folder name.")
		case ".", "..":
			return Invalid(field, "The file name "+quote(name)+" holds "+quote(segment)+"; name files without . or .. folders.")
		}
	}
	return nil
}

// NormalizeReleaseID checks a release id (a ULID, as airlock's release-request ids are) and returns it
// uppercase, as ULIDs are written.
func NormalizeReleaseID(id string) (string, error) {
	u, err := ulid.ParseStrict(strings.TrimSpace(id))
	if err != nil {
		return "", Invalid("release_id", "The release id "+quote(id)+" is not a ULID (26 characters of Crockford base32).")
	}
	return u.String(), nil
}

// ReleaseFileTooLarge is the refusal of a file larger than limit bytes, whether its list declared it so,
// its Content-Length said so or its bytes ran over while they were read.
func ReleaseFileTooLarge(limit int64) *Error {
	return Invalid("file", fmt.Sprintf("File is too large: a released file has at most %s (%d bytes).", byteCount(limit), limit))
}

func byteCount(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// NewRelease is what a release is created from: its id (a new ULID, or the one airlock gives) and the file
// list of the release tool, each file with a new FileID; MaxFileSize is the configured limit.
type NewRelease struct {
	ReleaseID   string
	Files       []ReleaseFileRequest
	Metadata    map[string]any
	Review      map[string]any
	MaxFileSize int64
}

// CreateRelease decides a release out of the workspace from backend on behalf of by. by needs
// release_file_upload on the workspace's project and must be a person who is a member of the backend.
// existing is the release stream's state: a release already created with the same id, workspace, backend
// and files needs no event (a release tool that sends its list again gets the same answer); with other
// files it is a Conflict.
func (w *Workspace) CreateRelease(by Actor, backend *Backend, existing *Release, n NewRelease) ([]Event, error) {
	if err := by.Require(ReleaseFileUpload); err != nil {
		return nil, err
	}
	if by.UserID == "" {
		return nil, Refused("Files are released on behalf of a person; name them in the OS-User header.")
	}
	if err := w.mustExist(); err != nil {
		return nil, err
	}
	if err := mayReleaseFrom(by, backend); err != nil {
		return nil, err
	}
	files, err := validateReleaseFiles(n.Files, n.MaxFileSize)
	if err != nil {
		return nil, err
	}
	if existing.Exists() {
		if existing.workspaceID != w.id || existing.backendID != backend.ID() || !sameFiles(existing.files, files) {
			return nil, Conflict("release_id", "Release "+n.ReleaseID+" was already created with other files (or from another "+
				"workspace or backend); a release's file list cannot change. Create a new release for these files.")
		}
		return nil, nil
	}
	return []Event{ReleaseCreated{
		ReleaseID: n.ReleaseID, WorkspaceID: w.id, ProjectID: w.projectID, BackendID: backend.ID(), CreatedBy: by.UserID,
		Files: files, Metadata: maps.Clone(n.Metadata), Review: maps.Clone(n.Review),
	}}, nil
}

// mayReleaseFrom refuses a user who is not a member of the backend the release tool runs on.
func mayReleaseFrom(by Actor, backend *Backend) error {
	if err := backend.mustExist(); err != nil {
		return err
	}
	if !backend.IsMember(by.UserID) {
		return Refused("This user is not a member of the backend " + quote(backend.Slug()) + ", so they cannot release files from it.")
	}
	return nil
}

// validateReleaseFiles checks a release's file list and returns it normalized (sha256s lowercase).
func validateReleaseFiles(files []ReleaseFileRequest, limit int64) ([]ReleaseFileRequest, error) {
	if len(files) == 0 {
		return nil, Invalid("files", "A release needs at least one file.")
	}
	out := make([]ReleaseFileRequest, len(files))
	names := make(map[string]bool, len(files))
	for i, f := range files {
		f.SHA256 = NormalizeSHA256(f.SHA256)
		f.Metadata, f.Review = maps.Clone(f.Metadata), maps.Clone(f.Review)
		if err := ValidateReleaseFileName(f.Name); err != nil {
			return nil, err
		}
		var v Validation
		v.Check(f.FileID != "", "file_id", "Every file of a release needs an id.")
		v.Check(!names[f.Name], "name", "The file "+quote(f.Name)+" is listed twice.")
		v.Check(IsSHA256(f.SHA256), "sha256", "The sha256 of "+quote(f.Name)+" is not 64 hex digits.")
		v.Check(f.Size >= 0, "size", "The size of "+quote(f.Name)+" is negative.")
		v.Check(!f.Date.IsZero(), "date", "The file "+quote(f.Name)+" needs the date it was written.")
		if err := v.Err(); err != nil {
			return nil, err
		}
		if f.Size > limit {
			return nil, ReleaseFileTooLarge(limit)
		}
		names[f.Name] = true
		out[i] = f
	}
	return out, nil
}

// sameFiles reports whether two file lists name the same files with the same bytes, in any order.
func sameFiles(held []releaseFile, asked []ReleaseFileRequest) bool {
	if len(held) != len(asked) {
		return false
	}
	key := func(name, sha string, size int64) string { return fmt.Sprintf("%s\x00%s\x00%d", name, sha, size) }
	want := make([]string, len(held))
	for i, f := range held {
		want[i] = key(f.Name, f.SHA256, f.Size)
	}
	got := make([]string, len(asked))
	for i, f := range asked {
		got[i] = key(f.Name, f.SHA256, f.Size)
	}
	slices.Sort(want)
	slices.Sort(got)
	return slices.Equal(want, got)
}

// Release is the files a backend released out of a workspace, and which of them were uploaded and deleted.
type Release struct {
	id          string
	workspaceID string
	projectID   string
	backendID   string
	createdBy   string
	files       []releaseFile
}

type releaseFile struct {
	ReleaseFileRequest
	uploaded bool
	deleted  bool
}

// Apply folds one event of the release's stream.
func (r *Release) Apply(e Event) {
	switch e := e.(type) {
	case ReleaseCreated:
		r.id, r.workspaceID, r.projectID, r.backendID, r.createdBy = e.ReleaseID, e.WorkspaceID, e.ProjectID, e.BackendID, e.CreatedBy
		r.files = make([]releaseFile, len(e.Files))
		for i, f := range e.Files {
			r.files[i] = releaseFile{ReleaseFileRequest: f}
		}
	case ReleaseFileUploaded:
		if f := r.file(e.FileID); f != nil {
			f.uploaded = true
		}
	case ReleaseFileDeleted:
		if f := r.file(e.FileID); f != nil {
			f.deleted = true
		}
	}
}

func (r *Release) file(fileID string) *releaseFile {
	for i := range r.files {
		if r.files[i].FileID == fileID {
			return &r.files[i]
		}
	}
	return nil
}

func (r *Release) fileNamed(name string) *releaseFile {
	for i := range r.files {
		if r.files[i].Name == name {
			return &r.files[i]
		}
	}
	return nil
}

// Exists reports whether the release was created.
func (r *Release) Exists() bool { return r != nil && r.id != "" }

// ID is the release's id.
func (r *Release) ID() string { return r.id }

// ProjectID is the id of the workspace's project, whose memberships govern the release.
func (r *Release) ProjectID() string { return r.projectID }

// FileSHA256 is the sha256 of a file of the release, and whether its bytes were uploaded (and so are
// referenced in blob storage); "" for a file the release does not have.
func (r *Release) FileSHA256(fileID string) (sha256 string, uploaded bool) {
	if f := r.file(fileID); f != nil {
		return f.SHA256, f.uploaded
	}
	return "", false
}

func (r *Release) mustExist() error {
	if !r.Exists() {
		return NotFound("No such release.")
	}
	return nil
}

// Upload is one upload of a file's bytes: who sends it, from which backend, under which name, and the
// size its request declared (-1 when unknown), checked before any byte is read.
type Upload struct {
	Backend      *Backend
	Name         string
	DeclaredSize int64
	MaxFileSize  int64
}

// CheckUpload decides everything about an upload that needs no byte of it, so that a refused upload never
// stores any: by needs release_file_upload on the project and membership of the backend, which must be the
// release's; the name must be listed, neither uploaded already nor deleted; the declared size within the
// limit. It returns the listed file.
func (r *Release) CheckUpload(by Actor, u Upload) (ReleaseFileRequest, error) {
	if err := by.Require(ReleaseFileUpload); err != nil {
		return ReleaseFileRequest{}, err
	}
	if by.UserID == "" {
		return ReleaseFileRequest{}, Refused("Files are released on behalf of a person; name them in the OS-User header.")
	}
	if err := r.mustExist(); err != nil {
		return ReleaseFileRequest{}, err
	}
	if err := mayReleaseFrom(by, u.Backend); err != nil {
		return ReleaseFileRequest{}, err
	}
	if u.Backend.ID() != r.backendID {
		return ReleaseFileRequest{}, Invalid("backend", "This release was created from another backend; upload its files from there.")
	}
	if err := ValidateReleaseFileName(u.Name); err != nil {
		return ReleaseFileRequest{}, err
	}
	f := r.fileNamed(u.Name)
	switch {
	case f == nil:
		return ReleaseFileRequest{}, Invalid("name", "The release does not list the file "+quote(u.Name)+".")
	case f.deleted:
		return ReleaseFileRequest{}, Invalid("name", "The file "+quote(u.Name)+" of this release was deleted; it cannot be uploaded.")
	case f.uploaded:
		return ReleaseFileRequest{}, Invalid("name", "This version of '"+u.Name+"' has already been uploaded from backend '"+u.Backend.Slug()+"'")
	case u.DeclaredSize > u.MaxFileSize:
		return ReleaseFileRequest{}, ReleaseFileTooLarge(u.MaxFileSize)
	}
	return f.ReleaseFileRequest, nil
}

// UploadFile decides the upload of a file whose bytes are stored with sha256 and size: everything
// CheckUpload decides, on the state the event is appended to, and the bytes must be the listed ones.
func (r *Release) UploadFile(by Actor, u Upload, sha256 string, size int64) (ReleaseFileUploaded, error) {
	f, err := r.CheckUpload(by, u)
	if err != nil {
		return ReleaseFileUploaded{}, err
	}
	if size > u.MaxFileSize {
		return ReleaseFileUploaded{}, ReleaseFileTooLarge(u.MaxFileSize)
	}
	if NormalizeSHA256(sha256) != f.SHA256 || size != f.Size {
		return ReleaseFileUploaded{}, Invalid("file", "Contents of uploaded file does not match the file which a review was requested for")
	}
	return ReleaseFileUploaded{ReleaseID: r.id, FileID: f.FileID, Name: f.Name, SHA256: f.SHA256, Size: size,
		UploadedBy: by.UserID, BackendID: r.backendID}, nil
}

// DeleteFile decides deleting (redacting) a file of the release (needs release_file_delete on the project),
// with the reason the event keeps. A file already deleted needs no event.
func (r *Release) DeleteFile(by Actor, fileID, reason string) ([]Event, error) {
	if err := by.Require(ReleaseFileDelete); err != nil {
		return nil, err
	}
	if err := r.mustExist(); err != nil {
		return nil, err
	}
	f := r.file(fileID)
	if f == nil {
		return nil, NotFound("This release has no such file.")
	}
	if f.deleted {
		return nil, nil
	}
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return nil, Invalid("reason", "Please say why the file is deleted; the reason is kept with the deletion.")
	case len(reason) > MaxDeleteReasonLen:
		return nil, Invalid("reason", "A reason has at most 2000 characters.")
	}
	return []Event{ReleaseFileDeleted{ReleaseID: r.id, FileID: f.FileID, Name: f.Name, SHA256: f.SHA256, DeletedBy: by.UserID,
		Reason: reason}}, nil
}
