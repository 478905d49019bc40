package domain

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
)

// ForgottenPerson is what pages, exports and sentences show where a forgotten person's personal data was.
const ForgottenPerson = "forgotten user"

// PersonalKeys seals personal data under a key of the person it is about (its subject) and opens it again.
// Destroying a subject's key forgets that person: what was sealed under it can no longer be opened, while
// the events that hold it (and the audit chain over them) stay as they were. It is a port: the server's
// keys table (eventstore/pgstore) or keys held by one process (eventstore.ProcessKeys, for tests).
type PersonalKeys interface {
	// SealPersonal encrypts plaintext under subject's key, making one when the subject has none.
	SealPersonal(subject string, plaintext []byte) ([]byte, error)
	PersonalOpener
}

// PersonalOpener opens sealed personal data: PersonalKeys, or the keys read for one batch (BatchKeys).
type PersonalOpener interface {
	// OpenPersonal decrypts sealed and names its subject; forgotten is true when the key was destroyed.
	OpenPersonal(sealed []byte) (plaintext []byte, subject string, forgotten bool, err error)
}

// BatchKeys are PersonalKeys that can read the keys of many sealed values at once. A rebuild decodes a
// thousand events a batch, and reading the keys once per value was half of its work.
type BatchKeys interface {
	// KeysFor reads the keys of the sealed values in one go and returns what opens those values, to be used
	// while the batch they came from is decoded, then dropped.
	KeysFor(sealed [][]byte) (OpenFunc, error)
}

// OpenFunc is OpenPersonal as a function: what BatchKeys return, a type their package can spell without
// importing domain.
type OpenFunc = func(sealed []byte) (plaintext []byte, subject string, forgotten bool, err error)

// openerFunc is an OpenFunc as a PersonalOpener.
type openerFunc OpenFunc

func (f openerFunc) OpenPersonal(sealed []byte) ([]byte, string, bool, error) { return f(sealed) }

// Personal is personal data about one person inside an event: a name, an e-mail address, a GitHub login.
// It is only ever stored sealed under its subject's key (PersonalKeys): the registry seals it when an event
// is encoded and opens it when one is decoded, so the domain reads and writes plain values. Its JSON is the
// sealed bytes (base64); encoding it unsealed is an error, so plaintext cannot reach the log by mistake.
type Personal[T any] struct {
	subject   string
	value     T
	sealed    []byte // as stored, while not opened
	forgotten bool
}

// NewPersonal holds value, personal data about subject (a user id, or the id of a person without an
// account).
func NewPersonal[T any](subject string, value T) Personal[T] {
	return Personal[T]{subject: subject, value: value}
}

// Value is the personal data; the zero value when the person was forgotten.
func (p Personal[T]) Value() T { return p.value }

// Subject is whose data this is ("" once forgotten, or before it was opened).
func (p Personal[T]) Subject() string { return p.subject }

// Forgotten reports whether the data's key was destroyed: the person was forgotten.
func (p Personal[T]) Forgotten() bool { return p.forgotten }

// errUnsealed refuses to encode personal data that was not sealed.
var errUnsealed = errors.New("personal data must be sealed before it is stored (the registry needs PersonalKeys)")

// MarshalJSON writes the sealed bytes.
func (p Personal[T]) MarshalJSON() ([]byte, error) {
	if p.sealed == nil {
		return nil, errUnsealed
	}
	return json.Marshal(base64.StdEncoding.EncodeToString(p.sealed))
}

// UnmarshalJSON reads sealed bytes, to be opened by the registry.
func (p *Personal[T]) UnmarshalJSON(data []byte) error {
	encoded, ok := plainJSONString(data)
	if !ok {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("personal data: %w", err)
		}
		encoded = []byte(s)
	}
	sealed := make([]byte, base64.StdEncoding.DecodedLen(len(encoded)))
	n, err := base64.StdEncoding.Decode(sealed, encoded)
	if err != nil {
		return fmt.Errorf("personal data: %w", err)
	}
	*p = Personal[T]{sealed: sealed[:n]}
	return nil
}

