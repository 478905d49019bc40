package releases

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	releasecmds "github.com/mediciasafely/jobserver/commands/releases"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	releaseviews "github.com/mediciasafely/jobserver/projections/releases"
)

// deletePage is the Data of the "delete_release_file" page.
type deletePage struct {
	Workspace string
	File      fileRow
	CancelURL string
	Form      kit.Form
}

// fileToDelete reads the file at /{org}/{project}/{workspace}/releases/{release}/{file}/delete, which must
// still be there to be deleted.
func (a *Handlers) fileToDelete(r *http.Request) (releaseviews.FileView, error) {
	v, err := a.Views.File(r.Context(), chi.URLParam(r, "file"), viewerID(r))
	if domain.KindOf(err) == domain.KindNotFound || err == nil && !strings.EqualFold(v.File.ReleaseID, chi.URLParam(r, "release")) {
		return v, domain.NotFound("This release has no such file. Check the address, or choose the file from the workspace's releases page.")
	}
	if err := atAddress(r, v.Viewing, err); err != nil {
		return v, err
	}
	if !v.Viewer.Has(domain.ReleaseFileDelete) {
		return v, domain.Forbidden(domain.ReleaseFileDelete)
	}
	if v.File.Deleted() {
		return v, domain.NotFound("The file " + v.File.Name + " was deleted already, by " + v.File.DeletedByLogin + ".")
	}
	return v, nil
}

func (a *Handlers) renderDelete(w http.ResponseWriter, r *http.Request, status int, v releaseviews.FileView, form kit.Form) {
	base := v.Workspace.ReleasesURL()
	row := rows(v.Workspace, releaseURL(base, v.File.ReleaseID), []releaseviews.File{v.File}, false)[0]
	a.Page(w, r, status, "delete_release_file", kit.View{Title: "Delete " + v.File.Name,
		Crumbs: crumbs(v.Workspace, kit.Crumb{Label: "Release " + v.File.ReleaseID, URL: releaseURL(base, v.File.ReleaseID)},
			kit.Crumb{Label: "Delete " + v.File.Name}),
		Data: deletePage{Workspace: v.Workspace.Name, File: row, CancelURL: row.ViewURL, Form: form}})
}

// confirmDelete asks before deleting a released file, and why.
func (a *Handlers) confirmDelete(w http.ResponseWriter, r *http.Request) error {
	v, err := a.fileToDelete(r)
	if err != nil {
		return err
	}
	a.renderDelete(w, r, http.StatusOK, v, kit.Form{Values: map[string]string{}})
	return nil
}

// deleteFile deletes the file with the reason given: the post of the confirmation page. It goes back to the
// release's page, where the file is no longer listed.
func (a *Handlers) deleteFile(w http.ResponseWriter, r *http.Request) error {
	if err := kit.ParseForm(r); err != nil {
		return err
	}
	v, err := a.fileToDelete(r)
	if err != nil {
		return err
	}
	form := kit.PostedForm(r, "reason")
	res, err := a.Releases.DeleteReleaseFile.Handle(r.Context(), releasecmds.DeleteReleaseFile{
		Actor: kit.Actor(r), ReleaseID: v.File.ReleaseID, FileID: v.File.ID, Reason: form.Values["reason"]})
	if fields, invalid := kit.FieldErrors(err); invalid {
		form.Errors = fields
		a.renderDelete(w, r, http.StatusUnprocessableEntity, v, form)
		return nil
	}
	if err != nil {
		return err
	}
	a.Done(w, r, res, "File deleted: "+v.File.Name, releaseURL(v.Workspace.ReleasesURL(), v.File.ReleaseID),
		releaseviews.ReleasesProjector)
	return nil
}
