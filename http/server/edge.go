package server

import (
	"context"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mediciasafely/jobserver/http/web"
)

// contentSecurityPolicy allows scripts, styles and everything else only from our own origin: no inline
// script or style, no eval, no plugins, and no framing by any site. Images may come from any https origin,
// for GitHub's avatars. form-action is left open: "Log in with GitHub" posts a form that redirects to GitHub.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; " +
	"object-src 'none'; base-uri 'self'; frame-ancestors 'none'"

// securityHeaders sets the headers that tell browsers how to treat every response: the content security
// policy, no framing, no content sniffing, no referrer to other sites and, on https, HTTPS only.
func securityHeaders(https bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Security-Policy", contentSecurityPolicy)
			h.Set("X-Frame-Options", "DENY")
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "same-origin")
			if https {
				h.Set("Strict-Transport-Security", "max-age=31536000")
			}
			next.ServeHTTP(w, r)
		})
	}
}

// ParseTrustedProxies reads a comma-separated list of IP addresses and CIDR prefixes ("10.0.0.0/8, ::1").
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if strings.Contains(item, "/") {
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, fmt.Errorf("%q is not an IP address or CIDR prefix", item)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or CIDR prefix", item)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// clientIP sets the request's RemoteAddr to the client's address. The X-Forwarded-For and X-Real-IP headers
// are believed only from a trusted proxy, since anyone else can write them: from X-Forwarded-For the
// rightmost address that is not itself a trusted proxy, else X-Real-IP. From anyone else, the socket's peer.
func clientIP(trusted []netip.Prefix) func(http.Handler) http.Handler {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			peer, err := netip.ParseAddrPort(r.RemoteAddr)
			if err != nil || len(trusted) == 0 || !isTrusted(peer.Addr()) {
				next.ServeHTTP(w, r)
				return
			}
			client := netip.Addr{}
			forwarded := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
			for i := len(forwarded) - 1; i >= 0; i-- {
				a, err := netip.ParseAddr(strings.TrimSpace(forwarded[i]))
				if err != nil {
					break // a hop we cannot read: trust nothing further left
				}
				client = a.Unmap()
				if !isTrusted(client) {
					break
				}
			}
			if !client.IsValid() {
				if a, err := netip.ParseAddr(strings.TrimSpace(r.Header.Get("X-Real-IP"))); err == nil {
					client = a.Unmap()
				}
			}
			if client.IsValid() {
				r2 := *r
				r2.RemoteAddr = client.String() // as chi's RealIP did: no port, since none is known
				r = &r2
			}
			next.ServeHTTP(w, r)
		})
	}
}

// deadline gives each request's context a deadline, so that its database work gives up rather than hang
// when the database does not answer; the page then answers 503 (see dbstatus). A stream of Server-Sent
// Events lives as long as its page is open: it bounds its own work and writes instead.
func deadline(timeout time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if timeout <= 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
				next.ServeHTTP(w, r)
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// maxFormMemory is how much of a multipart form is kept in memory; the rest goes to temporary files.
const maxFormMemory = 32 << 20

// refuseBadBytes refuses input that is not text before any handler sees it: a path with a NUL byte, a
// control character or invalid UTF-8 does not name a page (404); such a query parameter or form field is
// bad input (422), not a database error. Forms are parsed here; r.ParseForm and r.FormValue in later
// handlers (CSRF protection included) reuse what was parsed. Bodies under /api/ are JSON or files, not forms,
// and are left unread.
func refuseBadBytes(renderer *web.Renderer) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !isCleanPath(r.URL.Path) {
				fail(w, r, renderer, http.StatusNotFound, "")
				return
			}
			query, _ := url.ParseQuery(r.URL.RawQuery) // the pairs that parse; handlers never see the others
			if !isCleanValues(query) {
				fail(w, r, renderer, http.StatusUnprocessableEntity, badTextMessage)
				return
			}
			if isForm(r) && !strings.HasPrefix(r.URL.Path, "/api/") {
				var err error
				if mediaType(r) == "multipart/form-data" {
					err = r.ParseMultipartForm(maxFormMemory)
				} else {
					err = r.ParseForm()
				}
				if err != nil {
					fail(w, r, renderer, http.StatusBadRequest, "The form could not be read. Go back, reload the page and try again.")
					return
				}
				if !isCleanValues(r.PostForm) || r.MultipartForm != nil && !isCleanFileNames(r.MultipartForm.File) {
					fail(w, r, renderer, http.StatusUnprocessableEntity, badTextMessage)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

const badTextMessage = "What was sent contains characters that are not text (such as a NUL byte or invalid UTF-8). " +
	"Check what you entered and try again."

func isForm(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return false
	}
	t := mediaType(r)
	return t == "application/x-www-form-urlencoded" || t == "multipart/form-data"
}

func mediaType(r *http.Request) string {
	t, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return t
}

// isCleanPath: valid UTF-8 without control characters.
func isCleanPath(p string) bool {
	return utf8.ValidString(p) && strings.IndexFunc(p, unicode.IsControl) < 0
}

// isCleanText: valid UTF-8 without NUL, which Postgres cannot store in text. Other control characters (a
// line break in a text area) are for the domain to judge.
func isCleanText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

func isCleanValues(values url.Values) bool {
	for k, vs := range values {
		if !isCleanText(k) {
			return false
		}
		for _, v := range vs {
			if !isCleanText(v) {
				return false
			}
		}
	}
	return true
}

func isCleanFileNames(files map[string][]*multipart.FileHeader) bool {
	for k, fhs := range files {
		if !isCleanText(k) {
			return false
		}
		for _, fh := range fhs {
			if !isCleanText(fh.Filename) {
				return false
			}
		}
	}
	return true
}
