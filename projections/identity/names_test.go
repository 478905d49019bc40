package identity

import (
	"slices"
	"testing"
)

func TestProjectorNamesAreTheProjectorsOwn(t *testing.T) {
	t.Parallel()
	var names []string
	for _, p := range Projectors() {
		names = append(names, p.Name())
	}
	for _, name := range []string{UsersProjector, OrgsProjector, BackendsProjector, ProjectsProjector} {
		if !slices.Contains(names, name) {
			t.Errorf("no projector is called %q; the projectors are %v", name, names)
		}
	}
}
