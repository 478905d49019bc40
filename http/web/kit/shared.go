package kit

import (
	"bytes"
	"context"
	"html/template"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"golang.org/x/sync/singleflight"
)

// A change to a job request reaches every live page that shows it, and each fetches its live part again
// within the same quarter second: the 200 pages open on the event log's first page fetch the same address
// at the same position of its projector. What is the same for every viewer (such a part, the event log's
// menus) is read once for all of them, and kept until the projector moves (or sharedTTL passes, for what
// a rendering shows of time, "3 minutes ago").
const (
	sharedTTL = 2 * time.Second
	// sharedKept bounds what is kept: addresses carry filters and cursors, so there is no end to them; when
	// full, the expired go, then the rest.
	sharedKept = 512
)

var sharedReads = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "jobserver_shared_reads_total",
	Help: "Reads of what every viewer is shown alike (live parts, the event log's menus), by whether a kept one answered (hit) or one was made (miss).",
}, []string{"result"})

// sharedValues are what was read for everyone, by key.
type sharedValues struct {
	mu    sync.Mutex
	byKey map[string]sharedValue
	reads singleflight.Group
}

type sharedValue struct {
	position string // of the projector, read before the value
	made     time.Time
	value    any
}

func (s *sharedValues) get(key, position string, now time.Time) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.byKey[key]
	if !ok || v.position != position || now.Sub(v.made) >= sharedTTL {
		return nil, false
	}
	return v.value, true
}

func (s *sharedValues) put(key string, v sharedValue) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byKey == nil {
		s.byKey = map[string]sharedValue{}
	}
	if len(s.byKey) >= sharedKept {
		for k, kept := range s.byKey {
			if v.made.Sub(kept.made) >= sharedTTL {
				delete(s.byKey, k)
			}
		}
		if len(s.byKey) >= sharedKept {
			clear(s.byKey)
		}
	}
	s.byKey[key] = v
}

// Shared returns what read gives, read once for every request that asks for key while projector (the one
// read reads) stays where it is. Only for what every viewer who may ask is shown alike. Without live
// updates (no hub to say where the projector is), or for a page drawn as it was (?as_of=), it reads for
// this request alone.
func Shared[T any](k *Kit, r *http.Request, projector, key string, read func(context.Context) (T, error)) (T, error) {
	if k.Live == nil || bannerOf(r) != nil {
		return read(r.Context())
	}
	// Read before the value: what is read is at least this new, so it is never kept under a later position.
	position := k.Live.Position(projector)
	if v, ok := k.shared.get(key, position, time.Now()); ok {
		sharedReads.WithLabelValues("hit").Inc()
		return v.(T), nil
	}
	sharedReads.WithLabelValues("miss").Inc()
	v, err, _ := k.shared.reads.Do(key+"\x00"+position, func() (any, error) {
		// One request reads for all that wait on it: its client going away must not fail theirs.
		made := time.Now()
		v, err := read(context.WithoutCancel(r.Context()))
		if err != nil {
			return nil, err
		}
		k.shared.put(key, sharedValue{position: position, made: made, value: v})
		return v, nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}

// SharedFragment answers a live part's fetch with fragment name drawn from what read returns (SharedHTML).
func (k *Kit) SharedFragment(w http.ResponseWriter, r *http.Request, projector, name string, read func(context.Context) (any, error)) error {
	body, err := k.SharedHTML(r, projector, name, read)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(keepAsOf([]byte(body), r)) // a write error means the client went away; there is no one left to tell
	return nil
}

// SharedHTML is fragment name drawn from what read returns, one reading and rendering (Shared) for every
// viewer who asks for the same address: the part a live page fetches again, and the same part in the
// whole page, are one drawing. Only for a fragment that shows nothing of the viewer, of data every viewer
// who may fetch the address may see: it is drawn without the viewer's chrome.
func (k *Kit) SharedHTML(r *http.Request, projector, name string, read func(context.Context) (any, error)) (template.HTML, error) {
	body, err := Shared(k, r, projector, "fragment "+name+" "+r.URL.RequestURI(), func(ctx context.Context) ([]byte, error) {
		data, err := read(ctx)
		if err != nil {
			return nil, err
		}
		return k.Renderer.renderShared(name, data)
	})
	return template.HTML(body), err // drawn by html/template
}

// renderShared draws fragment name with data and an empty chrome, so nothing of any viewer is in the bytes.
func (r *Renderer) renderShared(name string, data any) ([]byte, error) {
	var body bytes.Buffer
	if err := r.fragments.ExecuteTemplate(&body, name, pageData(Chrome{}, View{Data: data})); err != nil {
		return nil, err
	}
	return body.Bytes(), nil
}
