package releases_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/mediciasafely/jobserver/commands/releases"
	"github.com/mediciasafely/jobserver/domain"
)

// TestAnOutputCheckerReleasesAFileWhoseBytesAreStoredUnderTheirSHA256: the release lists the file, the
// upload stores its bytes and records the upload with a reference to them, and no event holds the bytes.
func TestAnOutputCheckerReleasesAFileWhoseBytesAreStoredUnderTheirSHA256(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	content := "patient_count\n42\n"
	before := len(w.events(t))
	id := w.release(t, listed("output/table.csv", content))
	up := must(w.upload(id, "output/table.csv", content))(t)
	if up.FileID == "" || !up.Changed() {
		t.Fatalf("upload: %+v", up)
	}
	got := w.count(t, before)
	if got["ReleaseCreated"] != 1 || got["ReleaseFileUploaded"] != 1 || got["BlobReferenced"] != 1 || len(got) != 3 {
		t.Fatalf("events: %v", got)
	}
	if !w.stored(t, sum(content)) {
		t.Fatal("the bytes are not stored")
	}
	for _, e := range w.events(t) {
		if strings.Contains(string(e.Data), "patient_count") {
			t.Fatalf("%s holds the file's bytes: %s", e.Type, e.Data)
		}
	}
}

// TestCreatingAReleaseAgainAnswersAsTheFirstTime: the same id with the same files (in any order) appends
// nothing and answers the same id; other files are a conflict that says so.
func TestCreatingAReleaseAgainAnswersAsTheFirstTime(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	airlockID := "01jr5k3m9q8x7v6t5r4p3n2m1a"
	files := []domain.ReleaseFileRequest{listed("output/a.csv", "a"), listed("output/b.csv", "b")}
	first := must(w.CreateRelease.Handle(ctx, releases.CreateRelease{Actor: w.olive, BackendID: w.tpp, WorkspaceName: "BP-Main",
		ReleaseID: airlockID, Files: files}))(t)
	if first.ReleaseID != strings.ToUpper(airlockID) || !first.Changed() {
		t.Fatalf("first: %+v", first)
	}
	if want := "/bp-org/bp-study/bp-main/releases/" + first.ReleaseID; first.Path != want {
		t.Fatalf("path %q, want %q", first.Path, want)
	}
	again := must(w.CreateRelease.Handle(ctx, releases.CreateRelease{Actor: w.olive, BackendID: w.tpp, WorkspaceName: "bp-main",
		ReleaseID: airlockID, Files: []domain.ReleaseFileRequest{files[1], files[0]}}))(t)
	if again.ReleaseID != first.ReleaseID || again.Path != first.Path || again.Changed() {
		t.Fatalf("again: %+v", again)
	}
	_, err := w.CreateRelease.Handle(ctx, releases.CreateRelease{Actor: w.olive, BackendID: w.tpp, WorkspaceName: "bp-main",
		ReleaseID: airlockID, Files: []domain.ReleaseFileRequest{files[0], listed("output/b.csv", "b, changed")}})
	wantKind(t, err, domain.KindConflict, "already created with other files")
}

