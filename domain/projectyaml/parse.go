package projectyaml

import (
	"fmt"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// features are the rules that depend on the file's format version (pipeline's features.py).
type features struct {
	uniqueOutputPaths      bool // v2+
	expectationsPopulation bool // exactly v3
	noCohortExtractor      bool // v4+
	noRunAllAction         bool // v5+
	noLatestTag            bool // v5+
}

func featuresFor(v float64) features {
	return features{
		uniqueOutputPaths:      v >= 2,
		expectationsPopulation: v == 3,
		noCohortExtractor:      v >= 4,
		noRunAllAction:         v >= 5,
		noLatestTag:            v >= 5,
	}
}

type parser struct {
	problems Problems
	warnings Problems
	feat     features
}

func (p *parser) add(action string, line int, format string, args ...any) {
	p.problems = append(p.problems, Problem{Action: action, Line: line, Message: fmt.Sprintf(format, args...)})
}

func (p *parser) warn(action string, line int, format string, args ...any) {
	p.warnings = append(p.warnings, Problem{Action: action, Line: line, Message: fmt.Sprintf(format, args...)})
}

// Parse reads and checks a project.yaml. An invalid file returns Problems listing every problem found.
func Parse(text []byte) (*Project, error) {
	p := &parser{}
	root := p.decode(text)
	if root == nil {
		return nil, p.problems.sorted()
	}
	p.checkKeys(root, "", false, true, 0)
	proj := p.project(root)
	if len(p.problems) > 0 {
		return nil, p.problems.sorted()
	}
	proj.warnings = p.warnings.sorted()
	return proj, nil
}

func (p *parser) project(root *yaml.Node) *Project {
	proj := &Project{index: map[string]int{}}
	if root.Kind != yaml.MappingNode {
		p.add("", line(root, 1), "project.yaml must be a set of keys (version, actions…), not %s", describe(root))
		return proj
	}
	var versionNode, expectations, actions *yaml.Node
	versionLine, expectationsLine := root.Line, 0
	for _, e := range entries(root) {
		switch e.key {
		case "version":
			versionNode, versionLine = e.value, e.line
		case "expectations":
			expectations, expectationsLine = e.value, e.line
		case "actions":
			actions = e.value
		default:
			p.add("", e.line, "unexpected key %s at the top of project.yaml; only version, expectations and actions belong there", quote(e.key))
		}
	}

	version, ok := p.version(versionNode, versionLine)
	if ok {
		proj.version = version
		p.feat = featuresFor(version)
		if version < LatestVersion {
			p.warn("", versionLine, "this file uses version %s of the project.yaml format; the latest is %d", formatVersion(version), LatestVersion)
		}
		proj.populationSize = p.expectations(expectations, expectationsLine, root.Line)
	} else {
		p.feat = featuresFor(LatestVersion)
	}

	if actions == nil {
		p.add("", root.Line, "project.yaml has no `actions` section; add one with at least one action")
		return proj
	}
	p.actions(proj, actions)
	return proj
}

func formatVersion(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func (p *parser) version(n *yaml.Node, at int) (float64, bool) {
	if n == nil {
		p.add("", at, "project.yaml must have a `version` saying which version of the format it uses (the latest is %d), e.g. version: '%d.0'", LatestVersion, LatestVersion)
		return 0, false
	}
	r := resolve(n)
	if r.Kind == yaml.ScalarNode && (r.ShortTag() == "!!str" || r.ShortTag() == "!!int" || r.ShortTag() == "!!float") {
		v, err := strconv.ParseFloat(strings.TrimSpace(r.Value), 64)
		if err == nil && !math.IsNaN(v) && v >= 1 && v <= LatestVersion {
			return v, true
		}
	}
	p.add("", line(n, at), "`version` must be a number between 1 and %d (found %s)", LatestVersion, describe(n))
	return 0, false
}

// expectations checks the expectations section and returns the dummy-data population size.
func (p *parser) expectations(n *yaml.Node, at, rootLine int) int {
	switch {
	case !p.feat.expectationsPopulation && p.feat.noCohortExtractor:
		if n != nil {
			p.add("", at, "`expectations` is only used by version 3 files; remove it (from version 4, dummy data comes from the dataset definition)")
		}
		return 0
	case !p.feat.expectationsPopulation:
		return defaultPopulationSize
	}
	if n == nil {
		p.add("", rootLine, "a version 3 project.yaml must have an `expectations` section with a population_size, e.g. expectations: {population_size: 1000}")
		return 0
	}
	if resolve(n).Kind != yaml.MappingNode {
		p.add("", line(n, at), "`expectations` must be a set of keys with a population_size, not %s", describe(n))
		return 0
	}
	for _, e := range entries(n) {
		if e.key != "population_size" {
			continue
		}
		v := resolve(e.value)
		if v.Kind == yaml.ScalarNode {
			if i, err := strconv.Atoi(strings.TrimSpace(v.Value)); err == nil && i > 0 {
				return i
			}
			if f, err := strconv.ParseFloat(v.Value, 64); err == nil && v.ShortTag() == "!!float" && f >= 1 && f < 1e12 {
				return int(f)
			}
		}
		p.add("", line(e.value, e.line), "`population_size` must be a whole number, such as 1000 (found %s)", describe(e.value))
		return 0
	}
	p.add("", at, "`expectations` must include a population_size, e.g. population_size: 1000")
	return 0
}

func (p *parser) actions(proj *Project, n *yaml.Node) {
	r := resolve(n)
	if isNull(r) || r.Kind != yaml.MappingNode {
		p.add("", line(n, 1), "`actions` must list at least one action, each with a name, a run command and its outputs (found %s)", describe(n))
		return
	}
	list := entries(r)
	if len(list) == 0 {
		p.add("", line(n, 1), "`actions` must list at least one action")
		return
	}
	names := map[string]bool{}
	for _, e := range list {
		names[e.key] = true
	}
	for _, e := range list {
		if a, ok := p.action(e.key, e.line, e.value); ok {
			proj.index[a.name] = len(proj.actions)
			proj.actions = append(proj.actions, a)
		}
	}
	p.checkNeeds(proj, names)
	p.checkCycles(proj)
	p.checkUniqueRuns(proj)
	if p.feat.uniqueOutputPaths {
		p.checkUniqueOutputs(proj)
	}
}

var actionKeys = "run, needs, outputs, config and dummy_data_file"

func (p *parser) action(name string, at int, n *yaml.Node) (Action, bool) {
	a := Action{name: name, line: at}
	if strings.TrimSpace(name) == "" {
		p.add("", at, "every action needs a name")
		return a, false
	}
	if name == RunAllName {
		if p.feat.noRunAllAction {
			p.add(name, at, "run_all is reserved: the Run Jobs page offers it to run every action; rename this action")
		} else {
			p.warn(name, at, "an action named run_all is ignored when run_all is requested, and is refused from version 5; rename it")
		}
	}
	r := resolve(n)
	if r == nil || r.Kind != yaml.MappingNode {
		p.add(name, line(n, at), "an action must be a set of keys (%s), not %s", actionKeys, describe(n))
		return a, false
	}
	var runNode, outputsNode *yaml.Node
	ok := true
	for _, e := range entries(r) {
		switch e.key {
		case "run":
			runNode, a.runLine = e.value, e.line
		case "outputs":
			outputsNode = e.value
		case "needs":
			p.needs(&a, e.value, e.line)
		case "config":
			if v := resolve(e.value); v == nil || v.Kind != yaml.MappingNode {
				p.add(name, e.line, "`config` must be a set of key: value pairs, not %s", describe(e.value))
			}
			a.hasConfig = true
		case "dummy_data_file":
			s, isString := stringValue(e.value)
			if !isString || strings.TrimSpace(s) == "" {
				p.add(name, e.line, "`dummy_data_file` must be a file path, not %s", describe(e.value))
			}
			a.dummyDataFile = s
		default:
			p.add(name, e.line, "unexpected key %s; an action may only have %s", quote(e.key), actionKeys)
		}
	}
	if runNode == nil {
		p.add(name, at, "the action has no `run` command, e.g. run: python:v2 analysis/model.py")
		ok = false
	} else if !p.run(&a, runNode) {
		ok = false
	}
	if outputsNode == nil {
		p.add(name, at, "the action has no `outputs`; list the files it writes under highly_sensitive, moderately_sensitive or minimally_sensitive")
		ok = false
	} else {
		p.outputs(&a, outputsNode)
	}
	if ok {
		p.databaseRules(&a)
	}
	return a, true
}

func (p *parser) run(a *Action, n *yaml.Node) bool {
	raw, isString := stringValue(n)
	if !isString {
		p.add(a.name, line(n, a.runLine), "`run` must be a command written on one line, e.g. run: python:v2 analysis/model.py (found %s)", describe(n))
		return false
	}
	cmd, err := parseCommand(raw)
	if err != nil {
		p.add(a.name, line(n, a.runLine), "%s", err.Error())
		return false
	}
	if p.feat.noLatestTag && cmd.Version == "latest" {
		p.add(a.name, line(n, a.runLine), "the :latest tag is no longer supported; name a version, e.g. %s:v1", cmd.Image)
	}
	a.run = cmd
	return true
}

func (p *parser) needs(a *Action, n *yaml.Node, at int) {
	r := resolve(n)
	if isNull(r) {
		return
	}
	if r.Kind != yaml.SequenceNode {
		p.add(a.name, line(n, at), "`needs` must be a list of action names, e.g. needs: [generate_dataset] (found %s)", describe(n))
		return
	}
	for _, item := range r.Content {
		v := resolve(item)
		if v == nil || v.Kind != yaml.ScalarNode || isNull(v) || strings.TrimSpace(v.Value) == "" {
			p.add(a.name, line(item, at), "`needs` must list action names, not %s", describe(item))
			continue
		}
		if strings.ContainsAny(v.Value, " \t") {
			p.add(a.name, line(item, at), "the actions in `needs` should be separated with commas: %s contains spaces; write needs: [%s]", quote(v.Value), strings.Join(strings.Fields(v.Value), ", "))
			continue
		}
		if !contains(a.needs, v.Value) {
			a.needs = append(a.needs, v.Value)
			a.needLines = append(a.needLines, line(item, at))
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *parser) outputs(a *Action, n *yaml.Node) {
	r := resolve(n)
	if r == nil || r.Kind != yaml.MappingNode {
		p.add(a.name, line(n, a.line), "`outputs` must list files under highly_sensitive, moderately_sensitive or minimally_sensitive, not %s", describe(n))
		return
	}
	levels := 0
	for _, e := range entries(r) {
		if !isPrivacy(e.key) {
			p.add(a.name, e.line, "%s is not a privacy level; outputs go under highly_sensitive, moderately_sensitive or minimally_sensitive", quote(e.key))
			continue
		}
		levels++
		level := Privacy(e.key)
		files := resolve(e.value)
		if files == nil || files.Kind != yaml.MappingNode || len(files.Content) == 0 {
			p.add(a.name, line(e.value, e.line), "%s must list outputs as name: path, e.g. table: output/table.csv (found %s)", level, describe(e.value))
			continue
		}
		for _, f := range entries(files) {
			pattern, isString := stringValue(f.value)
			if !isString || pattern == "" {
				p.add(a.name, line(f.value, f.line), "output %s must be a file path, e.g. output/table.csv (found %s)", quote(f.key), describe(f.value))
				continue
			}
			if why := checkPattern(pattern, level); why != "" {
				p.add(a.name, line(f.value, f.line), "output path %s is invalid: %s", pattern, why)
				continue
			}
			a.outputs = append(a.outputs, Output{Privacy: level, Name: f.key, Pattern: pattern, Line: line(f.value, f.line)})
		}
	}
	if levels == 0 {
		p.add(a.name, line(n, a.line), "`outputs` must list at least one file under highly_sensitive, moderately_sensitive or minimally_sensitive")
	}
}

// databaseRules are the checks on commands that read the database (pipeline's Action validators).
func (p *parser) databaseRules(a *Action) {
	at := a.runLine
	switch {
	case a.run.isGenerateDataset():
		for _, o := range a.outputs {
			if o.Privacy != HighlySensitive {
				p.add(a.name, o.Line, "a generate-dataset action may only produce highly_sensitive outputs; move %s under highly_sensitive", quote(o.Name))
			}
		}
		out, given := a.run.Flag("--output")
		if !given || out == "" {
			p.add(a.name, at, "a generate-dataset command needs --output naming the file it writes, e.g. --output output/dataset.csv.gz")
			return
		}
		if !datasetOutputDeclared(out, a.OutputsAt(HighlySensitive)) {
			p.add(a.name, at, "--output %s is not among the action's highly_sensitive outputs; declare it under outputs", out)
		}
	case a.run.isGenerateCohort():
		if p.feat.noCohortExtractor {
			p.add(a.name, at, "cohort-extractor's generate_cohort is not supported from version 4; use ehrQL, e.g. run: ehrql:v1 generate-dataset analysis/dataset_definition.py --output output/dataset.csv.gz")
			return
		}
		levels := map[Privacy]bool{}
		dirs := map[string]bool{}
		for _, o := range a.outputs {
			levels[o.Privacy] = true
			dirs[path.Dir(o.Pattern)] = true
		}
		if len(levels) != 1 {
			p.add(a.name, at, "a generate_cohort action must have outputs at exactly one privacy level; it has %d", len(levels))
		}
		if _, given := a.run.Flag("--output-dir"); len(dirs) > 1 && !given {
			list := make([]string, 0, len(dirs))
			for d := range dirs {
				list = append(list, d)
			}
			sort.Strings(list)
			p.add(a.name, at, "a generate_cohort command should write to one directory, but its outputs are in %d: %s (or give --output-dir)", len(dirs), strings.Join(list, ", "))
		}
	}
}

// datasetOutputDeclared reports whether a generate-dataset --output is covered by the declared outputs: the
// file itself, or for a "dir:format" output (several tables) files of that format in that directory.
func datasetOutputDeclared(out string, declared []Output) bool {
	for _, o := range declared {
		if o.Pattern == out || matchesPattern(o.Pattern, out) {
			return true
		}
	}
	if dir, format, ok := strings.Cut(out, ":"); ok && dir != "" && format != "" {
		for _, o := range declared {
			if path.Dir(o.Pattern) == path.Clean(dir) && strings.HasSuffix(o.Pattern, "."+format) {
				return true
			}
		}
	}
	return false
}

func (p *parser) checkNeeds(proj *Project, names map[string]bool) {
	for i := range proj.actions {
		a := &proj.actions[i]
		kept, lines := a.needs[:0:0], a.needLines[:0:0]
		for j, need := range a.needs {
			if !names[need] {
				hint := ""
				if need == RunAllName {
					hint = " (run_all is offered on the Run Jobs page, not something an action can need)"
				}
				p.add(a.name, a.needLines[j], "needs %s, but there is no action called %s in project.yaml%s", quote(need), quote(need), hint)
				continue
			}
			kept, lines = append(kept, need), append(lines, a.needLines[j])
		}
		a.needs, a.needLines = kept, lines
	}
}

// checkCycles reports each group of actions that need each other in a loop, once, on the first of them in
// file order.
func (p *parser) checkCycles(proj *Project) {
	for _, group := range loops(proj) {
		first := proj.actions[group[0]]
		inGroup := map[string]bool{}
		for _, i := range group {
			inGroup[proj.actions[i].name] = true
		}
		path := shortestLoop(proj, first.name, inGroup)
		at := first.line
		for j, need := range first.needs {
			if len(path) > 1 && need == path[1] {
				at = first.needLines[j]
			}
		}
		if len(path) == 2 {
			p.add(first.name, at, "the action needs itself, so it could never start; remove %s from its needs", quote(first.name))
			continue
		}
		p.add(first.name, at, "these actions need each other in a loop, so none of them could ever start: %s; remove one of these needs", strings.Join(path, " → "))
	}
}

// loops returns the strongly connected groups of the needs graph that contain a loop, each as action
// indexes in file order (Tarjan's algorithm).
func loops(proj *Project) [][]int {
	n := len(proj.actions)
	index, low := make([]int, n), make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var stack []int
	var out [][]int
	next := 0
	var visit func(v int)
	visit = func(v int) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, need := range proj.actions[v].needs {
			w, ok := proj.index[need]
			if !ok {
				continue
			}
			if index[w] < 0 {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var group []int
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				group = append(group, w)
				if w == v {
					break
				}
			}
			if len(group) > 1 || contains(proj.actions[v].needs, proj.actions[v].name) {
				sort.Ints(group)
				out = append(out, group)
			}
		}
	}
	for v := range n {
		if index[v] < 0 {
			visit(v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// shortestLoop returns start → … → start through the needs of actions in the group.
func shortestLoop(proj *Project, start string, group map[string]bool) []string {
	prev := map[string]string{}
	queue := []string{start}
	seen := map[string]bool{}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, need := range proj.actions[proj.index[cur]].needs {
			if !group[need] {
				continue
			}
			if need == start {
				loop := []string{start}
				for at := cur; at != start; at = prev[at] {
					loop = append(loop, at)
				}
				// loop is start, cur, …, back towards start: reverse the middle to read forwards.
				mid := loop[1:]
				for i, j := 0, len(mid)-1; i < j; i, j = i+1, j-1 {
					mid[i], mid[j] = mid[j], mid[i]
				}
				return append(loop, start)
			}
			if !seen[need] {
				seen[need] = true
				prev[need] = cur
				queue = append(queue, need)
			}
		}
	}
	return []string{start, start}
}

func (p *parser) checkUniqueRuns(proj *Project) {
	first := map[string]Action{}
	for _, a := range proj.actions {
		if a.run.Image == "" {
			continue
		}
		key := strings.Join(append([]string{a.run.Image, a.run.Version}, a.run.Args...), "\x00")
		if other, dup := first[key]; dup {
			p.add(a.name, a.runLine, "the action has the same `run` command as action %s (line %d); two actions doing the same thing would overwrite each other's outputs", quote(other.name), other.runLine)
			continue
		}
		first[key] = a
	}
}

func (p *parser) checkUniqueOutputs(proj *Project) {
	type owner struct {
		action string
		line   int
	}
	first := map[string]owner{}
	for _, a := range proj.actions {
		for _, o := range a.outputs {
			if other, dup := first[o.Pattern]; dup {
				if other.action == a.name {
					p.add(a.name, o.Line, "output path %s is listed twice in this action (first on line %d); each output path may appear only once", o.Pattern, other.line)
				} else {
					p.add(a.name, o.Line, "output path %s is also an output of action %s (line %d); each output path may belong to only one action", o.Pattern, quote(other.action), other.line)
				}
				continue
			}
			first[o.Pattern] = owner{a.name, o.Line}
		}
	}
}
