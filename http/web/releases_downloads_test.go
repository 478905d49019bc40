package web_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	releaseviews "github.com/mediciasafely/jobserver/projections/releases"
)

// A file's bytes come with their type, length, date and sha256 (the ETag), in ranges for whoever asks.
func TestAReleasedFileDownloadsWithRangesAndItsETag(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := setUpReleases(e)
	table := csvOutput("output/table.csv", 200)
	r := w.release([]output{table})
	colin := w.as(w.collaborator)
	path := "/api/v2/releases/file/" + r.files["output/table.csv"]

	got := colin.fetch(path)
	etag := `"` + sha256Hex(table.content) + `"`
	if got.status != http.StatusOK || !bytes.Equal(got.body, table.content) {
		t.Fatalf("GET %s: %d, %d bytes", path, got.status, len(got.body))
	}
	for header, want := range map[string]string{
		"Content-Type": "text/csv; charset=utf-8", "Content-Length": strconv.Itoa(len(table.content)), "ETag": etag,
		"Accept-Ranges": "bytes", "Content-Disposition": "inline; filename=table.csv", "X-Content-Type-Options": "nosniff",
	} {
		if got.header.Get(header) != want {
			t.Errorf("%s: %q, want %q", header, got.header.Get(header), want)
		}
	}
	if modified, err := http.ParseTime(got.header.Get("Last-Modified")); err != nil || time.Since(modified) > time.Minute {
		t.Errorf("Last-Modified %q", got.header.Get("Last-Modified"))
	}

	part := colin.fetch(path, "Range", "bytes=10-29")
	if part.status != http.StatusPartialContent || !bytes.Equal(part.body, table.content[10:30]) ||
		part.header.Get("Content-Range") != "bytes 10-29/"+strconv.Itoa(len(table.content)) {
		t.Errorf("a range: %d %q %q", part.status, part.header.Get("Content-Range"), part.body)
	}
	if again := colin.fetch(path, "If-None-Match", etag); again.status != http.StatusNotModified || len(again.body) != 0 {
		t.Errorf("If-None-Match with the ETag: %d, %d bytes", again.status, len(again.body))
	}
	if bad := colin.fetch(path, "Range", "bytes=999999-"); bad.status != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("a range past the end: %d", bad.status)
	}
}

// Researchers write released files: an HTML or SVG output must not run script in our origin. Every file's
// bytes come in a sandbox that only our own pages may frame.
func TestHTMLAndSVGOutputsAreServedSandboxed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := setUpReleases(e)
	r := w.release([]output{
		{"output/report.html", []byte("<script>fetch('/settings')</script>")},
		{"output/plot.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)},
		{"output/unknown.bin", []byte("<html><script>alert(1)</script></html>")},
	})
	colin := w.as(w.collaborator)
	for name, want := range map[string]struct{ contentType, disposition string }{
		"output/report.html": {"text/html; charset=utf-8", "inline"},
		"output/plot.svg":    {"image/svg+xml", "inline"},
		"output/unknown.bin": {"application/octet-stream", "attachment"},
	} {
		got := colin.fetch("/api/v2/releases/file/" + r.files[name])
		csp := got.header.Get("Content-Security-Policy")
		if got.status != http.StatusOK || !strings.HasPrefix(csp, "sandbox;") || strings.Contains(csp, "allow-scripts") ||
			!strings.Contains(csp, "frame-ancestors 'self'") || got.header.Get("X-Frame-Options") != "SAMEORIGIN" ||
			got.header.Get("X-Content-Type-Options") != "nosniff" || got.header.Get("Content-Type") != want.contentType ||
			!strings.HasPrefix(got.header.Get("Content-Disposition"), want.disposition) {
			t.Errorf("%s: %d %v", name, got.status, got.header)
		}
	}
	// The pages themselves still may not be framed by anyone.
	if page := colin.fetch(w.releaseURL(r)); page.header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("the release page's X-Frame-Options is %q", page.header.Get("X-Frame-Options"))
	}
}

// The API says why a file cannot be downloaded: deleted (tested with deleting), not uploaded yet, or unknown.
func TestAFileNotUploadedYetIsNotFoundAndSaysSo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := setUpReleases(e)
	r := w.release([]output{csvOutput("output/table.csv", 3), csvOutput("output/later.csv", 3)}, "output/later.csv")
	colin := w.as(w.collaborator)
	var later string
	for _, f := range colin.index("/api/v2/releases/release/" + r.id).Files {
		if f.Name == "output/later.csv" {
			later = f.ID
		}
	}
	got := colin.fetch("/api/v2/releases/file/" + later)
	if detail := got.detail(t); got.status != http.StatusNotFound || !strings.Contains(detail, "not yet uploaded") {
		t.Errorf("a file not uploaded yet: %d %q", got.status, detail)
	}
	got = colin.fetch("/api/v2/releases/file/01JR5ZZZZZZZZZZZZZZZZZZZZZ")
	if detail := got.detail(t); got.status != http.StatusNotFound || !strings.Contains(detail, "No such file") {
		t.Errorf("an unknown file: %d %q", got.status, detail)
	}
	// The release page lists what can be shown: the file not uploaded yet is not among its files.
	colin.get(w.releaseURL(r)).expect(http.StatusOK, "output/table.csv").lacks("output/later.csv")
}

