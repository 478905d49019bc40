package eventlog

import (
	"testing"

	eventlogviews "github.com/mediciasafely/jobserver/projections/eventlog"
)

// The menus are drawn outside the template, so they escape what they show themselves, and a page's
// choice marks only its own copy.
func TestDrawnMenusEscapeTheirOptionsAndMarkOnlyTheChoice(t *testing.T) {
	m := drawMenus(eventlogviews.Menus{Users: []eventlogviews.Option{
		{Value: `a"b`, Label: `<script>alert(1)</script>`}, {Value: "ada", Label: "Ada & co"}}})
	chosen := m.choose(eventlogviews.Filter{User: "ada"})
	want := `<option value="a&#34;b">&lt;script&gt;alert(1)&lt;/script&gt;</option><option value="ada" selected>Ada &amp; co</option>`
	if string(chosen.Users) != want {
		t.Errorf("user menu\n%s\nwant\n%s", chosen.Users, want)
	}
	if none := m.choose(eventlogviews.Filter{}); string(none.Users) != `<option value="a&#34;b">&lt;script&gt;alert(1)&lt;/script&gt;</option><option value="ada">Ada &amp; co</option>` {
		t.Errorf("with no choice the menu is %s", none.Users)
	}
	if chosen.Backends != "" || chosen.Workspaces != "" {
		t.Errorf("empty menus drawn as %q and %q", chosen.Backends, chosen.Workspaces)
	}
}
