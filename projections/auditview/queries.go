package auditview

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/oklog/ulid/v2"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/eventstore"
	"github.com/mediciasafely/jobserver/projections"
)

// Queries reads the audit pages' read model. Each view reads one snapshot of this projector's tables.
type Queries struct {
	pool *pgxpool.Pool
	// events opens the personal data of the events a sentence is written from.
	events *domain.Registry
}

// NewQueries returns queries on pool, writing sentences from events decoded with events (nil: the
// registry with the process's keys, as commands and projectors default to).
func NewQueries(pool *pgxpool.Pool, events *domain.Registry) *Queries {
	if events == nil {
		events = domain.Events.OrWithKeys(eventstore.Process())
	}
	return &Queries{pool: pool, events: events}
}

type querier = projections.Querier

// Filter chooses the events of a page of the log; the zero value is every event.
type Filter struct {
	// Stream is one object's stream ("project-01H...").
	Stream string
	// Type is an event type name.
	Type string
	// Actor is who acted as the metadata records them ("user:<id>", "cli", "backend:<id>", ...).
	Actor string
	// CorrelationID is the request (or command line run) that appended the events.
	CorrelationID string
	// From and Until bound the time the events were recorded, both included; zero is no bound.
	From, Until time.Time
}

// Entry is one event as the audit pages show it.
type Entry struct {
	ID            string
	RecordedAt    time.Time
	Stream        string
	Version       int64
	Type          string
	SchemaVersion int
	Actor         string
	CorrelationID string
	// Sentence is what the event did, for people.
	Sentence []Words
	// Data and Metadata are the event's JSON, indented.
	Data, Metadata string

	raw string // the data as stored, for the sentence
}

// Words are a run of a sentence: plain words, a value the event carries (Quoted), or the name of a thing
// with the address of its history (Link, "" when it has none).
type Words struct {
	Text   string
	Quoted bool
	Link   string
	// Joined marks punctuation that follows the words before it without a space.
	Joined bool
}

// Page is a page of the log, newest first, with the cursors of the neighbouring pages (nil at either end).
type Page struct {
	Entries      []Entry
	Newer, Older *projections.Cursor
}

// Log reads a page of size events matching f: the first page (no cursor), the page after the event at
// after (older), or the page before the event at before (newer).
func (q *Queries) Log(ctx context.Context, f Filter, after, before *projections.Cursor, size int) (Page, error) {
	var p Page
	err := projections.View(ctx, q.pool, func(db querier) error {
		sql, args, err := logStatement(f, after, before, size)
		if err != nil {
			return err
		}
		rows, err := db.Query(ctx, sql, args...)
		entries, err := projections.All(rows, err, scanEntry)
		if err != nil {
			return err
		}
		p.Entries, p.Newer, p.Older = projections.KeysetPage(entries, size, after, before,
			func(e Entry) projections.Cursor { return projections.Cursor{At: e.RecordedAt, ID: e.ID} })
		return q.tell(ctx, db, p.Entries)
	})
	return p, err
}

const entryColumns = `a.id, a.recorded_at, a.stream, e.stream_version, a.type, e.schema_version, a.actor, a.correlation_id,
	e.data::text, e.metadata::text`

// The data and metadata are the log's, read by the events' ids.
const entriesFrom = ` FROM auditview_events a JOIN events e ON e.event_id = a.id`

// logStatement is the statement of a page: size+1 rows, the one past the page telling whether there is a
// next. Each filter compares a column with a value, so the planner walks that column's index from the
// cursor.
func logStatement(f Filter, after, before *projections.Cursor, size int) (string, []any, error) {
	where, args := []string{"true"}, []any{}
	arg := func(x any) string { args = append(args, x); return fmt.Sprintf("$%d", len(args)) }
	for _, eq := range []struct{ column, value string }{{"a.stream", f.Stream}, {"a.type", f.Type},
		{"a.actor", f.Actor}, {"a.correlation_id", f.CorrelationID}} {
		if eq.value != "" {
			where = append(where, eq.column+" = "+arg(eq.value))
		}
	}
	if !f.From.IsZero() {
		where = append(where, "a.recorded_at >= "+arg(f.From))
	}
	if !f.Until.IsZero() {
		where = append(where, "a.recorded_at <= "+arg(f.Until))
	}
	order := "DESC"
	for _, c := range []struct {
		at *projections.Cursor
		op string
	}{{after, "<"}, {before, ">"}} {
		if c.at == nil {
			continue
		}
		id, err := ulid.ParseStrict(c.at.ID)
		if err != nil {
			return "", nil, domain.Invalid("after", "This page's address is not one of the log's.")
		}
		where = append(where, "(a.recorded_at, a.id) "+c.op+" ("+arg(c.at.At)+", "+arg([16]byte(id))+")")
		if c.op == ">" {
			order = "ASC"
		}
	}
	limit := arg(size + 1)
	return `SELECT ` + entryColumns + entriesFrom + ` WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY a.recorded_at ` + order + `, a.id ` + order + ` LIMIT ` + limit, args, nil
}

