package projectyaml

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// want is one expected problem: its action, its line and words its message contains.
type want struct {
	action string
	line   int
	words  string
}

func checkProblems(t *testing.T, text string, wants []want) {
	t.Helper()
	proj, err := Parse([]byte(text))
	if len(wants) == 0 {
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		if proj == nil {
			t.Fatal("Parse returned no project and no error")
		}
		return
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Parse error = %v, want Problems", err)
	}
	if proj != nil {
		t.Error("an invalid file returned a project")
	}
	if len(ps) != len(wants) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(wants), err)
	}
	for i, w := range wants {
		got := ps[i]
		if got.Action != w.action || got.Line != w.line || !strings.Contains(got.Message, w.words) {
			t.Errorf("problem %d = %+v, want action %q line %d containing %q", i, got, w.action, w.line, w.words)
		}
	}
}

func TestTheSampleProjectIsValid(t *testing.T) {
	t.Parallel()
	text, err := os.ReadFile("testdata/project.yaml")
	if err != nil {
		t.Fatal(err)
	}
	proj, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := proj.ActionNames(), []string{"generate_dataset", "generate_measures", "describe_cohort", "model_prescribing", "report"}; !slices.Equal(got, want) {
		t.Errorf("actions = %v, want %v", got, want)
	}
	report, _ := proj.Action("report")
	if got := report.Needs(); !slices.Equal(got, []string{"describe_cohort", "model_prescribing", "generate_measures"}) {
		t.Errorf("report needs %v", got)
	}
	if got := report.Run(); got.Image != "python" || got.Version != "v2" || !slices.Equal(got.Args, []string{"analysis/report.py"}) {
		t.Errorf("report runs %+v", got)
	}
	if got := proj.DatabaseActions(); !slices.Equal(got, []string{"generate_dataset", "generate_measures"}) {
		t.Errorf("database actions = %v", got)
	}
	model, _ := proj.Action("model_prescribing")
	if !model.HasConfig() || model.IsDatabaseAction() {
		t.Errorf("model_prescribing: config %v, database %v", model.HasConfig(), model.IsDatabaseAction())
	}
	if got := model.OutputsAt(ModeratelySensitive); len(got) != 2 || got[0].Name != "coefficients" || got[0].Pattern != "output/model/coefficients.csv" {
		t.Errorf("model outputs = %+v", got)
	}
	measures, _ := proj.Action("generate_measures")
	if got := measures.Run().String(); got != "ehrql:v1 generate-measures analysis/measure_definitions.py --output output/measures.csv" {
		t.Errorf("folded run = %q", got)
	}
	if proj.Version() != 4 || proj.PopulationSize() != 0 {
		t.Errorf("version %v population %d", proj.Version(), proj.PopulationSize())
	}
}

const header = "version: '4.0'\nactions:\n"

