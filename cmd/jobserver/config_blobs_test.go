package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mediciasafely/jobserver/integrations/blobs"
)

func TestReleasedFilesAreKeptUnderDotDataInDevelopmentAndWhereConfiguredInProduction(t *testing.T) {
	t.Chdir(t.TempDir())
	ctx := context.Background()

	t.Setenv("JOBSERVER_ENV", "development")
	cfg, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if store, err := blobStore(ctx, cfg); err != nil {
		t.Fatal(err)
	} else if _, isDir := store.(*blobs.Dir); !isDir {
		t.Errorf("development keeps blobs in %T, want a directory", store)
	}
	if _, err := os.Stat(filepath.Join(".data", "blobs", "tmp")); err != nil {
		t.Errorf("development's blob directory: %v", err)
	}

	t.Setenv("JOBSERVER_ENV", "production")
	if cfg, err = loadConfig(); err != nil {
		t.Fatal(err)
	}
	if _, err := blobStore(ctx, cfg); err == nil || !strings.Contains(err.Error(), "JOBSERVER_BLOB_DIR") || !strings.Contains(err.Error(), "JOBSERVER_S3_BUCKET") {
		t.Errorf("production without a place for blobs: %v, want an error naming both settings", err)
	}

	t.Setenv("JOBSERVER_BLOB_DIR", filepath.Join(t.TempDir(), "released"))
	if cfg, err = loadConfig(); err != nil {
		t.Fatal(err)
	}
	store, err := blobStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := store.Put(ctx, strings.NewReader("output"), 6)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("JOBSERVER_BLOB_DIR"), stored.SHA256[:2], stored.SHA256)); err != nil {
		t.Errorf("the blob is not in JOBSERVER_BLOB_DIR: %v", err)
	}
}

func TestTheS3SettingsAreReadAndChecked(t *testing.T) {
	t.Setenv("JOBSERVER_S3_BUCKET", "released")
	t.Setenv("JOBSERVER_S3_ENDPOINT", "http://127.0.0.1:8333")
	t.Setenv("JOBSERVER_S3_ACCESS_KEY", "access")
	t.Setenv("JOBSERVER_S3_SECRET_KEY", "s3cr3t-key")
	t.Setenv("JOBSERVER_S3_PATH_STYLE", "true")
	cfg, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	want := blobs.S3Config{Endpoint: "http://127.0.0.1:8333", Region: "us-east-1", Bucket: "released", AccessKey: "access", SecretKey: "s3cr3t-key", PathStyle: true}
	if cfg.S3 != want {
		t.Errorf("S3 settings %+v, want %+v", cfg.S3, want)
	}
	for name, value := range map[string]string{
		"JOBSERVER_S3_PATH_STYLE": "sometimes",
		"JOBSERVER_BLOB_DIR":      "/var/lib/jobserver/blobs", // and a bucket: which?
		"JOBSERVER_S3_ACCESS_KEY": "",
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, value)
			_, err := loadConfig()
			if err == nil || !strings.Contains(err.Error(), name) || strings.Contains(err.Error(), "s3cr3t-key") {
				t.Errorf("%s=%q: error %v, want one naming it and not the secret key", name, value, err)
			}
		})
	}
}
