package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	identitycmd "github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/domain"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// The released outputs measurements, on the real server run as a process of its own (its development
// mode's demo gives the backend, its output checker and the workspace): a 16 MiB file uploaded through the
// release API and downloaded through GET /api/v2/releases/file/{id}, against cp of the same bytes in the
// same directory as the server's blob storage; and "Download all" of a release of 200 files totalling
// 1 GiB, with the server's resident memory before and its peak during the zip.
const (
	// The demo's names (cmd/jobserver/demo*.go): the backend the release tools upload from, the output
	// checker who releases (a member of that backend) and the workspace released from.
	releaseBenchBackend   = "rcdemo2"
	releaseBenchChecker   = "demo-checker"
	releaseBenchWorkspace = "antibiotics-demo"

	singleFileSize = 16 << 20
	releaseTotal   = 1 << 30
	releaseFiles   = 200
)

// releaseSizes are the repeats of the single file and the size of the "Download all" release of one run.
type releaseSizes struct {
	singleRepeats int
	files         int
	total         int64
}

func releaseSizesFor(cfg config) releaseSizes {
	if cfg.quickReleases {
		return releaseSizes{singleRepeats: 2, files: 20, total: 100 << 20}
	}
	return releaseSizes{singleRepeats: 5, files: releaseFiles, total: releaseTotal}
}

// releaseWorld is the server, the release tool's credentials and the checker's logged-in browser.
type releaseWorld struct {
	server  *serverProcess
	token   string // the demo backend's runner token, rotated by the bench
	api     *http.Client
	browser *http.Client
	rng     *rand.ChaCha8
}

func measureReleases(ctx context.Context, cfg config, rep *report) (err error) {
	sizes := releaseSizesFor(cfg)
	db, err := createBenchDatabase(ctx, cfg.adminURL)
	if err != nil {
		return err
	}
	defer func() { err = joinErr(err, db.drop()) }()
	env, err := openBenchEnv(ctx, db, 4)
	if err != nil {
		return err
	}
	defer env.close()
	server, err := startServer(ctx, db.url, env.secretKey)
	if err != nil {
		return err
	}
	defer server.stop()
	w, err := newReleaseWorld(ctx, env, server)
	if err != nil {
		return err
	}
	if err := w.measureSingleFile(ctx, sizes, rep); err != nil {
		return fmt.Errorf("16 MiB file: %w", err)
	}
	if err := w.measureDownloadAll(ctx, sizes, rep); err != nil {
		return fmt.Errorf("download all: %w", err)
	}
	rep.note("releases: load average " + loadAverage() + " after the release rows")
	return nil
}

// newReleaseWorld gives the demo backend a runner token the bench knows (its demo drops the one it was
// created with) and logs the demo's output checker in.
func newReleaseWorld(ctx context.Context, env *benchEnv, server *serverProcess) (*releaseWorld, error) {
	queries := identityviews.NewQueries(env.pool)
	backend, err := queries.BackendBySlug(ctx, releaseBenchBackend)
	if err != nil {
		return nil, fmt.Errorf("the demo backend %s: %w", releaseBenchBackend, err)
	}
	checker, err := queries.UserByLogin(ctx, releaseBenchChecker)
	if err != nil {
		return nil, fmt.Errorf("the demo output checker %s: %w", releaseBenchChecker, err)
	}
	id := identitycmd.New(commands.Kit{Log: commands.NewEventLog(env.store, domain.Events, time.Now), Logger: env.logger})
	rotated, err := id.RotateRunnerToken.Handle(ctx, identitycmd.RotateRunnerToken{Actor: commands.CLIActor, BackendID: backend.ID})
	if err != nil {
		return nil, fmt.Errorf("rotate the demo backend's token: %w", err)
	}
	browser, err := server.login(ctx, checker.ID)
	if err != nil {
		return nil, err
	}
	browser.Timeout = 0 // a zip of 1 GiB outlasts any fixed timeout on a loaded machine; ctx bounds it
	return &releaseWorld{server: server, token: rotated.Token, browser: browser, api: &http.Client{},
		rng: rand.NewChaCha8([32]byte{20, 26, 12, 3})}, nil
}