func TestValidFiles(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"version as a number":            "version: 4\nactions:\n  a:\n    run: python:v2 a.py\n    outputs: {moderately_sensitive: {t: output/t.csv}}\n",
		"version 3 expectations":         "version: '3.0'\nexpectations:\n  population_size: 5000\nactions:\n  a:\n    run: python:v2 a.py\n    outputs: {moderately_sensitive: {t: output/t.csv}}\n",
		"version 2 without expectations": "version: 2\nactions:\n  a:\n    run: python:latest a.py\n    outputs: {moderately_sensitive: {t: output/t.csv}}\n",
		"every privacy level":            header + "  a:\n    run: python:v2 a.py\n    outputs:\n      highly_sensitive: {d: output/d.arrow}\n      moderately_sensitive: {t: output/t.csv}\n      minimally_sensitive: {m: output/m.feather}\n",
		"dev and -pre versions":          header + "  a:\n    run: python:dev a.py\n    outputs: {moderately_sensitive: {t: output/t.csv}}\n  b:\n    run: python:v2.1-pre b.py\n    outputs: {moderately_sensitive: {t: output/u.csv}}\n",
		"quoted arguments":               header + "  a:\n    run: python:v2 a.py --title \"two words\" 'x y'\n    outputs: {moderately_sensitive: {t: output/t.csv}}\n",
		"config and dummy data":          header + "  a:\n    run: python:v2 a.py\n    config: {k: [1, 2]}\n    dummy_data_file: dummy.csv\n    outputs: {moderately_sensitive: {t: output/t.csv}}\n",
		"empty needs":                    header + "  a:\n    run: python:v2 a.py\n    needs: []\n    outputs: {moderately_sensitive: {t: output/t.csv}}\n",
		"diamond needs": header +
			"  a:\n    run: python:v2 a.py\n    outputs: {highly_sensitive: {t: output/a.csv}}\n" +
			"  b:\n    run: python:v2 b.py\n    needs: [a]\n    outputs: {highly_sensitive: {t: output/b.csv}}\n" +
			"  c:\n    run: python:v2 c.py\n    needs: [a]\n    outputs: {highly_sensitive: {t: output/c.csv}}\n" +
			"  d:\n    run: python:v2 d.py\n    needs: [b, c]\n    outputs: {highly_sensitive: {t: output/d.csv}}\n",
		"generate-dataset output matching a pattern": header + "  g:\n    run: ehrql:v1 generate-dataset d.py --output=output/data/dataset.arrow\n    outputs: {highly_sensitive: {d: output/data/*.arrow}}\n",
		"generate-dataset several tables":            header + "  g:\n    run: ehrql:v1 generate-dataset d.py --output output/tables:arrow\n    outputs: {highly_sensitive: {d: output/tables/*.arrow}}\n",
		"cohortextractor before version 4":           "version: '3.0'\nexpectations: {population_size: 100}\nactions:\n  c:\n    run: cohortextractor:latest generate_cohort --study-definition s\n    outputs: {highly_sensitive: {cohort: output/input.csv}}\n",
		"anchors and merge keys":                     header + "  a: &base\n    run: python:v2 a.py\n    outputs: {moderately_sensitive: {t: output/t.csv}}\n  b:\n    <<: *base\n    run: python:v2 b.py\n    outputs: {moderately_sensitive: {t: output/b.csv}}\n",
		"same output name at two levels":             header + "  a:\n    run: python:v2 a.py\n    outputs:\n      highly_sensitive: {t: output/t.arrow}\n      moderately_sensitive: {t: output/t.csv}\n",
		"quoting makes different commands":           header + "  a:\n    run: python:v2 \"a b\"\n    outputs: {moderately_sensitive: {t: output/t.csv}}\n  b:\n    run: python:v2 a b\n    outputs: {moderately_sensitive: {t: output/u.csv}}\n",
		"wildcards in names":                         header + "  a:\n    run: python:v2 a.py\n    outputs: {moderately_sensitive: {t: output/*/table_*.csv}}\n",
	}
	for name, text := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checkProblems(t, text, nil)
		})
	}
}

