package domain

import (
	"errors"
	"sort"
	"strings"
)

// Kind says what sort of failure an Error is, so the edge (HTTP, CLI) can map it to a status in one place.
type Kind int

const (
	KindInvalid   Kind = iota + 1 // the input was wrong; the user can fix it
	KindForbidden                 // the actor may not do this
	KindNotFound                  // the thing does not exist (or must look as if it did not)
	KindConflict                  // the state changed under the user, or a unique name is taken
)

// Error is the one error type of the domain: a machine slug and a message safe to show to the user.
// Fields holds per-field messages for forms; the key is the form field name.
type Error struct {
	Kind    Kind
	Slug    string
	Message string
	Fields  map[string]string
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+e.Fields[k])
	}
	return e.Message + " (" + strings.Join(parts, "; ") + ")"
}

// Invalid reports bad input for one field.
func Invalid(field, message string) *Error {
	return &Error{Kind: KindInvalid, Slug: "invalid-input", Message: message, Fields: map[string]string{field: message}}
}

// Forbidden reports that the actor lacks a permission, in the permission's one message (see Refusal).
func Forbidden(p Permission) *Error {
	return &Error{Kind: KindForbidden, Slug: "forbidden", Message: Refusal(p)}
}

// Refused reports an action the rules do not allow this actor, for a reason that is not a missing
// permission: someone else's address, the last admin, the last coordinator. The message says why.
func Refused(message string) *Error {
	return &Error{Kind: KindForbidden, Slug: "refused", Message: message}
}

// NotFound reports a missing thing.
func NotFound(message string) *Error {
	return &Error{Kind: KindNotFound, Slug: "not-found", Message: message}
}

// Conflict reports a clash with the current state, such as a name already taken.
func Conflict(field, message string) *Error {
	e := &Error{Kind: KindConflict, Slug: "conflict", Message: message}
	if field != "" {
		e.Fields = map[string]string{field: message}
	}
	return e
}

// Validation collects field errors so a form can show all of them at once.
type Validation struct{ fields map[string]string }

// Add records a message for a field; the first message for a field wins.
func (v *Validation) Add(field, message string) {
	if v.fields == nil {
		v.fields = map[string]string{}
	}
	if _, ok := v.fields[field]; !ok {
		v.fields[field] = message
	}
}

// Check adds the message when ok is false.
func (v *Validation) Check(ok bool, field, message string) {
	if !ok {
		v.Add(field, message)
	}
}

// Err returns nil when nothing was added, else one Error carrying every field message.
func (v *Validation) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &Error{Kind: KindInvalid, Slug: "invalid-input", Message: "Please correct the highlighted fields.", Fields: v.fields}
}

// KindOf returns the Kind of a domain Error in err's chain, or 0 when there is none.
func KindOf(err error) Kind {
	var de *Error
	if errors.As(err, &de) {
		return de.Kind
	}
	return 0
}
