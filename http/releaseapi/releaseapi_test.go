package releaseapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/commands"
	identitycmd "github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/commands/releases"
	wscmd "github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/http/releaseapi"
	"github.com/mediciasafely/jobserver/http/server"
	"github.com/mediciasafely/jobserver/integrations/blobs"
	"github.com/mediciasafely/jobserver/internal/pgtest"
	"github.com/mediciasafely/jobserver/internal/rolematrix"
	"github.com/mediciasafely/jobserver/projections"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

type gitHub struct{}

func (gitHub) TokenLogin(context.Context, string) (string, error)              { return "devon", nil }
func (gitHub) Repository(_ context.Context, _, repoURL string) (string, error) { return repoURL, nil }
func (gitHub) BranchHead(context.Context, string, string, string) (string, error) {
	return "0123456789abcdef0123456789abcdef01234567", nil
}
func (gitHub) File(context.Context, string, string, string, string) ([]byte, error) {
	return []byte("version: '4.0'\nactions: {}\n"), nil
}

// limit is the release file limit of the tests' server.
const limit = 64 << 10

// world is the release API on a test server over a real Postgres and a blob directory: backends tpp and
// emis with their tokens; the workspace genetic of MyStudy in MediciaAIOrg2; olive, a global Output
// Checker and a member of tpp; both, one who is a member of both backends; outsider, an Output Checker
// of no backend; and devon, a Project Developer who is a member of tpp.
type world struct {
	url       string
	tpp, emis string // tokens
	pool      *pgxpool.Pool
	blobRoot  string
}

func setup(t *testing.T) world {
	t.Helper()
	return setupWith(t, nil)
}