func TestEveryRuleReportsItsActionAndLine(t *testing.T) {
	t.Parallel()
	const ok = "    outputs: {moderately_sensitive: {t: output/t.csv}}\n"
	tests := []struct {
		name string
		text string
		want []want
	}{
		{"empty file", "", []want{{"", 0, "empty"}}},
		{"only comments", "# nothing\n", []want{{"", 0, "empty"}}},
		{"not YAML", "version: 4\nactions: [\n", []want{{"", 2, "not valid YAML"}}},
		{"bad indentation", "version: 4\n actions:\n  - a\nb: c\n", []want{{"", 2, "not valid YAML"}}},
		{"a list", "- a\n- b\n", []want{{"", 1, "must be a set of keys"}}},
		{"two documents", header + "  a:\n    run: python:v2 a.py\n" + ok + "---\nversion: 4\n", []want{{"", 6, "more than one YAML document"}}},
		{"missing version", "actions:\n  a:\n    run: python:v2 a.py\n" + ok, []want{{"", 1, "must have a `version`"}}},
		{"version not a number", "version: four\nactions:\n  a:\n    run: python:v2 a.py\n" + ok, []want{{"", 1, "between 1 and 5 (found 'four')"}}},
		{"version too new", "version: '6.0'\nactions:\n  a:\n    run: python:v2 a.py\n" + ok, []want{{"", 1, "between 1 and 5"}}},
		{"version too old", "version: 0.5\nactions:\n  a:\n    run: python:v2 a.py\n" + ok, []want{{"", 1, "between 1 and 5"}}},
		{"unexpected top-level key", "version: 4\nname: study\nactions:\n  a:\n    run: python:v2 a.py\n" + ok, []want{{"", 2, "unexpected key 'name'"}}},
		{"version 3 needs expectations", "version: 3\nactions:\n  a:\n    run: python:v2 a.py\n" + ok, []want{{"", 1, "must have an `expectations` section"}}},
		{"version 3 needs a population size", "version: 3\nexpectations: {}\nactions:\n  a:\n    run: python:v2 a.py\n" + ok, []want{{"", 2, "must include a population_size"}}},
		{"population size not a number", "version: 3\nexpectations:\n  population_size: many\nactions:\n  a:\n    run: python:v2 a.py\n" + ok, []want{{"", 3, "whole number"}}},
		{"expectations refused from version 4", "version: 4\nexpectations:\n  population_size: 10\nactions:\n  a:\n    run: python:v2 a.py\n" + ok, []want{{"", 2, "only used by version 3"}}},
		{"no actions", "version: 4\n", []want{{"", 1, "no `actions` section"}}},
		{"empty actions", "version: 4\nactions: {}\n", []want{{"", 2, "at least one action"}}},
		{"actions a list", "version: 4\nactions:\n  - a\n", []want{{"", 3, "at least one action"}}},
		{"action not a mapping", header + "  a: python:v2 a.py\n", []want{{"a", 3, "must be a set of keys"}}},
		{"unexpected action key", header + "  a:\n    run: python:v2 a.py\n    command: x\n" + ok, []want{{"a", 5, "unexpected key 'command'"}}},
		{"missing run", header + "  a:\n" + ok, []want{{"a", 3, "no `run` command"}}},
		{"missing outputs", header + "  a:\n    run: python:v2 a.py\n", []want{{"a", 3, "no `outputs`"}}},
		{"empty run", header + "  a:\n    run: ''\n" + ok, []want{{"a", 4, "`run` is empty"}}},
		{"run a list", header + "  a:\n    run: [python:v2, a.py]\n" + ok, []want{{"a", 4, "command written on one line"}}},
		{"run without a version", header + "  a:\n    run: python a.py\n" + ok, []want{{"a", 4, "must start with an image and its version"}}},
		{"run with a bad version", header + "  a:\n    run: python:2 a.py\n" + ok, []want{{"a", 4, "python must have a version specified in the form :vN"}}},
		{"run with an unclosed quote", header + "  a:\n    run: python:v2 'a.py\n" + ok, []want{{"a", 4, "never closed"}}},
		{"latest refused from version 5", "version: 5\nactions:\n  a:\n    run: python:latest a.py\n" + ok, []want{{"a", 4, ":latest tag is no longer supported"}}},
		{"run_all refused from version 5", "version: 5\nactions:\n  run_all:\n    run: python:v2 a.py\n" + ok, []want{{"run_all", 3, "run_all is reserved"}}},
		{"two actions with the same run", header + "  a:\n    run: python:v2 a.py\n" + ok + "  b:\n    run: python:v2   a.py\n    outputs: {moderately_sensitive: {t: output/u.csv}}\n",
			[]want{{"b", 7, "same `run` command as action 'a' (line 4)"}}},
		{"config not a mapping", header + "  a:\n    run: python:v2 a.py\n    config: [1]\n" + ok, []want{{"a", 5, "`config` must be a set of key: value pairs"}}},
		{"dummy data file not a path", header + "  a:\n    run: python:v2 a.py\n    dummy_data_file: [x]\n" + ok, []want{{"a", 5, "`dummy_data_file` must be a file path"}}},
		{"needs not a list", header + "  a:\n    run: python:v2 a.py\n" + ok + "  b:\n    run: python:v2 b.py\n    needs: a\n    outputs: {moderately_sensitive: {t: output/u.csv}}\n",
			[]want{{"b", 8, "must be a list of action names"}}},
		{"needs separated by spaces", header + "  a:\n    run: python:v2 a.py\n" + ok + "  b:\n    run: python:v2 b.py\n    needs: [a c]\n    outputs: {moderately_sensitive: {t: output/u.csv}}\n",
			[]want{{"b", 8, "separated with commas: 'a c' contains spaces; write needs: [a, c]"}}},
		{"needs an unknown action", header + "  a:\n    run: python:v2 a.py\n    needs:\n      - generate\n" + ok, []want{{"a", 6, "no action called 'generate'"}}},
		{"needs run_all", header + "  a:\n    run: python:v2 a.py\n    needs: [run_all]\n" + ok, []want{{"a", 5, "offered on the Run Jobs page"}}},
		{"needs itself", header + "  a:\n    run: python:v2 a.py\n    needs: [a]\n" + ok, []want{{"a", 5, "needs itself"}}},
		{"a loop of three", header +
			"  a:\n    run: python:v2 a.py\n    needs: [c]\n    outputs: {moderately_sensitive: {t: output/a.csv}}\n" +
			"  b:\n    run: python:v2 b.py\n    needs: [a]\n    outputs: {moderately_sensitive: {t: output/b.csv}}\n" +
			"  c:\n    run: python:v2 c.py\n    needs: [b]\n    outputs: {moderately_sensitive: {t: output/c.csv}}\n",
			[]want{{"a", 5, "a → c → b → a"}}},
		{"outputs not a mapping", header + "  a:\n    run: python:v2 a.py\n    outputs: output/t.csv\n", []want{{"a", 5, "`outputs` must list files"}}},
		{"no privacy level", header + "  a:\n    run: python:v2 a.py\n    outputs: {}\n", []want{{"a", 5, "at least one file"}}},
		{"unknown privacy level", header + "  a:\n    run: python:v2 a.py\n    outputs:\n      moderately_sensitive: {t: output/t.csv}\n      secret: {s: output/s.csv}\n",
			[]want{{"a", 7, "'secret' is not a privacy level"}}},
		{"empty privacy level", header + "  a:\n    run: python:v2 a.py\n    outputs:\n      moderately_sensitive:\n", []want{{"a", 6, "must list outputs as name: path"}}},
		{"output not a string", header + "  a:\n    run: python:v2 a.py\n    outputs:\n      moderately_sensitive:\n        t: [output/t.csv]\n", []want{{"a", 7, "output 't' must be a file path"}}},
		{"duplicate action", header + "  a:\n    run: python:v2 a.py\n" + ok + "  a:\n    run: python:v2 b.py\n" + ok, []want{{"a", 6, "two actions called 'a' (the first is on line 3)"}}},
		{"duplicate key in an action", header + "  a:\n    run: python:v2 a.py\n    run: python:v2 b.py\n" + ok, []want{{"a", 5, "the key 'run' is written twice here (the first is on line 4)"}}},
		{"duplicate output name", header + "  a:\n    run: python:v2 a.py\n    outputs:\n      moderately_sensitive:\n        t: output/t.csv\n        t: output/u.csv\n",
			[]want{{"a", 8, "the key 't' is written twice"}}},
		{"duplicate top-level key", "version: 4\nversion: 4\nactions:\n  a:\n    run: python:v2 a.py\n" + ok, []want{{"", 2, "the key 'version' is written twice"}}},
		{"duplicate key inside config", header + "  a:\n    run: python:v2 a.py\n    config:\n      k: 1\n      k: 2\n" + ok, []want{{"a", 7, "the key 'k' is written twice"}}},
		{"a key that is a list", header + "  a:\n    run: python:v2 a.py\n    ? [x]\n    : 1\n" + ok, []want{{"a", 5, "keys must be plain names"}}},
		{"output used by two actions", header + "  a:\n    run: python:v2 a.py\n" + ok + "  b:\n    run: python:v2 b.py\n" + ok, []want{{"b", 8, "also an output of action 'a' (line 5)"}}},
		{"output listed twice in one action", header + "  a:\n    run: python:v2 a.py\n    outputs:\n      moderately_sensitive:\n        t: output/t.csv\n        u: output/t.csv\n",
			[]want{{"a", 8, "listed twice in this action (first on line 7)"}}},
		{"unique outputs only from version 2", "version: 1\nactions:\n  a:\n    run: python:v2 a.py\n" + ok + "  b:\n    run: python:v2 b.py\n" + ok, nil},
		{"generate-dataset with a moderately sensitive output", header + "  g:\n    run: ehrql:v1 generate-dataset d.py --output output/d.csv\n    outputs:\n      highly_sensitive: {d: output/d.csv}\n      moderately_sensitive: {t: output/t.csv}\n",
			[]want{{"g", 7, "may only produce highly_sensitive outputs"}}},
		{"generate-dataset without --output", header + "  g:\n    run: ehrql:v1 generate-dataset d.py\n    outputs: {highly_sensitive: {d: output/d.csv}}\n", []want{{"g", 4, "needs --output"}}},
		{"generate-dataset --output not declared", header + "  g:\n    run: databuilder:v0 generate_dataset d.py --output output/x.csv\n    outputs: {highly_sensitive: {d: output/d.csv}}\n",
			[]want{{"g", 4, "--output output/x.csv is not among"}}},
		{"generate_cohort refused from version 4", header + "  c:\n    run: cohortextractor:latest generate_cohort\n    outputs: {highly_sensitive: {c: output/input.csv}}\n", []want{{"c", 4, "not supported from version 4"}}},
		{"generate_cohort at two levels", "version: 2\nactions:\n  c:\n    run: cohortextractor:latest generate_cohort\n    outputs:\n      highly_sensitive: {c: output/input.csv}\n      moderately_sensitive: {l: output/log.txt}\n",
			[]want{{"c", 4, "exactly one privacy level"}}},
		{"generate_cohort in two directories", "version: 2\nactions:\n  c:\n    run: cohortextractor:latest generate_cohort\n    outputs:\n      highly_sensitive: {c: output/input.csv, d: other/input.csv}\n",
			[]want{{"c", 4, "one directory, but its outputs are in 2: other, output"}}},
		{"generate_cohort in two directories with --output-dir", "version: 2\nactions:\n  c:\n    run: cohortextractor:latest generate_cohort --output-dir x\n    outputs:\n      highly_sensitive: {c: output/input.csv, d: other/input.csv}\n", nil},
		{"many problems at once", "version: 4\nfoo: 1\nactions:\n  a:\n    run: python a.py\n    needs: [b]\n    outputs: {moderately_sensitive: {t: output/t.dta}}\n  b:\n    outputs: {highly_sensitive: {x: /abs.csv}}\n",
			[]want{{"", 2, "unexpected key 'foo'"}, {"a", 5, "image and its version"}, {"a", 7, ".dta files may not be moderately_sensitive"}, {"b", 8, "no `run` command"}, {"b", 9, "absolute path"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkProblems(t, tt.text, tt.want)
		})
	}
}

func TestOutputPatternRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern string
		level   Privacy
		words   string // "" when valid
	}{
		{"output/table.csv", ModeratelySensitive, ""},
		{"output/*.png", ModeratelySensitive, ""},
		{"output/data.csv.gz", HighlySensitive, ""},
		{"output/model.rds", HighlySensitive, ""},
		{"output/model.rds", MinimallySensitive, ""},
		{`output\table.csv`, HighlySensitive, "back slashes"},
		{"output/**/t.csv", HighlySensitive, "'**'"},
		{"output/t?.csv", HighlySensitive, "'?'"},
		{"output/[ab].csv", HighlySensitive, "'['"},
		{"output/", HighlySensitive, "directory"},
		{"output//t.csv", HighlySensitive, "standard form"},
		{"output/../t.csv", HighlySensitive, "standard form"},
		{"./output/t.csv", HighlySensitive, "standard form"},
		{"/output/t.csv", HighlySensitive, "absolute"},
		{"C:/output/t.csv", HighlySensitive, "absolute"},
		{"metadata/t.csv", HighlySensitive, "metadata"},
		{"metadata", HighlySensitive, "metadata"},
		{"output/table", HighlySensitive, "file type extension"},
		{"output/table.*", HighlySensitive, "file type extension"},
		{"output/.hidden", HighlySensitive, "file type extension"},
		{"output/model.rds", ModeratelySensitive, ".rds files may not be moderately_sensitive"},
		{"output/t.CSV", ModeratelySensitive, ".CSV files"},
	}
	for _, tt := range tests {
		got := checkPattern(tt.pattern, tt.level)
		if (tt.words == "") != (got == "") || !strings.Contains(got, tt.words) {
			t.Errorf("checkPattern(%q, %s) = %q, want %q", tt.pattern, tt.level, got, tt.words)
		}
	}
}

