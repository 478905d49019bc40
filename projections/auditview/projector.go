// Package auditview holds the read model of the audit pages: an index of every event of the log by
// stream, type, actor, correlation id and time, newest first, so that /audit and each object's history
// are an index range scan from their cursor whatever the size of the log; the project each object's
// stream belongs to, for who may read its history; and its own copies of the names its sentences show.
// The events' data and metadata are read from the log itself, by id, never copied.
package auditview

import (
	"context"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/projections"
)

// AuditViewProjector is the name of the projector behind the audit pages.
const AuditViewProjector = "audit_view"

// copies are the names the sentences show of what other slices own.
var copies = projections.CopiesNamed("auditview")

// Projector indexes every event type the registry knows.
func Projector() projections.Projector {
	h := projections.Handlers{}
	copies.Register(h)
	return projector{Projector: projections.Define(AuditViewProjector, 1,
		append([]string{"auditview_events", "auditview_streams", "auditview_workspaces"}, copies.Tables()...), schema+copies.Schema(), h)}
}

// Projectors are the read models of the audit slice.
func Projectors() []projections.Projector { return []projections.Projector{Projector()} }

// projector indexes every event and keeps what belongs to which project, then lets the copies' handlers
// keep the names.
type projector struct{ projections.Projector }

func (projector) Handles() []string { return domain.Events.Names() }

func (p projector) Apply(ctx context.Context, db projections.DB, e projections.Event) error {
	if err := db.Exec(ctx, `INSERT INTO auditview_events (id, recorded_at, stream, type, actor, correlation_id)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
		[16]byte(e.ID), e.RecordedAt, e.Stream, e.Type, e.Metadata.Actor, e.Metadata.CorrelationID); err != nil {
		return err
	}
	if err := onObjects(ctx, db, e.Payload); err != nil {
		return err
	}
	return p.Projector.Apply(ctx, db, e)
}

// Every filter has an index in the log's order (newest first by time, then id), so a page is a range scan
// of one index from the cursor.
const schema = `
	CREATE TABLE auditview_events (
		id             uuid PRIMARY KEY,
		recorded_at    timestamptz NOT NULL,
		stream         text COLLATE "C" NOT NULL,
		type           text NOT NULL,
		actor          text NOT NULL,
		correlation_id text NOT NULL
	);
	CREATE INDEX auditview_events_newest ON auditview_events (recorded_at DESC, id DESC);
	CREATE INDEX auditview_events_stream ON auditview_events (stream, recorded_at DESC, id DESC);
	CREATE INDEX auditview_events_type ON auditview_events (type, recorded_at DESC, id DESC);
	CREATE INDEX auditview_events_actor ON auditview_events (actor, recorded_at DESC, id DESC);
	CREATE INDEX auditview_events_correlation ON auditview_events (correlation_id, recorded_at DESC, id DESC);
	CREATE TABLE auditview_streams (
		stream     text COLLATE "C" PRIMARY KEY,
		project_id text NOT NULL
	);
	CREATE TABLE auditview_workspaces (
		id         text PRIMARY KEY,
		name       text NOT NULL,
		project_id text NOT NULL
	);`

// onObjects keeps the project each object's stream belongs to (whose members may read its history) and
// the workspaces' names.
func onObjects(ctx context.Context, db projections.DB, payload domain.Event) error {
	belongs := func(stream, projectID string) error {
		return db.Exec(ctx, `INSERT INTO auditview_streams (stream, project_id) VALUES ($1, $2) ON CONFLICT (stream) DO NOTHING`,
			stream, projectID)
	}
	switch ev := payload.(type) {
	case domain.ProjectCreated:
		return belongs(domain.ProjectStream(ev.ProjectID), ev.ProjectID)
	case domain.WorkspaceCreated:
		if err := db.Exec(ctx, `INSERT INTO auditview_workspaces (id, name, project_id) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
			ev.WorkspaceID, ev.Name, ev.ProjectID); err != nil {
			return err
		}
		return belongs(domain.WorkspaceStream(ev.WorkspaceID), ev.ProjectID)
	case domain.JobRequested:
		return belongs(domain.JobRequestStream(ev.JobRequestID), ev.ProjectID)
	case domain.ReleaseCreated:
		return belongs(domain.ReleaseStream(ev.ReleaseID), ev.ProjectID)
	}
	return nil
}
