package projections

// All returns every read-model projector of the service.
func All() []Projector {
	return []Projector{Users(), Orgs(), Backends(), Projects()}
}
