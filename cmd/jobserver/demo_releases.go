package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/releases"
	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/projections"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

const (
	// demoChecker is the demo's Output Checker, on whose behalf the demo's outputs are released.
	demoChecker = "demo-checker"
	// demoReleaseID is the release the user guide shows (step 10), released out of the demo workspace.
	demoReleaseID = "01G76141JS40HTVN8XECCC87CC"
)

// loadDemoRelease releases two outputs of the demo workspace, a CSV table and a PNG histogram, as a
// backend's release tool would on behalf of the demo's Output Checker, so that step 10 of the guide has
// something to show. It goes through the release commands like any release; a demo without the checker
// (a log from before she existed) or with the release already is left alone.
func loadDemoRelease(ctx context.Context, logger *slog.Logger, store eventstore.Store, queries *identityviews.Queries,
	rels *releases.Commands, projected projections.Waiter) error {
	existing, err := store.ReadStream(ctx, domain.ReleaseStream(demoReleaseID))
	if err != nil {
		return fmt.Errorf("demo release: read the event log: %w", err)
	}
	if len(existing) > 0 {
		return nil
	}
	checker, err := queries.UserByLogin(ctx, demoChecker)
	if domain.KindOf(err) == domain.KindNotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("demo release: %w", err)
	}
	backend, err := queries.BackendBySlug(ctx, demoBackendSlug)
	if err != nil {
		return fmt.Errorf("demo release: %w", err)
	}
	outputs := map[string][]byte{"output/genes_summary.csv": demoSummaryCSV(), "output/genes_histogram.png": demoHistogramPNG()}
	var files []domain.ReleaseFileRequest
	for _, name := range []string{"output/genes_summary.csv", "output/genes_histogram.png"} {
		files = append(files, domain.ReleaseFileRequest{Name: name, URL: name, Size: int64(len(outputs[name])),
			SHA256: sha256Hex(outputs[name]), Date: time.Date(2022, 7, 6, 9, 30, 0, 0, time.UTC), Metadata: map[string]any{"tool": "demo"}})
	}
	actor := commands.UserActor(checker.ID)
	created, err := rels.CreateRelease.Handle(ctx, releases.CreateRelease{Actor: actor, BackendID: backend.ID,
		WorkspaceName: demoWorkspaceName, ReleaseID: demoReleaseID, Files: files})
	if err != nil {
		return fmt.Errorf("demo release: create it: %w", err)
	}
	last := created.Position
	for _, f := range files {
		uploaded, err := rels.UploadReleaseFile.Handle(ctx, releases.UploadReleaseFile{Actor: actor, BackendID: backend.ID,
			ReleaseID: demoReleaseID, Name: f.Name, DeclaredSize: f.Size, Body: bytes.NewReader(outputs[f.Name])})
		if err != nil {
			return fmt.Errorf("demo release: upload %s: %w", f.Name, err)
		}
		last = uploaded.Position
	}
	if err := waitForDemo(ctx, projected, last); err != nil {
		return fmt.Errorf("demo release: %w", err)
	}
	logger.InfoContext(ctx, "demo release created", slog.String("page", created.Path), slog.String("by", demoChecker))
	return nil
}

// demoGeneCounts are the demo's made-up counts of patients by number of variant genes, shaped like a
// histogram.
func demoGeneCounts() []int {
	counts := make([]int, 12)
	for i := range counts {
		counts[i] = int(900 * math.Exp(-math.Pow(float64(i)-4.5, 2)/8))
	}
	return counts
}

func demoSummaryCSV() []byte {
	var b strings.Builder
	b.WriteString("variant_genes,patients,percent\n")
	counts := demoGeneCounts()
	total := 0
	for _, c := range counts {
		total += c
	}
	for i, c := range counts {
		fmt.Fprintf(&b, "%d,%d,%.1f\n", i, c, 100*float64(c)/float64(total))
	}
	return []byte(b.String())
}

// demoHistogramPNG draws the counts as bars on a white background.
func demoHistogramPNG() []byte {
	const width, height, bar, gap = 480, 300, 32, 8
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	for x := range width {
		for y := range height {
			img.Set(x, y, color.White)
		}
	}
	counts := demoGeneCounts()
	for i, c := range counts {
		top := height - 20 - c*(height-40)/900
		for x := 20 + i*(bar+gap); x < 20+i*(bar+gap)+bar; x++ {
			for y := top; y < height-20; y++ {
				img.Set(x, y, color.RGBA{R: 30, G: 90, B: 160, A: 255})
			}
		}
	}
	var out bytes.Buffer
	if err := png.Encode(&out, img); err != nil {
		panic(err) // encoding an in-memory RGBA image cannot fail
	}
	return out.Bytes()
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
