package domain

import (
	"errors"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Slug lengths.
const (
	MinSlugLen = 2
	MaxSlugLen = 50
)

// MaxNameLen is the longest name of an organisation, project or backend, in characters.
const MaxNameLen = 200

// ReservedSlugs are the words an organisation's slug may not be: organisations live at /<slug>, so a slug
// must not shadow one of the server's own pages.
var ReservedSlugs = []string{
	"staff", "api", "status", "settings", "event-log", "login", "logout", "static", "applications", "apply",
	"healthz", "metrics", "admin", "new", "orgs", "projects", "users", "workspaces", "complete", "favicon.ico",
	"robots.txt",
}

// IsReservedSlug reports whether s is one of ReservedSlugs.
func IsReservedSlug(s string) bool { return slices.Contains(ReservedSlugs, s) }

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// ValidateSlug checks a slug: lowercase letters, digits and single dashes between them, 2 to 50 characters.
// A reserved slug is refused too when reserved is true. field names the form field for the error.
func ValidateSlug(field, slug string, reserved bool) error {
	switch {
	case slug == "":
		return Invalid(field, "Please enter a slug.")
	case len(slug) < MinSlugLen || len(slug) > MaxSlugLen:
		return Invalid(field, "A slug has 2 to 50 characters.")
	case !slugPattern.MatchString(slug):
		return Invalid(field, "A slug has only lowercase letters, digits and dashes, and starts and ends with a letter or digit.")
	case reserved && IsReservedSlug(slug):
		return Invalid(field, quote(slug)+" is a reserved word; please choose another slug.")
	}
	return nil
}

// SlugFromName derives a slug from a name: lowercase letters and digits kept (common accented Latin letters
// spelled in ASCII), every other run of characters becomes one dash, and the result is cut to 50 characters.
// The result may still be invalid (too short, or reserved), which ValidateSlug reports.
func SlugFromName(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		ascii := latinFold[r]
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			ascii = string(r)
		}
		if ascii == "" {
			dash = true
			continue
		}
		if dash && b.Len() > 0 {
			b.WriteByte('-')
		}
		dash = false
		b.WriteString(ascii)
	}
	s := b.String()
	if len(s) > MaxSlugLen {
		s = strings.TrimRight(s[:MaxSlugLen], "-")
	}
	return s
}

// latinFold spells common accented Latin letters in ASCII, so "Étude" becomes "etude" in a slug.
var latinFold = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a", 'æ': "ae", 'ç': "c", 'è': "e", 'é': "e",
	'ê': "e", 'ë': "e", 'ì': "i", 'í': "i", 'î': "i", 'ï': "i", 'ð': "d", 'ñ': "n", 'ò': "o", 'ó': "o",
	'ô': "o", 'õ': "o", 'ö': "o", 'ø': "o", 'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ý': "y", 'ÿ': "y",
	'þ': "th", 'ß': "ss", 'œ': "oe", 'ł': "l", 'ś': "s", 'š': "s", 'ž': "z", 'ź': "z", 'ż': "z", 'č': "c",
	'ć': "c", 'ř': "r", 'ğ': "g", 'ı': "i", 'ş': "s",
}

// NormalizeName trims a name and collapses runs of white space on one line into one space. A line break
// inside the name is kept, so that ValidateName refuses it: a name is one line.
func NormalizeName(name string) string {
	if trimmed := strings.TrimSpace(name); strings.IndexFunc(trimmed, isLineBreak) >= 0 {
		return trimmed // refused by ValidateName; no point tidying it
	}
	return strings.Join(strings.Fields(name), " ")
}

// isLineBreak reports whether r ends a line: the ASCII line feed, carriage return, vertical tab and form
// feed, NEL, and Unicode's line and paragraph separators.
func isLineBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\v', '\f', '\u0085', '\u2028', '\u2029':
		return true
	}
	return false
}

// isRefusedInName reports whether r may not appear in a name: control characters, line breaks, and the
// bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) that make a name read
// differently from what it is ("Trojan Source").
func isRefusedInName(r rune) bool {
	return unicode.IsControl(r) || isLineBreak(r) || unicode.Is(unicode.Bidi_Control, r)
}

// NameKey is the form in which names are compared for uniqueness: normalized and lowercased.
func NameKey(name string) string { return strings.ToLower(NormalizeName(name)) }

// ValidateName checks a name that has been through NormalizeName: present, at most MaxNameLen characters,
// no control characters, line breaks or bidirectional controls.
func ValidateName(field, name string) error {
	switch {
	case name == "":
		return Invalid(field, "Please enter a name.")
	case !utf8.ValidString(name):
		return Invalid(field, "The name is not valid text.")
	case utf8.RuneCountInString(name) > MaxNameLen:
		return Invalid(field, "A name has at most 200 characters.")
	case strings.IndexFunc(name, isRefusedInName) >= 0:
		return Invalid(field, "A name is one line of text, without control characters.")
	}
	return nil
}

// ValidateEmail checks a bare e-mail address such as "ada@example.org" (no display name, no angle brackets).
func ValidateEmail(field, email string) error {
	if email == "" {
		return Invalid(field, "Please enter an e-mail address.")
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" {
		return Invalid(field, "Please enter an e-mail address such as ada@example.org.")
	}
	at := strings.LastIndexByte(email, '@')
	if at < 1 || !strings.Contains(email[at+1:], ".") || len(email) > 254 {
		return Invalid(field, "Please enter an e-mail address such as ada@example.org.")
	}
	return nil
}

func validateURL(field, raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Invalid(field, "Please enter an http or https address.")
	}
	return nil
}

// collect adds the field messages of a domain error (if err is one) to v.
func collect(v *Validation, err error) {
	var de *Error
	if errors.As(err, &de) {
		for f, m := range de.Fields {
			v.Add(f, m)
		}
	}
}
