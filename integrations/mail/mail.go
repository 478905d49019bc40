// Package mail sends the server's e-mail: over SMTP with github.com/wneessen/go-mail, configured by
// SMTP_URL, or, in development without SMTP_URL, into the log.
package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/mediciasafely/jobserver/commands/notifications"
)

// Config is what the SMTP mailer needs.
type Config struct {
	// URL is SMTP_URL: smtp://[user:password@]host[:port][?tls=required|opportunistic|none] (STARTTLS on
	// the submission port 587 by default; opportunistic, that is used when the server offers it, unless
	// tls says otherwise) or smtps://[user:password@]host[:port] (TLS from the first byte, port 465 by
	// default). The user and password are URL-escaped; they are sent with AUTH PLAIN, which go-mail does
	// only over TLS or to localhost, unless auth= names another mechanism (login, cram-md5, scram-sha-256,
	// autodiscover, …). The password never appears in a log or an error.
	URL string
	// From is the sender's address (MAIL_FROM); see DefaultFrom.
	From string
	// Timeout bounds connecting and each SMTP command (default 15 s); a Send also ends with its context.
	Timeout time.Duration
}

// DefaultFrom is the sender when MAIL_FROM is not set: notifications@ the host of the server's base URL.
func DefaultFrom(baseURL string) string {
	host := "localhost"
	if u, err := url.Parse(baseURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return "notifications@" + host
}

// SMTP is the Mailer over SMTP. It opens a connection per mail: the mails on jobs' completion are few.
type SMTP struct {
	from     string
	server   string // the URL without credentials, for logs and errors
	host     string
	port     int
	ssl      bool
	tls      gomail.TLSPolicy
	auth     gomail.SMTPAuthType
	user     string
	password string
	timeout  time.Duration
}

// NewSMTP checks the configuration and returns the mailer; nothing is sent or dialled yet.
func NewSMTP(cfg Config) (*SMTP, error) {
	// url.Parse's errors quote the whole URL, password included: report only what is wrong.
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, errors.New("SMTP_URL is not a URL (smtp://user:password@host:port or smtps://…)")
	}
	m := &SMTP{from: cfg.From, server: Redact(cfg.URL), host: u.Hostname(), timeout: cfg.Timeout}
	if m.timeout <= 0 {
		m.timeout = gomail.DefaultTimeout
	}
	switch u.Scheme {
	case "smtp":
		m.port = 587
		switch tls := u.Query().Get("tls"); tls {
		case "", "opportunistic":
			m.tls = gomail.TLSOpportunistic
		case "required":
			m.tls = gomail.TLSMandatory
		case "none":
			m.tls = gomail.NoTLS
		default:
			return nil, fmt.Errorf("SMTP_URL %s: tls=%q: want required, opportunistic or none", m.server, tls)
		}
	case "smtps":
		m.port, m.ssl, m.tls = 465, true, gomail.TLSMandatory
	default:
		return nil, fmt.Errorf("SMTP_URL %s: the scheme must be smtp or smtps", m.server)
	}
	if m.host == "" {
		return nil, fmt.Errorf("SMTP_URL %s: no host", m.server)
	}
	if p := u.Port(); p != "" {
		if m.port, err = strconv.Atoi(p); err != nil || m.port < 1 || m.port > 65535 {
			return nil, fmt.Errorf("SMTP_URL %s: bad port", m.server)
		}
	}
	if u.User != nil {
		m.user = u.User.Username()
		m.password, _ = u.User.Password()
	}
	m.auth = gomail.SMTPAuthPlain
	if a := u.Query().Get("auth"); a != "" {
		if err := m.auth.UnmarshalString(a); err != nil || m.auth == gomail.SMTPAuthCustom {
			return nil, fmt.Errorf("SMTP_URL %s: auth=%q is not an SMTP authentication mechanism", m.server, a)
		}
	}
	if m.from == "" {
		return nil, errors.New("mail: no sender address (MAIL_FROM)")
	}
	if err := gomail.NewMsg().From(m.from); err != nil {
		return nil, fmt.Errorf("MAIL_FROM %q is not an address: %w", m.from, err)
	}
	return m, nil
}

