// Package projectyaml reads a study repository's project.yaml: it checks every rule of the pipeline
// library (reference/runner-protocol.md §4), reporting every problem with its action and line, and plans
// which jobs a request runs. It is pure: no I/O.
package projectyaml

import (
	"fmt"
	"slices"
	"sort"
)

const (
	// RunAllName is the synthetic action that runs every action of the project.
	RunAllName = "run_all"
	// LatestVersion is the newest project.yaml format version understood.
	LatestVersion = 5
	// defaultPopulationSize is the dummy-data population of files before version 3.
	defaultPopulationSize = 1000
)

// Output is one declared output: a name and a file pattern (where * matches within a file name).
type Output struct {
	Privacy Privacy
	Name    string
	Pattern string
	Line    int
}

// Action is one action of a project.yaml.
type Action struct {
	name          string
	line          int
	needs         []string
	needLines     []int
	run           Command
	runLine       int
	outputs       []Output
	dummyDataFile string
	hasConfig     bool
}

// Name is the action's name (its key under `actions`).
func (a Action) Name() string { return a.name }

// Line is the line of the action's name in the file.
func (a Action) Line() int { return a.line }

// Needs are the actions that must have succeeded before this one runs, as written.
func (a Action) Needs() []string { return slices.Clone(a.needs) }

// Run is the action's command.
func (a Action) Run() Command {
	c := a.run
	c.Args = slices.Clone(c.Args)
	return c
}

// Outputs are all the action's outputs, in file order.
func (a Action) Outputs() []Output { return slices.Clone(a.outputs) }

// OutputsAt are the action's outputs at one privacy level, in file order.
func (a Action) OutputsAt(level Privacy) []Output {
	var out []Output
	for _, o := range a.outputs {
		if o.Privacy == level {
			out = append(out, o)
		}
	}
	return out
}

// IsDatabaseAction reports whether the action reads the backend's database (ehrQL generate-dataset and
// generate-measures, sqlrunner, cohort-extractor generate_cohort and generate_codelist_report, databuilder
// generate-dataset). These are the actions stale codelists stop.
func (a Action) IsDatabaseAction() bool { return a.run.isDatabaseAction() }

// DummyDataFile is the optional dummy_data_file, or "".
func (a Action) DummyDataFile() string { return a.dummyDataFile }

// HasConfig reports whether the action has a `config` section (passed to the command as --config).
func (a Action) HasConfig() bool { return a.hasConfig }

// Project is a valid project.yaml.
type Project struct {
	version        float64
	populationSize int
	actions        []Action
	index          map[string]int
	warnings       Problems
}

// Version is the file's format version (e.g. 4).
func (p *Project) Version() float64 { return p.version }

// PopulationSize is the dummy-data population size: from `expectations` in version 3, 1000 before, 0 after.
func (p *Project) PopulationSize() int { return p.populationSize }

// Warnings are things that are allowed but discouraged (an old format version, an action named run_all).
func (p *Project) Warnings() Problems { return slices.Clone(p.warnings) }

// Actions are the actions in file order.
func (p *Project) Actions() []Action {
	out := make([]Action, len(p.actions))
	for i, a := range p.actions {
		out[i] = a
		out[i].needs = slices.Clone(a.needs)
	}
	return out
}

// ActionNames are the actions' names in file order.
func (p *Project) ActionNames() []string {
	names := make([]string, len(p.actions))
	for i, a := range p.actions {
		names[i] = a.name
	}
	return names
}

// Action returns the action called name.
func (p *Project) Action(name string) (Action, bool) {
	i, ok := p.index[name]
	if !ok {
		return Action{}, false
	}
	return p.Actions()[i], true
}

// AllActions are the names run_all runs: every action in file order, except one that is itself named run_all.
func (p *Project) AllActions() []string {
	var names []string
	for _, a := range p.actions {
		if a.name != RunAllName {
			names = append(names, a.name)
		}
	}
	return names
}

// Choice is one line of the Run Jobs form: an action and what it needs (sorted), and whether it reads the
// database.
type Choice struct {
	Name       string
	Needs      []string
	IsDatabase bool
}

// Choices are what the Run Jobs form offers (job-server's get_actions): every action in file order with its
// needs sorted, then a synthetic run_all needing every action, unless the file has its own run_all.
func (p *Project) Choices() []Choice {
	out := make([]Choice, 0, len(p.actions)+1)
	for _, a := range p.actions {
		needs := slices.Clone(a.needs)
		sort.Strings(needs)
		out = append(out, Choice{Name: a.name, Needs: needs, IsDatabase: a.IsDatabaseAction()})
	}
	if _, ok := p.index[RunAllName]; !ok {
		out = append(out, Choice{Name: RunAllName, Needs: p.AllActions()})
	}
	return out
}

// DatabaseActions are the names of the actions that read the backend's database, in file order.
func (p *Project) DatabaseActions() []string {
	var names []string
	for _, a := range p.actions {
		if a.IsDatabaseAction() {
			names = append(names, a.name)
		}
	}
	return names
}

// Expand turns the requested actions of a form into action names: run_all becomes every action; names are
// checked and duplicates dropped, keeping the request's order. An unknown name is an error.
func (p *Project) Expand(requested []string) ([]string, error) {
	if len(requested) == 0 {
		return nil, fmt.Errorf("please select at least one of the actions listed")
	}
	var out []string
	seen := map[string]bool{}
	addName := func(n string) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, r := range requested {
		if r == RunAllName {
			for _, n := range p.AllActions() {
				addName(n)
			}
			continue
		}
		if _, ok := p.index[r]; !ok {
			return nil, fmt.Errorf("action %s not found in project.yaml", quote(r))
		}
		addName(r)
	}
	return out, nil
}

// RequestedDatabaseActions are the requested actions (run_all expanded) that read the backend's database,
// in file order: the Run Jobs form refuses them when the repository's codelists are out of date.
func (p *Project) RequestedDatabaseActions(requested []string) ([]string, error) {
	names, err := p.Expand(requested)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range p.actions {
		if slices.Contains(names, a.name) && a.IsDatabaseAction() {
			out = append(out, a.name)
		}
	}
	return out, nil
}

// ActionsUsingImage are the names of the actions whose command runs an image (e.g. "cohortextractor",
// which job-server no longer accepts, or "sqlrunner", which needs the project's permission), in file order.
func (p *Project) ActionsUsingImage(image string) []string {
	var names []string
	for _, a := range p.actions {
		if a.run.Image == image {
			names = append(names, a.name)
		}
	}
	return names
}
