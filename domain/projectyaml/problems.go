package projectyaml

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a project.yaml, written for the researcher who has to fix it.
// Action is the action it concerns ("" for the file as a whole); Line is the 1-based line in the file
// (0 when the problem has no place, such as an empty file).
type Problem struct {
	Action  string
	Line    int
	Message string
}

func (p Problem) String() string {
	switch {
	case p.Line > 0 && p.Action != "":
		return fmt.Sprintf("line %d (action %s): %s", p.Line, p.Action, p.Message)
	case p.Line > 0:
		return fmt.Sprintf("line %d: %s", p.Line, p.Message)
	case p.Action != "":
		return fmt.Sprintf("action %s: %s", p.Action, p.Message)
	default:
		return p.Message
	}
}

// Problems is every problem found in an invalid project.yaml, in line order. It is the error Parse returns.
type Problems []Problem

func (ps Problems) Error() string {
	if len(ps) == 1 {
		return "project.yaml has a problem: " + ps[0].String()
	}
	lines := make([]string, 0, len(ps)+1)
	lines = append(lines, fmt.Sprintf("project.yaml has %d problems:", len(ps)))
	for _, p := range ps {
		lines = append(lines, "  "+p.String())
	}
	return strings.Join(lines, "\n")
}

// sorted orders problems by line, keeping the order they were found in within a line.
func (ps Problems) sorted() Problems {
	out := append(Problems(nil), ps...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}
