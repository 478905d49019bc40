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

// Registry maps event type names to their Go types and schema versions.
type Registry struct {
	types map[string]EventType
}

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
	data, err = json.Marshal(e)
	if err != nil {
		return "", 0, nil, fmt.Errorf("encode event %s: %w", t.Name, err)
	}
	return t.Name, t.Version, data, nil
}

// Decode turns stored JSON of any known schema version into today's event value.
func (r *Registry) Decode(name string, version int, data []byte) (Event, error) {
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
