package pgtest

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Every test run used to leave a template database of its own behind on the shared server.
func TestRunsReuseOneTemplateNamedAfterTheMigrations(t *testing.T) {
	ctx := context.Background()
	first, err := ensureTemplate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := migrationsDigest()
	if err != nil {
		t.Fatal(err)
	}
	if first != templatePrefix+digest {
		t.Errorf("template %q, want %q", first, templatePrefix+digest)
	}
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	count := func() int {
		var n int
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname LIKE 'jobserver\_tmpl\_%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	// What the next test binary does.
	again, err := ensureTemplate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Errorf("a second run made template %q, want %q reused", again, first)
	}
	if after := count(); after > before {
		t.Errorf("%d templates after a second run, %d before", after, before)
	}
	var building int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, first+"_building").Scan(&building); err != nil || building != 0 {
		t.Errorf("a half-built template is left: %d, %v", building, err)
	}
	// And a database cloned from it is migrated.
	pool := NewPool(t)
	var events int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM events").Scan(&events); err != nil {
		t.Errorf("a clone of %s has no event store: %v", first, err)
	}
	if strings.Contains(first, "building") {
		t.Errorf("template name %q", first)
	}
}
