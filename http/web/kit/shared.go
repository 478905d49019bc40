package kit

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"golang.org/x/sync/singleflight"
)

// A change to a job request reaches every live page that shows it, and each fetches its live part again
// within the same quarter second: the 200 pages open on the event log's first page fetch the same address
// at the same position of its projector. A part that shows nothing of the viewer is read and rendered once
// for all of them, and kept until the projector moves (or sharedFragmentTTL passes, for what it shows of
// time, "3 minutes ago").
const (
	sharedFragmentTTL = 2 * time.Second
	// sharedFragmentsKept bounds the renderings kept: addresses carry filters and cursors, so there is no
	// end to them; when full, the expired go, then the rest.
	sharedFragmentsKept = 512
)

var sharedFragmentFetches = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "jobserver_shared_fragment_fetches_total",
	Help: "Fetches of live parts shown alike to every viewer, by whether a kept rendering answered them (hit) or one was made (miss).",
}, []string{"result"})

// sharedFragments are the renderings kept, by address.
type sharedFragments struct {
	mu        sync.Mutex
	byAddress map[string]sharedFragment
	renders   singleflight.Group
}

type sharedFragment struct {
	position string // of the projector, read before the data
	made     time.Time
	body     []byte
}

func (s *sharedFragments) get(address, position string, now time.Time) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.byAddress[address]
	if !ok || f.position != position || now.Sub(f.made) >= sharedFragmentTTL {
		return nil, false
	}
	return f.body, true
}

func (s *sharedFragments) put(address string, f sharedFragment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byAddress == nil {
		s.byAddress = map[string]sharedFragment{}
	}
	if len(s.byAddress) >= sharedFragmentsKept {
		for a, kept := range s.byAddress {
			if f.made.Sub(kept.made) >= sharedFragmentTTL {
				delete(s.byAddress, a)
			}
		}
		if len(s.byAddress) >= sharedFragmentsKept {
			clear(s.byAddress)
		}
	}
	s.byAddress[address] = f
}

// SharedFragment answers a live part's fetch with fragment name drawn from what read returns, one reading
// and rendering shared by every viewer who fetches the same address while projector (the one read reads)
// stays where it is. Only for a fragment that shows nothing of the viewer and data that every viewer who
// may fetch the address may see: the fragment is drawn without the viewer's chrome. Without live updates,
// or for a page drawn as it was (?as_of=), it reads and renders for this request alone.
func (k *Kit) SharedFragment(w http.ResponseWriter, r *http.Request, projector, name string, read func(context.Context) (any, error)) error {
	if k.Live == nil || bannerOf(r) != nil {
		data, err := read(r.Context())
		if err != nil {
			return err
		}
		k.Renderer.Fragment(w, r, http.StatusOK, name, data)
		return nil
	}
	// Read before the data: what is read is at least this new, so it is never kept under a later position.
	position := k.Live.Position(projector)
	address := r.URL.RequestURI()
	body, ok := k.shared.get(address, position, time.Now())
	result := "hit"
	if !ok {
		result = "miss"
		v, err, _ := k.shared.renders.Do(address+"\x00"+position, func() (any, error) {
			// One request reads for all that wait on it: its client going away must not fail theirs.
			data, err := read(context.WithoutCancel(r.Context()))
			if err != nil {
				return nil, err
			}
			made := time.Now()
			body, err := k.Renderer.renderShared(name, data)
			if err != nil {
				return nil, err
			}
			k.shared.put(address, sharedFragment{position: position, made: made, body: body})
			return body, nil
		})
		if err != nil {
			return err
		}
		body = v.([]byte)
	}
	sharedFragmentFetches.WithLabelValues(result).Inc()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body) // a write error means the client went away; there is no one left to tell
	return nil
}

// renderShared draws fragment name with data and an empty chrome, so nothing of any viewer is in the bytes.
func (r *Renderer) renderShared(name string, data any) ([]byte, error) {
	var body bytes.Buffer
	if err := r.fragments.ExecuteTemplate(&body, name, pageData(Chrome{}, View{Data: data})); err != nil {
		return nil, err
	}
	return body.Bytes(), nil
}
