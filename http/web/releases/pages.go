package releases

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	releasecmds "github.com/mediciasafely/jobserver/commands/releases"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	releaseviews "github.com/mediciasafely/jobserver/projections/releases"
)

// releasesPage is the Data of the "releases" page.
type releasesPage struct {
	Workspace, WorkspaceURL, LogsURL string
	Latest                           releaseRow
	Releases                         []releaseRow
	CanDelete                        bool
}

// releaseRow is one row of the releases page: a release, or the latest version of every file.
type releaseRow struct {
	ID, Label          string
	Latest             bool
	CreatedBy, Backend string
	CreatedAt          *time.Time
	NumFiles           int
	URL                string
	// ListURL shows the page with the row's files listed, at the list; htmx fetches ListPartURL to list
	// them in place.
	ListURL, ListPartURL string
	DownloadURL          string
	Listed               bool // its files are shown under it
	Files                []fileRow
}

// releasesPage is "/{org}/{project}/{workspace}/releases" (step 10 of the guide). ?list= names the row
// (a release's id, or "latest") whose files are listed under it: List is a plain link, which htmx turns
// into fetching just that list.
func (a *Handlers) releasesPage(w http.ResponseWriter, r *http.Request) error {
	v, err := a.Views.ReleasesOfWorkspace(r.Context(), chi.URLParam(r, "workspace"), viewerID(r))
	if err := atAddress(r, v.Viewing, err); err != nil {
		return err
	}
	base, listed := v.Workspace.ReleasesURL(), r.URL.Query().Get("list")
	page := releasesPage{Workspace: v.Workspace.Name, WorkspaceURL: v.Workspace.URL(), LogsURL: v.Workspace.URL() + "/logs",
		CanDelete: v.Viewer.Has(domain.ReleaseFileDelete)}
	if len(v.Releases) > 0 {
		page.Latest = releaseRow{ID: latestID, Label: "the latest version of every released file", Latest: true,
			NumFiles: len(v.Latest), URL: releaseURL(base, latestID), DownloadURL: downloadURL(base, latestID)}
		page.Latest.list(base, listed, func() []fileRow { return rows(v.Workspace, page.Latest.URL, v.Latest, true) })
	}
	for _, rel := range v.Releases {
		row := releaseRow{ID: rel.ID, Label: "release " + rel.ID, CreatedBy: rel.CreatedByName, Backend: rel.BackendName,
			CreatedAt: &rel.CreatedAt, NumFiles: rel.Uploaded, URL: releaseURL(base, rel.ID), DownloadURL: downloadURL(base, rel.ID)}
		if err := row.listRelease(a, r, v.Workspace, base, listed); err != nil {
			return err
		}
		page.Releases = append(page.Releases, row)
	}
	a.Page(w, r, http.StatusOK, "releases", kit.View{Title: "Released outputs of " + v.Workspace.Name,
		Crumbs: crumbs(v.Workspace), Data: page})
	return nil
}

// list sets the row's List address and, when it is the one listed, its files.
func (row *releaseRow) list(base, listed string, files func() []fileRow) {
	row.ListPartURL = base + "?list=" + url.QueryEscape(row.ID)
	row.ListURL = row.ListPartURL + "#files-" + row.ID
	if listed == row.ID {
		row.Listed, row.Files = true, files()
	}
}

// listRelease lists a release's files under its row when it is the one listed.
func (row *releaseRow) listRelease(a *Handlers, r *http.Request, ws releaseviews.Workspace, base, listed string) error {
	if listed != row.ID {
		row.list(base, listed, nil)
		return nil
	}
	v, err := a.Views.Release(r.Context(), row.ID, viewerID(r))
	if err != nil {
		return err
	}
	row.list(base, listed, func() []fileRow { return rows(ws, row.URL, viewable(v.Files), false) })
	return nil
}

// releasePage is the Data of the "release" page.
type releasePage struct {
	Workspace, Heading       string
	ReleasesURL, DownloadURL string
	Release                  *releaseRow // nil for the latest version of every file
	Files                    []fileRow
	Preview                  *preview
	CanDelete                bool
	// HistoryURL is the release's history, "" for the latest files and for a viewer who may not read it.
	HistoryURL string
}

// preview is the file chosen on a release page, as shown at its right.
type preview struct {
	File fileRow
	Kind kind
	CSV  *csvPreview
	// Missing says why the file cannot be shown, when it cannot.
	Missing string
}

