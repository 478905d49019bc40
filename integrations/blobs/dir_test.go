package blobs_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/integrations/blobs"
	"github.com/mediciasafely/jobserver/integrations/blobs/blobtest"
)

// putUntilKilledEnv makes the test binary, started again by a test, a process that begins a Put into the
// directory it names and never finishes it.
const putUntilKilledEnv = "BLOBS_TEST_PUT_UNTIL_KILLED"

func TestMain(m *testing.M) {
	if dir := os.Getenv(putUntilKilledEnv); dir != "" {
		putUntilKilled(dir)
	}
	os.Exit(m.Run())
}

// putUntilKilled writes the first bytes of a Put, says so on stdout, and waits to be killed.
func putUntilKilled(dir string) {
	d, err := blobs.NewDir(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	_, err = d.Put(context.Background(), &stallingReader{first: blobtest.Bytes(64<<10, 1), stalled: func() {
		fmt.Println("stalled")
	}, resume: make(chan struct{})}, 1<<30)
	fmt.Fprintln(os.Stderr, "the put ended:", err)
	os.Exit(2)
}

// stallingReader gives its first bytes, then calls stalled and waits for resume before reaching its end.
type stallingReader struct {
	first   []byte
	stalled func()
	resume  chan struct{}
}

func (s *stallingReader) Read(p []byte) (int, error) {
	if len(s.first) > 0 {
		n := copy(p, s.first)
		s.first = s.first[n:]
		return n, nil
	}
	if s.stalled != nil {
		s.stalled()
		s.stalled = nil
		<-s.resume
	}
	return 0, io.EOF
}

func newDir(t *testing.T) (*blobs.Dir, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "blobs")
	d, err := blobs.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	return d, root
}

// files lists every file under root, relative to it.
func files(t *testing.T, root string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() {
			rel, _ := filepath.Rel(root, path)
			found = append(found, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestDirPassesTheStoreContract(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blobtest.Subject {
		d, root := newDir(t)
		return blobtest.Subject{Store: d, Contents: func(t *testing.T) []string { return files(t, root) }}
	})
}

func TestDirKeepsABlobUnderItsSHA256InAFolderOfItsFirstTwoDigits(t *testing.T) {
	d, root := newDir(t)
	stored, err := d.Put(context.Background(), strings.NewReader("hello"), 5)
	if err != nil {
		t.Fatal(err)
	}
	want := "2c/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	if got := files(t, root); len(got) != 1 || got[0] != want {
		t.Errorf("files %q, want %s", got, want)
	}
	blob, err := d.Open(context.Background(), strings.ToUpper(stored.SHA256))
	if err != nil {
		t.Fatalf("open by the upper-case name: %v", err)
	}
	blob.Close()
}

func TestDirPutStreams(t *testing.T) {
	d, _ := newDir(t)
	blobtest.CheckPutStreams(t, d, 64<<20, 1<<20)
}

func TestAPutKilledMidwayLeavesNoBlobAndTheNextStartRemovesItsTemporaryFile(t *testing.T) {
	root := filepath.Join(t.TempDir(), "blobs")
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), putUntilKilledEnv+"="+root)
	var stderr bytes.Buffer
	child.Stderr = &stderr
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	said := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		said <- line
	}()
	select {
	case line := <-said:
		if line != "stalled\n" {
			child.Process.Kill()
			child.Wait()
			t.Fatalf("the child said %q; stderr: %s", line, stderr.String())
		}
	case <-time.After(30 * time.Second):
		child.Process.Kill()
		t.Fatalf("the child never began its put; stderr: %s", stderr.String())
	}
	// The Put writes what it has read from another goroutine: the kill comes once the bytes are in the file.
	for deadline := time.Now().Add(10 * time.Second); tempFileSize(t, root) < 64<<10 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := child.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the child ended with %v, want killed", err)
	}

	left := files(t, root)
	if len(left) != 1 || !strings.HasPrefix(left[0], "tmp/") {
		t.Fatalf("after the kill the directory holds %q, want one temporary file", left)
	}
	if info, err := os.Stat(filepath.Join(root, left[0])); err != nil || info.Size() != 64<<10 {
		t.Fatalf("the temporary file: %v, %v; want the 64 KiB written", info, err)
	}
	d, err := blobs.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if left := files(t, root); len(left) != 0 {
		t.Errorf("after a restart the directory holds %q, want nothing", left)
	}
	sum := sha256.Sum256(blobtest.Bytes(64<<10, 1))
	if _, err := d.Open(context.Background(), hex.EncodeToString(sum[:])); !errors.Is(err, blobs.ErrNotFound) {
		t.Errorf("open what the killed put had read: %v, want ErrNotFound", err)
	}
}

