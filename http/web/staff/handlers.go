package staff

import (
	"embed"

	"github.com/mediciasafely/jobserver/http/web/kit"
)

// Handlers serve the staff area; requireStaff lets only admins in.
type Handlers struct {
	kit.Slice
	Researchers ResearchersNaming
}

//go:embed templates
var staffTemplates embed.FS

// Templates are the pages of the staff area (staff_*.html), for the renderer.
var Templates = kit.Templates(staffTemplates)
