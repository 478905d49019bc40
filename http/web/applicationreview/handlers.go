package applicationreview

import (
	"embed"

	appcmds "github.com/mediciasafely/jobserver/commands/applications"
	"github.com/mediciasafely/jobserver/http/web/kit"
	appviews "github.com/mediciasafely/jobserver/projections/applications"
)

// Handlers serve the review of study applications.
type Handlers struct {
	kit.Slice
	Applications *appcmds.Commands
	Views        *appviews.Queries
}

// Templates are the slice's pages, for the renderer.
var Templates = kit.Templates(templates)

//go:embed templates
var templates embed.FS