// Server is where the mailer sends, without credentials: for the start-up log.
func (m *SMTP) Server() string { return m.server }

// Send sends one mail. A failure the server calls temporary (a 4xx reply), or a connection that fails, is
// reported as an error whose Temporary() is true, which the reactor retries without limit.
func (m *SMTP) Send(ctx context.Context, mail notifications.Mail) error {
	msg, err := m.message(mail)
	if err != nil {
		return err
	}
	opts := []gomail.Option{gomail.WithPort(m.port), gomail.WithTimeout(m.timeout), gomail.WithTLSPolicy(m.tls)}
	if m.ssl {
		opts = append(opts, gomail.WithSSL())
	}
	if m.user != "" {
		opts = append(opts, gomail.WithSMTPAuth(m.auth), gomail.WithUsername(m.user), gomail.WithPassword(m.password))
	}
	client, err := gomail.NewClient(m.host, opts...)
	if err != nil {
		return m.fail(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*m.timeout)
	defer cancel()
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return m.fail(err)
	}
	return nil
}

func (m *SMTP) message(mail notifications.Mail) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(m.from); err != nil {
		return nil, fmt.Errorf("mail: sender %q: %w", m.from, err)
	}
	if err := msg.To(mail.To); err != nil {
		return nil, fmt.Errorf("mail: recipient %q: %w", mail.To, err)
	}
	msg.Subject(mail.Subject)
	msg.SetBodyString(gomail.TypeTextPlain, mail.Text)
	if mail.MessageID != "" {
		msg.SetMessageIDWithValue(mail.MessageID)
	} else {
		msg.SetMessageID()
	}
	msg.SetDate()
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	return msg, nil
}

// SendError is a failed send. Its text names the server without credentials.
type SendError struct {
	Server    string
	temporary bool
	err       error
}

func (e *SendError) Error() string {
	return "send mail through " + e.Server + ": " + e.err.Error()
}

func (e *SendError) Unwrap() error { return e.err }

// Temporary reports a failure worth trying again: a 4xx reply, a timeout, a connection that failed.
func (e *SendError) Temporary() bool { return e.temporary }

func (m *SMTP) fail(err error) error {
	var sendErr *gomail.SendError
	var netErr net.Error
	temporary := errors.As(err, &sendErr) && sendErr.IsTemp() ||
		errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded)
	if sendErr != nil && (sendErr.Reason == gomail.ErrConnCheck || sendErr.Reason == gomail.ErrSMTPReset) {
		temporary = true // the connection went away
	}
	// go-mail does not put the password in its errors; this makes sure.
	text := err.Error()
	if m.password != "" && strings.Contains(text, m.password) {
		err = errors.New(strings.ReplaceAll(text, m.password, "xxxxx"))
	}
	return &SendError{Server: m.server, temporary: temporary, err: err}
}

// Redact returns an SMTP_URL without its password, for logs and errors.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an SMTP_URL that does not parse)"
	}
	return u.Redacted() // the password, if any, as xxxxx
}

// Log is the Mailer for development without SMTP_URL: it writes each mail to the log instead.
type Log struct {
	logger *slog.Logger
	from   string
}

// NewLog returns the mailer that writes mails to logger.
func NewLog(logger *slog.Logger, from string) *Log {
	if logger == nil {
		logger = slog.Default()
	}
	return &Log{logger: logger, from: from}
}

// Send logs the mail; it never fails.
func (l *Log) Send(_ context.Context, m notifications.Mail) error {
	l.logger.Info("mail not sent (no SMTP_URL): written to the log instead",
		"from", l.from, "to", m.To, "subject", m.Subject, "message_id", m.MessageID, "text", m.Text)
	return nil
}