// unzip opens a downloaded zip and returns each file's bytes by name.
func unzip(t *testing.T, got response) map[string][]byte {
	t.Helper()
	if got.status != http.StatusOK || got.header.Get("Content-Type") != "application/zip" ||
		!strings.HasPrefix(got.header.Get("Content-Disposition"), "attachment; filename=") {
		t.Fatalf("the download: %d %v", got.status, got.header)
	}
	zr, err := zip.NewReader(bytes.NewReader(got.body), int64(len(got.body)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
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
		files[f.Name] = b
	}
	return files
}

// "Download all" is a zip of the release's files under their paths, so that the user follows the folders to
// the output folder; a deleted file leaves a note saying who deleted it and why.
func TestDownloadAllIsAZipOfTheReleaseWithANoteForADeletedFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := setUpReleases(e)
	table, image, doomed := csvOutput("output/table.csv", 2000), pngOutput("output/genes_histogram.png"), csvOutput("output/small.csv", 2)
	r := w.release([]output{table, image, doomed})
	olive := w.as(w.checker)
	olive.get(w.releaseURL(r) + "/" + r.files["output/small.csv"] + "/delete")
	olive.post(w.releaseURL(r)+"/"+r.files["output/small.csv"]+"/delete", url.Values{"reason": {"Counts under 7."}}).
		expect(http.StatusOK, "File deleted")

	colin := w.as(w.collaborator)
	files := unzip(t, colin.fetch(w.releaseURL(r)+"/download"))
	if len(files) != 3 || sha256Hex(files["output/table.csv"]) != sha256Hex(table.content) ||
		sha256Hex(files["output/genes_histogram.png"]) != sha256Hex(image.content) {
		t.Errorf("the zip holds %d files; the checksums do not match what was released", len(files))
	}
	if note := string(files["output/small.csv"]); !strings.Contains(note, "deleted by olive") || !strings.Contains(note, "Counts under 7.") {
		t.Errorf("the deleted file's note: %q", note)
	}

	// The latest version of every file, each under its backend.
	newer := csvOutput("output/table.csv", 10)
	w.release([]output{newer})
	latest := unzip(t, colin.fetch(w.releasesURL+"/latest/download"))
	if len(latest) != 2 || sha256Hex(latest["rcdemo2/output/table.csv"]) != sha256Hex(newer.content) ||
		sha256Hex(latest["rcdemo2/output/genes_histogram.png"]) != sha256Hex(image.content) {
		t.Errorf("the latest files' zip holds %v", keys(latest))
	}
	if got := w.as(w.coordinator).fetch(w.releaseURL(r) + "/download"); got.status != http.StatusForbidden {
		t.Errorf("a Project Coordinator's download: %d", got.status)
	}
}

// The release API's POST endpoints (a backend's release tool) and GET endpoints (a logged-in person) share
// their paths: a release created through the API is then read through the same address.
func TestAReleaseToolPostsAndAPersonReadsTheSameAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := setUpReleases(e)
	rotated, err := e.cmds.RotateRunnerToken.Handle(context.Background(), identity.RotateRunnerToken{Actor: commands.CLIActor, BackendID: w.backend})
	e.must(rotated.Result, err)
	table := csvOutput("output/table.csv", 3)
	list, _ := json.Marshal(map[string]any{"files": []map[string]any{{"name": "output/table.csv", "url": "output/table.csv",
		"size": len(table.content), "sha256": sha256Hex(table.content), "date": "2025-04-08T10:00:00.123456+00:00",
		"metadata": map[string]any{}, "review": nil}}, "metadata": map[string]any{}, "review": nil})
	post := func(path string, body []byte, headers ...string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, e.server.URL+path, bytes.NewReader(body))
		req.Header.Set("Authorization", rotated.Token)
		req.Header.Set("OS-User", "olive")
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	created := post("/api/v2/releases/workspace/genetic", list, "Content-Type", "application/json")
	releaseID := created.Header.Get("Release-Id")
	if created.StatusCode != http.StatusCreated || releaseID == "" {
		t.Fatalf("create the release: %d", created.StatusCode)
	}
	uploaded := post("/api/v2/releases/release/"+releaseID, table.content, "Content-Type", "application/octet-stream",
		"Content-Disposition", `attachment; filename="output/table.csv"`)
	if uploaded.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d", uploaded.StatusCode)
	}
	fileURL := uploaded.Header.Get("Location")

	colin := w.as(w.collaborator)
	for _, path := range []string{"/api/v2/releases/workspace/genetic", "/api/v2/releases/release/" + releaseID} {
		deadline := time.Now().Add(10 * time.Second)
		var files releaseviews.Index
		for {
			if files = colin.index(path); len(files.Files) == 1 || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond) // the API's POST does not wait for the read models
		}
		if len(files.Files) != 1 || files.Files[0].SHA256 != sha256Hex(table.content) || files.Files[0].User != "olive" ||
			files.Files[0].Backend != "RC Demo 2" || files.Files[0].IsDeleted || !strings.HasSuffix(fileURL, files.Files[0].URL) {
			t.Errorf("GET %s: %+v", path, files)
		}
	}
	if got := colin.fetch(strings.TrimPrefix(fileURL, e.server.URL)); got.status != http.StatusOK || !bytes.Equal(got.body, table.content) {
		t.Errorf("GET %s: %d", fileURL, got.status)
	}
	// A browser's session does not post to the API, nor does the API's token read it.
	if got := e.browser().fetch("/api/v2/releases/workspace/genetic", "Authorization", rotated.Token); got.status != http.StatusForbidden {
		t.Errorf("GET with the backend's token: %d", got.status)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
