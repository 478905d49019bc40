package projectyaml

import (
	"errors"
	"os"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, and that what it returns is coherent: a project with
// no error, or Problems that each say something, and a valid project can always be planned.
func FuzzParse(f *testing.F) {
	if text, err := os.ReadFile("testdata/project.yaml"); err == nil {
		f.Add(text)
	}
	seeds := []string{
		"",
		header + "  a:\n    run: python:v2 a.py\n    outputs: {moderately_sensitive: {t: output/t.csv}}\n",
		header + "  a: &base\n    run: python:v2 a.py\n    outputs: {moderately_sensitive: {t: output/t.csv}}\n  b:\n    <<: *base\n    run: python:v2 b.py\n",
		header + "  a:\n    run: python:v2 a.py\n    needs: [c]\n  b:\n    needs: [a]\n  c:\n    needs: [b, b c]\n",
		"version: 3\nexpectations: {population_size: 1.5e3}\nactions:\n  c:\n    run: cohortextractor:latest generate_cohort --output-dir=x\n    outputs: {highly_sensitive: {c: output/input.csv}}\n",
		header + "  g:\n    run: ehrql:v1 generate-dataset d.py --output output/t:arrow\n    outputs: {highly_sensitive: {d: output/t/*.arrow}}\n",
		"version: 4\nactions:\n  ? [x]\n  : 1\n---\nversion: 4\n",
		"a: &a [*a]\n",
		"version: '5.0'\nactions:\n  run_all:\n    run: \"python:latest 'a b\"\n    outputs: {secret: 1}\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		proj, err := Parse(text)
		if err != nil {
			var ps Problems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("error %v is not a list of problems", err)
			}
			for _, p := range ps {
				if p.Message == "" || p.Line < 0 {
					t.Fatalf("empty problem %+v", p)
				}
			}
			if proj != nil {
				t.Fatal("a project came back with problems")
			}
			return
		}
		if proj == nil || len(proj.Actions()) == 0 {
			t.Fatal("a valid project with no actions")
		}
		proj.Choices()
		if _, err := proj.Plan(Request{Actions: []string{RunAllName}}, nil); err != nil && len(proj.AllActions()) > 0 {
			t.Fatalf("run_all cannot be planned: %v", err)
		}
		for _, name := range proj.ActionNames() {
			if _, err := proj.Plan(Request{Actions: []string{name}, ForceRunDependencies: true}, nil); err != nil {
				t.Fatalf("%s cannot be planned: %v", name, err)
			}
		}
	})
}
