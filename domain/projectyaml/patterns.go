package projectyaml

import (
	"path"
	"strings"
)

// Privacy is an output's privacy level, which decides who may see the file and whether it may be released.
type Privacy string

const (
	HighlySensitive     Privacy = "highly_sensitive"
	ModeratelySensitive Privacy = "moderately_sensitive"
	MinimallySensitive  Privacy = "minimally_sensitive"
)

// PrivacyLevels are the levels in the order project.yaml files usually list them.
var PrivacyLevels = []Privacy{HighlySensitive, ModeratelySensitive, MinimallySensitive}

func isPrivacy(s string) bool {
	for _, p := range PrivacyLevels {
		if string(p) == s {
			return true
		}
	}
	return false
}

// moderatelySensitiveTypes are the file types that may be released (pipeline's VALID_FILE_TYPES).
var moderatelySensitiveTypes = map[string]bool{
	".csv": true, ".jpg": true, ".jpeg": true, ".png": true, ".svg": true, ".svgz": true,
	".html": true, ".txt": true, ".log": true, ".json": true, ".md": true,
}

// checkPattern returns why an output pattern is invalid, or "" (pipeline's assert_valid_glob_pattern).
func checkPattern(pattern string, level Privacy) string {
	if strings.Contains(pattern, `\`) {
		return "it contains back slashes (use forward slashes only)"
	}
	for _, expr := range []string{"**", "?", "["} {
		if strings.Contains(pattern, expr) {
			return "it contains '" + expr + "' (only the * wildcard character is supported)"
		}
	}
	if strings.HasSuffix(pattern, "/") {
		return "it looks like a directory (only files should be specified)"
	}
	if normpath(pattern) != pattern {
		return "it is not in standard form (contains double slashes or '.' or '..' elements)"
	}
	if strings.HasPrefix(pattern, "/") || isWindowsAbsolute(pattern) {
		return "it is an absolute path (write it relative to the repository, e.g. output/table.csv)"
	}
	if first, _, _ := strings.Cut(pattern, "/"); first == "metadata" {
		return "it is in the metadata directory, which is reserved for the job's own logs"
	}
	ext := suffix(pattern)
	if ext == "" || strings.HasSuffix(ext, "*") {
		return "it must have a file type extension, e.g. .csv"
	}
	if level == ModeratelySensitive && !moderatelySensitiveTypes[ext] {
		return ext + " files may not be moderately_sensitive outputs (allowed: .csv .html .jpeg .jpg .json .log .md .png .svg .svgz .txt)"
	}
	return ""
}

// normpath is Python's posixpath.normpath: the one form of a path that pipeline accepts.
func normpath(p string) string {
	if p == "" {
		return "."
	}
	// POSIX keeps exactly two leading slashes; path.Clean folds them to one.
	if strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "///") {
		return "/" + path.Clean(p[1:])
	}
	return path.Clean(p)
}

// isWindowsAbsolute is PureWindowsPath(p).is_absolute(): a drive and a root ("C:/x"), or a UNC share.
func isWindowsAbsolute(p string) bool {
	if len(p) >= 3 && p[1] == ':' && (p[2] == '/' || p[2] == '\\') {
		c := p[0]
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
	}
	return strings.HasPrefix(p, "//") && len(p) > 2 && p[2] != '/'
}

// suffix is PurePosixPath(p).suffix: the last name's extension, "" for ".hidden" or "name.".
func suffix(p string) string {
	name := path.Base(p)
	i := strings.LastIndex(name, ".")
	if i <= 0 || i == len(name)-1 {
		return ""
	}
	return name[i:]
}

// matchesPattern reports whether a file path is matched by an output pattern (* matches within a name).
func matchesPattern(pattern, file string) bool {
	ok, err := path.Match(pattern, file)
	return err == nil && ok
}
