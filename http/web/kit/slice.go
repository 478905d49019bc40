package kit

import (
	"io/fs"

	"github.com/mediciasafely/jobserver/commands/identity"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// Slice is what the handlers of every slice share: the kit, the read models the pages read and the commands
// the forms call. A slice's Handlers embed it.
type Slice struct {
	*Kit
	Queries  *identityviews.Queries
	Identity *identity.Commands
}

// Templates is the templates folder of a slice's embedded files, the pages it hands to the renderer. The
// files are compiled in; a slice without the folder is a build defect, found at start-up.
func Templates(files fs.FS) fs.FS {
	sub, err := fs.Sub(files, "templates")
	if err != nil {
		panic(err)
	}
	return sub
}
