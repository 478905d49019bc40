package projections

import (
	"context"
	"sort"
)

// handler applies one event type.
type handler func(ctx context.Context, db DB, e Event) error

// definition is a Projector written as a table of handlers, one per event type.
type definition struct {
	name     string
	version  int
	schema   string
	tables   []string
	handlers map[string]handler
}

func (d definition) Name() string     { return d.name }
func (d definition) Version() int     { return d.version }
func (d definition) Schema() string   { return d.schema }
func (d definition) Tables() []string { return d.tables }

func (d definition) Handles() []string {
	types := make([]string, 0, len(d.handlers))
	for t := range d.handlers {
		types = append(types, t)
	}
	sort.Strings(types)
	return types
}

func (d definition) Apply(ctx context.Context, db DB, e Event) error {
	if h, ok := d.handlers[e.Type]; ok {
		return h(ctx, db, e)
	}
	return nil
}

// on registers the handler of event type E, receiving the decoded payload.
func on[E interface{ EventType() string }](handlers map[string]handler, apply func(ctx context.Context, db DB, e Event, payload E) error) {
	var zero E
	handlers[zero.EventType()] = func(ctx context.Context, db DB, e Event) error {
		return apply(ctx, db, e, e.Payload.(E))
	}
}
