package static

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestAssetURLIsVersionedByContentAndStable(t *testing.T) {
	t.Parallel()
	css, err := staticFiles.ReadFile("app.css")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(css)

	first, err := AssetURL("app.css")
	if err != nil {
		t.Fatalf("AssetURL: %v", err)
	}
	second, _ := AssetURL("app.css")

	if want := "/static/app.css?v=" + hex.EncodeToString(sum[:])[:12]; first != want {
		t.Errorf("AssetURL(app.css) = %q, want %q", first, want)
	}
	if first != second {
		t.Errorf("AssetURL changed between calls: %q then %q", first, second)
	}
	if _, err := AssetURL("missing.css"); err == nil {
		t.Error("AssetURL of a missing file succeeded, want an error")
	}
}

func TestStaticHandlerServesVersionedAppCSSForAYear(t *testing.T) {
	t.Parallel()
	url, _ := AssetURL("app.css")
	w := httptest.NewRecorder()

	Handler().ServeHTTP(w, get(url))

	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", w.Code)
	}
	if got := w.Header().Get("Content-Type"); !strings.HasPrefix(got, "text/css") {
		t.Errorf("Content-Type = %q, want text/css", got)
	}
	if got := w.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Errorf("Cache-Control = %q", got)
	}
	if !regexp.MustCompile(`^"[0-9a-f]{12}"$`).MatchString(w.Header().Get("ETag")) {
		t.Errorf("ETag = %q, want the quoted content hash", w.Header().Get("ETag"))
	}
	assertContains(t, w.Body.String(), ".flash-success", ":focus-visible", ".skip-link")
}

func TestStaticHandlerMakesUnversionedRequestsRevalidate(t *testing.T) {
	t.Parallel()
	handler := Handler()
	w := httptest.NewRecorder()

	handler.ServeHTTP(w, get("/static/app.css?v=stale"))

	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", w.Code)
	}
	if got := w.Header().Get("Cache-Control"); got != "no-cache" {
		t.Errorf("Cache-Control = %q, want no-cache", got)
	}

	revalidate := get("/static/app.css")
	revalidate.Header.Set("If-None-Match", w.Header().Get("ETag"))
	w = httptest.NewRecorder()
	handler.ServeHTTP(w, revalidate)
	if w.Code != http.StatusNotModified {
		t.Errorf("revalidation status = %d, want 304", w.Code)
	}
}

func TestStaticHandlerServesVendoredHtmx(t *testing.T) {
	t.Parallel()
	url, _ := AssetURL("vendor/htmx.min.js")
	w := httptest.NewRecorder()

	Handler().ServeHTTP(w, get(url))

	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200", w.Code)
	}
	if got := w.Header().Get("Content-Type"); !strings.HasPrefix(got, "text/javascript") {
		t.Errorf("Content-Type = %q, want text/javascript", got)
	}
	assertContains(t, w.Body.String(), `version:"2.`)
}

func TestStaticHandlerServesOnlyFilesWithGetOrHead(t *testing.T) {
	t.Parallel()
	for _, test := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/static/missing.css", http.StatusNotFound},
		{http.MethodGet, "/static/vendor/", http.StatusNotFound},
		{http.MethodGet, "/static/", http.StatusNotFound},
		{http.MethodGet, "/static/../render.go", http.StatusNotFound},
		{http.MethodPost, "/static/app.css", http.StatusMethodNotAllowed},
		{http.MethodHead, "/static/app.css", http.StatusOK},
	} {
		t.Run(test.method+" "+test.path, func(t *testing.T) {
			t.Parallel()
			w := httptest.NewRecorder()

			Handler().ServeHTTP(w, httptest.NewRequest(test.method, test.path, nil))

			if w.Code != test.status {
				t.Errorf("status = %d, want %d", w.Code, test.status)
			}
		})
	}
}

func get(path string) *http.Request {
	return httptest.NewRequest(http.MethodGet, path, nil)
}

func assertContains(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(body, want) {
			t.Errorf("response lacks %q\n--- response ---\n%s", want, body)
		}
	}
}
