package audit

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/http/web/kit"
	auditviews "github.com/mediciasafely/jobserver/projections/auditview"
)

// filterForm is the log's GET form as the address carries it: what was entered, and the message beside
// each field that names nothing.
type filterForm struct {
	kit.Form
	filter auditviews.Filter
}

// filterFields are the form's fields, in the address.
var filterFields = []string{"stream", "type", "actor", "from", "until", "correlation"}

// readFilter reads the filters of the address; the errors say which field could not be used.
func (a *Handlers) readFilter(r *http.Request) (filterForm, error) {
	q := r.URL.Query()
	f := filterForm{Form: kit.Form{Values: map[string]string{}, Errors: map[string]string{}}}
	for _, name := range filterFields {
		f.Values[name] = strings.TrimSpace(q.Get(name))
	}
	v := f.Values
	f.filter = auditviews.Filter{Stream: v["stream"], CorrelationID: v["correlation"]}
	if v["type"] != "" {
		if !slices.Contains(auditviews.Types(), v["type"]) {
			f.Errors["type"] = "There is no event type called " + v["type"] + "."
		}
		f.filter.Type = v["type"]
	}
	if v["actor"] != "" {
		actor, ok, err := a.Views.ActorOf(r.Context(), v["actor"])
		if err != nil {
			return f, err
		}
		if !ok {
			f.Errors["actor"] = "No one has the GitHub login " + v["actor"] + ", and no backend has it as its slug."
		}
		f.filter.Actor = actor
	}
	for _, bound := range []struct {
		name     string
		dst      *time.Time
		endOfDay bool
	}{{"from", &f.filter.From, false}, {"until", &f.filter.Until, true}} {
		if v[bound.name] == "" {
			continue
		}
		t, ok := kit.ParseMoment(v[bound.name], bound.endOfDay)
		if !ok {
			f.Errors[bound.name] = "Write a time such as 2026-12-31T23:59:59Z, or a date such as 2026-12-31."
		}
		*bound.dst = t
	}
	return f, nil
}

// address is the log's address with the form's filters and the extra pairs (a cursor).
func (f filterForm) address(path string, extra ...string) string {
	q := url.Values{}
	for _, name := range filterFields {
		if v := f.Values[name]; v != "" {
			q.Set(name, v)
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// Any reports whether a filter is set.
func (f filterForm) Any() bool {
	for _, v := range f.Values {
		if v != "" {
			return true
		}
	}
	return false
}

// listing is what the log and a history show: a page of events with the addresses of its neighbours.
type listing struct {
	Entries            []auditviews.Entry
	NewerURL, OlderURL string
	// Auditor may follow an event to everything its request did (the whole log).
	Auditor bool
}

// CorrelationURL is the log of everything the request that appended an event did.
func (listing) CorrelationURL(e auditviews.Entry) string {
	return "/audit?correlation=" + url.QueryEscape(e.CorrelationID)
}

// HistoryURL is the history of the event's object.
func (listing) HistoryURL(e auditviews.Entry) string { return auditviews.HistoryURL(e.Stream) }

// logPage is the Data of the "audit_log" page.
type logPage struct {
	listing
	Form  filterForm
	Types []string
}

// logPage is "/audit": the whole log, newest first, filtered by the GET form's fields (so a filtered page is
// an address to share), paged by cursor.
func (a *Handlers) logPage(w http.ResponseWriter, r *http.Request) error {
	if err := a.requireAuditor(r); err != nil {
		return err
	}
	form, err := a.readFilter(r)
	if err != nil {
		return err
	}
	p := logPage{Form: form, Types: auditviews.Types()}
	status := http.StatusOK
	if len(form.Errors) > 0 {
		status = http.StatusUnprocessableEntity
	} else if p.listing, err = a.list(r, form.filter, func(extra ...string) string { return form.address("/audit", extra...) }); err != nil {
		return err
	}
	p.Auditor = true
	a.Page(w, r, status, "audit_log", kit.View{Title: "Audit log", Data: p})
	return nil
}

// list reads the page of events the address's cursor points at; address makes the neighbours' addresses.
func (a *Handlers) list(r *http.Request, f auditviews.Filter, address func(extra ...string) string) (listing, error) {
	after, before, err := cursors(r.URL.Query())
	if err != nil {
		return listing{}, err
	}
	page, err := a.Views.Log(r.Context(), f, after, before, PageSize)
	if err != nil {
		return listing{}, err
	}
	l := listing{Entries: page.Entries}
	if page.Newer != nil {
		l.NewerURL = address("before", page.Newer.String())
	}
	if page.Older != nil {
		l.OlderURL = address("after", page.Older.String())
	}
	return l, nil
}

// historyPage is the Data of the "audit_history" page.
type historyPage struct {
	listing
	Object, Stream string
}

// historyPage is "/audit/history?stream=...": one object's events, newest first. Auditors read every
// history; the members of a project read the histories of the project and of its workspaces, job requests
// and releases.
func (a *Handlers) historyPage(w http.ResponseWriter, r *http.Request) error {
	stream := strings.TrimSpace(r.URL.Query().Get("stream"))
	if stream == "" {
		return domain.Invalid("stream", "Say whose history to show: /audit/history?stream=<stream>.")
	}
	by, err := kit.Viewer(r, a.Queries)
	if err != nil {
		return err
	}
	auditor, err := a.Views.MayReadHistory(r.Context(), by, stream)
	if err != nil {
		return err
	}
	l, err := a.list(r, auditviews.Filter{Stream: stream}, func(extra ...string) string {
		q := url.Values{"stream": {stream}}
		q.Set(extra[0], extra[1])
		return "/audit/history?" + q.Encode()
	})
	if err != nil {
		return err
	}
	l.Auditor = auditor
	object, err := a.Views.ObjectName(r.Context(), stream)
	if err != nil {
		return err
	}
	a.Page(w, r, http.StatusOK, "audit_history", kit.View{Title: "History of " + object,
		Data: historyPage{listing: l, Object: object, Stream: stream}})
	return nil
}
