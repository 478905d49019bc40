// Package releases is the pages of step 10 of the user guide, a workspace's released outputs: the list of
// its releases (the latest version of every file first), a release's page with its files at the left and
// the chosen one shown at the right, "Download all" as a zip streamed from storage, and deleting a file
// with a reason. It also serves the GET endpoints of the release API (file indexes and a file's bytes),
// which read the logged-in session like the pages; the POST endpoints a backend's release tools call are
// http/releaseapi's, on the same paths.
package releases

import (
	"embed"
	"fmt"
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

// Handlers serve the releases pages and the release API's GET endpoints.
type Handlers struct {
	kit.Slice
	Releases *releasecmds.Commands
	Views    *releaseviews.Queries
	// Blobs is where the files' bytes are read from.
	Blobs releasecmds.Blobs
}

// Templates are the slice's pages, for the renderer.
var Templates = kit.Templates(templates)

//go:embed templates
var templates embed.FS

// latestID stands for "the latest version of every released file" where a release id would be; no
// release has it, since release ids are ULIDs.
const latestID = "latest"

// Routes mounts the pages, for logged-in users only, and the API's GET endpoints, which answer JSON. The
// pages sit under the workspace's address: releases is a fixed segment there, which chi prefers to the
// job request that the event log's pages put at the same depth.
func (a *Handlers) Routes(r chi.Router) {
	pages := r.With(kit.RequireLogin)
	pages.Get("/{org}/{project}/{workspace}/releases", a.Handle(a.releasesPage))
	pages.Get("/{org}/{project}/{workspace}/releases/", a.Handle(a.releasesPage))
	pages.Get("/{org}/{project}/{workspace}/releases/"+latestID, a.Handle(a.latestPage))
	pages.Get("/{org}/{project}/{workspace}/releases/"+latestID+"/download", a.Handle(a.downloadLatest))
	pages.Get("/{org}/{project}/{workspace}/releases/{release}", a.Handle(a.releasePage))
	pages.Get("/{org}/{project}/{workspace}/releases/{release}/download", a.Handle(a.downloadRelease))
	pages.Get("/{org}/{project}/{workspace}/releases/{release}/{file}/delete", a.Handle(a.confirmDelete))
	pages.Post("/{org}/{project}/{workspace}/releases/{release}/{file}/delete", a.Handle(a.deleteFile))

	r.Get("/api/v2/releases/workspace/{workspace}", a.api(a.workspaceIndex))
	r.Get("/api/v2/releases/release/{release_id}", a.api(a.releaseIndex))
	r.Get("/api/v2/releases/file/{file_id}", a.api(a.fileBytes))
}

func viewerID(r *http.Request) string {
	if u := kit.CurrentUserOf(r); u != nil {
		return u.ID
	}
	return ""
}

// The addresses of the slice's pages, from the address of the workspace's releases page.
func releaseURL(releasesURL, releaseID string) string {
	return releasesURL + "/" + url.PathEscape(releaseID)
}
func downloadURL(releasesURL, releaseID string) string {
	return releaseURL(releasesURL, releaseID) + "/download"
}
func deleteURL(releasesURL string, f releaseviews.File) string {
	return releaseURL(releasesURL, f.ReleaseID) + "/" + url.PathEscape(f.ID) + "/delete"
}
func viewFileURL(pageURL, fileID string) string { return pageURL + "?file=" + url.QueryEscape(fileID) }

// workspaceNotFound is the answer for a workspace that does not exist, or not at this address.
func workspaceNotFound(r *http.Request) error {
	return domain.NotFound("There is no workspace \u201c" + chi.URLParam(r, "workspace") + "\u201d in the project \u201c" +
		chi.URLParam(r, "project") + "\u201d. Check the address, or start again from the project's page.")
}

// atAddress refuses a view of a workspace asked for under another address than its own.
func atAddress(r *http.Request, v releaseviews.Viewing, err error) error {
	if domain.KindOf(err) == domain.KindNotFound {
		return workspaceNotFound(r)
	}
	if err != nil {
		return err
	}
	if !strings.EqualFold(v.Workspace.Name, chi.URLParam(r, "workspace")) || v.Workspace.At(chi.URLParam(r, "org"), chi.URLParam(r, "project")) != nil {
		return workspaceNotFound(r)
	}
	return nil
}

// crumbs is the trail org › project › workspace › Releases › more, the last one the current page.
func crumbs(w releaseviews.Workspace, more ...kit.Crumb) []kit.Crumb {
	c := append([]kit.Crumb{{Label: w.OrgName, URL: "/" + w.OrgSlug}, {Label: w.ProjectName, URL: "/" + w.OrgSlug + "/" + w.ProjectSlug},
		{Label: w.Name, URL: w.URL()}, {Label: "Releases", URL: w.ReleasesURL()}}, more...)
	c[len(c)-1].URL = ""
	return c
}

// fileRow is a released file as the pages list it.
type fileRow struct {
	ID, Name   string
	Size       int64
	UploadedBy string
	Date       time.Time
	// ViewURL shows it on its page; RawURL is its bytes; DeleteURL asks before deleting it.
	ViewURL, RawURL, DeleteURL string
}

// SizeText is the file's size as people read it.
func (f fileRow) SizeText() string {
	const unit = 1024
	if f.Size < unit {
		return fmt.Sprintf("%d bytes", f.Size)
	}
	size, prefix := float64(f.Size)/unit, "KMGT"
	for _, p := range prefix {
		if size < unit {
			return fmt.Sprintf("%.1f %ciB", size, p)
		}
		size /= unit
	}
	return fmt.Sprintf("%.1f PiB", size)
}

// viewable are the files that can be shown and downloaded: uploaded, and not deleted.
func viewable(files []releaseviews.File) []releaseviews.File {
	var out []releaseviews.File
	for _, f := range files {
		if f.Unavailable() == nil {
			out = append(out, f)
		}
	}
	return out
}

// rows are the files as a page of pageURL lists them; byBackend names each "<backend>/<name>", as the
// latest files of a workspace are named, since two backends may release files of the same name.
func rows(w releaseviews.Workspace, pageURL string, files []releaseviews.File, byBackend bool) []fileRow {
	out := make([]fileRow, len(files))
	for i, f := range files {
		out[i] = fileRow{ID: f.ID, Name: displayName(f, byBackend), Size: f.Size, UploadedBy: f.UploadedByLogin, Date: uploadedAt(f),
			ViewURL: viewFileURL(pageURL, f.ID), RawURL: f.APIPath(), DeleteURL: deleteURL(w.ReleasesURL(), f)}
	}
	return out
}

func displayName(f releaseviews.File, byBackend bool) string {
	if byBackend {
		return f.BackendSlug + "/" + f.Name
	}
	return f.Name
}

func uploadedAt(f releaseviews.File) time.Time {
	if f.UploadedAt != nil {
		return *f.UploadedAt
	}
	return f.Date
}