// TestARefusedUploadReadsNoByteAndAppendsNothing: everything that needs no byte is decided before the body
// is read.
func TestARefusedUploadReadsNoByteAndAppendsNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id := w.release(t, listed("output/table.csv", "x"), listed("output/gone.csv", "gone"))
	must(w.upload(id, "output/table.csv", "x"))(t)
	gone := must(w.upload(id, "output/gone.csv", "gone"))(t).FileID
	w.delete(t, id, gone)
	stranger := w.user(t, "stranger", "", w.tpp)
	bothBackends := w.user(t, "both", domain.OutputChecker, w.tpp, w.emis)
	notMember := w.user(t, "outsider", domain.OutputChecker)
	cases := []struct {
		name string
		cmd  releases.UploadReleaseFile
		kind domain.Kind
		says string
	}{
		{"no permission", releases.UploadReleaseFile{Actor: stranger, BackendID: w.tpp, Name: "output/new.csv"}, domain.KindForbidden, "Output Checker"},
		{"not a member of the backend", releases.UploadReleaseFile{Actor: notMember, BackendID: w.tpp, Name: "output/new.csv"}, domain.KindForbidden, "not a member"},
		{"the wrong backend", releases.UploadReleaseFile{Actor: bothBackends, BackendID: w.emis, Name: "output/new.csv"}, domain.KindInvalid, "another backend"},
		{"a name not listed", releases.UploadReleaseFile{Actor: w.olive, BackendID: w.tpp, Name: "output/other.csv"}, domain.KindInvalid, "does not list"},
		{"a path with ..", releases.UploadReleaseFile{Actor: w.olive, BackendID: w.tpp, Name: "output/../../etc/passwd"}, domain.KindInvalid, ".."},
		{"a second upload", releases.UploadReleaseFile{Actor: w.olive, BackendID: w.tpp, Name: "output/table.csv"}, domain.KindInvalid,
			"This version of 'output/table.csv' has already been uploaded from backend 'tpp'"},
		{"a deleted file", releases.UploadReleaseFile{Actor: w.olive, BackendID: w.tpp, Name: "output/gone.csv"}, domain.KindInvalid, "was deleted"},
		{"a declared size over the limit", releases.UploadReleaseFile{Actor: w.olive, BackendID: w.tpp, Name: "output/new.csv", DeclaredSize: limit + 1},
			domain.KindInvalid, "File is too large"},
		{"an unknown release", releases.UploadReleaseFile{Actor: w.olive, BackendID: w.tpp, Name: "output/new.csv", ReleaseID: "01JR5K3M9Q8X7V6T5R4P3N2M1A"},
			domain.KindNotFound, "No such release"},
		{"a release id that is no ULID", releases.UploadReleaseFile{Actor: w.olive, BackendID: w.tpp, Name: "output/new.csv", ReleaseID: "../x"},
			domain.KindNotFound, "No such release"},
	}
	// output/new.csv is listed only in a second release, so the cases that reach the name check pass it.
	id2 := w.release(t, listed("output/new.csv", "new"))
	for _, c := range cases {
		before := len(w.events(t))
		c.cmd.Body = untouched{t}
		if c.cmd.ReleaseID == "" {
			c.cmd.ReleaseID = id2
			if c.cmd.Name != "output/new.csv" {
				c.cmd.ReleaseID = id
			}
		}
		_, err := w.UploadReleaseFile.Handle(context.Background(), c.cmd)
		t.Run(c.name, func(t *testing.T) {
			wantKind(t, err, c.kind, c.says)
			if n := len(w.events(t)) - before; n != 0 {
				t.Fatalf("%d events appended", n)
			}
		})
	}
}

// TestAnUploadLargerThanTheLimitIsRefusedWhileItStreams: without a declared size, the limit holds as the
// bytes arrive, and nothing is kept.
func TestAnUploadLargerThanTheLimitIsRefusedWhileItStreams(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	big := strings.Repeat("x", limit+1)
	listedBig := listed("output/big.csv", big)
	listedBig.Size = 10 // the list lies; the bytes tell
	id := w.release(t, listedBig)
	before := len(w.events(t))
	_, err := w.UploadReleaseFile.Handle(context.Background(), releases.UploadReleaseFile{Actor: w.olive, BackendID: w.tpp,
		ReleaseID: id, Name: "output/big.csv", DeclaredSize: -1, Body: strings.NewReader(big)})
	wantKind(t, err, domain.KindInvalid, "File is too large: a released file has at most 64 KiB")
	if n := len(w.events(t)) - before; n != 0 || w.stored(t, sum(big)) {
		t.Fatalf("%d events appended; bytes kept: %v", n, w.stored(t, sum(big)))
	}
}

// cutReader gives some bytes, then fails as a connection that went away.
type cutReader struct{ sent bool }

func (c *cutReader) Read(p []byte) (int, error) {
	if !c.sent {
		c.sent = true
		return copy(p, "patient_count\n4"), nil
	}
	return 0, io.ErrUnexpectedEOF
}

// TestAnUploadCutOffMidStreamAppendsNothing: a sender that goes away leaves no event and no bytes.
func TestAnUploadCutOffMidStreamAppendsNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	content := "patient_count\n42\n"
	id := w.release(t, listed("output/table.csv", content))
	before := len(w.events(t))
	_, err := w.UploadReleaseFile.Handle(context.Background(), releases.UploadReleaseFile{Actor: w.olive, BackendID: w.tpp,
		ReleaseID: id, Name: "output/table.csv", DeclaredSize: int64(len(content)), Body: &cutReader{}})
	wantKind(t, err, domain.KindInvalid, "stopped arriving")
	if n := len(w.events(t)) - before; n != 0 {
		t.Fatalf("%d events appended", n)
	}
	must(w.upload(id, "output/table.csv", content))(t) // sent again, it is taken
}

