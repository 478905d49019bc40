package audit

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	"github.com/mediciasafely/jobserver/projections/audit"
)

// export is "GET /audit/export?from=&until=&stream=": the sealed log as NDJSON with its chain and signed
// checkpoints, the lines `jobserver audit export` writes (docs/audit.md), streamed in keyset batches so
// memory stays flat whatever the size of the log, as a file to save.
func (a *Handlers) export(w http.ResponseWriter, r *http.Request) error {
	if err := a.requireAuditor(r); err != nil {
		return err
	}
	filter, err := exportFilter(r)
	if err != nil {
		return err
	}
	// An export of a large log outlives the deadline of a page: it goes on while the client reads, and
	// stops when it goes away (a write fails) or the server stops.
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	stop := context.AfterFunc(r.Context(), func() {
		if r.Context().Err() == context.Canceled {
			cancel()
		}
	})
	defer stop()
	src, err := audit.OpenLog(ctx, a.Pool, filter)
	if err != nil && filter.From > 1 {
		return domain.Invalid("from", fmt.Sprintf("The export cannot start there: %v.", err))
	}
	if err != nil {
		return err
	}
	defer src.Close()
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	at := now()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="jobserver-audit-`+at.UTC().Format("20060102T150405Z")+`.ndjson"`)
	if _, err := audit.Export(w, src, at, nil); err != nil {
		// The header has gone: all that is left is to cut the file short (an export verifies only whole)
		// and say why in the log.
		a.Logger.WarnContext(r.Context(), "the audit export stopped", "error", err)
	}
	return nil
}

// exportFilter reads the export's parameters: from (a position, from 1), until (a time) and stream.
func exportFilter(r *http.Request) (audit.Filter, error) {
	q := r.URL.Query()
	f := audit.Filter{From: 1, Stream: strings.TrimSpace(q.Get("stream"))}
	if s := strings.TrimSpace(q.Get("from")); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return f, domain.Invalid("from", "from is a position in the chain: a whole number from 1.")
		}
		f.From = n
	}
	if s := strings.TrimSpace(q.Get("until")); s != "" {
		t, ok := kit.ParseMoment(s, true)
		if !ok {
			return f, domain.Invalid("until", "until must be a time such as 2026-12-31T23:59:59Z, or a date such as 2026-12-31.")
		}
		f.Until = t
	}
	return f, nil
}
