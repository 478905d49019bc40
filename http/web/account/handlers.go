package account

import (
	"embed"

	"github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/http/web/kit"
	wsviews "github.com/mediciasafely/jobserver/projections/workspaces"
)

// Handlers serve the settings of the logged-in user.
type Handlers struct {
	kit.Slice
	// Workspaces save and clear the user's GitHub token; Views say whether one is saved.
	Workspaces *workspaces.Commands
	Views      *wsviews.Queries
}

// Templates are the settings page, for the renderer.
var Templates = kit.Templates(pages)

//go:embed templates
var pages embed.FS
