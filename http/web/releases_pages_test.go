package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// Step 10 of the guide: the workspace's page leads to its released outputs; the first row is the latest
// version of every released file, then a row per release; List shows a row's files; Delete is beside each
// file for whoever may delete.
func TestTheReleasesPageListsTheLatestFilesThenEachRelease(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := setUpReleases(e)
	colin := w.as(w.collaborator)

	colin.get(w.releasesURL).expect(http.StatusOK, "Released outputs", "Nothing has been released from this workspace yet").
		lacks("The latest version of every released file")
	first := w.release([]output{csvOutput("output/table.csv", 3), pngOutput("output/genes_histogram.png")})
	second := w.release([]output{csvOutput("output/table.csv", 5)})

	colin.get(w.workspaceURL).expect(http.StatusOK, "Released Outputs", `href="`+w.releasesURL+`"`)
	p := colin.get(w.releasesURL).expect(http.StatusOK, "The latest version of every released file", first.id, second.id,
		"Olive Tester", "RC Demo 2").lacks("Delete")
	if strings.Index(p.body, second.id) > strings.Index(p.body, first.id) {
		t.Error("the newer release is not listed first")
	}
	// The latest files: the second release's table and the first's image, each under its backend.
	colin.get(w.releasesURL+"?list=latest").expect(http.StatusOK, "rcdemo2/output/table.csv", "rcdemo2/output/genes_histogram.png",
		`href="`+w.releasesURL+`/latest?file=`+second.files["output/table.csv"]+`"`)
	// A release's List shows its own files alone.
	colin.get(w.releasesURL+"?list="+second.id).expect(http.StatusOK, `href="`+w.releaseURL(second)+`?file=`+second.files["output/table.csv"]+`"`).
		lacks("genes_histogram.png")

	olive := w.as(w.checker)
	olive.get(w.releasesURL+"?list="+first.id).expect(http.StatusOK,
		`href="`+w.releaseURL(first)+"/"+first.files["output/genes_histogram.png"]+`/delete"`, "Delete")
}

// Who may see released outputs: release_file_view (Project Collaborators and Developers, Output Checkers);
// not a Project Coordinator alone, an admin or someone outside the project; and nobody logged out.
func TestReleasedOutputsAreForWhoMayViewThem(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := setUpReleases(e)
	r := w.release([]output{csvOutput("output/table.csv", 3)})
	fileID := r.files["output/table.csv"]
	// Each page, and what it shows only to who may see it.
	pages := []struct{ path, shows string }{
		{w.releasesURL, r.id}, {w.releasesURL + "/latest", "output/table.csv"}, {w.releaseURL(r), "output/table.csv"},
		{w.releaseURL(r) + "?file=" + fileID, "<td>BRCA1</td>"},
	}
	api := []string{"/api/v2/releases/workspace/genetic", "/api/v2/releases/release/" + r.id, "/api/v2/releases/file/" + fileID}

	for _, who := range []string{w.collaborator, w.developer, w.checker} {
		b := w.as(who)
		for _, page := range pages {
			b.get(page.path).expect(http.StatusOK, page.shows)
		}
		for _, path := range api {
			if got := b.fetch(path); got.status != http.StatusOK {
				t.Errorf("GET %s as %s: %d %s", path, who, got.status, got.body)
			}
		}
	}
	for _, who := range []string{w.coordinator, w.admin, w.outsider, w.otherCoordinator} {
		b := w.as(who)
		for _, page := range pages {
			b.get(page.path).expect(http.StatusForbidden, "released files").lacks(page.shows, r.id)
		}
		for _, path := range api {
			got := b.fetch(path)
			if got.status != http.StatusForbidden || !strings.Contains(got.detail(t), "released files") {
				t.Errorf("GET %s as %s: %d %s", path, who, got.status, got.body)
			}
		}
	}
	anonymous := e.browser()
	for _, page := range pages[:3] {
		sentToLogin(t, anonymous.get(page.path), page.path)
	}
	for _, path := range api {
		if got := anonymous.fetch(path); got.status != http.StatusForbidden || !strings.Contains(got.detail(t), "log in") {
			t.Errorf("GET %s logged out: %d %s", path, got.status, got.body)
		}
	}
}

func TestAReleaseUnderAnotherAddressIsNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := setUpReleases(e)
	r := w.release([]output{csvOutput("output/table.csv", 3)})
	w.workspace("other")
	colin := w.as(w.collaborator)
	colin.get(w.studyURL + "/other/releases/" + r.id).expect(http.StatusNotFound)
	colin.get("/mediciaaiorg2/otherstudy/genetic/releases").expect(http.StatusNotFound)
	colin.get(w.releasesURL+"/01JR5ZZZZZZZZZZZZZZZZZZZZZ").expect(http.StatusNotFound, "There is no release")
	colin.get(w.releasesURL + "/not-a-release").expect(http.StatusNotFound)
	colin.get(w.releaseURL(r)+"?file=nope").expect(http.StatusNotFound, "no file")
	if got := colin.fetch("/api/v2/releases/release/nope"); got.status != http.StatusNotFound {
		t.Errorf("an unknown release's index: %d", got.status)
	}
	if got := colin.fetch("/api/v2/releases/workspace/nope"); got.status != http.StatusNotFound {
		t.Errorf("an unknown workspace's index: %d", got.status)
	}
}

