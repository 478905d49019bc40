package releases_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	identitycmd "github.com/mediciasafely/jobserver/commands/identity"
	releasecmd "github.com/mediciasafely/jobserver/commands/releases"
	wscmd "github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/eventstore/pgstore"
	"github.com/mediciasafely/jobserver/integrations/blobs"
	"github.com/mediciasafely/jobserver/internal/pgtest"
	"github.com/mediciasafely/jobserver/projections"
	"github.com/mediciasafely/jobserver/projections/releases"
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

func file(name, content string, date time.Time) domain.ReleaseFileRequest {
	s := sha256.Sum256([]byte(content))
	return domain.ReleaseFileRequest{Name: name, URL: name, Size: int64(len(content)), SHA256: hex.EncodeToString(s[:]), Date: date,
		Metadata: map[string]any{"tool": "airlock"}}
}

// TestTheReleasesReadModelShowsLatestFilesReleasesAndFilesAndRebuildsAlike: two releases from tpp and one
// from emis of the workspace genetic, a file deleted, a file not uploaded; the views show what the pages
// and the file indexes need, to who may see them, and a rebuild gives the same rows.
func TestTheReleasesReadModelShowsLatestFilesReleasesAndFilesAndRebuildsAlike(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	store := pgstore.New(pool)
	t.Cleanup(store.Close)
	kit := commands.Kit{Log: commands.NewEventLog(store, domain.Events, time.Now)}
	id := identitycmd.New(kit)
	dir, err := blobs.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rel := releasecmd.New(kit, blobs.ForReleases{Store: dir}, 0)
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
	signIn := func(githubID int64, login, name string) string {
		u, err := id.SignInWithGitHub.Handle(ctx, identitycmd.SignInWithGitHub{GitHubID: githubID, Login: login, Name: name})
		track(u.Result, err)
		return u.UserID
	}
	devon, olive, colin, stranger := signIn(1, "devon", "Devon"), signIn(2, "olive", "Olive Checker"), signIn(3, "colin", ""), signIn(4, "stranger", "")
	org, err := id.CreateOrg.Handle(ctx, identitycmd.CreateOrg{Actor: cli, Name: "MediciaAIOrg2"})
	track(org.Result, err)
	project, err := id.CreateProject.Handle(ctx, identitycmd.CreateProject{Actor: cli, Name: "MyStudy", OrgID: org.ID})
	track(project.Result, err)
	track(id.AddProjectMember.Handle(ctx, identitycmd.AddProjectMember{Actor: cli, ProjectID: project.ID, UserID: devon, Roles: []domain.Role{domain.ProjectDeveloper}}))
	track(id.AddProjectMember.Handle(ctx, identitycmd.AddProjectMember{Actor: cli, ProjectID: project.ID, UserID: colin, Roles: []domain.Role{domain.ProjectCollaborator}}))
	track(id.GrantGlobalRole.Handle(ctx, identitycmd.GrantGlobalRole{Actor: cli, UserID: olive, Role: domain.OutputChecker}))
	tpp, err := id.CreateBackend.Handle(ctx, identitycmd.CreateBackend{Actor: cli, Slug: "tpp", Name: "TPP"})
	track(tpp.Result, err)
	emis, err := id.CreateBackend.Handle(ctx, identitycmd.CreateBackend{Actor: cli, Slug: "emis", Name: "EMIS"})
	track(emis.Result, err)
	for _, b := range []string{tpp.BackendID, emis.BackendID} {
		track(id.AddBackendMember.Handle(ctx, identitycmd.AddBackendMember{Actor: cli, BackendID: b, UserID: olive}))
	}
	ring, err := commands.NewKeyring([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	ws, err := wscmd.New(kit, gitHub{}, ring).CreateWorkspace.Handle(ctx, wscmd.CreateWorkspace{Actor: commands.UserActor(devon),
		ProjectID: project.ID, Name: "genetic", RepoURL: "https://github.com/MediciaAI/genetic", Branch: "main", Token: "ghp_x"})
	track(ws.Result, err)

	as := commands.UserActor(olive)
	day := func(d int) time.Time { return time.Date(2026, 11, d, 9, 0, 0, 0, time.UTC) }
	release := func(backend string, files ...domain.ReleaseFileRequest) string {
		created, err := rel.CreateRelease.Handle(ctx, releasecmd.CreateRelease{Actor: as, BackendID: backend, WorkspaceName: "genetic", Files: files,
			Metadata: map[string]any{"tool": "airlock"}})
		track(created.Result, err)
		return created.ReleaseID
	}
	upload := func(backend, releaseID, name, content string) string {
		up, err := rel.UploadReleaseFile.Handle(ctx, releasecmd.UploadReleaseFile{Actor: as, BackendID: backend, ReleaseID: releaseID, Name: name,
			DeclaredSize: int64(len(content)), Body: strings.NewReader(content)})
		track(up.Result, err)
		return up.FileID
	}
	first := release(tpp.BackendID, file("output/genes_histogram.png", "v1", day(1)), file("output/table.csv", "t1", day(1)))
	upload(tpp.BackendID, first, "output/genes_histogram.png", "v1")
	oldTable := upload(tpp.BackendID, first, "output/table.csv", "t1")
	second := release(tpp.BackendID, file("output/genes_histogram.png", "v2", day(2)), file("output/table.csv", "t2", day(2)),
		file("output/later.csv", "later", day(2)))
	newHistogram := upload(tpp.BackendID, second, "output/genes_histogram.png", "v2")
	newTable := upload(tpp.BackendID, second, "output/table.csv", "t2")
	track(rel.DeleteReleaseFile.Handle(ctx, releasecmd.DeleteReleaseFile{Actor: as, ReleaseID: second, FileID: newTable, Reason: "Small numbers"}))
	third := release(emis.BackendID, file("output/table.csv", "e1", day(3)))
	emisTable := upload(emis.BackendID, third, "output/table.csv", "e1")

	pgtest.WaitVisible(t, store, last)
	runner := projections.NewRunner(pool, store, domain.Events, slog.New(slog.NewTextHandler(io.Discard, nil)), releases.Projectors()...)
	if err := runner.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	q := releases.NewQueries(pool)

	page, err := q.ReleasesOfWorkspace(ctx, "Genetic", colin)
	if err != nil {
		t.Fatal(err)
	}
	w := page.Workspace
	if w.Name != "genetic" || w.OrgSlug != "mediciaaiorg2" || w.ProjectSlug != "mystudy" || w.ReleasesURL() != "/mediciaaiorg2/mystudy/genetic/releases" ||
		!page.Viewer.Has(domain.ReleaseFileView) || page.Viewer.Has(domain.ReleaseFileDelete) {
		t.Errorf("workspace %+v, viewer %v", w, page.Viewer)
	}
	if err := w.At("MediciaAIOrg2", "MyStudy"); err != nil {
		t.Errorf("At its own address: %v", err)
	}
	if err := w.At("mediciaaiorg2", "otherstudy"); domain.KindOf(err) != domain.KindNotFound {
		t.Errorf("At another project's address: %v", err)
	}
	if len(page.Releases) != 3 || page.Releases[0].ID != third || page.Releases[2].ID != first {
		t.Fatalf("releases, newest first: %+v", page.Releases)
	}
	if r := page.Releases[1]; r.BackendSlug != "tpp" || r.CreatedByName != "Olive Checker" || r.CreatedByLogin != "olive" || r.Files != 3 || r.Uploaded != 1 {
		t.Errorf("second release: %+v", r)
	}
	// The latest version of every file, by backend: tpp's new histogram, tpp's old table (the new one was
	// deleted), emis's table; later.csv was never uploaded.
	var latest []string
	for _, f := range page.Latest {
		latest = append(latest, f.ID)
	}
	if want := []string{newHistogram, emisTable, oldTable}; strings.Join(latest, " ") != strings.Join(want, " ") {
		t.Errorf("latest files %v, want %v (%+v)", latest, want, page.Latest)
	}
	idx, err := json.Marshal(releases.WorkspaceIndex(page.Latest))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(idx), `"name":"emis/output/table.csv"`) || !strings.Contains(string(idx), `"user":"olive"`) ||
		!strings.Contains(string(idx), `"url":"/api/v2/releases/file/`+emisTable+`"`) || !strings.Contains(string(idx), `"review":null`) {
		t.Errorf("workspace index: %s", idx)
	}

	one, err := q.Release(ctx, strings.ToLower(second), olive)
	if err != nil {
		t.Fatal(err)
	}
	if len(one.Files) != 3 || one.Files[0].Name != "output/genes_histogram.png" || one.Files[2].Name != "output/later.csv" || !one.Viewer.Has(domain.ReleaseFileDelete) {
		t.Fatalf("release files: %+v, viewer %v", one.Files, one.Viewer)
	}
	deleted, later := one.Files[1], one.Files[2]
	if !deleted.Deleted() || deleted.DeletedByLogin != "olive" || deleted.DeleteReason != "Small numbers" || deleted.Unavailable() == nil {
		t.Errorf("deleted file: %+v", deleted)
	}
	if later.Uploaded() || !strings.Contains(later.Unavailable().Error(), "not yet uploaded") {
		t.Errorf("file not uploaded: %+v", later)
	}
	if string(one.Files[0].Metadata) != `{"tool": "airlock"}` {
		t.Errorf("metadata %s", one.Files[0].Metadata)
	}
	idx, err = json.Marshal(releases.ReleaseIndex(one.Files))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(idx), `"name":"output/table.csv"`) || !strings.Contains(string(idx), `"is_deleted":true`) {
		t.Errorf("release index: %s", idx)
	}

	f, err := q.File(ctx, newHistogram, devon)
	if err != nil {
		t.Fatal(err)
	}
	if f.File.Unavailable() != nil || f.File.SHA256 != file("", "v2", day(2)).SHA256 || f.Workspace.ProjectID != project.ID || f.File.BackendName != "TPP" {
		t.Errorf("file: %+v", f)
	}
	if _, err := q.File(ctx, newHistogram, stranger); domain.KindOf(err) != domain.KindForbidden {
		t.Errorf("a stranger reads a file: %v", err)
	}
	if _, err := q.ReleasesOfWorkspace(ctx, "genetic", ""); domain.KindOf(err) != domain.KindForbidden {
		t.Errorf("an anonymous visitor reads releases: %v", err)
	}
	if _, err := q.Release(ctx, "01JR5K3M9Q8X7V6T5R4P3N2M1A", olive); domain.KindOf(err) != domain.KindNotFound {
		t.Errorf("a missing release: %v", err)
	}
	if files, err := q.LatestFilesOfWorkspace(ctx, "genetic", colin); err != nil || len(files.Files) != 3 {
		t.Errorf("latest files: %+v, %v", files, err)
	}

	for _, p := range runner.Projectors() {
		diffs, err := runner.Verify(ctx, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range diffs {
			t.Errorf("%s.%s %s: %s", d.Projector, d.Table, d.Side, d.Row)
		}
	}
}
