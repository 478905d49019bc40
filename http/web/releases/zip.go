package releases

import (
	"archive/zip"
	"compress/flate"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
)

// zipEntry is one file of a release's "Download all".
type zipEntry struct {
	Name     string // the file's path in the release, kept in the zip so the user follows its folders
	SHA256   string // the bytes to read from the blob store
	Modified time.Time
	// Stub, when set, is written instead of the file's bytes: the note left where a deleted file was.
	Stub string
}

// stored are the extensions of files that are compressed already: deflating them again costs time and
// saves nothing.
var stored = map[string]bool{".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".webp": true,
	".zip": true, ".gz": true, ".bz2": true, ".xz": true, ".zst": true, ".feather": true, ".parquet": true}

// writeZip writes the entries to w as a zip, copying each file's bytes from open as it goes: the archive is
// never held in memory or on disk, however large the release.
func writeZip(w io.Writer, entries []zipEntry, open func(sha256 string) (io.ReadCloser, error)) error {
	zw := zip.NewWriter(w)
	// The fastest deflate: a download should go at the speed of the network, not of the compressor.
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) { return flate.NewWriter(out, flate.BestSpeed) })
	for _, e := range entries {
		method := zip.Deflate
		if e.Stub == "" && stored[strings.ToLower(path.Ext(e.Name))] {
			method = zip.Store
		}
		f, err := zw.CreateHeader(&zip.FileHeader{Name: zipName(e.Name), Method: method, Modified: e.Modified.UTC()})
		if err != nil {
			return err
		}
		if e.Stub != "" {
			if _, err := io.WriteString(f, e.Stub); err != nil {
				return err
			}
			continue
		}
		if err := copyBlob(f, e, open); err != nil {
			return err
		}
	}
	return zw.Close()
}

func copyBlob(w io.Writer, e zipEntry, open func(sha256 string) (io.ReadCloser, error)) error {
	blob, err := open(e.SHA256)
	if err != nil {
		return fmt.Errorf("open %s: %w", e.Name, err)
	}
	defer blob.Close()
	if _, err := io.Copy(w, blob); err != nil {
		return fmt.Errorf("copy %s: %w", e.Name, err)
	}
	return nil
}

// zipName is a file's name as a relative path inside the zip, which no unzip tool can follow out of the
// folder it unpacks into.
func zipName(name string) string {
	return strings.TrimPrefix(path.Clean("/"+strings.ReplaceAll(name, "\\", "/")), "/")
}