// setupWith is the world with one more user, actor, when who is a person: a member of tpp with who's role,
// held globally, on MyStudy, or on another project.
func setupWith(t *testing.T, who *rolematrix.Setup) world {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	store := pgstore.New(pool)
	t.Cleanup(store.Close)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	kit := commands.Kit{Log: commands.NewEventLog(store, domain.Events, time.Now), Logger: logger}
	id := identitycmd.New(kit)
	var last eventstore.Position
	track := func(res commands.Result, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if last.Less(res.Position) {
			last = res.Position
		}
	}
	cli := commands.CLIActor
	signIn := func(githubID int64, login string) string {
		u, err := id.SignInWithGitHub.Handle(ctx, identitycmd.SignInWithGitHub{GitHubID: githubID, Login: login, Name: login})
		track(u.Result, err)
		return u.UserID
	}
	olive, both, outsider, devon := signIn(1, "olive"), signIn(2, "both"), signIn(3, "outsider"), signIn(4, "devon")
	org, err := id.CreateOrg.Handle(ctx, identitycmd.CreateOrg{Actor: cli, Name: "MediciaAIOrg2"})
	track(org.Result, err)
	project, err := id.CreateProject.Handle(ctx, identitycmd.CreateProject{Actor: cli, Name: "MyStudy", OrgID: org.ID})
	track(project.Result, err)
	track(id.AddProjectMember.Handle(ctx, identitycmd.AddProjectMember{Actor: cli, ProjectID: project.ID, UserID: devon, Roles: []domain.Role{domain.ProjectDeveloper}}))
	tpp, err := id.CreateBackend.Handle(ctx, identitycmd.CreateBackend{Actor: cli, Slug: "tpp", Name: "TPP"})
	track(tpp.Result, err)
	emis, err := id.CreateBackend.Handle(ctx, identitycmd.CreateBackend{Actor: cli, Slug: "emis", Name: "EMIS"})
	track(emis.Result, err)
	for _, u := range []string{olive, both, outsider} {
		track(id.GrantGlobalRole.Handle(ctx, identitycmd.GrantGlobalRole{Actor: cli, UserID: u, Role: domain.OutputChecker}))
	}
	for _, u := range []string{olive, both, devon} {
		track(id.AddBackendMember.Handle(ctx, identitycmd.AddBackendMember{Actor: cli, BackendID: tpp.BackendID, UserID: u}))
	}
	track(id.AddBackendMember.Handle(ctx, identitycmd.AddBackendMember{Actor: cli, BackendID: emis.BackendID, UserID: both}))
	if who != nil && !who.CLI && !who.Anonymous {
		actor := signIn(9, "actor")
		track(id.AddBackendMember.Handle(ctx, identitycmd.AddBackendMember{Actor: cli, BackendID: tpp.BackendID, UserID: actor}))
		switch {
		case who.Global != "":
			track(id.GrantGlobalRole.Handle(ctx, identitycmd.GrantGlobalRole{Actor: cli, UserID: actor, Role: who.Global}))
		case who.Project != "":
			track(id.AddProjectMember.Handle(ctx, identitycmd.AddProjectMember{Actor: cli, ProjectID: project.ID, UserID: actor, Roles: []domain.Role{who.Project}}))
		case who.Other != "":
			other, err := id.CreateProject.Handle(ctx, identitycmd.CreateProject{Actor: cli, Name: "Other Study", OrgID: org.ID})
			track(other.Result, err)
			track(id.AddProjectMember.Handle(ctx, identitycmd.AddProjectMember{Actor: cli, ProjectID: other.ID, UserID: actor, Roles: []domain.Role{who.Other}}))
		}
	}
	ring, err := commands.NewKeyring([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	ws, err := wscmd.New(kit, gitHub{}, ring).CreateWorkspace.Handle(ctx, wscmd.CreateWorkspace{Actor: commands.UserActor(devon),
		ProjectID: project.ID, Name: "genetic", RepoURL: "https://github.com/MediciaAI/genetic", Branch: "main", Token: "ghp_x"})
	track(ws.Result, err)

	// OS-User names are read from the identity read model.
	pgtest.WaitVisible(t, store, last)
	runner := projections.NewRunner(pool, store, domain.Events, logger, identityviews.Projectors()...)
	if err := runner.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dir, err := blobs.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	baseURL := "http://" + listener.Addr().String()
	srv := &httptest.Server{Listener: listener, Config: &http.Server{Handler: server.New(server.Options{Logger: logger, Pool: pool,
		API: releaseapi.Routes(releaseapi.Options{
			Logger: logger, Users: identityviews.NewQueries(pool), Releases: releases.New(kit, blobs.ForReleases{Store: dir}, limit),
			Authenticate: func(ctx context.Context, token string) (string, bool, error) {
				return identitycmd.BackendForToken(ctx, store, token)
			},
			BaseURL: baseURL, BodyLimit: 32 << 10,
		})})}}
	srv.Start()
	t.Cleanup(srv.Close)
	return world{url: baseURL, tpp: tpp.Token, emis: emis.Token, pool: pool, blobRoot: root}
}

// answer is a response: its status, headers and JSON body (nil when empty).
type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func (a answer) detail() string { s, _ := a.body["detail"].(string); return s }

// request is one call of a release tool.
type request struct {
	path, token, user string
	headers           map[string]string
	body              io.Reader
	// length is the Content-Length to send: -1 sends the body chunked, without one.
	length int64
}

func (w world) do(t *testing.T, r request) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, w.url+r.path, r.body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = r.length
	if r.token != "" {
		req.Header.Set("Authorization", r.token)
	}
	if r.user != "" {
		req.Header.Set("OS-User", r.user)
	}
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 {
		if resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("answer is %s, not JSON: %s", resp.Header.Get("Content-Type"), data)
		}
		if err := json.Unmarshal(data, &a.body); err != nil {
			t.Fatalf("answer %s: %v", data, err)
		}
	}
	return a
}

func sum(content string) string {
	s := sha256.Sum256([]byte(content))
	return hex.EncodeToString(s[:])
}

// fileList is the body airlock sends for files name→content, with airlockID ("" for none).
func fileList(airlockID string, files ...[2]string) string {
	type entry struct {
		Name     string         `json:"name"`
		URL      string         `json:"url"`
		Size     int            `json:"size"`
		SHA256   string         `json:"sha256"`
		Date     string         `json:"date"`
		Metadata map[string]any `json:"metadata"`
		Review   any            `json:"review"`
	}
	body := struct {
		Files    []entry        `json:"files"`
		Metadata map[string]any `json:"metadata"`
		Review   any            `json:"review"`
	}{Metadata: map[string]any{"tool": "airlock"}}
	if airlockID != "" {
		body.Metadata["airlock_id"] = airlockID
	}
	for _, f := range files {
		body.Files = append(body.Files, entry{Name: f[0], URL: f[0], Size: len(f[1]), SHA256: sum(f[1]), Date: "2025-04-08T10:00:00.123456+00:00",
			Metadata: map[string]any{"tool": "airlock", "airlock_id": airlockID}})
	}
	data, _ := json.Marshal(body)
	return string(data)
}

