package blobtest

import (
	"context"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/mediciasafely/jobserver/integrations/blobs"
)

// MinioClient is a client of the S3 server cfg names, for tests that look into a bucket behind the store.
func MinioClient(t *testing.T, cfg blobs.S3Config) *minio.Client {
	t.Helper()
	client, err := minio.New(strings.TrimPrefix(cfg.Endpoint, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""), Region: cfg.Region, BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// PrimeFakeBucket makes cfg's bucket on gofakes3 ready for blobs.NewS3. gofakes3 answers NoSuchUpload to a
// listing of the multipart uploads of a bucket that never had one, where S3 answers an empty list, so the
// bucket is made and given one upload, aborted.
func PrimeFakeBucket(t *testing.T, cfg blobs.S3Config) {
	t.Helper()
	ctx := context.Background()
	core := minio.Core{Client: MinioClient(t, cfg)}
	if err := core.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	id, err := core.NewMultipartUpload(ctx, cfg.Bucket, "primer", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := core.AbortMultipartUpload(ctx, cfg.Bucket, "primer", id); err != nil {
		t.Fatal(err)
	}
}
