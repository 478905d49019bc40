package domain_test

import (
	"strings"
	"testing"

	"github.com/mediciasafely/jobserver/domain"
)

// TestAReleasedFileIsNamedInsideItsWorkspace: a name is a relative path of folders and a file, which no
// zip or file system reads as leaving the release's folder.
func TestAReleasedFileIsNamedInsideItsWorkspace(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"output/table.csv", "high_privacy/workspaces/genetic/output/genes_histogram.png", "report.html",
		"output/a b (1).csv", "output/..hidden", "output/données.csv"} {
		if err := domain.ValidateReleaseFileName(name); err != nil {
			t.Errorf("%q refused: %v", name, err)
		}
	}
	for _, name := range []string{"", "/etc/passwd", "../secret.csv", "output/../../x", "output/..", "./output/x", "output//x", "output/x/",
		`output\x.csv`, "output/x\x00.csv", "output/x\n.csv", "output/\xff.csv", strings.Repeat("a", 1001)} {
		if err := domain.ValidateReleaseFileName(name); domain.KindOf(err) != domain.KindInvalid {
			t.Errorf("%q: want it refused as invalid, got %v", name, err)
		}
	}
}

// TestAReleaseIDIsAULIDWrittenInCapitals: airlock's ids are taken in either case and kept in capitals;
// anything else is refused.
func TestAReleaseIDIsAULIDWrittenInCapitals(t *testing.T) {
	t.Parallel()
	if id, err := domain.NormalizeReleaseID(" 01jr5k3m9q8x7v6t5r4p3n2m1a "); err != nil || id != "01JR5K3M9Q8X7V6T5R4P3N2M1A" {
		t.Errorf("got %q, %v", id, err)
	}
	for _, id := range []string{"", "01JR5K3M9Q8X7V6T5R4P3N2M1", "01JR5K3M9Q8X7V6T5R4P3N2M1AX", "01JR5K3M9Q8X7V6T5R4P3N2M1U", "../../etc/passwd"} {
		if _, err := domain.NormalizeReleaseID(id); domain.KindOf(err) != domain.KindInvalid {
			t.Errorf("%q: want it refused, got %v", id, err)
		}
	}
}