func (w world) create(token, user, workspace, body string) request {
	return request{path: "/api/v2/releases/workspace/" + workspace, token: token, user: user, body: strings.NewReader(body),
		length: int64(len(body)), headers: map[string]string{"Content-Type": "application/json", "Accept": "application/json"}}
}

func (w world) upload(token, user, releaseID, name, content string) request {
	return request{path: "/api/v2/releases/release/" + releaseID, token: token, user: user, body: strings.NewReader(content),
		length: int64(len(content)), headers: map[string]string{"Content-Type": "application/octet-stream",
			"Content-Disposition": mimeAttachment(name)}}
}

func mimeAttachment(name string) string { return `attachment; filename="` + name + `"` }

// events is how many events the log holds, committed ones all counted at once (reading the log in order
// waits for transactions of other tests on the same Postgres).
func (w world) events(t *testing.T) int {
	t.Helper()
	var n int
	if err := w.pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// blobFiles lists the stored blobs' names (not the temporary files).
func (w world) blobFiles(t *testing.T) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(w.blobRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "tmp" {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			names = append(names, d.Name())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestAReleaseToolCreatesAReleaseAndUploadsItsFiles: airlock's calls, as it sends them; the same list sent
// again is answered as the first time, another list under the same id is a conflict.
func TestAReleaseToolCreatesAReleaseAndUploadsItsFiles(t *testing.T) {
	t.Parallel()
	w := setup(t)
	airlockID := "01JR5K3M9Q8X7V6T5R4P3N2M1A"
	list := fileList(airlockID, [2]string{"output/table.csv", "a,b\n1,2\n"})
	a := w.do(t, w.create(w.tpp, "olive", "genetic", list))
	if a.status != http.StatusCreated || a.body["release_id"] != airlockID || a.header.Get("Release-Id") != airlockID ||
		a.body["release_url"] != w.url+"/mediciaaiorg2/mystudy/genetic/releases/"+airlockID {
		t.Fatalf("create: %+v", a)
	}
	up := w.do(t, w.upload(w.tpp, "olive", airlockID, "output/table.csv", "a,b\n1,2\n"))
	fileID := up.header.Get("File-Id")
	if up.status != http.StatusCreated || len(fileID) != 26 || up.header.Get("Location") != w.url+"/api/v2/releases/file/"+fileID || up.body != nil {
		t.Fatalf("upload: %+v", up)
	}
	if got := w.blobFiles(t); len(got) != 1 || got[0] != sum("a,b\n1,2\n") {
		t.Fatalf("stored blobs: %v", got)
	}
	again := w.do(t, w.create(w.tpp, "olive", "genetic", list))
	if again.status != http.StatusCreated || again.body["release_id"] != airlockID || again.body["release_url"] != a.body["release_url"] {
		t.Fatalf("the same list again: %+v", again)
	}
	other := w.do(t, w.create(w.tpp, "olive", "genetic", fileList(airlockID, [2]string{"output/table.csv", "changed"})))
	if other.status != http.StatusConflict || !strings.Contains(other.detail(), "already created with other files") {
		t.Fatalf("another list under the same id: %+v", other)
	}
	fresh := w.do(t, w.create(w.tpp, "olive", "genetic", fileList("", [2]string{"output/other.csv", "x"})))
	if id, _ := fresh.body["release_id"].(string); fresh.status != http.StatusCreated || len(id) != 26 || id == airlockID {
		t.Fatalf("a release without an airlock id: %+v", fresh)
	}
}

// TestTheReleaseAPIRefusesWhatItMustWithAClearDetailAndAppendsNothing: every refusal is JSON with the
// right status, and neither an event nor stored bytes follow it.
func TestTheReleaseAPIRefusesWhatItMustWithAClearDetailAndAppendsNothing(t *testing.T) {
	t.Parallel()
	w := setup(t)
	id := "01JR5K3M9Q8X7V6T5R4P3N2M1A"
	content := "a,b\n1,2\n"
	if a := w.do(t, w.create(w.tpp, "olive", "genetic", fileList(id, [2]string{"output/table.csv", content}, [2]string{"output/done.csv", "done"}))); a.status != http.StatusCreated {
		t.Fatalf("create: %+v", a)
	}
	if a := w.do(t, w.upload(w.tpp, "olive", id, "output/done.csv", "done")); a.status != http.StatusCreated {
		t.Fatalf("upload: %+v", a)
	}
	big := strings.Repeat("x", limit+1)
	chunked := w.upload(w.tpp, "olive", id, "output/table.csv", big)
	chunked.length = -1
	noDisposition := w.upload(w.tpp, "olive", id, "output/table.csv", content)
	delete(noDisposition.headers, "Content-Disposition")
	const mismatch = "Contents of uploaded file does not match the file which a review was requested for"
	cases := []struct {
		name   string
		req    request
		status int
		says   string
	}{
		{"no token", w.create("", "olive", "genetic", fileList("", [2]string{"a.csv", "a"})), 401, "Authorization header is missing"},
		{"a bad token", w.create("not-a-token", "olive", "genetic", fileList("", [2]string{"a.csv", "a"})), 401, "Invalid token"},
		{"a bad token on an upload", w.upload("not-a-token", "olive", id, "output/table.csv", content), 401, "Invalid token"},
		{"no OS-User", w.create(w.tpp, "", "genetic", fileList("", [2]string{"a.csv", "a"})), 403, "OS-User header is missing"},
		{"an unknown user", w.create(w.tpp, "nobody", "genetic", fileList("", [2]string{"a.csv", "a"})), 403, `no user "nobody"`},
		{"a user without release_file_upload", w.create(w.tpp, "devon", "genetic", fileList("", [2]string{"a.csv", "a"})), 403, "Only an Output Checker"},
		{"an upload by a user without release_file_upload", w.upload(w.tpp, "devon", id, "output/table.csv", content), 403, "Only an Output Checker"},
		{"a user not a member of the backend", w.create(w.tpp, "outsider", "genetic", fileList("", [2]string{"a.csv", "a"})), 403, "not a member of the backend “tpp”"},
		{"an unknown workspace", w.create(w.tpp, "olive", "nowhere", fileList("", [2]string{"a.csv", "a"})), 404, "No such workspace"},
		{"a body that is not JSON", w.create(w.tpp, "olive", "genetic", "{files: oops"), 400, "not a JSON file list"},
		{"a size that is not a number", w.create(w.tpp, "olive", "genetic", `{"files":[{"name":"a.csv","size":"big"}]}`), 400, "files.size is not a whole number"},
		{"a size that is a fraction", w.create(w.tpp, "olive", "genetic", `{"files":[{"name":"a.csv","size":1.5}]}`), 400, "files.size is not a whole number"},
		{"a file without a date", w.create(w.tpp, "olive", "genetic", `{"files":[{"name":"a.csv","size":1,"sha256":"`+sum("a")+`"}]}`), 400, "is not an ISO 8601 date"},
		{"a list with a path with ..", w.create(w.tpp, "olive", "genetic", fileList("", [2]string{"output/../../secret.csv", "a"})), 400, "“..”"},
		{"a list with an absolute path", w.create(w.tpp, "olive", "genetic", fileList("", [2]string{"/etc/passwd", "a"})), 400, "absolute"},
		{"a list file over the limit", w.create(w.tpp, "olive", "genetic", strings.Replace(fileList("", [2]string{"a.csv", "a"}), `"size":1`, `"size":999999999`, 1)), 400, "File is too large"},
		{"a file list over the body limit", w.create(w.tpp, "olive", "genetic", `{"files":[`+strings.Repeat(" ", 40<<10)+`]}`), 413, "larger than"},
		{"an airlock id that is no ULID", w.create(w.tpp, "olive", "genetic", fileList("not-a-ulid", [2]string{"a.csv", "a"})), 400, "is not a ULID"},
		{"an unknown release", w.upload(w.tpp, "olive", "01JR5K3M9Q8X7V6T5R4P3N2M1B", "output/table.csv", content), 404, "No such release"},
		{"the wrong backend", w.upload(w.emis, "both", id, "output/table.csv", content), 400, "created from another backend"},
		{"a wrong sha256", w.upload(w.tpp, "olive", id, "output/table.csv", "a,b\n1,3\n"), 400, mismatch},
		{"an unknown file name", w.upload(w.tpp, "olive", id, "output/unknown.csv", content), 400, "does not list the file “output/unknown.csv”"},
		{"an upload path with ..", w.upload(w.tpp, "olive", id, "output/../table.csv", content), 400, "“..”"},
		{"a duplicate upload", w.upload(w.tpp, "olive", id, "output/done.csv", "done"), 400, "This version of 'output/done.csv' has already been uploaded from backend 'tpp'"},
		{"an oversize body with Content-Length", w.upload(w.tpp, "olive", id, "output/table.csv", big), 400, "File is too large: a released file has at most 64 KiB"},
		{"an oversize body without Content-Length", chunked, 400, "File is too large: a released file has at most 64 KiB"},
		{"no Content-Disposition", noDisposition, 400, "Missing filename"},
	}
	for _, c := range cases {
		before, blobsBefore := w.events(t), len(w.blobFiles(t))
		a := w.do(t, c.req)
		t.Run(c.name, func(t *testing.T) {
			if a.status != c.status || !strings.Contains(a.detail(), c.says) {
				t.Fatalf("got %d %q, want %d saying %q", a.status, a.detail(), c.status, c.says)
			}
			// Wrong bytes are stored, then their removal is appended (and left to the reactor); nothing else
			// stores or appends anything.
			want := 0
			if c.says == mismatch {
				want = 1
			}
			if n := w.events(t) - before; n != want {
				t.Fatalf("%d events appended, want %d", n, want)
			}
			if n := len(w.blobFiles(t)) - blobsBefore; n != want {
				t.Fatalf("%d blobs stored, want %d", n, want)
			}
		})
	}
	// The wrong bytes' removal was decided; the bytes of the list stay.
	if got := w.blobFiles(t); len(got) != 2 {
		t.Errorf("blobs after the refusals: %v (the wrong bytes wait for the reactor; the file done.csv's stay)", got)
	}
}

// TestAnUploadCutOffMidStreamLeavesNoEventAndNoFile: a release tool killed while it sends a file's bytes
// leaves no upload recorded and no bytes stored under a real name; the file sent again afterwards is taken.
func TestAnUploadCutOffMidStreamLeavesNoEventAndNoFile(t *testing.T) {
	t.Parallel()
	w := setup(t)
	id := "01JR5K3M9Q8X7V6T5R4P3N2M1A"
	content := strings.Repeat("0123456789", 2000)
	if a := w.do(t, w.create(w.tpp, "olive", "genetic", fileList(id, [2]string{"output/big.csv", content}))); a.status != http.StatusCreated {
		t.Fatalf("create: %+v", a)
	}
	before := w.events(t)
	u, err := url.Parse(w.url)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /api/v2/releases/release/%s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nOS-User: olive\r\n"+
		"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"output/big.csv\"\r\nContent-Length: %d\r\n\r\n",
		id, u.Host, w.tpp, len(content))
	if _, err := io.WriteString(conn, content[:len(content)/2]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the server is reading the body
	conn.Close()                      // as kill -9 would

	// The cut-off upload's handler ends when its body does; then the file is sent whole and taken, which a
	// recorded cut-off upload would have refused as a duplicate.
	deadline := time.Now().Add(5 * time.Second)
	for {
		a := w.do(t, w.upload(w.tpp, "olive", id, "output/big.csv", content))
		if a.status == http.StatusCreated {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the file sent again: %+v", a)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := w.events(t) - before; n != 2 { // ReleaseFileUploaded and BlobReferenced, once
		t.Fatalf("%d events after the cut-off upload and the whole one, want 2", n)
	}
	if got := w.blobFiles(t); len(got) != 1 || got[0] != sum(content) {
		t.Fatalf("stored blobs: %v", got)
	}
}

// TestTheReleaseAPIAndThePagesShareItsPaths: the API mounts only POST, so GET handlers on the same paths
// (the file indexes, served with the pages' sessions) live beside it.
func TestTheReleaseAPIAndThePagesShareItsPaths(t *testing.T) {
	t.Parallel()
	api := releaseapi.Routes(releaseapi.Options{Authenticate: func(context.Context, string) (string, bool, error) { return "", false, nil }})
	h := server.New(server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), API: api, Pages: func(r chi.Router) {
		r.Get(releaseapi.CreatePath, func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "index of "+chi.URLParam(r, "workspace"))
		})
	}})
	get := httptest.NewRecorder()
	h.ServeHTTP(get, httptest.NewRequest(http.MethodGet, "/api/v2/releases/workspace/genetic", nil))
	post := httptest.NewRecorder()
	h.ServeHTTP(post, httptest.NewRequest(http.MethodPost, "/api/v2/releases/workspace/genetic", strings.NewReader("{}")))
	if get.Code != http.StatusOK || get.Body.String() != "index of genetic" || post.Code != http.StatusUnauthorized {
		t.Fatalf("GET %d %q; POST %d %q", get.Code, get.Body, post.Code, post.Body)
	}
}

