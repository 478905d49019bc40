// Package smtpfake is a local SMTP server for tests: it speaks real SMTP (github.com/emersion/go-smtp) on
// 127.0.0.1 and keeps every mail it receives, so the mail adapter is tested over the wire.
package smtpfake

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mail is one mail as the server received it.
type Mail struct {
	From string   // MAIL FROM
	To   []string // RCPT TO
	Data []byte   // the message as sent
	// Header is the message's header, and Body its text, with the transfer encoding undone.
	Header mail.Header
	Body   string
}

// Server is a running SMTP server on 127.0.0.1.
type Server struct {
	// Addr is host:port.
	Addr string

	user, pass string
	srv        *smtp.Server

	mu      sync.Mutex
	mails   []Mail
	reject  []*smtp.SMTPError // replies to the next DATA commands instead of accepting
	arrived chan struct{}
}

// Option configures the server.
type Option func(*Server)

// WithAuth requires AUTH PLAIN with this user and password.
func WithAuth(user, pass string) Option {
	return func(s *Server) { s.user, s.pass = user, pass }
}

// Start starts a server on a free port of 127.0.0.1, stopped when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{arrived: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout, s.srv.WriteTimeout = 10*time.Second, 10*time.Second
	s.srv.MaxMessageBytes = 1 << 20
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtpfake: %v", err)
	}
	s.Addr = l.Addr().String()
	go func() { _ = s.srv.Serve(l) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// URL is the SMTP_URL of the server (plain SMTP, no TLS), with the credentials it requires, if any.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.Addr, RawQuery: "tls=none"}
	if s.user != "" {
		u.User = url.UserPassword(s.user, s.pass)
	}
	return u.String()
}

// Reject makes the server answer the next DATA commands with these SMTP replies (code, message), one each,
// e.g. 451 for a temporary failure or 554 for a permanent one.
func (s *Server) Reject(code int, message string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range times {
		s.reject = append(s.reject, &smtp.SMTPError{Code: code, Message: message})
	}
}

// Mails returns the mails received so far.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// WaitFor waits until at least n mails have arrived and returns them, or fails the test after timeout.
func (s *Server) WaitFor(t testing.TB, n int, timeout time.Duration) []Mail {
	t.Helper()
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		mails, arrived := append([]Mail(nil), s.mails...), s.arrived
		s.mu.Unlock()
		if len(mails) >= n {
			return mails
		}
		select {
		case <-arrived:
		case <-deadline:
			t.Fatalf("smtpfake: %d mails arrived, want %d", len(mails), n)
			return nil
		}
	}
}

func (s *Server) receive(m Mail) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reject) > 0 {
		err := s.reject[0]
		s.reject = s.reject[1:]
		return err
	}
	s.mails = append(s.mails, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
	return nil
}

type session struct {
	s      *Server
	authed bool
	from   string
	to     []string
}

func (c *session) AuthMechanisms() []string {
	if c.s.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (c *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != c.s.user || pass != c.s.pass {
			return smtp.ErrAuthFailed
		}
		c.authed = true
		return nil
	}), nil
}

func (c *session) Mail(from string, _ *smtp.MailOptions) error {
	if c.s.user != "" && !c.authed {
		return smtp.ErrAuthRequired
	}
	c.from = from
	return nil
}

func (c *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	c.to = append(c.to, to)
	return nil
}

func (c *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Mail{From: c.from, To: append([]string(nil), c.to...), Data: data}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "unreadable message: " + err.Error()}
	}
	m.Header = msg.Header
	body, err := decodeBody(msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "unreadable body: " + err.Error()}
	}
	m.Body = body
	return c.s.receive(m)
}

func (c *session) Reset()        { c.from, c.to = "", nil }
func (c *session) Logout() error { return nil }

// decodeBody undoes a single part's transfer encoding.
func decodeBody(encoding string, body io.Reader) (string, error) {
	var r io.Reader
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "7bit", "8bit", "binary":
		r = body
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body)
	default:
		return "", errors.New("unknown transfer encoding " + encoding)
	}
	b, err := io.ReadAll(r)
	return strings.ReplaceAll(string(b), "\r\n", "\n"), err
}