// TestWrongBytesAreRefusedAndRemovedUnlessALiveFileHasThem: an upload whose bytes are not the listed ones
// is refused with the reference's message; its bytes are removed, unless they are a live file's.
func TestWrongBytesAreRefusedAndRemovedUnlessALiveFileHasThem(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id := w.release(t, listed("output/a.csv", "a"), listed("output/b.csv", "b"))
	before := len(w.events(t))
	_, err := w.upload(id, "output/a.csv", "not a")
	wantKind(t, err, domain.KindInvalid, "Contents of uploaded file does not match the file which a review was requested for")
	if got := w.count(t, before); got["BlobRemovalStarted"] != 1 || len(got) != 1 {
		t.Fatalf("events: %v", got)
	}
	w.react(t)
	if w.stored(t, sum("not a")) {
		t.Fatal("the wrong bytes were kept")
	}
	if got := w.count(t, before); got["BlobRemoved"] != 1 {
		t.Fatalf("events: %v", got)
	}

	must(w.upload(id, "output/b.csv", "b"))(t)
	before = len(w.events(t))
	_, err = w.upload(id, "output/a.csv", "b") // b's bytes, sent as a
	wantKind(t, err, domain.KindInvalid, "does not match")
	w.react(t)
	if n := len(w.events(t)) - before; n != 0 || !w.stored(t, sum("b")) {
		t.Fatalf("%d events; b's bytes kept: %v", n, w.stored(t, sum("b")))
	}
}

// TestBytesGoWhenTheLastFileWithThemIsDeleted: two files share bytes; deleting one keeps them, deleting
// the other removes them, and the deletions keep who and why.
func TestBytesGoWhenTheLastFileWithThemIsDeleted(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	first := w.release(t, listed("output/a.csv", "same"))
	second := w.release(t, listed("output/a.csv", "same"))
	a1 := must(w.upload(first, "output/a.csv", "same"))(t).FileID
	a2 := must(w.upload(second, "output/a.csv", "same"))(t).FileID

	w.delete(t, first, a1)
	w.react(t)
	if !w.stored(t, sum("same")) {
		t.Fatal("bytes a live file has were removed")
	}
	before := len(w.events(t))
	w.delete(t, second, a2)
	w.react(t)
	if w.stored(t, sum("same")) {
		t.Fatal("bytes no live file has were kept")
	}
	got := w.count(t, before)
	if got["ReleaseFileDeleted"] != 1 || got["BlobReleased"] != 1 || got["BlobRemovalStarted"] != 1 || got["BlobRemoved"] != 1 {
		t.Fatalf("events: %v", got)
	}
	w.react(t) // reacting again to what it did changes nothing
	if n := len(w.events(t)) - before; n != 4 {
		t.Fatalf("%d events after reacting again, want 4", n)
	}
	var deleted domain.ReleaseFileDeleted
	for _, e := range w.events(t)[before:] {
		if e.Type == "ReleaseFileDeleted" {
			p, _ := domain.Events.Decode(e.Type, e.SchemaVersion, e.Data)
			deleted = p.(domain.ReleaseFileDeleted)
		}
	}
	if deleted.DeletedBy != w.olive.ActorID() || deleted.Reason != "Small numbers" || deleted.SHA256 != sum("same") {
		t.Fatalf("deletion: %+v", deleted)
	}
}

// TestADeletionNeedsAReasonAndHappensOnce: no reason is refused beside its field; a second deletion of the
// same file changes nothing.
func TestADeletionNeedsAReasonAndHappensOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id := w.release(t, listed("output/a.csv", "a"))
	file := must(w.upload(id, "output/a.csv", "a"))(t).FileID
	_, err := w.DeleteReleaseFile.Handle(context.Background(), releases.DeleteReleaseFile{Actor: w.olive, ReleaseID: id, FileID: file, Reason: "  "})
	wantKind(t, err, domain.KindInvalid, "say why")
	w.delete(t, id, file)
	again := must(w.DeleteReleaseFile.Handle(context.Background(), releases.DeleteReleaseFile{Actor: w.olive, ReleaseID: id, FileID: file, Reason: "again"}))(t)
	if again.Changed() {
		t.Fatal("a second deletion appended events")
	}
}

// sharingBytes is a world with a release old whose file oldFile has the bytes "same", uploaded, and a
// release id whose file output/b.csv will have the same bytes, not uploaded yet.
func sharingBytes(t *testing.T) (w *world, old, oldFile, id string) {
	w = newWorld(t)
	old = w.release(t, listed("output/a.csv", "same"))
	oldFile = must(w.upload(old, "output/a.csv", "same"))(t).FileID
	id = w.release(t, listed("output/b.csv", "same"))
	return w, old, oldFile, id
}

