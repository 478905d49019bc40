package releases

import (
	"encoding/json"
	"time"
)

// Index is the file index the release API answers with (reference §5): {"files": [...]}.
type Index struct {
	Files []IndexFile `json:"files"`
}

// IndexFile is one file of an index, as job-server writes it.
type IndexFile struct {
	Name      string          `json:"name"`
	ID        string          `json:"id"`
	URL       string          `json:"url"`
	User      string          `json:"user"`
	Date      string          `json:"date"`
	SHA256    string          `json:"sha256"`
	Size      int64           `json:"size"`
	IsDeleted bool            `json:"is_deleted"`
	Backend   string          `json:"backend"`
	Metadata  json.RawMessage `json:"metadata"`
	Review    json.RawMessage `json:"review"`
}

// ReleaseIndex is the index of one release's files, named as the release lists them.
func ReleaseIndex(files []File) Index { return index(files, false) }

// WorkspaceIndex is the index of a workspace's latest files, each named "<backend slug>/<name>" since two
// backends may release files of the same name.
func WorkspaceIndex(files []File) Index { return index(files, true) }

func index(files []File, byBackend bool) Index {
	out := Index{Files: make([]IndexFile, 0, len(files))}
	for _, f := range files {
		name := f.Name
		if byBackend {
			name = f.BackendSlug + "/" + f.Name
		}
		date := f.Date
		if f.UploadedAt != nil {
			date = *f.UploadedAt
		}
		metadata := f.Metadata
		if metadata == nil {
			metadata = json.RawMessage(`{}`)
		}
		review := f.Review
		if review == nil {
			review = json.RawMessage(`null`)
		}
		out.Files = append(out.Files, IndexFile{
			Name: name, ID: f.ID, URL: f.APIPath(), User: f.UploadedByLogin, Date: date.UTC().Format(time.RFC3339Nano),
			SHA256: f.SHA256, Size: f.Size, IsDeleted: f.Deleted(), Backend: f.BackendName, Metadata: metadata, Review: review,
		})
	}
	return out
}
