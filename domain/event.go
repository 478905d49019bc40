package domain

import (
	"encoding/json"
	"fmt"
)

// Event is a fact recorded in the event store. Its type name is stable API: changing an event's shape
// means registering a new schema version with an upcaster from the old one, never a silent edit.
type Event interface {
	EventType() string
}

// Upcaster turns the JSON object of one schema version into the next version's object.
type Upcaster func(old map[string]any) (map[string]any, error)

// EventType describes one registered event type: its current schema version and the upcasters that
// bring older versions up to it (Upcasters[0] turns version 1 into 2, and so on).
type EventType struct {
	Name      string
	Version   int
	Upcasters []Upcaster
	decode    func([]byte) (Event, error)
}

// Type registers event E at schema version len(upcasters)+1.
func Type[E Event](upcasters ...Upcaster) EventType {
	var zero E
	return EventType{
		Name:      zero.EventType(),
		Version:   len(upcasters) + 1,
		Upcasters: upcasters,
		decode: func(data []byte) (Event, error) {
			var e E
			if err := json.Unmarshal(data, &e); err != nil {
				return nil, err
			}
			return e, nil
		},
	}
}

// Registry maps event type names to their Go types and schema versions. With PersonalKeys (WithKeys) it
// seals the personal data of events it encodes and opens that of events it decodes.
type Registry struct {
	types map[string]EventType
	keys  PersonalKeys
}

// WithKeys returns the registry sealing and opening personal data with keys.
func (r *Registry) WithKeys(keys PersonalKeys) *Registry {
	return &Registry{types: r.types, keys: keys}
}

// OrWithKeys is the registry, or, when it has no keys, the registry with keys.
func (r *Registry) OrWithKeys(keys PersonalKeys) *Registry {
	if r.keys != nil {
		return r
	}
	return r.WithKeys(keys)
}

// Keys is what the registry seals and opens personal data with; nil when it has none.
func (r *Registry) Keys() PersonalKeys { return r.keys }

// NewRegistry builds a registry; a name registered twice is a programming error.
func NewRegistry(types ...EventType) *Registry {
	r := &Registry{types: make(map[string]EventType, len(types))}
	for _, t := range types {
		if _, dup := r.types[t.Name]; dup {
			panic("domain: event type registered twice: " + t.Name)
		}
		r.types[t.Name] = t
	}
	return r
}

// Version is the current schema version of event type name (0 for a type not registered).
func (r *Registry) Version(name string) int { return r.types[name].Version }

// Names lists every registered event type name.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.types))
	for n := range r.types {
		names = append(names, n)
	}
	return names
}

// Encode returns the type name, current schema version and JSON data of an event.
func (r *Registry) Encode(e Event) (name string, version int, data []byte, err error) {
	t, ok := r.types[e.EventType()]
	if !ok {
		return "", 0, nil, fmt.Errorf("encode event: type %q is not registered", e.EventType())
	}
	if r.keys != nil {
		if e, err = withPersonal(e, func(f personalField) error { return f.seal(r.keys) }); err != nil {
			return "", 0, nil, fmt.Errorf("encode event %s: %w", t.Name, err)
		}
	}
	data, err = json.Marshal(e)
	if err != nil {
		return "", 0, nil, fmt.Errorf("encode event %s: %w", t.Name, err)
	}
	return t.Name, t.Version, data, nil
}

// Decode turns stored JSON of any known schema version into today's event value, its personal data opened.
func (r *Registry) Decode(name string, version int, data []byte) (Event, error) {
	e, err := r.DecodeSealed(name, version, data)
	if err != nil {
		return nil, err
	}
	return r.OpenPersonal(e, r.keys)
}

// DecodeSealed is Decode leaving the personal data sealed, for the events of a batch whose keys are read
// together (BatchOpener) and then opened (OpenPersonal).
func (r *Registry) DecodeSealed(name string, version int, data []byte) (Event, error) {
	t, ok := r.types[name]
	if !ok {
		return nil, fmt.Errorf("decode event: type %q is not registered", name)
	}
	if version < 1 || version > t.Version {
		return nil, fmt.Errorf("decode event %s: schema version %d is not between 1 and %d", name, version, t.Version)
	}
	if version < t.Version {
		var obj map[string]any
		if err := json.Unmarshal(data, &obj); err != nil {
			return nil, fmt.Errorf("decode event %s v%d: %w", name, version, err)
		}
		for v := version; v < t.Version; v++ {
			var err error
			if obj, err = t.Upcasters[v-1](obj); err != nil {
				return nil, fmt.Errorf("upcast event %s from v%d: %w", name, v, err)
			}
		}
		var err error
		if data, err = json.Marshal(obj); err != nil {
			return nil, fmt.Errorf("decode event %s: %w", name, err)
		}
	}
	e, err := t.decode(data)
	if err != nil {
		return nil, fmt.Errorf("decode event %s v%d: %w", name, t.Version, err)
	}
	return e, nil
}

// BatchOpener returns what opens the personal data of events (decoded by DecodeSealed): with BatchKeys,
// the keys of all their sealed values read at once; otherwise the registry's keys, one value at a time.
// It is nil when the registry has no keys, and then the data stays sealed, as Decode leaves it.
func (r *Registry) BatchOpener(events []Event) (PersonalOpener, error) {
	batch, ok := r.keys.(BatchKeys)
	if !ok {
		return r.keys, nil
	}
	var sealed [][]byte
	for _, e := range events {
		if _, err := withPersonal(e, func(f personalField) error {
			if s := f.sealedBytes(); s != nil {
				sealed = append(sealed, s)
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	open, err := batch.KeysFor(sealed)
	if err != nil {
		return nil, err
	}
	return openerFunc(open), nil
}

// OpenPersonal returns e with its personal data opened by opener (e itself when opener is nil).
func (r *Registry) OpenPersonal(e Event, opener PersonalOpener) (Event, error) {
	if opener == nil {
		return e, nil
	}
	opened, err := withPersonal(e, func(f personalField) error { return f.open(opener) })
	if err != nil {
		return nil, fmt.Errorf("decode event %s: %w", e.EventType(), err)
	}
	return opened, nil
}
