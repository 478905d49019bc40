package releases

import (
	"context"
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

// Unwrap lets http.ResponseController reach the connection underneath.
func (s *streamWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// storageContext is the context storage is read in while a download streams: without the request's
// deadline, which bounds database work, not a download. A client that goes away still ends the download,
// when the next write fails.
func storageContext(r *http.Request) context.Context { return context.WithoutCancel(r.Context()) }
