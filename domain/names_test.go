package domain_test

import (
	"strings"
	"testing"

	"github.com/mediciasafely/jobserver/domain"
)

func TestValidateSlug(t *testing.T) {
	t.Parallel()
	tests := []struct {
		slug     string
		reserved bool
		ok       bool
	}{
		{"mediciaaiorg2", true, true},
		{"rc-demo-2", true, true},
		{"ab", true, true},
		{strings.Repeat("a", 50), true, true},
		{"a", true, false},
		{"", true, false},
		{strings.Repeat("a", 51), true, false},
		{"Upper", true, false},
		{"under_score", true, false},
		{"-leading", true, false},
		{"trailing-", true, false},
		{"double--dash", true, false},
		{"white space", true, false},
		{"ünïcode", true, false},
		{"status", true, false},
		{"event-log", true, false},
		{"status", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.slug, func(t *testing.T) {
			t.Parallel()
			err := domain.ValidateSlug("slug", tt.slug, tt.reserved)
			if tt.ok && err != nil {
				t.Fatalf("ValidateSlug(%q) = %v, want ok", tt.slug, err)
			}
			if !tt.ok && fieldOf(err, "slug") == "" {
				t.Fatalf("ValidateSlug(%q) = %v, want Invalid on field slug", tt.slug, err)
			}
		})
	}
}

func TestSlugFromName(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, want string }{
		{"MediciaAIOrg2", "mediciaaiorg2"},
		{"  My Study: COVID & Vaccines (2024) ", "my-study-covid-vaccines-2024"},
		{"Ünïversity of Oxford", "university-of-oxford"},
		{"Étude Santé 東京", "etude-sante"},
		{"---", ""},
		{strings.Repeat("ab ", 30), strings.TrimRight(strings.Repeat("ab-", 17), "-")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := domain.SlugFromName(tt.name); got != tt.want {
				t.Fatalf("SlugFromName(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestReservedWordsCannotBeOrgSlugs(t *testing.T) {
	t.Parallel()
	for _, word := range []string{"staff", "api", "status", "settings", "event-log", "login", "logout", "static",
		"applications", "apply", "healthz", "metrics", "admin", "new", "orgs", "projects", "users", "workspaces",
		"complete", "favicon.ico", "robots.txt"} {
		t.Run(word, func(t *testing.T) {
			t.Parallel()
			if !domain.IsReservedSlug(word) {
				t.Fatalf("%q is not in ReservedSlugs", word)
			}
			if _, err := domain.CreateOrg(operator, "o1", "Some Org", word); fieldOf(err, "slug") == "" {
				t.Fatalf("CreateOrg with slug %q: err = %v, want Invalid on slug", word, err)
			}
		})
	}
	if _, err := domain.CreateOrg(operator, "o1", "Status", ""); fieldOf(err, "slug") == "" {
		t.Fatalf("an org named Status derives the reserved slug status: err = %v, want Invalid on slug", err)
	}
}

func TestCreateOrgDerivesTheSlugFromTheName(t *testing.T) {
	t.Parallel()
	e, err := domain.CreateOrg(operator, "o1", "  Medicia  AI Org 2 ", "")
	if err != nil {
		t.Fatal(err)
	}
	if e.Slug != "medicia-ai-org-2" || e.Name != "Medicia AI Org 2" {
		t.Fatalf("got %+v", e)
	}
	e, err = domain.CreateOrg(operator, "o1", "Medicia", "mediciaaiorg2")
	if err != nil || e.Slug != "mediciaaiorg2" {
		t.Fatalf("a given slug is kept: %+v, %v", e, err)
	}
	_, err = domain.CreateOrg(operator, "o1", "", "")
	if fieldOf(err, "name") == "" || fieldOf(err, "slug") == "" {
		t.Fatalf("no name: err = %v, want Invalid on name and slug", err)
	}
}

func TestValidateName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ok   bool
	}{
		{"MyStudy", true},
		{"Étude sur la santé", true},
		{strings.Repeat("x", 200), true},
		{strings.Repeat("x", 201), false},
		{"", false},
		{"tab\there", false},
		{"bad \xff utf8", false},
		{"nul\x00byte", false},
		{"two\nlines", false},
		{"two\r\nlines", false},
		{"line\u2028separator", false},
		{"paragraph\u2029separator", false},
		{"next\u0085line", false},
		{"invoice\u202Egpj.exe", false}, // right-to-left override
		{"a\u202Ab", false},
		{"a\u202Bb", false},
		{"a\u202Cb", false},
		{"a\u202Db", false},
		{"a\u2066b", false},
		{"a\u2067b", false},
		{"a\u2068b", false},
		{"a\u2069b", false},
		{"a\u200Eb", false},
		{"a\u200Fb", false},
		{"a\u061Cb", false},
		{"دراسة الصحة", true}, // right-to-left text itself is fine
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := domain.ValidateName("name", tt.name)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
			}
		})
	}
	if got := domain.NameKey("  My   Study "); got != "my study" {
		t.Fatalf("NameKey = %q", got)
	}
}

func TestANameIsOneLine(t *testing.T) {
	t.Parallel()
	// White space around a name, a line break included, is tidied away; a line break inside is refused.
	if got := domain.NormalizeName(" \r\n My \t Study \n"); got != "My Study" {
		t.Errorf("NormalizeName = %q, want %q", got, "My Study")
	}
	for _, name := range []string{"My\nStudy", "My \r\n Study", "My\u2028Study"} {
		if _, err := domain.CreateOrg(operator, "o1", name, "my-study"); fieldOf(err, "name") == "" {
			t.Errorf("CreateOrg(%q): err = %v, want Invalid on name", name, err)
		}
	}
}

func TestValidateEmail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		email string
		ok    bool
	}{
		{"ada@example.org", true},
		{"ada.lovelace+jobs@mail.example.ac.uk", true},
		{"", false},
		{"ada", false},
		{"ada@", false},
		{"@example.org", false},
		{"ada@localhost", false},
		{"Ada <ada@example.org>", false},
		{"ada@example.org, bob@example.org", false},
		{"ada @example.org", false},
	}
	for _, tt := range tests {
		t.Run(tt.email, func(t *testing.T) {
			t.Parallel()
			err := domain.ValidateEmail("email", tt.email)
			if tt.ok && err != nil {
				t.Fatalf("ValidateEmail(%q) = %v, want ok", tt.email, err)
			}
			if !tt.ok && fieldOf(err, "email") == "" {
				t.Fatalf("ValidateEmail(%q) = %v, want Invalid on field email", tt.email, err)
			}
		})
	}
}
