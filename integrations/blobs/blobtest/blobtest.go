// Package blobtest is the contract every blobs.Store passes: the same suite runs against the directory
// and against S3 servers, an in-process fake and a real one.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/integrations/blobs"
)

// Subject is a store under test, empty at the start.
type Subject struct {
	Store blobs.Store
	// Contents lists everything the store holds, temporary uploads included, so that a test can see a
	// failed Put kept nothing.
	Contents func(t *testing.T) []string
}

// Run runs the contract against subjects made by newSubject, one for each test.
func Run(t *testing.T, newSubject func(t *testing.T) Subject) {
	tests := []struct {
		name string
		test func(t *testing.T, s Subject)
	}{
		{"StoredContentReadsBackWithItsSizeAndSHA256", storedContentReadsBack},
		{"EmptyContentIsStoredToo", emptyContentIsStored},
		{"ABlobSeeksAndServesRangeRequests", blobSeeksAndServesRanges},
		{"ContentOverTheLimitIsRefusedAndNothingKept", contentOverTheLimitIsRefused},
		{"ContentOfSeveralUploadPartsStreamsThrough", contentOfSeveralPartsStreamsThrough},
		{"PuttingStoredContentAgainKeepsOneCopy", puttingStoredContentAgainKeepsOneCopy},
		{"ConcurrentPutsOfTheSameContentKeepOneCopy", concurrentPutsOfTheSameContent},
		{"DeleteRemovesAndDeletingWhatIsAbsentSucceeds", deleteRemoves},
		{"MalformedAndAbsentNamesAreNotFound", malformedAndAbsentNamesAreNotFound},
		{"AReaderThatFailsMidwayKeepsNothing", aReaderThatFailsMidwayKeepsNothing},
		{"APutWhoseContextEndsKeepsNothing", aPutWhoseContextEndsKeepsNothing},
		{"ListNamesEveryBlobWithWhenItWasStored", listNamesEveryBlob},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.test(t, newSubject(t))
		})
	}
}

// Bytes is n bytes of pseudo-random content, different for each seed.
func Bytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
	r.Read(b)
	return b
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func put(t *testing.T, s blobs.Store, b []byte) blobs.Stored {
	t.Helper()
	stored, err := s.Put(context.Background(), bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("put %d bytes: %v", len(b), err)
	}
	if want := (blobs.Stored{SHA256: sha(b), Size: int64(len(b))}); stored != want {
		t.Fatalf("put %d bytes: stored %+v, want %+v", len(b), stored, want)
	}
	return stored
}

// readAll opens the blob and checks it holds want.
func readAll(t *testing.T, s blobs.Store, name string, want []byte) {
	t.Helper()
	blob, err := s.Open(context.Background(), name)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer blob.Close()
	if blob.Size() != int64(len(want)) {
		t.Errorf("open %s: size %d, want %d", name, blob.Size(), len(want))
	}
	got, err := io.ReadAll(blob)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("read %s: %d bytes that differ from the %d put", name, len(got), len(want))
	}
}

func expectNotFound(t *testing.T, s blobs.Store, name string) {
	t.Helper()
	blob, err := s.Open(context.Background(), name)
	if err == nil {
		blob.Close()
	}
	if !errors.Is(err, blobs.ErrNotFound) {
		t.Errorf("open %q: %v, want ErrNotFound", name, err)
	}
}

func expectOneBlob(t *testing.T, s Subject) {
	t.Helper()
	if got := s.Contents(t); len(got) != 1 {
		t.Errorf("the store holds %q, want one blob", got)
	}
}

func expectNothingKept(t *testing.T, s Subject) {
	t.Helper()
	if got := s.Contents(t); len(got) != 0 {
		t.Errorf("the store holds %q, want nothing", got)
	}
}

func storedContentReadsBack(t *testing.T, s Subject) {
	content := Bytes(100_000, 1)
	before := time.Now().Add(-time.Hour) // the store's clock may not be ours
	stored := put(t, s.Store, content)
	readAll(t, s.Store, stored.SHA256, content)
	blob, err := s.Store.Open(context.Background(), stored.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	defer blob.Close()
	if m := blob.ModTime(); m.Before(before) || m.After(time.Now().Add(time.Hour)) {
		t.Errorf("modification time %v, want about now", m)
	}
	expectOneBlob(t, s)
}

func emptyContentIsStored(t *testing.T, s Subject) {
	stored := put(t, s.Store, nil)
	if stored.SHA256 != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("the empty content is named %s", stored.SHA256)
	}
	readAll(t, s.Store, stored.SHA256, nil)
}

