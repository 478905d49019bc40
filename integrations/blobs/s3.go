package blobs

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config is where the S3 adapter keeps content.
type S3Config struct {
	// Endpoint is the server's URL: https://s3.eu-west-2.amazonaws.com, http://127.0.0.1:8333.
	Endpoint  string
	Region    string
	Bucket    string
	AccessKey string
	SecretKey string
	// PathStyle addresses the bucket as endpoint/bucket (MinIO, SeaweedFS) rather than leaving it to the
	// client, which uses bucket.endpoint for AWS and path style elsewhere.
	PathStyle bool
	// Transport, when set, carries the requests (a test's TLS server, say); nil is the default transport.
	Transport http.RoundTripper
}

const (
	// Blobs are at sha256/<hex>; uploads in progress at tmp/<random> until they are copied there.
	contentPrefix = "sha256/"
	tempPrefix    = "tmp/"
	// leftoverAge is how old a temporary upload must be before NewS3 takes it for a crash's leftover
	// rather than another server's upload in progress.
	leftoverAge = 24 * time.Hour
	// partSize is S3's smallest part of a multipart upload, the memory each Put holds at once: at most
	// 1,024 parts for the largest content, maxCopySize, well within S3's 10,000.
	partSize    = 5 << 20
	maxCopySize = 5 << 30 // the largest object one CopyObject copies
)

// S3 keeps content in an S3 bucket. A Put streams to a temporary key while hashing, in parts of at least
// 5 MiB (one part in memory at a time: content that fits in one is a single PUT), then copies it server-side to its sha256's key and deletes the
// temporary one: a crash leaves at most a temporary upload, removed a day later by a NewS3, and a bucket
// lifecycle rule that aborts incomplete multipart uploads is a good idea too. The credentials need
// s3:ListBucket, s3:ListBucketMultipartUploads, s3:GetObject, s3:PutObject, s3:DeleteObject and
// s3:AbortMultipartUpload on the bucket (and s3:CreateBucket if it should be created).
type S3 struct {
	client *minio.Client
	bucket string
}

// NewS3 connects to the bucket (creating it if it does not exist) and removes the temporary uploads that
// crashed Puts left behind more than a day ago.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") {
		// The text is not repeated: a mistyped endpoint may hold a credential.
		return nil, errors.New("blobs: the S3 endpoint is not a URL such as https://s3.eu-west-2.amazonaws.com (without credentials or a path)")
	}
	if cfg.Bucket == "" {
		return nil, errors.New("blobs: no S3 bucket is named")
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(u.Host, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       u.Scheme == "https",
		Region:       cfg.Region,
		BucketLookup: lookup,
		Transport:    cfg.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("blobs: S3 client: %w", err)
	}
	s := &S3{client: client, bucket: cfg.Bucket}
	exists, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("blobs: reach the S3 bucket %s: %w", cfg.Bucket, err)
	}
	if !exists {
		if err := client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region}); err != nil {
			return nil, fmt.Errorf("blobs: create the S3 bucket %s: %w", cfg.Bucket, err)
		}
	}
	if err := s.removeLeftovers(ctx, time.Now().Add(-leftoverAge)); err != nil {
		return nil, fmt.Errorf("blobs: remove temporary uploads left by a crash: %w", err)
	}
	return s, nil
}

// removeLeftovers removes the temporary objects and aborts the multipart uploads begun before cutoff.
func (s *S3) removeLeftovers(ctx context.Context, cutoff time.Time) error {
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: tempPrefix, Recursive: true}) {
		if obj.Err != nil {
			return obj.Err
		}
		if obj.LastModified.Before(cutoff) {
			if err := s.client.RemoveObject(ctx, s.bucket, obj.Key, minio.RemoveObjectOptions{}); err != nil {
				return err
			}
		}
	}
	core := minio.Core{Client: s.client}
	for upload := range s.client.ListIncompleteUploads(ctx, s.bucket, tempPrefix, true) {
		if upload.Err != nil {
			return upload.Err
		}
		if upload.Initiated.Before(cutoff) {
			if err := core.AbortMultipartUpload(ctx, s.bucket, upload.Key, upload.UploadID); err != nil {
				return err
			}
		}
	}
	return nil
}

// Put uploads r to a temporary key while hashing it, then copies it (server-side) to its sha256's key.
// S3 copies at most 5 GiB in one request, so content beyond that is ErrTooLarge whatever the limit.
func (s *S3) Put(ctx context.Context, r io.Reader, limit int64) (Stored, error) {
	c, err := newContent(ctx, r, min(limit, maxCopySize))
	if err != nil {
		return Stored{}, err
	}
	temp := tempPrefix + rand.Text()
	// Whatever happens, the temporary key goes; if this fails, a later NewS3 removes it.
	defer s.client.RemoveObject(context.WithoutCancel(ctx), s.bucket, temp, minio.RemoveObjectOptions{})
	if err := s.upload(ctx, temp, c); err != nil {
		return Stored{}, c.failure(fmt.Errorf("blobs: upload to S3: %w", err))
	}
	stored := c.stored()
	key := contentPrefix + stored.SHA256
	_, err = s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err == nil {
		return stored, nil // already stored
	}
	if !isNotFound(err) {
		return Stored{}, fmt.Errorf("blobs: look for a blob in S3: %w", err)
	}
	dst := minio.CopyDestOptions{Bucket: s.bucket, Object: key}
	if _, err := s.client.CopyObject(ctx, dst, minio.CopySrcOptions{Bucket: s.bucket, Object: temp}); err != nil {
		return Stored{}, fmt.Errorf("blobs: copy an upload to its name in S3: %w", err)
	}
	return stored, nil
}

