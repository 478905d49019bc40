package auth

import (
	"embed"

	"github.com/mediciasafely/jobserver/http/web/kit"
)

// Handlers serve logging in and out.
type Handlers struct {
	kit.Slice
	GitHub GitHubLogin // nil when no OAuth app is configured
	// Development switches the demo login on; production refuses it.
	Development bool
	// CSRFCookie is the cookie gorilla/csrf keeps its secret in, replaced at every login.
	CSRFCookie string
}

// Templates are the login page, for the renderer.
var Templates = kit.Templates(loginTemplates)

//go:embed templates
var loginTemplates embed.FS
