package projects

import (
	"embed"
	"io/fs"

	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/http/web/kit"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
	wsviews "github.com/mediciasafely/jobserver/projections/workspaces"
)

// Handlers serve the pages of this slice.
type Handlers struct {
	*kit.Kit
	Queries  *identityviews.Queries
	Identity *identity.Commands
	// Workspaces reads the project's workspaces and repositories for its page.
	Workspaces *wsviews.Queries
}

// Templates are the slice's pages, for the renderer.
var Templates = mustSub(templates, "templates")

//go:embed templates
var templates embed.FS

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
