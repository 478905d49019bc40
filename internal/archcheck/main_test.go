package main

import "testing"

func TestCheck(t *testing.T) {
	const m = "github.com/mediciasafely/jobserver"
	tests := []struct {
		pkg, imp string
		ok       bool
	}{
		// domain: stdlib, ulid, the YAML parser and itself only.
		{"domain", "time", true},
		{"domain", "crypto/rand", true},
		{"domain", "github.com/oklog/ulid/v2", true},
		{"domain/projectyaml", m + "/domain", true},
		{"domain/projectyaml", "go.yaml.in/yaml/v3", true},
		{"domain", "github.com/oklog/ulid", false},
		{"domain", "gopkg.in/yaml.v3", false},
		{"domain", "github.com/jackc/pgx/v5", false},
		{"domain", m + "/eventstore", false},
		{"domain", m + "/commands", false},
		{"domain", m + "/internal/testdb", false},

		// commands: domain, eventstore (and subpackages), commands.
		{"commands", m + "/domain", true},
		{"commands", m + "/eventstore", true},
		{"commands", m + "/eventstore/pgstore", true},
		{"commands/github", m + "/commands", true},
		{"commands", "github.com/jackc/pgx/v5", true},
		{"commands", m + "/projections", false},
		{"commands", m + "/http/web", false},
		{"commands", m + "/integrations/github", false},
		{"commands", m + "/internal/testdb", false},

		// eventstore: nothing of ours outside eventstore.
		{"eventstore", "github.com/jackc/pgx/v5/pgxpool", true},
		{"eventstore/pgstore", m + "/eventstore", true},
		{"eventstore/kurrent", "github.com/EventStore/EventStore-Client-Go/v4/esdb", true},
		{"eventstore", m + "/domain", false},
		{"eventstore/pgstore", m + "/migrations", false},

		// projections: domain, eventstore, projections.
		{"projections", m + "/domain", true},
		{"projections", m + "/eventstore", true},
		{"projections/runner", m + "/projections", true},
		{"projections", "github.com/ThreeDotsLabs/watermill", true},
		{"projections", m + "/commands", false},
		{"projections", m + "/http", false},
		{"projections", m + "/integrations", false},

		// integrations: commands, domain.
		{"integrations/github", m + "/commands", true},
		{"integrations/github", m + "/domain", true},
		{"integrations/github", "golang.org/x/oauth2", true},
		{"integrations/mail", m + "/integrations", true},
		{"integrations/github", m + "/http/web", false},
		{"integrations/github", m + "/projections", false},
		{"integrations/github", m + "/eventstore", false},

		// A slice imports its layer's kit, not another slice of the same layer.
		{"commands/workspaces", m + "/commands", true},
		{"commands/workspaces", m + "/commands/identity", false},
		{"projections/releases", m + "/projections/identity", false},
		{"projections/releases", m + "/projections", true},
		{"http/web/staff", m + "/http/web/kit", true},
		{"http/web/staff", m + "/http/web/static", true},
		{"http/web/staff", m + "/http/web/projects", false},
		{"http/web/kit", m + "/http/web/static", true},
		{"http/web", m + "/http/web/staff", true},
		{"http/web/staff", m + "/projections/identity", true},
		{"http/web/staff", m + "/commands/identity", true},

		// http: commands, projections, domain, http; never the event store.
		{"http/web", m + "/commands", true},
		{"http/web", m + "/projections", true},
		{"http/runnerapi", m + "/domain", true},
		{"http/runnerapi", m + "/eventstore", false},
		{"http/web/staff", m + "/eventstore/pgstore", false},
		{"http/web", m + "/http/middleware", true},
		{"http/web", "net/http", true},
		{"http/web", "github.com/go-chi/chi/v5", true},
		{"http/web", m + "/integrations/github", false},
		{"http/web", m + "/migrations", false},
		{"http/web", m + "/internal/testdb", false},

		// migrations: nothing of ours.
		{"migrations", "embed", true},
		{"migrations", m + "/domain", false},

		// cmd and internal: anything.
		{"cmd/jobserver", m + "/http/web", true},
		{"cmd/jobserver", m + "/integrations/github", true},
		{"cmd/jobserver-bench", m + "/internal/testdb", true},
		{"internal/testdb", m + "/eventstore", true},
		{"internal/testdb", m + "/projections", true},

		// Packages outside the module, or in no known folder, are not checked here.
		{"", m + "/commands", true}, // pkg = module root: reported as uncovered by main
		{"tools/gen", m + "/commands", true},
	}
	for _, tt := range tests {
		pkg := m
		if tt.pkg != "" {
			pkg = m + "/" + tt.pkg
		}
		err := check(m, pkg, tt.imp)
		if (err == nil) != tt.ok {
			t.Errorf("check(%s -> %s) = %v, want allowed=%v", tt.pkg, tt.imp, err, tt.ok)
		}
	}
}

func TestCheckIgnoresOtherModules(t *testing.T) {
	if err := check("github.com/mediciasafely/jobserver", "example.com/other/domain", "example.com/other/commands"); err != nil {
		t.Fatalf("package outside the module was checked: %v", err)
	}
}

func TestIsStdlib(t *testing.T) {
	for path, want := range map[string]bool{
		"fmt":                      true,
		"net/http":                 true,
		"crypto/rand":              true,
		"C":                        true,
		"github.com/oklog/ulid/v2": false,
		"gopkg.in/yaml.v3":         false,
		"golang.org/x/oauth2":      false,
	} {
		if got := isStdlib(path); got != want {
			t.Errorf("isStdlib(%q) = %v, want %v", path, got, want)
		}
	}
}