// partBuffers keeps the 5 MiB buffers of finished Puts for the next, as most content is far smaller.
var partBuffers = sync.Pool{New: func() any {
	buf := make([]byte, partSize)
	return &buf
}}

// upload streams c to key through one buffer of partSize bytes: content that fits in it is one PUT, and
// longer content a multipart upload of such parts, aborted if anything fails. The payload is not signed:
// that would hash every byte a second time, where TLS, and our own sha256, already guard it.
func (s *S3) upload(ctx context.Context, key string, c io.Reader) (err error) {
	core := minio.Core{Client: s.client}
	pooled := partBuffers.Get().(*[]byte)
	defer partBuffers.Put(pooled)
	buf := *pooled
	n, err := io.ReadFull(c, buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		_, err = core.PutObject(ctx, s.bucket, key, bytes.NewReader(buf[:n]), int64(n), "", "", minio.PutObjectOptions{DisableContentSha256: true})
		return err
	}
	if err != nil {
		return err
	}
	id, err := core.NewMultipartUpload(ctx, s.bucket, key, minio.PutObjectOptions{})
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			core.AbortMultipartUpload(context.WithoutCancel(ctx), s.bucket, key, id) // else a NewS3 a day later
		}
	}()
	var parts []minio.CompletePart
	for number := 1; ; number++ {
		part, err := core.PutObjectPart(ctx, s.bucket, key, id, number, bytes.NewReader(buf[:n]), int64(n), minio.PutObjectPartOptions{DisableContentSha256: true})
		if err != nil {
			return err
		}
		parts = append(parts, minio.CompletePart{PartNumber: number, ETag: part.ETag})
		if n < len(buf) {
			break // a short part is the last
		}
		if n, err = io.ReadFull(c, buf); err == io.EOF {
			break
		} else if err != nil && err != io.ErrUnexpectedEOF {
			return err
		}
	}
	_, err = core.CompleteMultipartUpload(ctx, s.bucket, key, id, parts, minio.PutObjectOptions{})
	return err
}

func isNotFound(err error) bool {
	return minio.ToErrorResponse(err).StatusCode == http.StatusNotFound
}

// Open finds the blob (one HEAD request) and returns it unread: bytes are fetched by ranged GETs from
// wherever the reader has sought to, as they are read.
func (s *S3) Open(ctx context.Context, sha256 string) (Blob, error) {
	sha, ok := parseSHA256(sha256)
	if !ok {
		return nil, ErrNotFound
	}
	key := contentPrefix + sha
	info, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if isNotFound(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("blobs: open a blob in S3: %w", err)
	}
	return &s3Blob{ctx: ctx, core: minio.Core{Client: s.client}, bucket: s.bucket, key: key, size: info.Size, modTime: info.LastModified}, nil
}

// s3Blob reads an object from its offset on: a GET open from there until a Seek moves elsewhere.
type s3Blob struct {
	ctx     context.Context // the Open's, which the reads belong to
	core    minio.Core
	bucket  string
	key     string
	size    int64
	modTime time.Time
	offset  int64
	body    io.ReadCloser // nil until the next Read asks for bytes
}

func (b *s3Blob) Size() int64        { return b.size }
func (b *s3Blob) ModTime() time.Time { return b.modTime }

func (b *s3Blob) Read(p []byte) (int, error) {
	if b.offset >= b.size {
		return 0, io.EOF
	}
	if b.body == nil {
		var opts minio.GetObjectOptions
		if b.offset > 0 {
			if err := opts.SetRange(b.offset, 0); err != nil {
				return 0, err
			}
		}
		body, _, _, err := b.core.GetObject(b.ctx, b.bucket, b.key, opts)
		if isNotFound(err) {
			return 0, ErrNotFound // deleted since it was opened
		}
		if err != nil {
			return 0, fmt.Errorf("blobs: read a blob from S3: %w", err)
		}
		b.body = body
	}
	n, err := b.body.Read(p)
	b.offset += int64(n)
	return n, err
}

func (b *s3Blob) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += b.offset
	case io.SeekEnd:
		offset += b.size
	default:
		return 0, fmt.Errorf("blobs: seek: whence %d", whence)
	}
	if offset < 0 {
		return 0, errors.New("blobs: seek before the start")
	}
	if offset != b.offset {
		b.closeBody()
		b.offset = offset
	}
	return offset, nil
}

func (b *s3Blob) closeBody() {
	if b.body != nil {
		b.body.Close()
		b.body = nil
	}
}

func (b *s3Blob) Close() error {
	b.closeBody()
	return nil
}

// Delete removes the blob (S3 answers success for an absent key).
func (s *S3) Delete(ctx context.Context, sha256 string) error {
	sha, ok := parseSHA256(sha256)
	if !ok {
		return nil // no blob has such a name
	}
	if err := s.client.RemoveObject(ctx, s.bucket, contentPrefix+sha, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("blobs: delete a blob in S3: %w", err)
	}
	return nil
}

// List lists the objects under sha256/; an object's time is when it was last written (its copy into place).
func (s *S3) List(ctx context.Context, each func(Listed) error) error {
	ctx, cancel := context.WithCancel(ctx) // stops the listing's goroutine when each stops early
	defer cancel()
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: contentPrefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("blobs: list the blobs in S3: %w", obj.Err)
		}
		name := strings.TrimPrefix(obj.Key, contentPrefix)
		sha, ok := parseSHA256(name)
		if !ok || sha != name {
			continue
		}
		if err := each(Listed{SHA256: sha, Stored: obj.LastModified}); err != nil {
			return err
		}
	}
	return nil
}
