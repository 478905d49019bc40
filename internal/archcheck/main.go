// Command archcheck enforces the import rules of ARCHITECTURE.md ("the folders are the
// architecture"). Run it from the module root:
//
//	go run ./internal/archcheck
//
// It lists the module's packages with `go list -json ./...` and fails, naming each offending
// import, when a package imports a layer it may not. Only non-test imports are checked: test
// files may import anything, including the helpers under internal/.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
)

// rule says what the packages of one top-level folder may import.
type rule struct {
	// ours lists the folders of this module that may be imported (each with its subpackages).
	ours []string
	// anyOurs allows every package of this module.
	anyOurs bool
	// thirdParty, when non-nil, is the only non-standard-library modules allowed (each with its
	// subpackages). nil means any third-party import is fine.
	thirdParty []string
}

// rules is ARCHITECTURE.md's layout table, keyed by top-level folder. A folder may always import
// its own subpackages (listed explicitly to keep the table readable).
var rules = map[string]rule{
	"domain":      {ours: []string{"domain"}, thirdParty: []string{"github.com/oklog/ulid/v2", "go.yaml.in/yaml/v3"}},
	"commands":    {ours: []string{"commands", "domain", "eventstore"}},
	"eventstore":  {ours: []string{"eventstore"}},
	"projections": {ours: []string{"projections", "domain", "eventstore"}},
	// http reads commands' own results, never the event store: it does not import eventstore.
	"http":         {ours: []string{"http", "commands", "projections", "domain"}},
	"integrations": {ours: []string{"integrations", "commands", "domain"}},
	"migrations":   {ours: []string{"migrations"}},
	"cmd":          {anyOurs: true},
	// Test helpers live here; they may use any layer but only tests may import them.
	"internal": {anyOurs: true},
}

// sliceLayers are the layers split into a package per slice, with the subpackages (besides the layer's
// root package) that every slice may import: the layer's kit. A slice does not import another slice of its
// own layer: what two slices share belongs in the kit.
var sliceLayers = map[string][]string{
	"commands":    nil,
	"projections": nil,
	"http/web":    {"http/web/kit", "http/web/static"},
}

// checkSlices returns an error when rel, a slice package of a layer, imports another slice of that layer.
func checkSlices(rel, impRel string) error {
	for layer, shared := range sliceLayers {
		slice, inLayer := sliceOf(rel, layer)
		if !inLayer || slice == "" || isShared(rel, layer, shared) {
			continue
		}
		other, impInLayer := sliceOf(impRel, layer)
		if !impInLayer || other == "" || other == slice || isShared(impRel, layer, shared) {
			continue
		}
		return fmt.Errorf("the %s slice %s/ may not import another slice, %s/%s/; move what both need to the layer's kit", layer, slice, layer, other)
	}
	return nil
}

// sliceOf returns the slice of layer that rel is in ("" for the layer's root package).
func sliceOf(rel, layer string) (string, bool) {
	if rel == layer {
		return "", true
	}
	rest, ok := strings.CutPrefix(rel, layer+"/")
	if !ok {
		return "", false
	}
	slice, _, _ := strings.Cut(rest, "/")
	return slice, true
}

// isShared reports whether rel is one of the layer's shared packages: the layer's root package, or a
// shared subpackage or anything below it.
func isShared(rel, layer string, shared []string) bool {
	if rel == layer {
		return true
	}
	for _, s := range shared {
		if within(rel, s) {
			return true
		}
	}
	return false
}

// topFolder returns the first element of a slash-separated path relative to the module root.
func topFolder(rel string) string {
	top, _, _ := strings.Cut(rel, "/")
	return top
}

// within reports whether rel is folder or one of its subpackages.
func within(rel, folder string) bool {
	return rel == folder || strings.HasPrefix(rel, folder+"/")
}

// isStdlib reports whether an import path belongs to the standard library: by Go's convention
// only standard packages have no dot in their first path element.
func isStdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// check returns nil when package pkg of module may import imp, and otherwise an error that says
// why. pkg and imp are full import paths.
func check(module, pkg, imp string) error {
	rel, ok := relTo(module, pkg)
	if !ok {
		return nil // not our package
	}
	folder := topFolder(rel)
	r, known := rules[folder]
	if !known {
		return nil // reported separately as uncovered
	}
	impRel, ours := relTo(module, imp)
	if ours {
		if r.anyOurs {
			return nil
		}
		for _, f := range r.ours {
			if within(impRel, f) {
				return checkSlices(rel, impRel)
			}
		}
		if within(impRel, "internal") {
			return fmt.Errorf("%s/ may not import %s: packages under internal/ are test helpers, importable from _test.go files only", folder, impRel)
		}
		return fmt.Errorf("%s/ may import only %s of this module, not %s", folder, list(r.ours), impRel)
	}
	if imp == "C" || isStdlib(imp) {
		return nil
	}
	if r.thirdParty == nil {
		return nil
	}
	for _, m := range r.thirdParty {
		if imp == m || strings.HasPrefix(imp, m+"/") {
			return nil
		}
	}
	return fmt.Errorf("%s/ may import only the standard library and %s, not %s", folder, strings.Join(r.thirdParty, ", "), imp)
}

// relTo returns path relative to module and whether path is inside module. The module root
// package itself is "." .
func relTo(module, path string) (string, bool) {
	if path == module {
		return ".", true
	}
	if rest, ok := strings.CutPrefix(path, module+"/"); ok {
		return rest, true
	}
	return "", false
}

func list(folders []string) string {
	out := make([]string, len(folders))
	for i, f := range folders {
		out[i] = f + "/"
	}
	return strings.Join(out, ", ")
}

type goPackage struct {
	ImportPath string
	Imports    []string
	Module     *struct{ Path string }
	Error      *struct{ Err string }
}

// loadPackages runs `go list -e -json ./...` and decodes its stream of JSON objects.
func loadPackages() ([]goPackage, error) {
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,Module,Error", "./...")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var pkgs []goPackage
	dec := json.NewDecoder(out)
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			_ = cmd.Wait()
			return nil, fmt.Errorf("decoding go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	return pkgs, nil
}

func main() {
	pkgs, err := loadPackages()
	if err != nil {
		fmt.Fprintln(os.Stderr, "archcheck:", err)
		os.Exit(2)
	}
	var violations []string
	for _, p := range pkgs {
		if p.Module == nil {
			continue
		}
		module := p.Module.Path
		if p.Error != nil {
			// go vet and the build report these in full; the imports we did get are still checked.
			fmt.Fprintf(os.Stderr, "archcheck: warning: %s: %s\n", p.ImportPath, strings.TrimSpace(p.Error.Err))
		}
		rel, _ := relTo(module, p.ImportPath)
		if _, known := rules[topFolder(rel)]; !known {
			fmt.Fprintf(os.Stderr, "archcheck: warning: %s is in no folder of ARCHITECTURE.md's layout; its imports are not checked\n", rel)
			continue
		}
		for _, imp := range p.Imports {
			if err := check(module, p.ImportPath, imp); err != nil {
				violations = append(violations, fmt.Sprintf("%s imports %s: %v", rel, imp, err))
			}
		}
	}
	if len(violations) > 0 {
		sort.Strings(violations)
		for _, v := range violations {
			fmt.Fprintln(os.Stderr, "archcheck:", v)
		}
		fmt.Fprintf(os.Stderr, "archcheck: %d forbidden import(s); see \"Layout\" in ARCHITECTURE.md\n", len(violations))
		os.Exit(1)
	}
}