// apiRunners run the uses of the releases slice that the release API serves, as the OS-User login ("" for
// nobody): a new release in genetic, and the upload of a file of a release Olive created.
func apiRunners() map[string]func(t *testing.T, w world, login string) answer {
	return map[string]func(t *testing.T, w world, login string) answer{
		"CreateRelease": func(t *testing.T, w world, login string) answer {
			return w.do(t, w.create(w.tpp, login, "genetic", fileList("", [2]string{"output/new.csv", "new"})))
		},
		"UploadReleaseFile": func(t *testing.T, w world, login string) answer {
			a := w.do(t, w.create(w.tpp, "olive", "genetic", fileList("", [2]string{"output/checked.csv", "checked"})))
			id, _ := a.body["release_id"].(string)
			return w.do(t, w.upload(w.tpp, login, id, "output/checked.csv", "checked"))
		},
	}
}

// TestReleasesRoleMatrixThroughTheAPI drives the release API's uses of the role matrix's table
// (internal/rolematrix) through HTTP, as every kind of person and as nobody (no OS-User), each a member of
// the token's backend: who may gets 201 and events; who may not gets 403 and none. The command line is
// nobody a release tool can name.
func TestReleasesRoleMatrixThroughTheAPI(t *testing.T) {
	t.Parallel()
	run := apiRunners()
	for _, who := range rolematrix.Setups() {
		if who.CLI {
			continue
		}
		t.Run(who.String(), func(t *testing.T) {
			t.Parallel()
			w := setupWith(t, &who)
			login := "actor"
			if who.Anonymous {
				login = ""
			}
			for _, u := range rolematrix.UsesOf(rolematrix.Releases) {
				runUse, ok := run[u.Name]
				if !ok {
					continue
				}
				before := w.events(t)
				a := runUse(t, w, login)
				appended := w.events(t) - before
				if u.Name == "UploadReleaseFile" {
					appended -= 1 // Olive's release
				}
				if u.Allows(who.Key) {
					if a.status != http.StatusCreated || appended == 0 {
						t.Errorf("%s: allowed, but %d %q with %d events appended", u.Name, a.status, a.detail(), appended)
					}
				} else if a.status != http.StatusForbidden || appended != 0 {
					t.Errorf("%s: refused, but %d %q with %d events appended", u.Name, a.status, a.detail(), appended)
				}
			}
		})
	}
}

// TestTheReleasesRoleMatrixHasAnAPIRunnerForEveryUseOfIt: the API serves creating and uploading; deleting
// is a page's.
func TestTheReleasesRoleMatrixHasAnAPIRunnerForEveryUseOfIt(t *testing.T) {
	t.Parallel()
	rolematrix.CheckRunners(t, rolematrix.Releases, slices.Collect(maps.Keys(apiRunners())), map[string]bool{"DeleteReleaseFile": true})
}
