package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	releasecmds "github.com/mediciasafely/jobserver/commands/releases"
	"github.com/mediciasafely/jobserver/domain"
	releaseviews "github.com/mediciasafely/jobserver/projections/releases"
)

// releasesWorld is the workspaces world (setUpWorkspaces) with the workspace "genetic" and Olive, a global
// Output Checker who is a member of its backend: she releases files out of it, as a backend's release
// tool does on her behalf, and may delete them.
type releasesWorld struct {
	wsWorld
	checker      string // Olive
	workspaceURL string // /mediciaaiorg2/mystudy/genetic
	releasesURL  string
}

func setUpReleases(e *env) releasesWorld {
	e.t.Helper()
	w := releasesWorld{wsWorld: setUpWorkspaces(e)}
	w.checker = e.user("olive", domain.OutputChecker)
	e.must(e.cmds.AddBackendMember.Handle(context.Background(), identity.AddBackendMember{
		Actor: commands.CLIActor, BackendID: w.backend, UserID: w.checker}))
	w.workspaceURL = w.workspace("genetic")
	w.releasesURL = w.workspaceURL + "/releases"
	return w
}

// output is a file to release: its path in the workspace and its bytes.
type output struct {
	name    string
	content []byte
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// released is a release as the tests know it: its id and the ids of its files by name.
type released struct {
	id    string
	files map[string]string
}

// release releases the outputs out of the workspace as Olive: the file list, then each file's bytes but
// those named in notUploaded.
func (w releasesWorld) release(outputs []output, notUploaded ...string) released {
	w.e.t.Helper()
	ctx := context.Background()
	olive := commands.UserActor(w.checker)
	requests := make([]domain.ReleaseFileRequest, len(outputs))
	for i, o := range outputs {
		requests[i] = domain.ReleaseFileRequest{Name: o.name, URL: o.name, Size: int64(len(o.content)), SHA256: sha256Hex(o.content),
			Date: time.Date(2025, 4, 8, 10, 0, 0, 0, time.UTC), Metadata: map[string]any{"tool": "test"}}
	}
	created, err := w.e.releases.CreateRelease.Handle(ctx, releasecmds.CreateRelease{Actor: olive, BackendID: w.backend,
		WorkspaceName: "genetic", Files: requests})
	w.e.must(created.Result, err)
	r := released{id: created.ReleaseID, files: map[string]string{}}
	for _, o := range outputs {
		if slices.Contains(notUploaded, o.name) {
			continue
		}
		uploaded, err := w.e.releases.UploadReleaseFile.Handle(ctx, releasecmds.UploadReleaseFile{Actor: olive, BackendID: w.backend,
			ReleaseID: created.ReleaseID, Name: o.name, DeclaredSize: int64(len(o.content)), Body: bytes.NewReader(o.content)})
		w.e.must(uploaded.Result, err)
		r.files[o.name] = uploaded.FileID
	}
	return r
}

// releaseURL is the page of a release.
func (w releasesWorld) releaseURL(r released) string { return w.releasesURL + "/" + r.id }

// csvOutput is a CSV file with a header and rows numbered from 0.
func csvOutput(name string, rows int) output {
	var b strings.Builder
	b.WriteString("patient_id,age,gene\n")
	for i := range rows {
		fmt.Fprintf(&b, "%d,%d,BRCA%d\n", i, 20+i%60, 1+i%2)
	}
	return output{name, []byte(b.String())}
}

// pngOutput is a small PNG image: a bar chart, as a histogram output would be.
func pngOutput(name string) output {
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for x := range 40 {
		for y := 30 - (x%8)*3; y < 30; y++ {
			img.Set(x, y, color.RGBA{30, 90, 160, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return output{name, b.Bytes()}
}

// response is a raw answer, for the API and downloads, where the headers matter.
type response struct {
	status int
	header http.Header
	body   []byte
}

// fetch sends a GET with the browser's cookies and the extra headers (name, value, ...), without
// following redirects.
func (b *browser) fetch(path string, headers ...string) response {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.env.server.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := *b.client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// detail is the detail of a JSON error, which must be one.
func (r response) detail(t *testing.T) string {
	t.Helper()
	var v struct {
		Detail string `json:"detail"`
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" || json.Unmarshal(r.body, &v) != nil || v.Detail == "" {
		t.Fatalf("not a JSON error with a detail (%s): %s", ct, r.body)
	}
	return v.Detail
}

// index reads a file index of the release API.
func (b *browser) index(path string) releaseviews.Index {
	b.t.Helper()
	r := b.fetch(path)
	var v releaseviews.Index
	if r.status != http.StatusOK || json.Unmarshal(r.body, &v) != nil {
		b.t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	return v
}
