package home

import (
	"embed"
	"time"

	"github.com/mediciasafely/jobserver/http/web/kit"
)

// Handlers serve the home page and the backend status page.
type Handlers struct {
	kit.Slice
	// Now is the clock the status pages judge staleness by; nil is time.Now.
	Now func() time.Time
}

func (a *Handlers) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

// Templates are home.html, home_anonymous.html and status.html.
var Templates = kit.Templates(templates)

//go:embed templates
var templates embed.FS