// tempFileSize is the size of the one temporary file under root, 0 while there is none.
func tempFileSize(t *testing.T, root string) int64 {
	t.Helper()
	temps, err := filepath.Glob(filepath.Join(root, "tmp", "*"))
	if err != nil || len(temps) != 1 {
		return 0
	}
	info, err := os.Stat(temps[0])
	if err != nil {
		return 0
	}
	return info.Size()
}

func TestAStartLeavesAnotherProcesssPutInProgressAlone(t *testing.T) {
	d, root := newDir(t)
	content := blobtest.Bytes(64<<10, 2)
	stalled, resume := make(chan struct{}), make(chan struct{})
	type result struct {
		stored blobs.Stored
		err    error
	}
	done := make(chan result, 1)
	go func() {
		stored, err := d.Put(context.Background(), &stallingReader{first: content, stalled: func() { close(stalled) }, resume: resume}, 1<<20)
		done <- result{stored, err}
	}()
	<-stalled
	// A second server on the same directory (a rolling restart) starts while the first is mid-Put.
	if _, err := blobs.NewDir(root); err != nil {
		t.Fatal(err)
	}
	if left := files(t, root); len(left) != 1 || !strings.HasPrefix(left[0], "tmp/") {
		t.Fatalf("during the put the directory holds %q, want its temporary file", left)
	}
	close(resume)
	r := <-done
	if r.err != nil {
		t.Fatalf("the put: %v", r.err)
	}
	blob, err := d.Open(context.Background(), r.stored.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	defer blob.Close()
	if got, _ := io.ReadAll(blob); !bytes.Equal(got, content) {
		t.Errorf("the blob holds %d bytes unlike the %d put", len(got), len(content))
	}
	if left := files(t, root); len(left) != 1 || strings.HasPrefix(left[0], "tmp/") {
		t.Errorf("after the put the directory holds %q, want only the blob", left)
	}
}

// BenchmarkDirPut16MiB puts distinct 16 MiB files (the release API's default limit), synced as a Put
// always is; compare with `cp` and `sync` of such a file on the same disk.
func BenchmarkDirPut16MiB(b *testing.B) {
	root := filepath.Join(b.TempDir(), "blobs")
	d, err := blobs.NewDir(root)
	if err != nil {
		b.Fatal(err)
	}
	content := blobtest.Bytes(16<<20, 3)
	b.SetBytes(int64(len(content)))
	for i := 0; b.Loop(); i++ {
		content[0] = byte(i) // a new blob each time, not a second copy of one
		if _, err := d.Put(context.Background(), bytes.NewReader(content), int64(len(content))); err != nil {
			b.Fatal(err)
		}
	}
}

// List names the blobs only: not a temporary file of a Put, nor anything else someone left in the directory.
func TestDirListsBlobsAndNothingElse(t *testing.T) {
	d, root := newDir(t)
	stored, err := d.Put(context.Background(), strings.NewReader("hello"), 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, stray := range []string{"tmp/put-123", "README", "2c/notes.txt", "ab/" + stored.SHA256} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, stray)), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, stray), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var listed []string
	if err := d.List(context.Background(), func(l blobs.Listed) error { listed = append(listed, l.SHA256); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0] != stored.SHA256 {
		t.Errorf("listed %q, want only %s", listed, stored.SHA256)
	}
}
