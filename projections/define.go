package projections

import (
	"context"
	"sort"
)

// handler applies one event type.
type handler func(ctx context.Context, db DB, e Event) error

// Handlers is what a projector does with each event type it handles; On adds one.
type Handlers map[string]handler

// Define makes a Projector of a table of handlers: its name and version (bump the version when Apply
// changes meaning), the tables its schema creates, and the DDL.
func Define(name string, version int, tables []string, schema string, handlers Handlers) Projector {
	return definition{name: name, version: version, tables: tables, schema: schema, handlers: handlers}
}

// definition is a Projector written as a table of handlers, one per event type.
type definition struct {
	name     string
	version  int
	schema   string
	tables   []string
	handlers Handlers
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

// On registers the handler of event type E, receiving the decoded payload. A type with a handler already
// (the copies' and the projector's own, both on PersonForgotten) runs both, in the order they were added.
func On[E interface{ EventType() string }](handlers Handlers, apply func(ctx context.Context, db DB, e Event, payload E) error) {
	var zero E
	before := handlers[zero.EventType()]
	handlers[zero.EventType()] = func(ctx context.Context, db DB, e Event) error {
		if before != nil {
			if err := before(ctx, db, e); err != nil {
				return err
			}
		}
		return apply(ctx, db, e, e.Payload.(E))
	}
}
