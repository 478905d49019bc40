package githubfake

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// rateLimit is the number of REST requests an account may make per window, as on GitHub.
const (
	rateLimit       = 5000
	rateLimitWindow = time.Hour
)

const (
	rateLimitDocs          = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
	secondaryRateLimitDocs = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)

// failures are the switches that make the API misbehave; the zero value is a healthy GitHub.
type failures struct {
	delay            time.Duration
	status           int             // every API request answers this server error
	rateLimitedUntil time.Time       // primary rate limit exhausted for every account
	throttledUntil   time.Time       // secondary rate limit
	sso              map[string]bool // owners (lower case) whose repositories refuse tokens not authorised for SSO
}

// rateWindow counts an account's requests in the current window.
type rateWindow struct {
	used  int
	reset time.Time
}

// AddToken gives the user with the given GitHub id a personal access token, with the classic token's
// scopes (none for a fine-grained token). The token answers for the user until it is revoked.
func (s *Server) AddToken(userID int64, token string, scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[userID]; !ok {
		panic(fmt.Sprintf("githubfake: AddToken for user %d, who does not exist", userID))
	}
	s.tokens[token] = grant{userID: userID, scopes: slices.Clone(scopes)}
}

// RevokeToken makes a token bad, as when its owner deletes it or it expires: the API then answers 401
// "Bad credentials".
func (s *Server) RevokeToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, token)
}

// RateLimitUntil exhausts every account's rate limit until reset: the API answers 403 with
// X-RateLimit-Remaining: 0 and X-RateLimit-Reset, as GitHub does. The zero time lifts it.
func (s *Server) RateLimitUntil(reset time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures.rateLimitedUntil = reset
}

// SecondaryRateLimitFor trips GitHub's secondary rate limit for d: the API answers 429 with
// Retry-After. Zero lifts it.
func (s *Server) SecondaryRateLimitFor(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures.throttledUntil = time.Time{}
	if d > 0 {
		s.failures.throttledUntil = time.Now().Add(d)
	}
}

// RequireSSO makes the organisation enforce SAML single sign-on: its repositories answer 403, as GitHub
// does to a token that was not authorised for the organisation.
func (s *Server) RequireSSO(owner string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failures.sso == nil {
		s.failures.sso = map[string]bool{}
	}
	s.failures.sso[strings.ToLower(owner)] = true
}

// FailWith makes every API request answer status (500, 502, 503…) as GitHub does when it is having a
// bad day. Zero heals it.
func (s *Server) FailWith(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures.status = status
}

// Delay makes every API request wait d before answering (or until the client gives up). Zero removes it.
func (s *Server) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures.delay = d
}

// beforeAuthentication applies the delay and the server error; it reports whether to go on.
func (s *Server) beforeAuthentication(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	f := s.failures
	s.mu.Unlock()
	if f.delay > 0 {
		timer := time.NewTimer(f.delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return false
		}
	}
	if f.status != 0 {
		switch f.status {
		case http.StatusBadGateway:
			// GitHub's front end answers an HTML page, not JSON, when the API behind it is down.
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(f.status)
			_, _ = w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>\n"))
		case http.StatusServiceUnavailable:
			writeJSON(w, f.status, apiError("Service Unavailable"))
		default:
			writeJSON(w, f.status, apiError("Server Error"))
		}
		return false
	}
	return true
}

// withinRateLimit counts the request against the account, sends GitHub's X-RateLimit-* headers, and
// answers as GitHub does when a limit is reached; it reports whether to go on.
func (s *Server) withinRateLimit(w http.ResponseWriter, u User) bool {
	now := time.Now()
	s.mu.Lock()
	window := s.rates[u.ID]
	if window == nil || !now.Before(window.reset) {
		window = &rateWindow{reset: now.Add(rateLimitWindow)}
		s.rates[u.ID] = window
	}
	f := s.failures
	exhausted := now.Before(f.rateLimitedUntil) || window.used >= rateLimit
	if !exhausted {
		window.used++
	}
	used, reset := window.used, window.reset
	s.mu.Unlock()

	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(rateLimit))
	h.Set("X-RateLimit-Resource", "core")
	if now.Before(f.throttledUntil) {
		h.Set("X-RateLimit-Remaining", strconv.Itoa(rateLimit-used))
		h.Set("X-RateLimit-Used", strconv.Itoa(used))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		// Whole seconds, rounded up, so that a client waiting that long finds the limit lifted.
		h.Set("Retry-After", strconv.FormatInt(int64((f.throttledUntil.Sub(now)+time.Second-1)/time.Second), 10))
		writeJSON(w, http.StatusTooManyRequests, apiErrorDocumented(
			"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			secondaryRateLimitDocs))
		return false
	}
	if exhausted {
		if now.Before(f.rateLimitedUntil) {
			reset = f.rateLimitedUntil
		}
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Used", strconv.Itoa(rateLimit))
		// GitHub sends the reset as whole epoch seconds; round up so the limit is lifted by then.
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Add(time.Second-1).Unix(), 10))
		writeJSON(w, http.StatusForbidden, apiErrorDocumented(
			fmt.Sprintf("API rate limit exceeded for user ID %d. If you reach out to GitHub Support for help, please include the request ID.", u.ID),
			rateLimitDocs))
		return false
	}
	h.Set("X-RateLimit-Remaining", strconv.Itoa(rateLimit-used))
	h.Set("X-RateLimit-Used", strconv.Itoa(used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	return true
}
