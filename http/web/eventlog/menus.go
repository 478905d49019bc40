package eventlog

import (
	"html/template"
	"strings"

	eventlogviews "github.com/mediciasafely/jobserver/projections/eventlog"
)

// The filters' menus are the same for every viewer but for the choice selected, and long (a workspace
// menu of 400 options): drawn by the page's template, escaping each option's value and label, they were
// most of the server's work for a page. They are drawn once with the menus (kit.Shared), and a page
// copies them, marking its choices.

// drawnMenus are the menus of the filters, drawn.
type drawnMenus struct{ backends, users, workspaces drawnMenu }

// drawnMenu is a menu's options, each as its HTML before and after where " selected" goes.
type drawnMenu []drawnOption

type drawnOption struct {
	value      string
	open, rest string // `<option value="v"` and `>label</option>`, escaped
}

// chosenMenus are the options of each menu with the filter's choices selected, as the page shows them.
type chosenMenus struct{ Backends, Users, Workspaces template.HTML }

func drawMenus(m eventlogviews.Menus) drawnMenus {
	draw := func(options []eventlogviews.Option) drawnMenu {
		menu := make(drawnMenu, len(options))
		for i, o := range options {
			menu[i] = drawnOption{value: o.Value, open: `<option value="` + template.HTMLEscapeString(o.Value) + `"`,
				rest: `>` + template.HTMLEscapeString(o.Label) + `</option>`}
		}
		return menu
	}
	return drawnMenus{backends: draw(m.Backends), users: draw(m.Users), workspaces: draw(m.Workspaces)}
}

// choose is the menus with the choices of f selected.
func (m drawnMenus) choose(f eventlogviews.Filter) chosenMenus {
	return chosenMenus{Backends: m.backends.choose(f.Backend), Users: m.users.choose(f.User), Workspaces: m.workspaces.choose(f.Workspace)}
}

func (m drawnMenu) choose(chosen string) template.HTML {
	var b strings.Builder
	for _, o := range m {
		b.WriteString(o.open)
		if o.value == chosen {
			b.WriteString(" selected")
		}
		b.WriteString(o.rest)
	}
	return template.HTML(b.String()) // escaped by drawMenus
}
