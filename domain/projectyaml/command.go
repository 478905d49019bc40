package projectyaml

import (
	"errors"
	"regexp"
	"strings"
)

// Command is an action's `run`: the image, its version and the arguments, split the way a POSIX
// shell would (quotes group words).
type Command struct {
	Image   string
	Version string
	Args    []string
	raw     string
}

// Raw is the `run` text as written in project.yaml.
func (c Command) Raw() string { return c.raw }

// String is the command in the form image:version arg….
func (c Command) String() string {
	parts := append([]string{c.Image + ":" + c.Version}, c.Args...)
	return strings.Join(parts, " ")
}

// Subcommand is the first argument (e.g. generate-dataset for ehrql), or "".
func (c Command) Subcommand() string {
	if len(c.Args) == 0 {
		return ""
	}
	return c.Args[0]
}

// Flag returns the value of a --name flag given as "--name value" or "--name=value".
func (c Command) Flag(name string) (string, bool) {
	for i, a := range c.Args {
		if a == name {
			if i+1 < len(c.Args) {
				return c.Args[i+1], true
			}
			return "", true
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// Images the backends run directly (job-runner's ALLOWED_IMAGES). Any other image names a reusable action,
// fetched from github.com/opensafely-actions/<image> at the version's tag.
var allowedImages = map[string]bool{
	"cohortextractor": true, "databuilder": true, "ehrql": true, "stata-mp": true,
	"r": true, "jupyter": true, "python": true, "sqlrunner": true,
}

// IsReusableAction reports whether the image is not one the backends run directly.
func (c Command) IsReusableAction() bool { return !allowedImages[c.Image] }

// isDatabaseAction is pipeline's is_database_action: the commands that read the backend's database.
func (c Command) isDatabaseAction() bool {
	switch c.Image {
	case "sqlrunner":
		return true
	case "ehrql":
		return c.Subcommand() == "generate-dataset" || c.Subcommand() == "generate-measures"
	case "cohortextractor":
		return c.Subcommand() == "generate_cohort" || c.Subcommand() == "generate_codelist_report"
	case "databuilder":
		return c.Subcommand() == "generate-dataset"
	}
	return false
}

func (c Command) isGenerateDataset() bool {
	switch c.Image {
	case "ehrql":
		return c.Subcommand() == "generate-dataset"
	case "databuilder":
		return c.Subcommand() == "generate-dataset" || c.Subcommand() == "generate_dataset"
	}
	return false
}

func (c Command) isGenerateCohort() bool {
	return c.Image == "cohortextractor" && c.Subcommand() == "generate_cohort"
}

var imageVersion = regexp.MustCompile(`^(v[0-9.]+(-pre)?|dev|latest)$`)

// parseCommand splits a `run` text and checks its image:version; the error is a researcher's message.
func parseCommand(raw string) (Command, error) {
	words, err := splitWords(raw)
	if err != nil {
		return Command{}, err
	}
	if len(words) == 0 {
		return Command{}, errors.New("`run` is empty; write the command to run, e.g. run: python:v2 analysis/model.py")
	}
	image, version, found := strings.Cut(words[0], ":")
	if !found || image == "" {
		return Command{}, errors.New("`run` must start with an image and its version, e.g. python:v2 (found " + quote(words[0]) + ")")
	}
	if !imageVersion.MatchString(version) {
		return Command{}, errors.New(image + " must have a version specified in the form :vN, e.g. " + image + ":v2 (found " + quote(words[0]) + ")")
	}
	return Command{Image: image, Version: version, Args: words[1:], raw: raw}, nil
}

// splitWords splits like Python's shlex.split: whitespace separates words, single quotes keep text as it
// is, double quotes keep text but honour \" and \\, and a backslash outside quotes escapes the next character.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	const (
		plain = iota
		single
		double
	)
	state := plain
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch state {
		case plain:
			switch {
			case r == ' ' || r == '\t' || r == '\n' || r == '\r':
				if inWord {
					words = append(words, cur.String())
					cur.Reset()
					inWord = false
				}
			case r == '\'':
				state, inWord = single, true
			case r == '"':
				state, inWord = double, true
			case r == '\\':
				inWord = true
				if i+1 >= len(rs) {
					return nil, errors.New("`run` ends with a lone backslash")
				}
				i++
				if rs[i] != '\n' {
					cur.WriteRune(rs[i])
				}
			default:
				inWord = true
				cur.WriteRune(r)
			}
		case single:
			if r == '\'' {
				state = plain
			} else {
				cur.WriteRune(r)
			}
		case double:
			switch {
			case r == '"':
				state = plain
			case r == '\\' && i+1 < len(rs) && (rs[i+1] == '"' || rs[i+1] == '\\'):
				i++
				cur.WriteRune(rs[i])
			default:
				cur.WriteRune(r)
			}
		}
	}
	if state != plain {
		return nil, errors.New("`run` has a quote that is never closed")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func quote(s string) string { return "'" + s + "'" }