var csvTableRows = regexp.MustCompile(`<tr>`)

// A CSV is shown as a table of its first 5,000 rows; an image inline; HTML and text in a sandboxed frame;
// anything else as a download link; each with a link that opens it in a new tab.
func TestTheReleasePageShowsTheChosenFileByItsType(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := setUpReleases(e)
	r := w.release([]output{
		csvOutput("output/large.csv", 6000),
		csvOutput("output/small.csv", 3),
		pngOutput("output/genes_histogram.png"),
		{"output/report.html", []byte("<h1>Report</h1><script>alert(document.cookie)</script>")},
		{"output/model.rds", []byte("\x00binary")},
	})
	colin := w.as(w.collaborator)
	page := w.releaseURL(r)
	colin.get(page).expect(http.StatusOK, "Choose a file on the left to see it here.", "Download all", page+"/download")

	p := colin.get(page+"?file="+r.files["output/large.csv"]).expect(http.StatusOK, "The first 5000 rows are shown",
		"<td>4999</td>").lacks("<td>5000</td>")
	table := p.body[strings.Index(p.body, `class="table-wrap csv-preview"`):]
	table = table[:strings.Index(table, "</table>")]
	if n := len(csvTableRows.FindAllString(table, -1)); n != 5001 {
		t.Errorf("the CSV table has %d rows, want the header and 5,000", n)
	}
	colin.get(page+"?file="+r.files["output/small.csv"]).expect(http.StatusOK, "<th scope=\"col\">patient_id</th>", "<td>BRCA1</td>").
		lacks("rows are shown")

	image := "/api/v2/releases/file/" + r.files["output/genes_histogram.png"]
	colin.get(page+"?file="+r.files["output/genes_histogram.png"]).expect(http.StatusOK,
		`<img class="file-image" src="`+image+`" alt="output/genes_histogram.png">`,
		`<a href="`+image+`" target="_blank" rel="noopener">Open output/genes_histogram.png in a new tab</a>`)
	html := "/api/v2/releases/file/" + r.files["output/report.html"]
	colin.get(page+"?file="+r.files["output/report.html"]).expect(http.StatusOK, `<iframe class="file-frame" sandbox src="`+html+`"`).
		lacks("<script>alert")
	colin.get(page+"?file="+r.files["output/model.rds"]).expect(http.StatusOK, "This type of file cannot be shown here.",
		`href="/api/v2/releases/file/`+r.files["output/model.rds"]+`" download>Download output/model.rds`)
}

// Deleting a file asks why first; then it is gone from the lists, the pages and the downloads, and the API
// says it was deleted.
func TestAnOutputCheckerDeletesAFileWithAReason(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := setUpReleases(e)
	r := w.release([]output{csvOutput("output/table.csv", 3), csvOutput("output/small_numbers.csv", 2)})
	doomed := r.files["output/small_numbers.csv"]
	deleteURL := w.releaseURL(r) + "/" + doomed + "/delete"

	colin := w.as(w.collaborator)
	colin.get(deleteURL).expect(http.StatusForbidden)
	colin.post(deleteURL, url.Values{"reason": {"mine"}}).expect(http.StatusForbidden)

	olive := w.as(w.checker)
	olive.get(w.releaseURL(r)+"?file="+doomed).expect(http.StatusOK, `href="`+deleteURL+`"`)
	olive.get(deleteURL).expect(http.StatusOK, "Delete output/small_numbers.csv", "Why is it being deleted?", "This cannot be undone.")
	olive.post(deleteURL, url.Values{"reason": {"  "}}).expect(http.StatusUnprocessableEntity, `class="field-error" id="reason-error"`,
		"Please say why the file is deleted", `aria-invalid="true"`)
	olive.post(deleteURL, url.Values{"reason": {"Small numbers: counts under 7."}}).at(w.releaseURL(r)).
		expect(http.StatusOK, "File deleted: output/small_numbers.csv", "output/table.csv").lacks(`?file=` + doomed)

	olive.get(deleteURL).expect(http.StatusNotFound, "was deleted already")
	colin.get(w.releaseURL(r) + "?file=" + doomed).expect(http.StatusNotFound)
	colin.get(w.releasesURL+"?list=latest").expect(http.StatusOK, "output/table.csv").lacks("small_numbers")
	got := colin.fetch("/api/v2/releases/file/" + doomed)
	if detail := got.detail(t); got.status != http.StatusNotFound || !strings.Contains(detail, "deleted") ||
		!strings.Contains(detail, "Small numbers: counts under 7.") {
		t.Errorf("the deleted file's bytes: %d %q", got.status, detail)
	}
	for _, f := range colin.index("/api/v2/releases/release/" + r.id).Files {
		if f.IsDeleted != (f.ID == doomed) {
			t.Errorf("%s is_deleted %v", f.Name, f.IsDeleted)
		}
	}
	for _, f := range colin.index("/api/v2/releases/workspace/genetic").Files {
		if f.ID == doomed {
			t.Error("the workspace's index still lists the deleted file")
		}
	}
}
