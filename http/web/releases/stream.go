package releases

import (
	"context"
	"io"
	"math"
	"net/http"
	"time"
)

// writeGrace is how long a download may go without writing before the connection is cut off.
const writeGrace = 60 * time.Second

// streamWriter is a response that may take longer than the server's write timeout (a zip of a large
// release, a file on a slow link): each write gives the connection writeGrace more, so a download that
// progresses is never cut off and one that stalls still is.
type streamWriter struct {
	http.ResponseWriter
	rc       *http.ResponseController
	extended time.Time
}

func newStreamWriter(w http.ResponseWriter) *streamWriter {
	s := &streamWriter{ResponseWriter: w, rc: http.NewResponseController(w)}
	s.extend(time.Now())
	return s
}

func (s *streamWriter) extend(now time.Time) {
	_ = s.rc.SetWriteDeadline(now.Add(writeGrace)) // a writer that cannot (a test's recorder) has no deadline to extend
	s.extended = now
}

func (s *streamWriter) Write(p []byte) (int, error) {
	if now := time.Now(); now.Sub(s.extended) > time.Second {
		s.extend(now)
	}
	return s.ResponseWriter.Write(p)
}

// sendChunk is how much of a file one ReadFrom hands the connection before extending the deadline again:
// a 16 MiB file goes by sendfile in 64 calls, and a download slower than sendChunk per writeGrace (4 KiB/s)
// is cut off, as one that stalls.
const sendChunk = 256 << 10

// ReadFrom passes a file's bytes to the connection underneath, which sends them with sendfile(2) without
// copying them through the process: without it io.Copy (http.ServeContent's) reads them through a 32 KiB
// buffer, at a third of cp's speed. net/http's sendfile sees through one io.LimitedReader (how ServeContent
// hands over a file or a range of it), so each chunk is the same file under a smaller limit.
func (s *streamWriter) ReadFrom(src io.Reader) (int64, error) {
	// Every wrapper sees the response start before its body goes past them: the session's writes its
	// cookie then.
	if _, err := s.ResponseWriter.Write(nil); err != nil {
		return 0, err
	}
	to := readerFromBelow(s.ResponseWriter)
	if to == nil || s.Header().Get("Content-Encoding") != "" { // an encoder must see the bytes
		return io.Copy(struct{ io.Writer }{s}, src) // the struct hides this ReadFrom from io.Copy
	}
	whole, limited := src.(*io.LimitedReader)
	if !limited {
		whole = &io.LimitedReader{R: src, N: math.MaxInt64}
	}
	var sent int64
	for whole.N > 0 {
		s.extend(time.Now())
		chunk := &io.LimitedReader{R: whole.R, N: min(whole.N, sendChunk)}
		asked := chunk.N
		n, err := to.ReadFrom(chunk)
		sent += n
		whole.N -= n
		if err != nil || n < asked { // n < asked: the file ended
			return sent, err
		}
	}
	return sent, nil
}

// readerFromBelow is the first response down the chain of wrappers (each one's Unwrap) that takes bytes
// by ReadFrom: the session middleware's wrapper has no ReadFrom, and passes bytes through unchanged once
// the response has started; nil if the chain ends without one.
func readerFromBelow(w http.ResponseWriter) io.ReaderFrom {
	for {
		if to, ok := w.(io.ReaderFrom); ok {
			return to
		}
		wrapper, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = wrapper.Unwrap()
	}
}

// Unwrap lets http.ResponseController reach the connection underneath.
func (s *streamWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// storageContext is the context storage is read in while a download streams: without the request's
// deadline, which bounds database work, not a download. A client that goes away still ends the download,
// when the next write fails.
func storageContext(r *http.Request) context.Context { return context.WithoutCancel(r.Context()) }
