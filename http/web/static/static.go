// Package static serves the pages' stylesheet, scripts and icons, embedded in the binary with a content hash
// in each URL.
package static

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

// Prefix is the URL path the static assets are served under.
// Mount StaticHandler there, e.g. router.Handle(static.Prefix+"*", static.Handler()).
const Prefix = "/static/"

// staticFiles holds the hand-written stylesheet, the favicon and vendored
// libraries (static/vendor/htmx.min.js is htmx.org 2.0.11 from npm, 0BSD licence).
//
//go:embed *.css *.svg *.js vendor
var staticFiles embed.FS

// staticAsset is one embedded file with the short content hash used to version its URL.
type staticAsset struct {
	content []byte
	hash    string
}

// staticAssets maps a path under static/ ("app.css", "vendor/htmx.min.js") to its file.
// It is computed once at start-up, so a URL's version changes exactly when the file does.
var staticAssets = mustLoadStaticAssets()

func mustLoadStaticAssets() map[string]staticAsset {
	assets := map[string]staticAsset{}
	err := fs.WalkDir(staticFiles, ".", func(path string, entry fs.DirEntry, err error) error {
		if err != nil || entry.IsDir() {
			return err
		}
		content, err := staticFiles.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(content)
		assets[path] = staticAsset{content: content, hash: hex.EncodeToString(sum[:])[:12]}
		return nil
	})
	if err != nil {
		// The files are compiled into the binary; failing to read them is a build defect.
		panic(fmt.Sprintf("static: reading embedded static files: %v", err))
	}
	return assets
}

// AssetURL returns the versioned URL of a static file, such as "/static/app.css?v=3f2a9c0d1e4b".
// Templates call it as {{asset "app.css"}}. An unknown name is an error, so a typo fails loudly.
func AssetURL(name string) (string, error) {
	asset, ok := staticAssets[name]
	if !ok {
		return "", fmt.Errorf("static: no static asset named %q", name)
	}
	return Prefix + name + "?v=" + asset.hash, nil
}

// Browsers may keep a versioned URL for a year: its content never changes under that URL.
// Unversioned or stale-versioned requests must revalidate, using the ETag.
const (
	immutableCacheControl  = "public, max-age=31536000, immutable"
	revalidateCacheControl = "no-cache"
)

// Handler serves the embedded static files under Prefix.
// Only files are served (no directory listings); GET and HEAD only.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(req.URL.Path, Prefix)
		asset, ok := staticAssets[name]
		if !ok {
			http.NotFound(w, req)
			return
		}
		if req.URL.Query().Get("v") == asset.hash {
			w.Header().Set("Cache-Control", immutableCacheControl)
		} else {
			w.Header().Set("Cache-Control", revalidateCacheControl)
		}
		w.Header().Set("ETag", `"`+asset.hash+`"`)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		// ServeContent picks the Content-Type from the extension and answers If-None-Match with 304.
		// Embedded files have no modification time (zero time: no Last-Modified); the ETag does the work.
		http.ServeContent(w, req, name, time.Time{}, bytes.NewReader(asset.content))
	})
}