func blobSeeksAndServesRanges(t *testing.T, s Subject) {
	content := Bytes(300_000, 2)
	stored := put(t, s.Store, content)
	blob, err := s.Store.Open(context.Background(), stored.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	defer blob.Close()
	expectRead := func(whence int, offset int64, n int, wantAt int64) {
		t.Helper()
		at, err := blob.Seek(offset, whence)
		if err != nil || at != wantAt {
			t.Fatalf("seek(%d, %d) = %d, %v; want %d", offset, whence, at, err, wantAt)
		}
		got := make([]byte, n)
		if _, err := io.ReadFull(blob, got); err != nil {
			t.Fatalf("read %d bytes at %d: %v", n, at, err)
		}
		if !bytes.Equal(got, content[at:at+int64(n)]) {
			t.Errorf("the %d bytes at %d differ from those put", n, at)
		}
	}
	expectRead(io.SeekStart, 1000, 50, 1000)
	expectRead(io.SeekCurrent, 10, 50, 1060) // skips 10 past the 50 just read
	expectRead(io.SeekEnd, -20, 20, 300_000-20)
	expectRead(io.SeekStart, 0, 10, 0) // back to the start after reaching the end
	if n, err := blob.Seek(0, io.SeekEnd); err != nil || n != 300_000 {
		t.Fatalf("seek to the end = %d, %v", n, err)
	}
	if n, err := blob.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("read at the end = %d, %v; want io.EOF", n, err)
	}
	if _, err := blob.Seek(-1, io.SeekStart); err == nil {
		t.Error("a seek before the start succeeded")
	}

	for rangeHeader, want := range map[string][]byte{
		"bytes=100-199":       content[100:200],
		"bytes=-5":            content[300_000-5:],
		"bytes=299990-":       content[299_990:],
		"bytes=250000-999999": content[250_000:], // an end past the end is the end
	} {
		if _, err := blob.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, "/file", nil)
		req.Header.Set("Range", rangeHeader)
		rec := httptest.NewRecorder()
		http.ServeContent(rec, req, "file", blob.ModTime(), blob)
		if rec.Code != http.StatusPartialContent || !bytes.Equal(rec.Body.Bytes(), want) {
			t.Errorf("Range: %s answered %d with %d bytes, want 206 with %d", rangeHeader, rec.Code, rec.Body.Len(), len(want))
		}
	}
}

func contentOverTheLimitIsRefused(t *testing.T, s Subject) {
	// Past one S3 upload part (5 MiB), so a multipart upload is abandoned too.
	const limit = 6 << 20
	content := Bytes(limit+1, 3)
	_, err := s.Store.Put(context.Background(), bytes.NewReader(content), limit)
	if !errors.Is(err, blobs.ErrTooLarge) {
		t.Fatalf("put of limit+1 bytes: %v, want ErrTooLarge", err)
	}
	expectNothingKept(t, s)
	expectNotFound(t, s.Store, sha(content))
	expectNotFound(t, s.Store, sha(content[:limit]))

	_, err = s.Store.Put(context.Background(), bytes.NewReader([]byte("x")), 0)
	if !errors.Is(err, blobs.ErrTooLarge) {
		t.Errorf("put of 1 byte with limit 0: %v, want ErrTooLarge", err)
	}
	if _, err := s.Store.Put(context.Background(), bytes.NewReader(nil), -1); err == nil {
		t.Error("a put with a negative limit succeeded")
	}
	expectNothingKept(t, s)

	stored, err := s.Store.Put(context.Background(), bytes.NewReader(content[:limit]), limit)
	if err != nil || stored.Size != limit {
		t.Fatalf("put of exactly limit bytes = %+v, %v", stored, err)
	}
	readAll(t, s.Store, stored.SHA256, content[:limit])
}

func contentOfSeveralPartsStreamsThrough(t *testing.T, s Subject) {
	content := Bytes(11<<20+12345, 4) // three S3 parts, the last a short one
	stored, err := s.Store.Put(context.Background(), bytes.NewReader(content), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if stored.SHA256 != sha(content) || stored.Size != int64(len(content)) {
		t.Errorf("stored %+v", stored)
	}
	readAll(t, s.Store, stored.SHA256, content)
	expectOneBlob(t, s)
}

func puttingStoredContentAgainKeepsOneCopy(t *testing.T, s Subject) {
	content := Bytes(10_000, 5)
	first := put(t, s.Store, content)
	if second := put(t, s.Store, content); second != first {
		t.Errorf("the second put stored %+v, the first %+v", second, first)
	}
	expectOneBlob(t, s)
	readAll(t, s.Store, first.SHA256, content)
}

func concurrentPutsOfTheSameContent(t *testing.T, s Subject) {
	content := Bytes(200_000, 6)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			stored, err := s.Store.Put(context.Background(), bytes.NewReader(content), int64(len(content)))
			if err != nil || stored.SHA256 != sha(content) {
				t.Errorf("a concurrent put = %+v, %v", stored, err)
			}
		})
	}
	wg.Wait()
	expectOneBlob(t, s)
	readAll(t, s.Store, sha(content), content)
}