// releaseFile is one file of a release: its name and bytes (regenerated from seed when too big to keep).
type releaseFile struct {
	name   string
	size   int64
	seed   uint64
	sha256 string
}

func (f releaseFile) content() []byte {
	b := make([]byte, f.size)
	var seed [32]byte
	copy(seed[:], strconv.FormatUint(f.seed, 10))
	_, _ = rand.NewChaCha8(seed).Read(b)
	return b
}

func newReleaseFile(name string, size int64, seed uint64) releaseFile {
	f := releaseFile{name: name, size: size, seed: seed}
	sum := sha256.Sum256(f.content())
	f.sha256 = hex.EncodeToString(sum[:])
	return f
}

// measureSingleFile uploads and downloads a new 16 MiB file (new bytes each time, so storage never finds
// them already kept) and copies the same bytes with cp, with and without sync, in the directory that holds
// the server's blob storage; each figure is the median of the repeats.
func (w *releaseWorld) measureSingleFile(ctx context.Context, sizes releaseSizes, rep *report) error {
	dir := w.server.dir // the development server keeps its blobs under .data/blobs here
	var uploads, downloads, copies, syncedCopies []float64
	for i := range sizes.singleRepeats {
		f := newReleaseFile(fmt.Sprintf("output/single-%d.bin", i), singleFileSize, w.rng.Uint64())
		src := filepath.Join(dir, "source.bin")
		if err := os.WriteFile(src, f.content(), 0o600); err != nil {
			return err
		}
		copied, err := timeCommands(ctx, []string{"cp", src, filepath.Join(dir, "copy.bin")})
		if err != nil {
			return err
		}
		synced, err := timeCommands(ctx, []string{"cp", src, filepath.Join(dir, "synced.bin")}, []string{"sync", filepath.Join(dir, "synced.bin")})
		if err != nil {
			return err
		}
		releasePath, err := w.createRelease(ctx, []releaseFile{f})
		if err != nil {
			return err
		}
		start := time.Now()
		fileID, err := w.uploadFrom(ctx, releaseIDOf(releasePath), f.name, src)
		if err != nil {
			return err
		}
		uploaded := time.Since(start)
		if err := w.awaitUploaded(ctx, fileID); err != nil {
			return err
		}
		downloaded, err := w.downloadTo(ctx, "/api/v2/releases/file/"+url.PathEscape(fileID), filepath.Join(dir, "download.bin"), f.size)
		if err != nil {
			return err
		}
		mib := float64(f.size) / (1 << 20)
		uploads = append(uploads, mib/uploaded.Seconds())
		downloads = append(downloads, mib/downloaded.Seconds())
		copies = append(copies, mib/copied.Seconds())
		syncedCopies = append(syncedCopies, mib/synced.Seconds())
		for _, name := range []string{"source.bin", "copy.bin", "synced.bin", "download.bin"} {
			_ = os.Remove(filepath.Join(dir, name))
		}
	}
	cp, cpSync := median(copies), median(syncedCopies)
	rep.add(row{section: sectionReleases, measurement: "releases: cp of a 16 MiB file, same disk", writers: 1, value: cp, unit: "MiB/s"})
	rep.add(row{section: sectionReleases, measurement: "releases: cp + sync of a 16 MiB file, same disk", writers: 1, value: cpSync, unit: "MiB/s"})
	rep.add(row{section: sectionReleases, measurement: "releases: upload 16 MiB through the API (raw: cp + sync)", writers: 1,
		value: median(uploads), unit: "MiB/s", raw: cpSync, goal: atLeastRatio(0.5)})
	rep.add(row{section: sectionReleases, measurement: "releases: download 16 MiB to a file (raw: cp)", writers: 1,
		value: median(downloads), unit: "MiB/s", raw: cp, goal: atLeastRatio(0.5)})
	rep.note(fmt.Sprintf("releases: the upload's ratio is against cp + sync because the blob storage fsyncs the file (and "+
		"Postgres the event) before answering 201, which cp alone does not; against cp it is %.2f. The download writes "+
		"to a file without sync, as cp does. Medians of %d runs.", median(uploads)/cp, sizes.singleRepeats))
	return nil
}

