package projectyaml

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The YAML layer: decode into nodes (to keep line numbers), refuse duplicate keys, and read mappings
// through aliases and merge keys the way a YAML "safe" loader does.

// pair is one key: value of a mapping.
type pair struct {
	key   string
	line  int // the key's line
	value *yaml.Node
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// isNull reports whether a node is missing or an explicit null (`key:` with nothing after it).
func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// isMerge reports whether a key is YAML's merge key (<<).
func isMerge(k *yaml.Node) bool { return k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" }

// entries returns a mapping's pairs in file order. Merged mappings (<<: *anchor) contribute the keys the
// mapping does not set itself; repeated and non-scalar keys are skipped (checkKeys reports them). Each merged
// mapping is read once, so a chain of merges cannot make the work grow exponentially.
func entries(n *yaml.Node) []pair {
	return entriesOf(resolve(n), map[*yaml.Node]bool{})
}

func entriesOf(n *yaml.Node, visited map[*yaml.Node]bool) []pair {
	if n == nil || n.Kind != yaml.MappingNode || visited[n] {
		return nil
	}
	visited[n] = true
	explicit := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && !isMerge(k) {
			explicit[k.Value] = true
		}
	}
	seen := map[string]bool{}
	var out []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case isMerge(k):
			var sources []*yaml.Node
			if rv := resolve(v); rv != nil && rv.Kind == yaml.SequenceNode {
				sources = rv.Content
			} else {
				sources = []*yaml.Node{v}
			}
			for _, src := range sources {
				for _, p := range entriesOf(resolve(src), visited) {
					if !explicit[p.key] && !seen[p.key] {
						seen[p.key] = true
						out = append(out, pair{key: p.key, line: k.Line, value: p.value})
					}
				}
			}
		case k.Kind == yaml.ScalarNode:
			if !seen[k.Value] {
				seen[k.Value] = true
				out = append(out, pair{key: k.Value, line: k.Line, value: v})
			}
		}
	}
	return out
}

// stringValue returns a scalar's text when it is a YAML string (not a number, boolean or null).
func stringValue(n *yaml.Node) (string, bool) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return "", false
	}
	return n.Value, true
}

// line is a node's line, or fallback when the node is missing.
func line(n *yaml.Node, fallback int) int {
	if n == nil || n.Line == 0 {
		return fallback
	}
	return n.Line
}

// describe names a node's kind for messages ("a list", "a number"…).
func describe(n *yaml.Node) string {
	n = resolve(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a set of keys"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing"
		}
		v := n.Value
		if r := []rune(v); len(r) > 40 {
			v = string(r[:40]) + "…"
		}
		return quote(v)
	}
	return "something else"
}

var yamlErrorLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decode reads the one YAML document of the file, or reports why it cannot.
func (p *parser) decode(text []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(text))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.add("", 0, "project.yaml is empty; it needs a version and at least one action")
		} else {
			p.yamlError(err)
		}
		return nil
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		p.add("", line(&next, 0), "project.yaml holds more than one YAML document (a new one starts here, after ---); keep everything in one document")
	} else if !errors.Is(err, io.EOF) {
		p.yamlError(err)
	}
	root := &doc
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			p.add("", 0, "project.yaml is empty; it needs a version and at least one action")
			return nil
		}
		root = doc.Content[0]
	}
	if isNull(root) {
		p.add("", line(root, 0), "project.yaml is empty; it needs a version and at least one action")
		return nil
	}
	return resolve(root)
}

func (p *parser) yamlError(err error) {
	msg := err.Error()
	if m := yamlErrorLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		p.add("", n, "this is not valid YAML: %s", m[2])
		return
	}
	if rest, ok := strings.CutPrefix(msg, "yaml: "); ok {
		msg = rest
	}
	p.add("", 0, "project.yaml is not valid YAML: %s", msg)
}

// checkKeys walks the document (not through aliases: an anchor is checked where it is written) and reports
// every key written twice in one mapping, and every key that is not a plain name. In the actions mapping each
// key names an action, and what is below it belongs to that action.
func (p *parser) checkKeys(n *yaml.Node, action string, inActions bool, atRoot bool, depth int) {
	if n == nil || depth > 200 {
		return
	}
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			p.checkKeys(c, action, false, false, depth+1)
		}
	case yaml.MappingNode:
		first := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				p.add(action, k.Line, "keys must be plain names, not %s", describe(k))
				continue
			}
			childAction := action
			if inActions {
				childAction = k.Value
			}
			if !isMerge(k) {
				if at, dup := first[k.Value]; dup {
					if inActions {
						p.add(k.Value, k.Line, "there are two actions called %s (the first is on line %d); rename or remove one of them", quote(k.Value), at)
					} else {
						p.add(action, k.Line, "the key %s is written twice here (the first is on line %d); YAML would keep only one of them, so remove or rename one", quote(k.Value), at)
					}
				} else {
					first[k.Value] = k.Line
				}
			}
			p.checkKeys(v, childAction, atRoot && k.Value == "actions", false, depth+1)
		}
	}
}