// TestAnUploadLosesToARemovalThatStartsBeforeItAppends: the last other file with the same bytes is deleted
// between the upload's read of the blob stream and its append. The upload's append fails, it decides
// again, finds the removal running and asks to be sent again, appending nothing; sent again after the
// removal, it stores the bytes anew.
func TestAnUploadLosesToARemovalThatStartsBeforeItAppends(t *testing.T) {
	t.Parallel()
	w, old, oldFile, id := sharingBytes(t)

	w.store.after(domain.BlobStream(sum("same")), 1, func() { w.delete(t, old, oldFile) })
	before := len(w.events(t))
	_, err := w.upload(id, "output/b.csv", "same")
	if !errors.Is(err, domain.ErrBlobBeingRemoved) {
		t.Fatalf("want ErrBlobBeingRemoved, got %v", err)
	}
	if got := w.count(t, before); got["ReleaseFileUploaded"] != 0 || got["BlobRemovalStarted"] != 1 {
		t.Fatalf("events: %v", got)
	}
	w.react(t)
	if w.stored(t, sum("same")) {
		t.Fatal("the removal left the bytes")
	}
	must(w.upload(id, "output/b.csv", "same"))(t)
	if !w.stored(t, sum("same")) {
		t.Fatal("the upload sent again did not store its bytes")
	}
}

// TestADeletionLosesToAnUploadOfTheSameBytes: another file with the same bytes is uploaded between the
// deletion's read of the blob stream and its append. The deletion decides again and releases its
// reference only: the bytes stay for the new file.
func TestADeletionLosesToAnUploadOfTheSameBytes(t *testing.T) {
	t.Parallel()
	w, old, oldFile, id := sharingBytes(t)

	w.store.after(domain.BlobStream(sum("same")), 1, func() { must(w.upload(id, "output/b.csv", "same"))(t) })
	before := len(w.events(t))
	w.delete(t, old, oldFile)
	w.react(t)
	if got := w.count(t, before); got["BlobReferenced"] != 1 || got["BlobReleased"] != 1 || got["BlobRemovalStarted"] != 0 {
		t.Fatalf("events: %v", got)
	}
	if !w.stored(t, sum("same")) {
		t.Fatal("bytes a live file has were removed")
	}
}

// TestAnUploadWhoseBytesWereRemovedAfterItStoredThemAsksToBeSentAgain: after the upload's Put (which
// found the bytes already stored) has read the blob stream, the last file with them is deleted and the
// removal runs to its end. The blob stream it read shows no removal running, but the bytes are gone: the
// upload sees that and appends nothing.
func TestAnUploadWhoseBytesWereRemovedAfterItStoredThemAsksToBeSentAgain(t *testing.T) {
	t.Parallel()
	w, old, oldFile, id := sharingBytes(t)

	// The upload reads the blob stream once its Put is done.
	w.store.after(domain.BlobStream(sum("same")), 1, func() {
		w.delete(t, old, oldFile)
		w.react(t)
	})
	before := len(w.events(t))
	_, err := w.upload(id, "output/b.csv", "same")
	if !errors.Is(err, domain.ErrBlobBeingRemoved) {
		t.Fatalf("want ErrBlobBeingRemoved, got %v", err)
	}
	if got := w.count(t, before); got["ReleaseFileUploaded"] != 0 || got["BlobReferenced"] != 0 {
		t.Fatalf("events: %v", got)
	}
	must(w.upload(id, "output/b.csv", "same"))(t)
	if !w.stored(t, sum("same")) {
		t.Fatal("the upload sent again did not store its bytes")
	}
}

// TestWrongBytesStayWhenAnUploadOfThemWinsTheRace: a refused upload starts removing its bytes; an upload
// that has the same bytes rightly references them between the refused one's read of the blob stream and
// its append. The removal decides again and does not start.
func TestWrongBytesStayWhenAnUploadOfThemWinsTheRace(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id := w.release(t, listed("output/a.csv", "a"), listed("output/b.csv", "b"))
	// The refused upload reads b's blob stream once, to remove the bytes it stored.
	w.store.after(domain.BlobStream(sum("b")), 1, func() { must(w.upload(id, "output/b.csv", "b"))(t) })
	before := len(w.events(t))
	_, err := w.upload(id, "output/a.csv", "b")
	wantKind(t, err, domain.KindInvalid, "does not match")
	w.react(t)
	if got := w.count(t, before); got["BlobRemovalStarted"] != 0 || got["BlobReferenced"] != 1 {
		t.Fatalf("events: %v", got)
	}
	if !w.stored(t, sum("b")) {
		t.Fatal("bytes a live file has were removed")
	}
}