func scanEntry(row pgx.CollectableRow) (Entry, error) {
	var e Entry
	var id [16]byte
	var data, metadata string
	if err := row.Scan(&id, &e.RecordedAt, &e.Stream, &e.Version, &e.Type, &e.SchemaVersion, &e.Actor, &e.CorrelationID,
		&data, &metadata); err != nil {
		return e, err
	}
	e.ID = ulid.ULID(id).String()
	e.raw, e.Data, e.Metadata = data, indented(data), indented(metadata)
	return e, nil
}

func indented(raw string) string {
	var b bytes.Buffer
	if json.Indent(&b, []byte(raw), "", "  ") != nil {
		return raw
	}
	return b.String()
}

// tell writes each entry's sentence, with the names of what it refers to as this read model has them now.
func (q *Queries) tell(ctx context.Context, db querier, entries []Entry) error {
	said := make([]sentence, len(entries))
	wanted := map[refKind]map[string]bool{}
	for i, e := range entries {
		payload, err := q.events.Decode(e.Type, e.SchemaVersion, []byte(e.raw))
		say, known := sentences[e.Type]
		if err != nil || !known {
			said[i] = say0(e.Type)
			continue
		}
		said[i] = say(payload)
		for _, p := range said[i] {
			if p.ref.kind == noRef {
				continue
			}
			kind, id := p.ref.kind, p.ref.id
			if kind == actorRef {
				kind, id = actorKind(e.Actor)
			}
			if wanted[kind] == nil {
				wanted[kind] = map[string]bool{}
			}
			wanted[kind][id] = true
		}
	}
	names, err := lookUp(ctx, db, wanted)
	if err != nil {
		return err
	}
	for i := range entries {
		entries[i].Sentence = words(said[i], entries[i].Actor, names)
	}
	return nil
}

// say0 is what an event the registry cannot read says.
func say0(eventType string) sentence { return say(actor, "recorded", quoted(eventType)) }

// actorKind is what the actor recorded in an event's metadata is: a person or a backend's runner (with
// their id), or else noRef.
func actorKind(recorded string) (refKind, string) {
	if id, ok := strings.CutPrefix(recorded, "user:"); ok {
		return personRef, id
	}
	if id, ok := strings.CutPrefix(recorded, "backend:"); ok {
		return backendRef, id
	}
	return noRef, ""
}

// named is a thing's name and whether it was found.
type named map[refKind]map[string]string

// lookUp reads the names of the things wanted, one statement per kind.
func lookUp(ctx context.Context, db querier, wanted map[refKind]map[string]bool) (named, error) {
	tables := map[refKind]string{
		personRef:    `SELECT id, coalesce(nullif(name, ''), login) FROM auditview_people WHERE id = ANY($1)`,
		orgRef:       `SELECT id, name FROM auditview_orgs WHERE id = ANY($1)`,
		projectRef:   `SELECT id, name FROM auditview_projects WHERE id = ANY($1)`,
		backendRef:   `SELECT id, name FROM auditview_backends WHERE id = ANY($1)`,
		workspaceRef: `SELECT id, name FROM auditview_workspaces WHERE id = ANY($1)`,
	}
	names := named{}
	for kind, ids := range wanted {
		sql, ok := tables[kind]
		if !ok {
			continue
		}
		list := make([]string, 0, len(ids))
		for id := range ids {
			list = append(list, id)
		}
		rows, err := db.Query(ctx, sql, list)
		pairs, err := projections.All(rows, err, pgx.RowToStructByPos[struct{ ID, Name string }])
		if err != nil {
			return nil, err
		}
		names[kind] = make(map[string]string, len(pairs))
		for _, p := range pairs {
			names[kind][p.ID] = p.Name
		}
	}
	return names, nil
}

// words turns a sentence's references into names with the addresses of their histories.
func words(s sentence, recordedActor string, names named) []Words {
	out := make([]Words, 0, len(s))
	for _, p := range s {
		if p.ref.kind == noRef {
			out = append(out, Words{Text: p.text, Quoted: p.quoted, Joined: p.text != "" && strings.ContainsAny(p.text[:1], ",.:;)")})
			continue
		}
		kind, id := p.ref.kind, p.ref.id
		if kind == actorRef {
			kind, id = actorKind(recordedActor)
			if kind == noRef {
				out = append(out, Words{Text: actorInWords(recordedActor)})
				continue
			}
		}
		name, found := names[kind][id]
		w := Words{Text: name, Link: HistoryURL(streamOf(kind, id))}
		switch {
		case kind == jobRequestRef:
			w.Text = "job request " + id
		case kind == releaseRef:
			w.Text = "release " + id
		case kind == applicationRef:
			w.Text = "application " + id
		case !found:
			w.Text = kindWords[kind] + " " + id
		}
		if p.ref.kind == actorRef && kind == backendRef {
			w.Text = "The runner of " + w.Text
		}
		out = append(out, w)
	}
	return out
}