func TestProblemsReadAsOneErrorMessage(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte("version: 4\nfoo: 1\nbar: 2\nactions: {}\n"))
	want := "project.yaml has 3 problems:\n  line 2: unexpected key 'foo'"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %v", err)
	}
}

func TestWarnings(t *testing.T) {
	t.Parallel()
	proj, err := Parse([]byte(header + "  run_all:\n    run: python:v2 a.py\n    outputs: {moderately_sensitive: {t: output/t.csv}}\n  b:\n    run: python:v2 b.py\n    outputs: {moderately_sensitive: {t: output/u.csv}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ws := proj.Warnings()
	if len(ws) != 2 || ws[0].Line != 1 || ws[1].Action != RunAllName || ws[1].Line != 3 {
		t.Errorf("warnings = %+v", ws)
	}
	if got := proj.AllActions(); !slices.Equal(got, []string{"b"}) {
		t.Errorf("run_all runs %v, want the user's run_all left out", got)
	}
	if got := proj.Choices(); len(got) != 2 {
		t.Errorf("choices = %+v, want no synthetic run_all beside the file's own", got)
	}
}

func TestRunAllIsOfferedAfterTheActions(t *testing.T) {
	t.Parallel()
	proj := mustParse(t, "testdata/project.yaml")
	choices := proj.Choices()
	last := choices[len(choices)-1]
	if last.Name != RunAllName || !slices.Equal(last.Needs, proj.ActionNames()) {
		t.Errorf("last choice = %+v", last)
	}
	if report := choices[4]; !slices.Equal(report.Needs, []string{"describe_cohort", "generate_measures", "model_prescribing"}) {
		t.Errorf("report choice needs %v, want sorted", report.Needs)
	}
	got, err := proj.RequestedDatabaseActions([]string{RunAllName})
	if err != nil || !slices.Equal(got, []string{"generate_dataset", "generate_measures"}) {
		t.Errorf("database actions of run_all = %v, %v", got, err)
	}
	got, err = proj.RequestedDatabaseActions([]string{"report"})
	if err != nil || len(got) != 0 {
		t.Errorf("database actions of report = %v, %v", got, err)
	}
	if _, err := proj.Expand([]string{"nope"}); err == nil || !strings.Contains(err.Error(), "action 'nope' not found in project.yaml") {
		t.Errorf("Expand(nope) = %v", err)
	}
	if got := proj.ActionsUsingImage("ehrql"); !slices.Equal(got, []string{"generate_dataset", "generate_measures"}) {
		t.Errorf("ehrql actions = %v", got)
	}
}

func mustParse(t *testing.T, file string) *Project {
	t.Helper()
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	proj, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	return proj
}

func TestAChainOfMergeKeysIsReadOnce(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("a0: &a0 {x: 1}\n")
	for i := 1; i < 40; i++ {
		fmt.Fprintf(&b, "a%d: &a%d {<<: [*a%d, *a%d, *a%d, *a%d]}\n", i, i, i-1, i-1, i-1, i-1)
	}
	b.WriteString("version: 4\nactions:\n  <<: *a39\n")
	done := make(chan error, 1)
	go func() { _, err := Parse([]byte(b.String())); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a file of anchors only was accepted")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Parse took more than 5s on 40 chained merges")
	}
}
