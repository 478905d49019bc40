package releases

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// sourcesRecorder is a response that, as net/http's does, takes bytes through io.ReaderFrom, and keeps
// what each call was given.
type sourcesRecorder struct {
	*httptest.ResponseRecorder
	sources []*io.LimitedReader
}

func (r *sourcesRecorder) ReadFrom(src io.Reader) (int64, error) {
	lr, _ := src.(*io.LimitedReader)
	r.sources = append(r.sources, lr)
	return io.Copy(r.ResponseRecorder, src)
}

// sessionLike wraps a response as the session middleware (scs) does: no ReadFrom, an Unwrap, and a
// cookie set when the response starts.
type sessionLike struct{ http.ResponseWriter }

func (s sessionLike) start() {
	if s.Header().Get("Set-Cookie") == "" {
		s.Header().Set("Set-Cookie", "session=1")
	}
}
func (s sessionLike) WriteHeader(code int)        { s.start(); s.ResponseWriter.WriteHeader(code) }
func (s sessionLike) Write(p []byte) (int, error) { s.start(); return s.ResponseWriter.Write(p) }
func (s sessionLike) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// A file served through the stream writer reaches the connection as the file itself under a limit, which
// net/http sends with sendfile(2), in chunks of at most sendChunk (each extending the write deadline),
// for the whole file and for a range of it, past a wrapper without ReadFrom (the session's), which still
// sees the response start.
func TestAFileReachesTheConnectionAsAFileInChunksForSendfile(t *testing.T) {
	t.Parallel()
	content := bytes.Repeat([]byte("0123456789abcdef"), (4*sendChunk+100)/16)
	path := filepath.Join(t.TempDir(), "out.bin")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rangeHeader string
		want        []byte
		status      int
	}{
		{"", content, http.StatusOK},
		{"bytes=1000-600000", content[1000:600001], http.StatusPartialContent},
	} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		rec := &sourcesRecorder{ResponseRecorder: httptest.NewRecorder()}
		req := httptest.NewRequest(http.MethodGet, "/file", nil)
		if tc.rangeHeader != "" {
			req.Header.Set("Range", tc.rangeHeader)
		}
		http.ServeContent(newStreamWriter(sessionLike{rec}), req, "out.bin", time.Now(), f)
		f.Close()
		if rec.Code != tc.status || !bytes.Equal(rec.Body.Bytes(), tc.want) {
			t.Fatalf("range %q: %d and %d bytes, want %d and %d bytes", tc.rangeHeader, rec.Code, rec.Body.Len(), tc.status, len(tc.want))
		}
		if rec.Header().Get("Set-Cookie") == "" {
			t.Errorf("range %q: the session's wrapper did not see the response start", tc.rangeHeader)
		}
		wantChunks := (len(tc.want) + sendChunk - 1) / sendChunk
		if len(rec.sources) != wantChunks {
			t.Errorf("range %q: %d calls of ReadFrom, want %d", tc.rangeHeader, len(rec.sources), wantChunks)
		}
		for i, src := range rec.sources {
			if src == nil || src.N > sendChunk {
				t.Fatalf("range %q: call %d of ReadFrom was given %#v, not the file under a limit of at most %d", tc.rangeHeader, i, src, sendChunk)
			}
			if _, isFile := src.R.(*os.File); !isFile {
				t.Errorf("range %q: call %d of ReadFrom was given a %T, which sendfile cannot send", tc.rangeHeader, i, src.R)
			}
		}
	}
}