// measureDownloadAll releases files of equal size totalling sizes.total (random bytes, which deflate
// cannot shrink: the zip's worst case), then downloads the release's zip as the checker's browser does,
// reading the server's resident set before and its peak during the download.
func (w *releaseWorld) measureDownloadAll(ctx context.Context, sizes releaseSizes, rep *report) error {
	files := make([]releaseFile, sizes.files)
	each := sizes.total / int64(sizes.files)
	for i := range files {
		size := each
		if i == len(files)-1 {
			size = sizes.total - each*int64(len(files)-1)
		}
		files[i] = newReleaseFile(fmt.Sprintf("output/part-%03d.bin", i), size, w.rng.Uint64())
	}
	fmt.Fprintf(os.Stderr, "releasing %d files totalling %d MiB\n", len(files), sizes.total>>20)
	releasePath, err := w.createRelease(ctx, files)
	if err != nil {
		return err
	}
	var last string
	for _, f := range files {
		if last, err = w.upload(ctx, releaseIDOf(releasePath), f.name, bytes.NewReader(f.content()), f.size); err != nil {
			return err
		}
	}
	if err := w.awaitUploaded(ctx, last); err != nil { // the read model takes the uploads in order
		return err
	}
	// VmHWM is the peak over the process's life: the uploads' peak is cleared so that it is the zip's.
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", w.server.cmd.Process.Pid), []byte("5"), 0); err != nil {
		return fmt.Errorf("reset the server's peak resident set: %w", err)
	}
	before, _, err := w.server.memory()
	if err != nil {
		return err
	}
	start := time.Now()
	zipped, err := w.fetch(ctx, releasePath+"/download", io.Discard, -1)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	_, peak, err := w.server.memory()
	if err != nil {
		return err
	}
	const mbPerMiB = 1.048576
	rep.add(row{section: sectionReleases, measurement: fmt.Sprintf("releases: download all, %d files of %d MiB, server RSS growth", sizes.files, sizes.total>>20),
		writers: 1, value: (peak - before) * mbPerMiB, unit: "MB", goal: below(30, "MB")})
	rep.add(row{section: sectionReleases, measurement: "releases: download all, zip streamed", writers: 1,
		value: float64(sizes.total) / (1 << 20) / elapsed.Seconds(), unit: "MiB/s"})
	rep.note(fmt.Sprintf("releases: download all took %.1f s for a zip of %d MiB; server VmRSS %.1f MiB before, VmHWM %.1f MiB during (peak reset after the uploads)",
		elapsed.Seconds(), zipped>>20, before, peak))
	return nil
}

// createRelease posts the file list as airlock does (reference §5) and returns the release page's path.
func (w *releaseWorld) createRelease(ctx context.Context, files []releaseFile) (string, error) {
	type entry struct {
		Name     string         `json:"name"`
		URL      string         `json:"url"`
		Size     int64          `json:"size"`
		SHA256   string         `json:"sha256"`
		Date     string         `json:"date"`
		Metadata map[string]any `json:"metadata"`
		Review   any            `json:"review"`
	}
	body := struct {
		Files    []entry        `json:"files"`
		Metadata map[string]any `json:"metadata"`
		Review   any            `json:"review"`
	}{Metadata: map[string]any{"tool": "jobserver-bench"}}
	date := time.Now().UTC().Format("2006-01-02T15:04:05.000000+00:00")
	for _, f := range files {
		body.Files = append(body.Files, entry{Name: f.name, URL: f.name, Size: f.size, SHA256: f.sha256, Date: date, Metadata: map[string]any{}})
	}
	data, err := json.Marshal(body)
	if err != nil {
		return "", err
	}
	resp, err := w.post(ctx, "/api/v2/releases/workspace/"+releaseBenchWorkspace, bytes.NewReader(data), int64(len(data)),
		map[string]string{"Content-Type": "application/json"})
	if err != nil {
		return "", err
	}
	var created struct {
		URL string `json:"release_url"`
	}
	if err := json.Unmarshal(resp, &created); err != nil {
		return "", err
	}
	u, err := url.Parse(created.URL)
	if err != nil {
		return "", err
	}
	return u.Path, nil
}

