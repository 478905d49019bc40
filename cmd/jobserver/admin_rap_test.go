package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
)

// TestCreateBackendMakesARAPBackendWithTheTokenFromStandardInput: --protocol rap with a controller URL
// reads the client token from standard input and seals it; the token is in no event and no output, and
// the runner token is still the last line. Without a URL or a token nothing is created.
func TestCreateBackendMakesARAPBackendWithTheTokenFromStandardInput(t *testing.T) {
	o := newOperator(t)
	const token = "rap-client-token-from-stdin-93c1"
	adminStdin = strings.NewReader("")
	t.Cleanup(func() { adminStdin = strings.NewReader("") })

	status, _, stderr := o.jobserver("admin", "create-backend", "--slug", "tpp", "--name", "TPP", "--protocol", "rap")
	if status != 1 || !strings.Contains(stderr, "--controller-url") {
		t.Errorf("without a URL: %d %q", status, stderr)
	}
	status, _, stderr = o.jobserver("admin", "create-backend", "--slug", "tpp", "--name", "TPP", "--protocol", "rap",
		"--controller-url", "https://controller.example.org/controller/v1")
	if status != 1 || !strings.Contains(stderr, "standard input") {
		t.Errorf("without a token: %d %q", status, stderr)
	}

	adminStdin = strings.NewReader(token + "\n")
	status, stdout, stderr := o.jobserver("admin", "create-backend", "--slug", "tpp", "--name", "TPP", "--protocol", "rap",
		"--controller-url", "https://controller.example.org/controller/v1")
	if status != 0 || !strings.Contains(stdout, "speaks the RAP API") {
		t.Fatalf("create a rap backend: %d %q %q", status, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if strings.Contains(stdout+stderr, token) || len(lines[len(lines)-1]) != 64 {
		t.Errorf("the output shows the client token, or its last line is not the runner token:\n%s", stdout)
	}
	// The global log shows an event once no older transaction on the server is open: other tests' may be.
	var set bool
	for deadline := time.Now().Add(10 * time.Second); !set && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		events, err := o.store.ReadAll(context.Background(), eventstore.Position{}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if strings.Contains(string(e.Data), token) {
				t.Fatalf("event %s holds the client token", e.Type)
			}
			set = set || e.Type == domain.BackendProtocolSet{}.EventType() &&
				strings.Contains(string(e.Data), "https://controller.example.org/controller/v1/")
		}
	}
	if !set {
		t.Error("no BackendProtocolSet with the controller's URL")
	}
	var sealed []byte
	if err := o.pool.QueryRow(context.Background(), `SELECT value FROM secrets WHERE key LIKE $1`, domain.RAPClientTokenSecretPrefix+"%").Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed), token) {
		t.Error("the client token is stored in the clear")
	}
}