// kindWords names a thing whose name this read model does not have.
var kindWords = map[refKind]string{personRef: "the user", orgRef: "the organisation", projectRef: "the project",
	backendRef: "the backend", workspaceRef: "the workspace"}

// actorInWords is an actor who is neither a person nor a runner.
func actorInWords(recorded string) string {
	switch {
	case recorded == "cli":
		return "The operator (command line)"
	case strings.HasPrefix(recorded, "reactor:"):
		return "The server"
	case recorded == "anonymous":
		return "Someone not logged in"
	}
	return "Someone"
}

// streamOf is the stream of the thing a reference names.
func streamOf(kind refKind, id string) string {
	for _, k := range objectKinds {
		if k.ref == kind {
			return k.stream(id)
		}
	}
	return ""
}

// HistoryURL is the address of the history of a stream's object.
func HistoryURL(stream string) string { return "/audit/history?stream=" + url.QueryEscape(stream) }

// ObjectStream is the stream of the object of a kind ("project", "jobrequest": the prefixes of
// domain/streams.go) and id, whose history it is; ok is false for a kind without a history.
func ObjectStream(kind, id string) (string, bool) {
	k, ok := objectKinds[kind]
	if !ok {
		return "", false
	}
	return k.stream(id), true
}

// MayReadHistory is the one rule of who reads the history of stream, asked by the history page and by
// every page that links to one, so a link is shown exactly to whoever the page lets in: audit_log_view
// reads every history (auditor is then true); the members of a project, whatever their roles, read the
// histories of the project and of what belongs to it (its workspaces, job requests and releases); anyone
// else is refused. Reading appends nothing, so no command stands behind this: the viewer's permissions
// come from the roles read model and membership from this projector's copy of the members.
func (q *Queries) MayReadHistory(ctx context.Context, by domain.Actor, stream string) (auditor bool, err error) {
	if by.Can.Has(domain.AuditLogView) {
		return true, nil
	}
	if by.UserID != "" {
		var member bool
		err := q.pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM auditview_streams s
			JOIN auditview_project_members m ON m.project_id = s.project_id
			WHERE s.stream = $1 AND m.user_id = $2)`, stream, by.UserID).Scan(&member)
		if err != nil || member {
			return false, err
		}
	}
	return false, domain.Refused(historyRefusal)
}

// historyRefusal is what a viewer who may not read a history is told.
const historyRefusal = "Only the members of its project, auditors and admins can read this history."

// ActorOf is the actor recorded in metadata for what a filter names: a person's GitHub login, a backend's
// slug (its runner), or "cli", "anonymous" and the actors recorded as they are; ok is false when it names
// nobody.
func (q *Queries) ActorOf(ctx context.Context, name string) (actor string, ok bool, err error) {
	if name == "cli" || name == "anonymous" || strings.Contains(name, ":") {
		return name, true, nil
	}
	err = q.pool.QueryRow(ctx, `SELECT 'user:' || id FROM auditview_people WHERE lower(login) = lower($1)
		UNION ALL SELECT 'backend:' || id FROM auditview_backends WHERE slug = $1 LIMIT 1`, name).Scan(&actor)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return actor, err == nil, err
}

// Types are the event types a filter may choose, sorted.
func Types() []string {
	names := domain.Events.Names()
	slices.Sort(names)
	return names
}

// objectKinds are the things with a history, by the prefix of their streams (domain/streams.go): what a
// sentence's reference to one is, and the stream of one.
var objectKinds = map[string]struct {
	ref    refKind
	stream func(id string) string
}{
	"user": {personRef, domain.UserStream}, "org": {orgRef, domain.OrgStream}, "project": {projectRef, domain.ProjectStream},
	"backend": {backendRef, domain.BackendStream}, "workspace": {workspaceRef, domain.WorkspaceStream},
	"jobrequest": {jobRequestRef, domain.JobRequestStream}, "release": {releaseRef, domain.ReleaseStream},
	"application": {applicationRef, domain.ApplicationStream},
}

// ObjectName is the name of the thing whose stream this is, for the heading of its history ("the stream
// x" for a stream of no named thing).
func (q *Queries) ObjectName(ctx context.Context, stream string) (string, error) {
	prefix, id, _ := strings.Cut(stream, "-")
	kind, ok := objectKinds[prefix]
	if !ok || id == "" {
		return "the stream " + stream, nil
	}
	names, err := lookUp(ctx, q.pool, map[refKind]map[string]bool{kind.ref: {id: true}})
	if err != nil {
		return "", err
	}
	return words(say(ref{kind.ref, id}), "", names)[0].Text, nil
}