// plainJSONString returns the contents of data when it is a JSON string without escapes, as base64 always
// is: a rebuild decodes hundreds of thousands of them, and decoding each again through encoding/json was
// a fifth of decoding the events that hold them. The caller's decoder has already checked data is valid JSON.
func plainJSONString(data []byte) ([]byte, bool) {
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		return nil, false
	}
	inner := data[1 : len(data)-1]
	if bytes.IndexByte(inner, '\\') >= 0 {
		return nil, false
	}
	return inner, true
}

func (p *Personal[T]) seal(keys PersonalKeys) error {
	if p.sealed != nil {
		return nil
	}
	if p.subject == "" {
		return errors.New("personal data without a subject cannot be sealed")
	}
	plaintext, err := json.Marshal(p.value)
	if err != nil {
		return err
	}
	p.sealed, err = keys.SealPersonal(p.subject, plaintext)
	return err
}

func (p *Personal[T]) open(keys PersonalOpener) error {
	if p.sealed == nil {
		return nil
	}
	plaintext, subject, forgotten, err := keys.OpenPersonal(p.sealed)
	switch {
	case err != nil:
		return err
	case forgotten:
		*p = Personal[T]{forgotten: true}
		return nil
	}
	var value T
	if err := json.Unmarshal(plaintext, &value); err != nil {
		return fmt.Errorf("personal data: %w", err)
	}
	*p = Personal[T]{subject: subject, value: value}
	return nil
}

// sealedBytes is the value as stored, nil once opened (or never sealed).
func (p *Personal[T]) sealedBytes() []byte { return p.sealed }

// personalField is a Personal of any type, as the registry's walk over an event finds it.
type personalField interface {
	seal(PersonalKeys) error
	open(PersonalOpener) error
	sealedBytes() []byte
}

var personalFieldType = reflect.TypeFor[personalField]()

// holdsPersonal caches, by type, whether a value of the type can hold a Personal anywhere inside it, so
// events without personal data (most of them) cost nothing.
var holdsPersonal sync.Map

func canHoldPersonal(t reflect.Type) bool {
	if held, ok := holdsPersonal.Load(t); ok {
		return held.(bool)
	}
	held := searchPersonal(t, map[reflect.Type]bool{})
	holdsPersonal.Store(t, held)
	return held
}

func searchPersonal(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	if reflect.PointerTo(t).Implements(personalFieldType) {
		return true
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return searchPersonal(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && searchPersonal(f.Type, seen) {
				return true
			}
		}
	}
	return false
}

// withPersonal returns a copy of e in which do was applied to every Personal. Pointers and slices on the
// way are copied, so e itself (and whatever shares its slices) is left as it was.
func withPersonal(e Event, do func(personalField) error) (Event, error) {
	if !canHoldPersonal(reflect.TypeOf(e)) {
		return e, nil
	}
	v := reflect.New(reflect.TypeOf(e)).Elem()
	v.Set(reflect.ValueOf(e))
	if err := walkPersonal(v, do); err != nil {
		return nil, err
	}
	return v.Interface().(Event), nil
}

// walkPersonal applies do to every Personal in v, an addressable value that may be replaced in place.
func walkPersonal(v reflect.Value, do func(personalField) error) error {
	if !canHoldPersonal(v.Type()) {
		return nil
	}
	if f, ok := v.Addr().Interface().(personalField); ok {
		return do(f)
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		copied := reflect.New(v.Type().Elem())
		copied.Elem().Set(v.Elem())
		v.Set(copied)
		return walkPersonal(copied.Elem(), do)
	case reflect.Slice:
		if v.Len() == 0 {
			return nil
		}
		copied := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(copied, v)
		v.Set(copied)
		fallthrough
	case reflect.Array:
		for i := range v.Len() {
			if err := walkPersonal(v.Index(i), do); err != nil {
				return err
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				if err := walkPersonal(v.Field(i), do); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// plaintextPersonalData refuses the first schema version of the events that hold personal data (users'
// profiles and addresses, GitHub accounts, applications' people): it held them in plaintext.
var plaintextPersonalData = refusedVersion("this schema version held personal data in plaintext; it was never deployed and is not read")

// refusedVersion is the upcaster of a schema version the log must not hold any more: personal data that
// was written in plaintext before events sealed it. Nothing was deployed with it, so no store holds it.
func refusedVersion(why string) Upcaster {
	return func(map[string]any) (map[string]any, error) { return nil, errors.New(why) }
}
