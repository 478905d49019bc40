package blobs_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"

	"github.com/mediciasafely/jobserver/integrations/blobs"
	"github.com/mediciasafely/jobserver/integrations/blobs/blobtest"
)

// weedEnv names a SeaweedFS weed binary; with it set (make test-s3), the contract also runs against the
// real S3 server it starts.
const weedEnv = "BLOBS_WEED"

var buckets atomic.Int64

// newBucket is a fresh bucket, created by NewS3, and what lists everything stored in it.
func newBucket(t *testing.T, cfg blobs.S3Config) blobtest.Subject {
	t.Helper()
	cfg.Bucket = uniqueBucket()
	return openBucket(t, cfg)
}

func uniqueBucket() string {
	return fmt.Sprintf("blobs-%d-%d", time.Now().UnixNano(), buckets.Add(1))
}

func openBucket(t *testing.T, cfg blobs.S3Config) blobtest.Subject {
	t.Helper()
	s, err := blobs.NewS3(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return blobtest.Subject{Store: s, Contents: func(t *testing.T) []string { return bucketContents(t, cfg) }}
}

// newFakeBucket is newBucket on gofakes3, which answers NoSuchUpload to a listing of the multipart uploads
// of a bucket that never had one, where S3 answers with an empty list: the bucket is given one, aborted.
func newFakeBucket(t *testing.T, cfg blobs.S3Config) blobtest.Subject {
	t.Helper()
	cfg.Bucket = uniqueBucket()
	blobtest.PrimeFakeBucket(t, cfg)
	return openBucket(t, cfg)
}

// bucketContents lists the bucket's objects and its multipart uploads not completed or aborted.
func bucketContents(t *testing.T, cfg blobs.S3Config) []string {
	t.Helper()
	client := blobtest.MinioClient(t, cfg)
	ctx := context.Background()
	var found []string
	for obj := range client.ListObjects(ctx, cfg.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		found = append(found, obj.Key)
	}
	for upload := range client.ListIncompleteUploads(ctx, cfg.Bucket, "", true) {
		if upload.Err != nil {
			t.Fatal(upload.Err)
		}
		found = append(found, "upload of "+upload.Key)
	}
	return found
}

// fakeS3 serves gofakes3, an in-process S3 server speaking the S3 protocol over HTTP, with its clock.
func fakeS3(t *testing.T, clock gofakes3.TimeSource) blobs.S3Config {
	t.Helper()
	faker := gofakes3.New(s3mem.New(s3mem.WithTimeSource(clock)), gofakes3.WithTimeSource(clock), gofakes3.WithTimeSkewLimit(0))
	srv := httptest.NewServer(faker.Server())
	t.Cleanup(srv.Close)
	return blobs.S3Config{Endpoint: srv.URL, Region: "us-east-1", AccessKey: "test-access", SecretKey: "test-secret", PathStyle: true}
}

func TestS3PassesTheStoreContractOnAnInProcessServer(t *testing.T) {
	cfg := fakeS3(t, gofakes3.DefaultTimeSource())
	blobtest.Run(t, func(t *testing.T) blobtest.Subject { return newFakeBucket(t, cfg) })
}

func TestS3KeepsABlobUnderItsSHA256(t *testing.T) {
	cfg := fakeS3(t, gofakes3.DefaultTimeSource())
	s := newFakeBucket(t, cfg)
	if _, err := s.Store.Put(context.Background(), strings.NewReader("hello"), 5); err != nil {
		t.Fatal(err)
	}
	want := "sha256/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	if got := s.Contents(t); len(got) != 1 || got[0] != want {
		t.Errorf("the bucket holds %q, want %s", got, want)
	}
}

