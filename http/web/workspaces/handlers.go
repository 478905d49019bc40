package workspaces

import (
	"embed"

	"github.com/mediciasafely/jobserver/commands/workspaces"
	"github.com/mediciasafely/jobserver/http/web/kit"
	wsviews "github.com/mediciasafely/jobserver/projections/workspaces"
)

// Handlers serve the pages of workspaces, Run Jobs and the workspace logs.
type Handlers struct {
	kit.Slice
	Workspaces *workspaces.Commands
	Views      *wsviews.Queries
}

// Templates are the slice's pages, for the renderer.
var Templates = kit.Templates(templates)

//go:embed templates
var templates embed.FS
