package releases

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestFilesAreShownAndServedByTheirType(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name        string
		kind        kind
		contentType string
		disposition string
	}{
		{"output/table.csv", kindCSV, "text/csv; charset=utf-8", `inline; filename=table.csv`},
		{"output/Plot.PNG", kindImage, "image/png", `inline; filename=Plot.PNG`},
		{"output/plot.svg", kindImage, "image/svg+xml", `inline; filename=plot.svg`},
		{"output/report.html", kindDocument, "text/html; charset=utf-8", `inline; filename=report.html`},
		{"output/notes.txt", kindDocument, "text/plain; charset=utf-8", `inline; filename=notes.txt`},
		{"output/model.rds", kindDownload, "application/octet-stream", `attachment; filename=model.rds`},
		{"output/no-extension", kindDownload, "application/octet-stream", `attachment; filename=no-extension`},
		{"output/odd name \"x\".pdf", kindDownload, "application/octet-stream", `attachment; filename="odd name \"x\".pdf"`},
	} {
		if got := typeOf(c.name).kind; got != c.kind {
			t.Errorf("%s: kind %s, want %s", c.name, got, c.kind)
		}
		h := http.Header{}
		setFileHeaders(h, c.name)
		if got := h.Get("Content-Type"); got != c.contentType {
			t.Errorf("%s: Content-Type %q, want %q", c.name, got, c.contentType)
		}
		if got := h.Get("Content-Disposition"); got != c.disposition {
			t.Errorf("%s: Content-Disposition %q, want %q", c.name, got, c.disposition)
		}
		// Whatever the type, the bytes run in a sandbox, are never sniffed, and only our pages frame them.
		if csp := h.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox;") || strings.Contains(csp, "allow-scripts") ||
			!strings.Contains(csp, "frame-ancestors 'self'") || strings.Contains(csp, "script-src") {
			t.Errorf("%s: Content-Security-Policy %q", c.name, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "SAMEORIGIN" {
			t.Errorf("%s: headers %v", c.name, h)
		}
	}
}

func csvRows(n int) string {
	var b strings.Builder
	b.WriteString("id,name\n")
	for i := range n {
		fmt.Fprintf(&b, "%d,person %d\n", i, i)
	}
	return b.String()
}

func TestTheCSVPreviewStopsAtItsRowCap(t *testing.T) {
	t.Parallel()
	p, err := readCSVPreview(strings.NewReader(csvRows(previewRows+1)), previewRows, previewBytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rows) != previewRows || !p.More || strings.Join(p.Header, ",") != "id,name" {
		t.Fatalf("%d rows, more %v, header %v", len(p.Rows), p.More, p.Header)
	}
	if last := p.Rows[previewRows-1]; last[0] != fmt.Sprint(previewRows-1) {
		t.Errorf("the last row shown is %v", last)
	}

	exact, err := readCSVPreview(strings.NewReader(csvRows(previewRows)), previewRows, previewBytes)
	if err != nil || len(exact.Rows) != previewRows || exact.More {
		t.Errorf("a file of exactly the cap: %d rows, more %v, %v", len(exact.Rows), exact.More, err)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// A large file is not read to its end: a few rows of a 16 MiB file are the few rows' bytes and a buffer.
func TestTheCSVPreviewReadsNoMoreOfTheFileThanItShows(t *testing.T) {
	t.Parallel()
	wide := strings.Repeat("x", 1000)
	var b strings.Builder
	b.WriteString("a,b\n")
	for b.Len() < 16<<20 {
		b.WriteString("1," + wide + "\n")
	}
	src := &countingReader{r: strings.NewReader(b.String())}
	p, err := readCSVPreview(src, previewRows, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	if !p.More || len(p.Rows) < 60 || len(p.Rows) > 70 {
		t.Errorf("%d rows shown (more %v) of a file capped at 64 KiB", len(p.Rows), p.More)
	}
	if src.n > 200<<10 {
		t.Errorf("read %d bytes of the file to show 64 KiB of it", src.n)
	}
}

func TestACSVThatBreaksShowsTheRowsBeforeIt(t *testing.T) {
	t.Parallel()
	p, err := readCSVPreview(strings.NewReader("a,b\n1,2\n\"3,4\n"), previewRows, previewBytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rows) != 1 || !strings.Contains(p.Problem, "could not be read as CSV") {
		t.Errorf("rows %v, problem %q", p.Rows, p.Problem)
	}
	ragged, err := readCSVPreview(strings.NewReader("a,b\n1\n2,3,4\n"), previewRows, previewBytes)
	if err != nil || len(ragged.Rows) != 2 || ragged.Problem != "" {
		t.Errorf("rows of differing lengths: %v %q %v", ragged.Rows, ragged.Problem, err)
	}
}

func TestTheZipHoldsEachFileUnderItsPathAndAStubForADeletedOne(t *testing.T) {
	t.Parallel()
	blobs := map[string][]byte{}
	add := func(b []byte) string {
		sum := sha256.Sum256(b)
		key := hex.EncodeToString(sum[:])
		blobs[key] = b
		return key
	}
	csvBytes, pngBytes := []byte(csvRows(100)), bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, 1000)
	when := time.Date(2025, 4, 8, 10, 0, 0, 0, time.UTC)
	entries := []zipEntry{
		{Name: "output/table.csv", SHA256: add(csvBytes), Modified: when},
		{Name: "output/plot.png", SHA256: add(pngBytes), Modified: when},
		{Name: "output/secret.csv", Modified: when, Stub: "This file was deleted by Olive Checker: small numbers.\n"},
		{Name: "../../escape.txt", SHA256: add([]byte("no way out")), Modified: when},
	}
	var out bytes.Buffer
	err := writeZip(&out, entries, func(sha string) (io.ReadCloser, error) {
		b, ok := blobs[sha]
		if !ok {
			return nil, errors.New("no such blob")
		}
		return io.NopCloser(bytes.NewReader(b)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		content []byte
		method  uint16
	}{
		"output/table.csv":  {csvBytes, zip.Deflate},
		"output/plot.png":   {pngBytes, zip.Store},
		"output/secret.csv": {[]byte("This file was deleted by Olive Checker: small numbers.\n"), zip.Deflate},
		"escape.txt":        {[]byte("no way out"), zip.Deflate},
	}
	if len(zr.File) != len(want) {
		t.Fatalf("%d files in the zip, want %d", len(zr.File), len(want))
	}
	for _, f := range zr.File {
		w, ok := want[f.Name]
		if !ok {
			t.Errorf("unexpected file %q in the zip", f.Name)
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, w.content) || f.Method != w.method || !f.Modified.Equal(when) {
			t.Errorf("%s: %d bytes (want %d), method %d (want %d), modified %v, %v", f.Name, len(got), len(w.content), f.Method, w.method, f.Modified, err)
		}
	}

	if err := writeZip(io.Discard, []zipEntry{{Name: "gone.csv", SHA256: "missing"}}, func(string) (io.ReadCloser, error) {
		return nil, errors.New("no such blob")
	}); err == nil || !strings.Contains(err.Error(), "gone.csv") {
		t.Errorf("a missing blob: %v", err)
	}
}

// A download that keeps writing outlives the server's write timeout; each write extends it.
func TestAZipThatKeepsComingOutlivesTheWriteTimeout(t *testing.T) {
	t.Parallel()
	entries := make([]zipEntry, 6)
	for i := range entries {
		entries[i] = zipEntry{Name: fmt.Sprintf("output/%d.csv", i), SHA256: "slow", Modified: time.Now()}
	}
	slowOpen := func(string) (io.ReadCloser, error) {
		time.Sleep(1100 * time.Millisecond) // longer than the write timeout, and than the writer's throttle
		return io.NopCloser(strings.NewReader("a,b\n1,2\n")), nil
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := writeZip(newStreamWriter(w), entries, slowOpen); err != nil {
			t.Error(err)
		}
	}))
	srv.Config.WriteTimeout = 2 * time.Second
	srv.Start()
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("the download was cut off: %v", err)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil || len(zr.File) != len(entries) {
		t.Fatalf("the zip after %d bytes: %v", len(body), err)
	}
}
