package web_test

import (
	"archive/zip"
	"context"
	"io"
	"maps"
	"path/filepath"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// Step 10 of the guide in a real browser: from the workspace's page to its released outputs, List a
// release's files, View the release, click the CSV (a table appears at the right, without leaving the page)
// and the image (shown inline), and Download all: a zip holding the released bytes.
func TestACollaboratorViewsACSVAndAnImageAndDownloadsTheRelease(t *testing.T) {
	t.Parallel()
	chromium := startChromium(t)
	e := newEnv(t)
	w := setUpReleases(e)
	table, image := csvOutput("output/table.csv", 20), pngOutput("output/genes_histogram.png")
	r := w.release([]output{table, image})

	colin := openWindow(t, chromium, e, "colin")
	colin.open("/login")
	colin.choose("Demo user", "colin (Colin Tester)")
	colin.follow("log in", click("button", "Log in as this user"))

	colin.open(w.workspaceURL)
	colin.follow(`click "Released Outputs"`, click("link", "Released Outputs"))
	colin.expectPath(w.releasesURL)
	colin.sees("The latest version of every released file", r.id, "Olive Tester")
	colin.run("list the release's files", click("link", "List the files of release "+r.id))
	colin.eventually("the release's files listed under it", `!!document.querySelector("#files-`+r.id+` a[href$='?file=`+r.files["output/table.csv"]+`']")`)
	colin.expectPath(w.releasesURL) // listed in place, by htmx

	colin.follow("view the release", click("link", "View release "+r.id))
	colin.expectPath(w.releaseURL(r))
	colin.sees("Files", "output/table.csv", "output/genes_histogram.png", "Choose a file on the left to see it here.")

	colin.run("click the CSV", click("link", "output/table.csv"))
	colin.eventually("the CSV shown as a table", `(() => { const cells = [...document.querySelectorAll(".csv-preview tbody tr:first-child td")];
		return cells.map(c => c.innerText).join(",") === "0,20,BRCA1"; })()`)
	colin.eventually("the address names the file", `location.search === "?file=`+r.files["output/table.csv"]+`"`)
	colin.sees("Open output/table.csv in a new tab")

	colin.run("click the image", click("link", "output/genes_histogram.png"))
	colin.eventually("the image shown", `(() => { const img = document.querySelector("img.file-image");
		return !!img && img.complete && img.naturalWidth === 40 && img.naturalHeight === 30; })()`)

	got := zipSHA256s(t, colin.download("download all", click("link", "Download all")))
	want := map[string]string{"output/table.csv": sha256Hex(table.content), "output/genes_histogram.png": sha256Hex(image.content)}
	if !maps.Equal(got, want) {
		t.Errorf("the zip holds %v, want the released bytes %v", got, want)
	}
}

// download runs the actions that start a download (a click on a link, say) and returns the file the browser
// saved, once it is complete.
func (w *window) download(what string, actions ...chromedp.Action[chromedp.Void]) string {
	w.t.Helper()
	dir := w.t.TempDir()
	ctx, cancel := context.WithTimeout(w.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: new(true),
		BrowserContextID: chromedp.FromContext(w.ctx).BrowserContextID,
	}); err != nil {
		w.fail("allow downloads: %v", err)
	}
	progress := chromedp.Events(ctx, cdpbrowser.DownloadProgress)
	w.run(what, actions...)
	for ev, err := range progress {
		if err != nil {
			w.fail("%s: %v", what, err)
		}
		if ev.State == cdpbrowser.DownloadProgressStateCanceled {
			w.fail("%s: the download was cancelled", what)
		}
		if ev.State == cdpbrowser.DownloadProgressStateCompleted {
			return filepath.Join(dir, ev.GUID)
		}
	}
	w.fail("%s: the download did not complete", what)
	return ""
}

// zipSHA256s reads a zip file and returns the sha256 of each file in it, by name.
func zipSHA256s(t *testing.T, path string) map[string]string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatalf("the downloaded zip: %v", err)
	}
	defer zr.Close()
	sums := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s in the zip: %v", f.Name, err)
		}
		sums[f.Name] = sha256Hex(b)
	}
	return sums
}
