package kit

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"reflect"
	"strings"
	"time"

	"github.com/mediciasafely/jobserver/http/web/static"
)

// csrfFieldName is the form field gorilla/csrf reads the token from.
const csrfFieldName = "gorilla.csrf.Token"

// templateFuncs are the functions every template may call. now is the clock
// timeago measures against, injectable so tests do not depend on the wall clock.
func templateFuncs(now func() time.Time) template.FuncMap {
	return template.FuncMap{
		"asset":     static.AssetURL,
		"csrfField": csrfField,
		"hxHeaders": hxHeaders,
		"dict":      dict,
		"join":      join,
		"hasPrefix": strings.HasPrefix,
		"initial":   initial,
		"datetime":  datetime,
		"timeago": func(t any) (template.HTML, error) {
			return timeago(t, now())
		},
	}
}

// csrfField renders the hidden input gorilla/csrf checks on every unsafe form post:
// {{csrfField $.CSRFToken}}.
func csrfField(token string) template.HTML {
	return template.HTML(`<input type="hidden" name="` + csrfFieldName + `" value="` + template.HTMLEscapeString(token) + `">`)
}

// hxHeaders builds the JSON for <body hx-headers="..."> so htmx sends the CSRF
// token with its requests. Marshalling (rather than writing JSON in the template)
// keeps the value valid JSON whatever the token contains.
func hxHeaders(csrfToken string) (string, error) {
	encoded, err := json.Marshal(map[string]string{"X-CSRF-Token": csrfToken})
	if err != nil {
		return "", fmt.Errorf("encoding hx-headers: %w", err)
	}
	return string(encoded), nil
}

// dict builds a map from alternating keys and values, so one call can pass
// several named arguments to a partial: {{template "field" (dict "Name" "email" "Label" "E-mail")}}.
func dict(pairs ...any) (map[string]any, error) {
	if len(pairs)%2 != 0 {
		return nil, errors.New("dict needs pairs of key and value")
	}
	values := make(map[string]any, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		key, ok := pairs[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict key %d is a %T, not a string", i/2, pairs[i])
		}
		values[key] = pairs[i+1]
	}
	return values, nil
}

// join joins the items of any slice, so typed strings such as roles work too:
// {{join ", " .Roles}} or {{.Roles | join ", "}}.
func join(separator string, items any) (string, error) {
	if items == nil {
		return "", nil
	}
	if strs, ok := items.([]string); ok {
		return strings.Join(strs, separator), nil
	}
	list := reflect.ValueOf(items)
	if list.Kind() != reflect.Slice && list.Kind() != reflect.Array {
		return "", fmt.Errorf("join needs a slice, got %T", items)
	}
	parts := make([]string, list.Len())
	for i := range parts {
		parts[i] = fmt.Sprint(list.Index(i).Interface())
	}
	return strings.Join(parts, separator), nil
}

// initial is the first letter of a name, upper-cased: the stand-in avatar for
// a user without a picture.
func initial(name string) string {
	for _, r := range name {
		return strings.ToUpper(string(r))
	}
	return "?"
}

// timeOf accepts time.Time or *time.Time, the two shapes read models use
// (a pointer for a time that may not have happened yet).
func timeOf(value any) (t time.Time, ok bool, err error) {
	switch v := value.(type) {
	case time.Time:
		return v, !v.IsZero(), nil
	case *time.Time:
		if v == nil {
			return time.Time{}, false, nil
		}
		return *v, !v.IsZero(), nil
	case nil:
		return time.Time{}, false, nil
	default:
		return time.Time{}, false, fmt.Errorf("expected a time.Time, got %T", value)
	}
}

// timeNotSet is shown for a missing time; the dash is labelled for screen readers.
const timeNotSet = template.HTML(`<span aria-label="not yet">—</span>`)

// Times are shown in UTC: the server has no idea of the reader's time zone.
const displayTimeLayout = "2 Jan 2006 15:04 MST"

// datetime renders an absolute time in a <time> element: {{datetime .CreatedAt}}.
func datetime(value any) (template.HTML, error) {
	t, ok, err := timeOf(value)
	if err != nil || !ok {
		return timeNotSet, err
	}
	t = t.UTC()
	return template.HTML(`<time datetime="` + t.Format(time.RFC3339) + `">` +
		template.HTMLEscapeString(t.Format(displayTimeLayout)) + `</time>`), nil
}

// timeago renders a relative time ("3 minutes ago") in a <time> element whose
// title holds the exact time, for hover and for readers who need it.
func timeago(value any, now time.Time) (template.HTML, error) {
	t, ok, err := timeOf(value)
	if err != nil || !ok {
		return timeNotSet, err
	}
	t = t.UTC()
	return template.HTML(`<time datetime="` + t.Format(time.RFC3339) + `" title="` +
		template.HTMLEscapeString(t.Format(displayTimeLayout)) + `">` +
		template.HTMLEscapeString(relativeTime(t, now)) + `</time>`), nil
}

// relativeTime words the distance between t and now the way people say it.
// Beyond a month a date reads better than "14 weeks ago".
func relativeTime(t, now time.Time) string {
	distance := now.Sub(t)
	future := distance < 0
	if future {
		distance = -distance
	}
	var amount string
	switch {
	case distance < time.Minute:
		return "just now"
	case distance < time.Hour:
		amount = plural(int(distance/time.Minute), "minute")
	case distance < 24*time.Hour:
		amount = plural(int(distance/time.Hour), "hour")
	case distance < 30*24*time.Hour:
		amount = plural(int(distance/(24*time.Hour)), "day")
	default:
		return "on " + t.Format("2 Jan 2006")
	}
	if future {
		return "in " + amount
	}
	return amount + " ago"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