func TestS3StartRemovesTemporaryUploadsADayOldAndKeepsNewerOnes(t *testing.T) {
	clock := gofakes3.FixedTimeSource(time.Now().Add(-48 * time.Hour))
	cfg := fakeS3(t, clock)
	cfg.Bucket = "leftovers"
	blobtest.PrimeFakeBucket(t, cfg)
	s, err := blobs.NewS3(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	client := blobtest.MinioClient(t, cfg)
	core := minio.Core{Client: client}
	ctx := context.Background()
	leave := func(key string) {
		t.Helper()
		if _, err := client.PutObject(ctx, cfg.Bucket, key, strings.NewReader("half"), 4, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := core.NewMultipartUpload(ctx, cfg.Bucket, key+"-parts", minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	leave("tmp/crashed-two-days-ago")
	clock.Advance(47 * time.Hour)
	leave("tmp/in-progress-an-hour-ago")
	stored, err := s.Put(ctx, strings.NewReader("kept"), 4)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)

	if _, err := blobs.NewS3(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(bucketContents(t, cfg), ", ")
	want := "sha256/" + stored.SHA256 + ", tmp/in-progress-an-hour-ago, upload of tmp/in-progress-an-hour-ago-parts"
	if got != want {
		t.Errorf("after a start the bucket holds %s; want %s", got, want)
	}
}

func TestS3RefusesAnEndpointThatIsNotAURLWithoutRepeatingIt(t *testing.T) {
	for _, endpoint := range []string{"", "s3.example.org", "ftp://s3.example.org", "https://key:hunter2@s3.example.org", "https://s3.example.org/some/path", "http://[::1"} {
		_, err := blobs.NewS3(context.Background(), blobs.S3Config{Endpoint: endpoint, Bucket: "b"})
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("endpoint %q: %v, want an error without the URL's password", endpoint, err)
		}
	}
	if _, err := blobs.NewS3(context.Background(), blobs.S3Config{Endpoint: "https://s3.example.org"}); err == nil {
		t.Error("no bucket: no error")
	}
}

// TestS3PassesTheStoreContractOnSeaweedFS runs the contract against a real S3 server, SeaweedFS, which it
// starts on 127.0.0.1 from the weed binary BLOBS_WEED names (make test-s3 builds one).
func TestS3PassesTheStoreContractOnSeaweedFS(t *testing.T) {
	weed := os.Getenv(weedEnv)
	if weed == "" {
		t.Skip("BLOBS_WEED names no weed binary; make test-s3 builds one and runs this")
	}
	cfg := startSeaweedFS(t, weed)
	t.Run("Contract", func(t *testing.T) {
		blobtest.Run(t, func(t *testing.T) blobtest.Subject { return newBucket(t, cfg) })
	})
	t.Run("PutStreams", func(t *testing.T) {
		// One 5 MiB part in memory at a time, and what the client allocates per request.
		blobtest.CheckPutStreams(t, newBucket(t, cfg).Store, 64<<20, 24<<20)
	})
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startSeaweedFS runs `weed mini`-style single-process SeaweedFS (master, volume, filer and S3) with one
// identity, and waits until its S3 port answers.
func startSeaweedFS(t *testing.T, weed string) blobs.S3Config {
	t.Helper()
	dir := t.TempDir()
	cfg := blobs.S3Config{Region: "us-east-1", AccessKey: "weed-access", SecretKey: "weed-secret", PathStyle: true}
	identities := fmt.Sprintf(`{"identities":[{"name":"test","credentials":[{"accessKey":%q,"secretKey":%q}],"actions":["Admin","Read","Write","List","Tagging"]}]}`, cfg.AccessKey, cfg.SecretKey)
	if err := os.WriteFile(filepath.Join(dir, "s3.json"), []byte(identities), 0o600); err != nil {
		t.Fatal(err)
	}
	// weed listens for gRPC on each port + 10000, so the ports are taken below 55000.
	var grpcPorts []int
	port := func() string {
		for {
			if p := freePort(t); p < 55000 {
				grpcPorts = append(grpcPorts, p+10000)
				return strconv.Itoa(p)
			}
		}
	}
	s3Port := port()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(weed, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-dir="+data,
		"-master.port="+port(), "-volume.port="+port(), "-filer", "-filer.port="+port(),
		"-s3", "-s3.port="+s3Port, "-s3.config="+filepath.Join(dir, "s3.json"),
		// Each bucket is a collection of its own volumes: small ones, and room for many.
		"-master.volumeSizeLimitMB=64", "-volume.max=500")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// SIGTERM lets weed flush and stop; SIGKILL if it lingers.
		cmd.Process.Signal(syscall.SIGTERM)
		stopped := time.AfterFunc(15*time.Second, func() { cmd.Process.Kill() })
		cmd.Wait()
		stopped.Stop()
		for _, p := range grpcPorts { // weed leaves some of the Unix sockets it keeps in /tmp beside its gRPC ports
			leftovers, _ := filepath.Glob(fmt.Sprintf("/tmp/seaweedfs-*-%d.sock", p))
			for _, socket := range leftovers {
				os.Remove(socket)
			}
		}
		if t.Failed() {
			t.Logf("weed's log:\n%s", logs.String())
		}
	})
	cfg.Endpoint = "http://127.0.0.1:" + s3Port
	// The S3 port answers before the volume server has joined the master: ready is when a write succeeds.
	client := blobtest.MinioClient(t, cfg)
	deadline := time.Now().Add(90 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := client.MakeBucket(ctx, "ready", minio.MakeBucketOptions{})
		if code := minio.ToErrorResponse(err).Code; code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists" {
			err = nil
		}
		if err == nil {
			_, err = client.PutObject(ctx, "ready", "probe", strings.NewReader("ok"), 2, minio.PutObjectOptions{})
		}
		cancel()
		if err == nil {
			return cfg
		}
		if time.Now().After(deadline) {
			t.Fatalf("SeaweedFS took no write in 90 s: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
