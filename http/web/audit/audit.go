// Package audit is the auditors' pages: /audit (the whole event log, newest first, filtered and paged,
// each event said in a sentence with its data on demand), each object's history (/audit/history), and
// /audit/export (the sealed log with its hash chain, as `jobserver audit export` writes it).
package audit

import (
	"embed"
	"net/http"
	"net/url"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	"github.com/mediciasafely/jobserver/projections"
	auditviews "github.com/mediciasafely/jobserver/projections/auditview"
)

// Handlers serve the audit pages.
type Handlers struct {
	kit.Slice
	Views *auditviews.Queries
	// Pool is the database the export reads the sealed log from.
	Pool *pgxpool.Pool
	// Now is the clock of the export's header; nil is time.Now.
	Now func() time.Time
}

// Templates are the slice's pages, for the renderer.
var Templates = kit.Templates(templates)

//go:embed templates
var templates embed.FS

// PageSize is the number of events on a page.
const PageSize = 50

// Routes mounts the pages, for logged-in users only.
func (a *Handlers) Routes(r chi.Router) {
	r = r.With(kit.RequireLogin)
	r.Get("/audit", a.Handle(a.logPage))
	r.Get("/audit/history", a.Handle(a.historyPage))
	r.Get("/audit/export", a.Handle(a.export))
}

// requireAuditor refuses whoever may not read the whole log (audit_log_view).
func (a *Handlers) requireAuditor(r *http.Request) error {
	perms, err := kit.Permissions(r, a.Queries, "")
	if err != nil {
		return err
	}
	if !perms.Has(domain.AuditLogView) {
		return domain.Forbidden(domain.AuditLogView)
	}
	return nil
}

// cursors reads the page's place in the list from its address.
func cursors(q url.Values) (after, before *projections.Cursor, err error) {
	for key, dst := range map[string]**projections.Cursor{"after": &after, "before": &before} {
		if s := q.Get(key); s != "" {
			c, ok := projections.ParseCursor(s)
			if !ok {
				return nil, nil, domain.Invalid(key, "This page's address is not one of the log's. Start again from its first page.")
			}
			*dst = &c
		}
	}
	return after, before, nil
}