// releasePage is "/{org}/{project}/{workspace}/releases/{release}": the release's files at the left and,
// with ?file=, that file shown at the right.
func (a *Handlers) releasePage(w http.ResponseWriter, r *http.Request) error {
	v, err := a.Views.Release(r.Context(), chi.URLParam(r, "release"), viewerID(r))
	if domain.KindOf(err) == domain.KindNotFound {
		return releaseNotFound(r)
	}
	if err := atAddress(r, v.Viewing, err); err != nil {
		return err
	}
	base := v.Workspace.ReleasesURL()
	files := viewable(v.Files)
	row := releaseRow{ID: v.Release.ID, CreatedBy: v.Release.CreatedByName, Backend: v.Release.BackendName,
		CreatedAt: &v.Release.CreatedAt, NumFiles: len(files)}
	page := releasePage{Workspace: v.Workspace.Name, Heading: "Release " + v.Release.ID, ReleasesURL: base,
		DownloadURL: downloadURL(base, v.Release.ID), Release: &row, CanDelete: v.Viewer.Has(domain.ReleaseFileDelete)}
	return a.renderRelease(w, r, v.Workspace, page, files, false)
}

// latestPage is "/{org}/{project}/{workspace}/releases/latest": the latest version of every released file.
func (a *Handlers) latestPage(w http.ResponseWriter, r *http.Request) error {
	v, err := a.Views.LatestFilesOfWorkspace(r.Context(), chi.URLParam(r, "workspace"), viewerID(r))
	if err := atAddress(r, v.Viewing, err); err != nil {
		return err
	}
	base := v.Workspace.ReleasesURL()
	page := releasePage{Workspace: v.Workspace.Name, Heading: "The latest version of every released file", ReleasesURL: base,
		DownloadURL: downloadURL(base, latestID), CanDelete: v.Viewer.Has(domain.ReleaseFileDelete)}
	return a.renderRelease(w, r, v.Workspace, page, v.Files, true)
}

func (a *Handlers) renderRelease(w http.ResponseWriter, r *http.Request, ws releaseviews.Workspace, page releasePage,
	files []releaseviews.File, byBackend bool) error {
	pageURL := r.URL.Path
	page.Files = rows(ws, pageURL, files, byBackend)
	if chosen := r.URL.Query().Get("file"); chosen != "" {
		i := indexOf(files, chosen)
		if i < 0 {
			return domain.NotFound("This release has no file with the id \u201c" + chosen + "\u201d to show: it may have been deleted. " +
				"Choose one of its files from the list.")
		}
		p, err := a.preview(r, files[i], page.Files[i])
		if err != nil {
			return err
		}
		page.Preview = &p
	}
	if page.Release != nil {
		var err error
		if page.HistoryURL, err = kit.HistoryLink(r, a.Queries, "release", page.Release.ID); err != nil {
			return err
		}
	}
	title := page.Heading + " of " + ws.Name
	a.Page(w, r, http.StatusOK, "release", kit.View{Title: title, Crumbs: crumbs(ws, kit.Crumb{Label: page.Heading}), Data: page})
	return nil
}

func indexOf(files []releaseviews.File, id string) int {
	for i, f := range files {
		if strings.EqualFold(f.ID, id) {
			return i
		}
	}
	return -1
}

// preview reads what the page shows of a file: a CSV's first rows from storage; for other kinds the page
// points the browser at the file's bytes.
func (a *Handlers) preview(r *http.Request, f releaseviews.File, row fileRow) (preview, error) {
	p := preview{File: row, Kind: typeOf(f.Name).kind}
	if p.Kind != kindCSV {
		return p, nil
	}
	blob, err := a.Blobs.Open(r.Context(), f.SHA256)
	if errors.Is(err, releasecmds.ErrNotFound) {
		a.Logger.WarnContext(r.Context(), "a released file's bytes are not in storage", slog.String("file", f.ID), slog.String("sha256", f.SHA256))
		p.Missing = bytesGone
		return p, nil
	}
	if err != nil {
		return p, err
	}
	defer blob.Close()
	csv, err := readCSVPreview(blob, previewRows, previewBytes)
	if err != nil {
		return p, err
	}
	p.CSV = &csv
	return p, nil
}

// bytesGone is what a file whose bytes storage no longer holds (deleted a moment ago, say) says.
const bytesGone = "The contents of this file are no longer stored: it may have been deleted a moment ago. Reload the page."

func releaseNotFound(r *http.Request) error {
	return domain.NotFound("There is no release \u201c" + chi.URLParam(r, "release") + "\u201d in the workspace \u201c" +
		chi.URLParam(r, "workspace") + "\u201d. Check the address, or choose a release from the workspace's releases page.")
}