func deleteRemoves(t *testing.T, s Subject) {
	ctx := context.Background()
	kept, deleted := Bytes(1000, 7), Bytes(1000, 8)
	put(t, s.Store, kept)
	name := put(t, s.Store, deleted).SHA256
	if err := s.Store.Delete(ctx, name); err != nil {
		t.Fatal(err)
	}
	expectNotFound(t, s.Store, name)
	readAll(t, s.Store, sha(kept), kept)
	if err := s.Store.Delete(ctx, name); err != nil {
		t.Errorf("deleting it again: %v", err)
	}
	if err := s.Store.Delete(ctx, sha([]byte("never stored"))); err != nil {
		t.Errorf("deleting what was never stored: %v", err)
	}
	if err := s.Store.Delete(ctx, "../"+sha(kept)[:61]); err != nil {
		t.Errorf("deleting a malformed name: %v", err)
	}
	expectOneBlob(t, s)
}

func listNamesEveryBlob(t *testing.T, s Subject) {
	ctx := context.Background()
	before := time.Now().Add(-time.Minute) // the store's clock is not quite ours, and S3 keeps whole seconds
	a, b, gone := put(t, s.Store, Bytes(1000, 21)), put(t, s.Store, Bytes(1000, 22)), put(t, s.Store, Bytes(1000, 23))
	if err := s.Store.Delete(ctx, gone.SHA256); err != nil {
		t.Fatal(err)
	}
	after := time.Now().Add(time.Minute)
	listed := map[string]time.Time{}
	if err := s.Store.List(ctx, func(l blobs.Listed) error {
		listed[l.SHA256] = l.Stored
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 2 {
		t.Errorf("listed %v, want %s and %s", listed, a.SHA256, b.SHA256)
	}
	for _, want := range []string{a.SHA256, b.SHA256} {
		if at, ok := listed[want]; !ok || at.Before(before) || at.After(after) {
			t.Errorf("%s listed as stored at %v (listed: %v), want between %v and %v", want, at, ok, before, after)
		}
	}
	stop := errors.New("enough")
	calls := 0
	if err := s.Store.List(ctx, func(blobs.Listed) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("a listing whose callback fails: %v after %d calls, want its error after one", err, calls)
	}
}

func malformedAndAbsentNamesAreNotFound(t *testing.T, s Subject) {
	stored := put(t, s.Store, []byte("hello"))
	for _, name := range []string{
		"", "abc", stored.SHA256[:63], stored.SHA256 + "0", "../../../../etc/passwd",
		"../" + stored.SHA256[3:], stored.SHA256[:2] + "/" + stored.SHA256[3:],
		"g" + stored.SHA256[1:], " " + stored.SHA256[1:], sha([]byte("absent")),
	} {
		expectNotFound(t, s.Store, name)
	}
}

// failingReader gives some bytes, then fails.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func aReaderThatFailsMidwayKeepsNothing(t *testing.T, s Subject) {
	for _, size := range []int{1000, 7 << 20} { // within a first S3 part, and after a part was uploaded
		lost := errors.New("the connection was lost")
		_, err := s.Store.Put(context.Background(), &failingReader{bytes.NewReader(Bytes(size, 9)), lost}, 1<<30)
		if !errors.Is(err, lost) {
			t.Errorf("a reader failing after %d bytes: put returned %v, want its error", size, err)
		}
	}
	expectNothingKept(t, s)
}

// cancellingReader ends the context after its first bytes.
type cancellingReader struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.cancel()
	return n, err
}

func aPutWhoseContextEndsKeepsNothing(t *testing.T, s Subject) {
	ctx, cancel := context.WithCancel(context.Background())
	_, err := s.Store.Put(ctx, &cancellingReader{bytes.NewReader(Bytes(1<<20, 10)), cancel}, 1<<30)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("put = %v, want context.Canceled", err)
	}
	expectNothingKept(t, s)
}

// CheckPutStreams puts size bytes, made as they are read, and fails the test if the Put allocated more
// than maxAlloc bytes: it must stream rather than hold the content. Run it alone (not in parallel), in a
// process whose other goroutines allocate little.
func CheckPutStreams(t *testing.T, s blobs.Store, size, maxAlloc int64) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	stored, err := s.Put(context.Background(), io.LimitReader(rand.NewChaCha8([32]byte{11}), size), size)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Size != size {
		t.Errorf("stored %d bytes, want %d", stored.Size, size)
	}
	allocated := int64(after.TotalAlloc - before.TotalAlloc)
	t.Logf("a put of %d MiB allocated %.1f MiB", size>>20, float64(allocated)/(1<<20))
	if allocated > maxAlloc {
		t.Errorf("a put of %d bytes allocated %d bytes, more than %d: the content is held in memory", size, allocated, maxAlloc)
	}
}
