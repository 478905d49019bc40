package home

import (
	"embed"

	"github.com/mediciasafely/jobserver/http/web/kit"
)

// Handlers serve the home page and the backend status page.
type Handlers struct{ kit.Slice }

// Templates are home.html, home_anonymous.html and status.html.
var Templates = kit.Templates(templates)

//go:embed templates
var templates embed.FS