// releaseIDOf is the last segment of a release page's path.
func releaseIDOf(releasePath string) string { return filepath.Base(releasePath) }

func (w *releaseWorld) uploadFrom(ctx context.Context, releaseID, name, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", err
	}
	return w.upload(ctx, releaseID, name, f, info.Size())
}

// upload sends one file's bytes as the release tools do and returns its File-Id.
func (w *releaseWorld) upload(ctx context.Context, releaseID, name string, body io.Reader, size int64) (string, error) {
	var fileID string
	_, err := w.postWith(ctx, "/api/v2/releases/release/"+url.PathEscape(releaseID), body, size, map[string]string{
		"Content-Type": "application/octet-stream", "Content-Disposition": `attachment; filename="` + name + `"`,
	}, func(h http.Header) { fileID = h.Get("File-Id") })
	if err == nil && fileID == "" {
		err = errors.New("the upload answered without a File-Id")
	}
	return fileID, err
}

func (w *releaseWorld) post(ctx context.Context, path string, body io.Reader, size int64, headers map[string]string) ([]byte, error) {
	return w.postWith(ctx, path, body, size, headers, func(http.Header) {})
}

// postWith sends a release API call with the backend's token and the checker as OS-User; anything but 201 fails.
func (w *releaseWorld) postWith(ctx context.Context, path string, body io.Reader, size int64, headers map[string]string, answered func(http.Header)) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.server.url+path, body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = size
	req.Header.Set("Authorization", w.token)
	req.Header.Set("OS-User", releaseBenchChecker)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := w.api.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, answer)
	}
	answered(resp.Header)
	return answer, nil
}

// awaitUploaded waits until the file's page sees the upload: the API answers 201 once the event is
// appended, and the releases read model takes it in a moment later.
func (w *releaseWorld) awaitUploaded(ctx context.Context, fileID string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.server.url+"/api/v2/releases/file/"+url.PathEscape(fileID), nil)
		if err != nil {
			return err
		}
		req.Header.Set("Range", "bytes=0-0")
		resp, err := w.browser.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusPartialContent {
			return nil
		}
		if resp.StatusCode != http.StatusNotFound || time.Now().After(deadline) {
			return fmt.Errorf("the first byte of the uploaded file %s: %d", fileID, resp.StatusCode)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// downloadTo writes a download to a file and returns how long it took.
func (w *releaseWorld) downloadTo(ctx context.Context, path, file string, want int64) (time.Duration, error) {
	out, err := os.Create(file)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	_, err = w.fetch(ctx, path, out, want)
	elapsed := time.Since(start)
	return elapsed, errors.Join(err, out.Close())
}

// fetch streams a GET by the checker's browser into out and returns its length, which must be want unless want is -1.
func (w *releaseWorld) fetch(ctx context.Context, path string, out io.Writer, want int64) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.server.url+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := w.browser.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return 0, fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, answer)
	}
	// 1 MiB at a time, so that the bench's own reads (io.Copy's 32 KiB: 512 reads and writes for 16 MiB)
	// do not bound the download it measures; the struct hides a file's ReadFrom, which would use 32 KiB.
	n, err := io.CopyBuffer(struct{ io.Writer }{out}, resp.Body, make([]byte, 1<<20))
	if err == nil && want >= 0 && n != want {
		err = fmt.Errorf("GET %s: %d bytes, not %d", path, n, want)
	}
	return n, err
}

// timeCommands runs the commands one after the other and returns how long they took together.
func timeCommands(ctx context.Context, argvs ...[]string) (time.Duration, error) {
	start := time.Now()
	for _, c := range argvs {
		if out, err := exec.CommandContext(ctx, c[0], c[1:]...).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("%v: %w: %s", c, err, out)
		}
	}
	return time.Since(start), nil
}

func median(values []float64) float64 {
	s := slices.Clone(values)
	slices.Sort(s)
	return s[len(s)/2]
}
