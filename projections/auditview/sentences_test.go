package auditview

import (
	"slices"
	"strings"
	"testing"

	"github.com/mediciasafely/jobserver/domain"
)

func TestEveryRegisteredEventTypeHasASentence(t *testing.T) {
	for _, name := range domain.Events.Names() {
		say, ok := sentences[name]
		if !ok {
			t.Errorf("%s has no sentence: add one to sentences.go", name)
			continue
		}
		// Every sentence can be said of an event whose fields are empty, as an old or odd event may be.
		payload, err := domain.Events.Decode(name, domain.Events.Version(name), []byte(`{}`))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s := say(payload)
		if len(s) < 2 {
			t.Errorf("%s: the sentence %v says too little", name, s)
		}
	}
	for name := range sentences {
		if !slices.Contains(domain.Events.Names(), name) {
			t.Errorf("a sentence for %s, which the registry does not know", name)
		}
	}
}

func TestASentenceNamesThingsAsTheReadModelHasThem(t *testing.T) {
	s := sentences["ProjectMemberRolesChanged"](domain.ProjectMemberRolesChanged{ProjectID: "p1", UserID: "u2",
		Roles: []domain.Role{domain.ProjectDeveloper}})
	names := named{personRef: {"u1": "Demo Admin", "u2": "Demo Researcher"}, projectRef: {"p1": "MyStudy"}}
	if got := text(words(s, "user:u1", names)); got != "Demo Admin gave Demo Researcher the role Project Developer in MyStudy" {
		t.Errorf("sentence: %q", got)
	}
	if got := text(words(s, "cli", named{})); got != "The operator (command line) gave the user u2 the role Project Developer in the project p1" {
		t.Errorf("sentence by the operator, names unknown: %q", got)
	}
	rotated := sentences["RunnerTokenRotated"](domain.RunnerTokenRotated{BackendID: "b1"})
	if got := text(words(rotated, "backend:b1", named{backendRef: {"b1": "TPP"}})); got != "The runner of TPP rotated the runner token of TPP" {
		t.Errorf("sentence by a runner: %q", got)
	}
}

func text(ws []Words) string {
	var b strings.Builder
	for i, w := range ws {
		if i > 0 && !w.Joined {
			b.WriteByte(' ')
		}
		b.WriteString(w.Text)
	}
	return b.String()
}
