package account

import (
	"embed"

	"github.com/mediciasafely/jobserver/http/web/kit"
)

// Handlers serve the settings of the logged-in user.
type Handlers struct{ kit.Slice }

// Templates are the settings page, for the renderer.
var Templates = kit.Templates(pages)

//go:embed templates
var pages embed.FS
