package kit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/mediciasafely/jobserver/domain"
	"github.com/mediciasafely/jobserver/projections"
	auditviews "github.com/mediciasafely/jobserver/projections/auditview"
	identityviews "github.com/mediciasafely/jobserver/projections/identity"
)

// Time travel for auditors: any page's address with ?as_of=<time> shows the page as it was then. One
// mechanism serves every page: the request's views read the read models rebuilt from the log up to that
// time (projections.TimeTravel, through projections.View), the layout says so in a banner, and the links of
// the page keep as_of, so an auditor can walk the past. Only audit_log_view may, and only with GET: the
// past cannot be changed.

// AsOfParam is the query parameter of time travel.
const AsOfParam = "as_of"

type asOfKey struct{}

// AsOf is the moment the request's page shows, or nil for now.
func AsOf(r *http.Request) *time.Time {
	t, _ := r.Context().Value(asOfKey{}).(*time.Time)
	return t
}

// TimeTravel is the middleware of ?as_of=: it checks the viewer may read the past (the live read model of
// roles, not the past one), reads the time, and points the request's views at the read models as they were.
func (k *Kit) TimeTravel(q *identityviews.Queries, past *projections.TimeTravel) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw := r.URL.Query().Get(AsOfParam)
			if raw == "" || past == nil {
				next.ServeHTTP(w, r)
				return
			}
			if CurrentUserOf(r) == nil {
				RequireLogin(next).ServeHTTP(w, r)
				return
			}
			ctx, done, err := k.travel(r, q, past, raw)
			if err != nil {
				k.Fail(w, r, err)
				return
			}
			defer done()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

func (k *Kit) travel(r *http.Request, q *identityviews.Queries, past *projections.TimeTravel, raw string) (context.Context, func(), error) {
	perms, err := Permissions(r, q, "")
	if err != nil {
		return nil, nil, err
	}
	if !perms.Has(domain.AuditLogView) {
		return nil, nil, domain.Forbidden(domain.AuditLogView)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return nil, nil, domain.Refused("A page as it was in the past can be looked at, not changed. Leave out as_of to act.")
	}
	t, ok := ParseMoment(raw, true)
	if !ok {
		return nil, nil, domain.Invalid(AsOfParam, "as_of must be a time such as 2026-12-31T23:59:59Z, or a date such as 2026-12-31.")
	}
	ctx, done, err := past.At(r.Context(), t)
	if err != nil {
		return nil, nil, err
	}
	return context.WithValue(ctx, asOfKey{}, &t), done, nil
}

// ParseMoment reads a time as people and forms write it: RFC 3339, a form's date and time (taken as UTC),
// or a date, which means its start, or with endOfDay its last moment.
func ParseMoment(s string, endOfDay bool) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		if endOfDay {
			return d.Add(24*time.Hour - time.Microsecond), true
		}
		return d, true
	}
	return time.Time{}, false
}

// pastBanner is what the layout shows above a page drawn as it was: when, and the address of the page now.
type pastBanner struct {
	At     time.Time
	NowURL string
}

// bannerOf is the banner of a request's page, or nil for the present.
func bannerOf(r *http.Request) *pastBanner {
	at := AsOf(r)
	if at == nil {
		return nil
	}
	u := *r.URL
	q := u.Query()
	q.Del(AsOfParam)
	u.RawQuery = q.Encode()
	return &pastBanner{At: *at, NowURL: u.RequestURI()}
}

// siteLink is a link attribute to a page of this site (a path); the banner's link back to now is marked
// data-now.
var siteLink = regexp.MustCompile(`\b(href|hx-get)="(/[^/"][^"]*|/)"( data-now)?`)

// keepAsOf adds as_of to every link of a page drawn as it was, so the auditor stays in the past.
func keepAsOf(page []byte, r *http.Request) []byte {
	at := AsOf(r)
	if at == nil {
		return page
	}
	param := AsOfParam + "=" + url.QueryEscape(at.UTC().Format(time.RFC3339Nano))
	return siteLink.ReplaceAllFunc(page, func(m []byte) []byte {
		sub := siteLink.FindSubmatch(m)
		attr, link := sub[1], sub[2]
		if len(sub[3]) > 0 || bytes.HasPrefix(link, []byte("/static/")) || bytes.Contains(link, []byte(AsOfParam+"=")) {
			return m
		}
		sep := "?"
		if bytes.ContainsRune(link, '?') {
			sep = "&amp;"
		}
		if i := bytes.IndexByte(link, '#'); i >= 0 {
			return []byte(string(attr) + `="` + string(link[:i]) + sep + param + string(link[i:]) + `"`)
		}
		return []byte(string(attr) + `="` + string(link) + sep + param + `"`)
	})
}

type historyKey struct{}

// HistoryReaders is the middleware that lets a page ask, through HistoryLink, the question the history
// page asks (auditviews.Queries.MayReadHistory) before it shows a History link.
func HistoryReaders(views *auditviews.Queries) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), historyKey{}, views)))
		})
	}
}

// Viewer is the request's user as a decision sees them: their id and their global permissions (nobody's
// for a visitor who is not logged in).
func Viewer(r *http.Request, q *identityviews.Queries) (domain.Actor, error) {
	perms, err := Permissions(r, q, "")
	if err != nil {
		return domain.Actor{}, err
	}
	by := domain.Actor{Can: perms}
	if u := CurrentUserOf(r); u != nil {
		by.UserID = u.ID
	}
	return by, nil
}

// HistoryLink is the address of the History link of an object's page (kind: the prefix of the object's
// stream, or "organisation"; id), or "" when the viewer may not read that history, so the page offers no link the history page
// would refuse.
func HistoryLink(r *http.Request, q *identityviews.Queries, kind, id string) (string, error) {
	views, ok := r.Context().Value(historyKey{}).(*auditviews.Queries)
	if !ok {
		return "", errors.New("history links: the server did not install kit.HistoryReaders")
	}
	stream, err := historyStream(kind, id)
	if err != nil {
		return "", err
	}
	by, err := Viewer(r, q)
	if err != nil {
		return "", err
	}
	if _, err := views.MayReadHistory(r.Context(), by, stream); domain.KindOf(err) == domain.KindForbidden {
		return "", nil
	} else if err != nil {
		return "", err
	}
	return auditviews.HistoryURL(stream), nil
}

// historyStream is the stream of an object whose history a page links to. The kinds are the prefixes of
// the objects' streams, and "organisation" (the staff area's word). An unknown kind is a template's or a
// handler's mistake, found when the page is drawn.
func historyStream(kind, id string) (string, error) {
	if kind == "organisation" {
		kind = "org"
	}
	stream, ok := auditviews.ObjectStream(kind, id)
	if !ok {
		return "", fmt.Errorf("history links: no objects of kind %q", kind)
	}
	return stream, nil
}
