package blobs

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A write that fails ends the copy at once, rather than after reading the rest of a body that may be long.
func TestACopyWhoseWriteFailsStopsReading(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "closed"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close() // every write fails
	done := make(chan error, 1)
	go func() { done <- copyToFile(f, rand.NewChaCha8([32]byte{1})) }() // a reader without end
	select {
	case err := <-done:
		if err == nil {
			t.Error("a copy to a closed file succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a copy whose writes fail kept reading")
	}
}
