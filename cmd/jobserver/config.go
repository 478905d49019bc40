package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/integrations/blobs"
	"github.com/mediciasafely/jobserver/integrations/mail"

	"github.com/mediciasafely/jobserver/http/server"
	"github.com/mediciasafely/jobserver/internal/database"
)

// setting is one environment variable the server reads.
type setting struct {
	name, fallback, help string
}

var settings = []setting{
	{"DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jobserver?sslmode=disable", "Postgres holding the event store and the read models (created when missing)"},
	{"JOBSERVER_EVENTSTORE", "postgres", "the log of record: postgres (the events table) or kurrentdb (KurrentDB/EventStoreDB at KURRENTDB_URL, copied into the events table for the read models)"},
	{"KURRENTDB_URL", "", "KurrentDB connection string when JOBSERVER_EVENTSTORE=kurrentdb: esdb://host:2113?tls=false, esdb+discover://… for a cluster"},
	{"JOBSERVER_ADDR", "localhost:8000", "address the web server listens on"},
	{"JOBSERVER_ENV", "production", "development enables the local demo login and demo data; production refuses them"},
	{"JOBSERVER_BASE_URL", "", "public URL of the server, for OAuth callbacks and links in e-mail (default: http://JOBSERVER_ADDR)"},
	{"JOBSERVER_SECRET_KEY", "", "64 hex digits (32 bytes) for cookies, encrypted secrets and the keys of personal data in events; required in production, generated under .data/ in development"},
	{"JOBSERVER_AUDIT_SIGNING_KEY", "", "Ed25519 key signing the audit chain's checkpoints: base64 of a 32-byte seed (`openssl rand -base64 32`) or a PEM PKCS #8 key; required in production, generated under .data/ in development"},
	{"JOBSERVER_OLD_SECRET_KEYS", "", "earlier secret keys, comma-separated: GitHub tokens sealed under them still open until `jobserver admin reencrypt-secrets` moves them to the current key"},
	{"GITHUB_CLIENT_ID", "", "OAuth app client id for \"Log in with GitHub\""},
	{"GITHUB_CLIENT_SECRET", "", "OAuth app client secret"},
	{"GITHUB_URL", "https://github.com", "GitHub (or GitHub Enterprise) web URL, for the OAuth endpoints"},
	{"GITHUB_API_URL", "https://api.github.com/", "GitHub REST API URL"},
	{"SMTP_URL", "", "mail server for the e-mails on job completion and on applications: smtp://user:password@host:587 (STARTTLS; ?tls=required|opportunistic|none, ?auth=plain|login|cram-md5|…) or smtps://user:password@host:465; empty: mails are written to the log"},
	{"MAIL_FROM", "", "sender address of the e-mails (default: notifications@ the host of JOBSERVER_BASE_URL)"},
	{"SMTP_TIMEOUT", "15s", "give up connecting to the mail server, or waiting for one of its replies, after this long"},
	{"LOG_LEVEL", "info", "debug, info, warn or error"},
	{"JOBSERVER_METRICS_ADDR", "127.0.0.1:9100", "address of the operators' listener (Prometheus metrics, Go profiles), kept off the public one; off disables it"},
	{"JOBSERVER_TRUSTED_PROXIES", "", "comma-separated IPs and CIDRs of reverse proxies whose X-Forwarded-For/X-Real-IP name the client"},
	{"JOBSERVER_DB_CONNECT_TIMEOUT", "5s", "give up connecting to the database after this long (overrides connect_timeout in DATABASE_URL)"},
	{"JOBSERVER_DB_STATEMENT_TIMEOUT", "30s", "the server's statement_timeout for serve (replay, verify and migrate run without one); 0 disables"},
	{"JOBSERVER_REQUEST_TIMEOUT", "10s", "deadline of each web request's database work; past it a page answers 503; 0 disables"},
	{"JOBSERVER_READ_TIMEOUT", "60s", "longest time to read a request, body included"},
	{"JOBSERVER_WRITE_TIMEOUT", "60s", "longest time to write a response (streams extend their own)"},
	{"JOBSERVER_IDLE_TIMEOUT", "120s", "close keep-alive connections idle this long"},
	{"JOBSERVER_API_BODY_LIMIT", "32MiB", "largest request body the runner API reads (bytes, or with KiB/MiB/GiB); a larger one is answered 413"},
	{"JOBSERVER_RELEASE_FILE_LIMIT", "16MiB", "largest released file the release API takes (bytes, or with KiB/MiB/GiB); its upload is refused while it streams"},
	{"JOBSERVER_RAP_POLL_INTERVAL", "60s", "pause between two polls of the rap backends' controllers (rap/status/ and backend/status/)"},
	{"JOBSERVER_RAP_TIMEOUT", "30s", "give up on a call to a rap backend's controller after this long"},
	{"JOBSERVER_RAP_UNRECOGNISED_AFTER", "10m", "a job request whose creation had no answer is retried until this old; then a status poll that does not know it fails it"},
	{"JOBSERVER_SHUTDOWN_TIMEOUT", "15s", "on SIGINT/SIGTERM, wait this long for requests in flight before cutting them off"},
	{"JOBSERVER_BLOB_DIR", "", "directory keeping released files' bytes; default .data/blobs in development, required in production unless JOBSERVER_S3_BUCKET is set"},
	{"JOBSERVER_S3_BUCKET", "", "S3 bucket keeping released files' bytes instead of JOBSERVER_BLOB_DIR (created when missing)"},
	{"JOBSERVER_S3_ENDPOINT", "https://s3.amazonaws.com", "URL of the S3 server"},
	{"JOBSERVER_S3_REGION", "us-east-1", "region of the S3 bucket"},
	{"JOBSERVER_S3_ACCESS_KEY", "", "S3 access key id"},
	{"JOBSERVER_S3_SECRET_KEY", "", "S3 secret access key"},
	{"JOBSERVER_S3_PATH_STYLE", "false", "true addresses the bucket as ENDPOINT/BUCKET (MinIO, SeaweedFS); false lets the client choose (BUCKET.ENDPOINT on AWS)"},
}

// config is the server's configuration, read from the environment.
type config struct {
	DatabaseURL        string
	Addr               string
	Development        bool
	BaseURL            string
	GitHubClientID     string
	GitHubClientSecret string
	GitHubURL          string
	GitHubAPIURL       string
	LogLevel           slog.Level
	// MetricsAddr is where the metrics listener listens; "" means no metrics listener.
	MetricsAddr    string
	TrustedProxies []netip.Prefix
	// StatementTimeout is the statement_timeout of serve's connections (0: none).
	StatementTimeout time.Duration
	RequestTimeout   time.Duration
	HTTPTimeouts     server.Timeouts
	ShutdownTimeout  time.Duration
	SMTPURL          string
	MailFrom         string
	SMTPTimeout      time.Duration
	// APIBodyLimit is the largest body the runner API reads, in bytes.
	APIBodyLimit int64
	// ReleaseFileLimit is the largest released file, in bytes.
	ReleaseFileLimit int64
	// BlobDir is JOBSERVER_BLOB_DIR as set ("" when not); S3, when its Bucket is set, is used instead.
	BlobDir string
	S3      blobs.S3Config
	// RAPPollInterval, RAPTimeout and RAPUnrecognisedAfter tune the calls to rap backends' controllers.
	RAPPollInterval, RAPTimeout, RAPUnrecognisedAfter time.Duration
	// KurrentDBURL, when set, makes KurrentDB the log of record (JOBSERVER_EVENTSTORE=kurrentdb).
	KurrentDBURL string
}

func env(name string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	for _, s := range settings {
		if s.name == name {
			return s.fallback
		}
	}
	return ""
}

func loadConfig() (config, error) {
	c := config{
		DatabaseURL:        env("DATABASE_URL"),
		Addr:               env("JOBSERVER_ADDR"),
		BaseURL:            strings.TrimRight(env("JOBSERVER_BASE_URL"), "/"),
		MetricsAddr:        env("JOBSERVER_METRICS_ADDR"),
		GitHubClientID:     env("GITHUB_CLIENT_ID"),
		GitHubClientSecret: env("GITHUB_CLIENT_SECRET"),
		GitHubURL:          strings.TrimRight(env("GITHUB_URL"), "/"),
		GitHubAPIURL:       env("GITHUB_API_URL"),
		SMTPURL:            env("SMTP_URL"),
		MailFrom:           env("MAIL_FROM"),
	}
	var errs []error
	switch mode := env("JOBSERVER_ENV"); mode {
	case "development":
		c.Development = true
	case "production":
	default:
		errs = append(errs, fmt.Errorf("JOBSERVER_ENV is %q; use development or production", mode))
	}
	if err := c.LogLevel.UnmarshalText([]byte(env("LOG_LEVEL"))); err != nil {
		errs = append(errs, fmt.Errorf("LOG_LEVEL: %w", err))
	}
	if c.BaseURL == "" {
		c.BaseURL = baseURLFor(c.Addr)
	}
	if strings.EqualFold(c.MetricsAddr, "off") {
		c.MetricsAddr = ""
	}
	var err error
	if c.TrustedProxies, err = server.ParseTrustedProxies(env("JOBSERVER_TRUSTED_PROXIES")); err != nil {
		errs = append(errs, fmt.Errorf("JOBSERVER_TRUSTED_PROXIES: %w", err))
	}
	duration := func(name string) time.Duration {
		d, err := time.ParseDuration(env(name))
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("%s is %q; use a duration such as 30s or 2m", name, env(name)))
		}
		return d
	}
	c.StatementTimeout = duration("JOBSERVER_DB_STATEMENT_TIMEOUT")
	c.RequestTimeout = duration("JOBSERVER_REQUEST_TIMEOUT")
	c.HTTPTimeouts = server.Timeouts{
		ReadHeader: 10 * time.Second,
		Read:       duration("JOBSERVER_READ_TIMEOUT"),
		Write:      duration("JOBSERVER_WRITE_TIMEOUT"),
		Idle:       duration("JOBSERVER_IDLE_TIMEOUT"),
	}
	c.ShutdownTimeout = duration("JOBSERVER_SHUTDOWN_TIMEOUT")
	c.RAPPollInterval = duration("JOBSERVER_RAP_POLL_INTERVAL")
	c.RAPTimeout = duration("JOBSERVER_RAP_TIMEOUT")
	c.RAPUnrecognisedAfter = duration("JOBSERVER_RAP_UNRECOGNISED_AFTER")
	if c.APIBodyLimit, err = byteSize(env("JOBSERVER_API_BODY_LIMIT")); err != nil {
		errs = append(errs, fmt.Errorf("JOBSERVER_API_BODY_LIMIT: %w", err))
	}
	if c.ReleaseFileLimit, err = byteSize(env("JOBSERVER_RELEASE_FILE_LIMIT")); err != nil {
		errs = append(errs, fmt.Errorf("JOBSERVER_RELEASE_FILE_LIMIT: %w", err))
	}
	c.SMTPTimeout = duration("SMTP_TIMEOUT")
	if c.MailFrom == "" {
		c.MailFrom = mail.DefaultFrom(c.BaseURL)
	}
	if c.SMTPURL != "" {
		if _, err := mail.NewSMTP(mail.Config{URL: c.SMTPURL, From: c.MailFrom, Timeout: c.SMTPTimeout}); err != nil {
			errs = append(errs, err) // its text never holds the password
		}
	}
	switch store := env("JOBSERVER_EVENTSTORE"); {
	case store == "kurrentdb" && os.Getenv("KURRENTDB_URL") == "":
		errs = append(errs, errors.New("JOBSERVER_EVENTSTORE=kurrentdb needs KURRENTDB_URL, the KurrentDB connection string"))
	case store == "kurrentdb":
		c.KurrentDBURL = os.Getenv("KURRENTDB_URL")
	case store != "postgres":
		errs = append(errs, fmt.Errorf("JOBSERVER_EVENTSTORE is %q; use postgres or kurrentdb", store))
	}
	c.BlobDir = os.Getenv("JOBSERVER_BLOB_DIR")
	c.S3 = blobs.S3Config{
		Endpoint: env("JOBSERVER_S3_ENDPOINT"), Region: env("JOBSERVER_S3_REGION"), Bucket: env("JOBSERVER_S3_BUCKET"),
		AccessKey: env("JOBSERVER_S3_ACCESS_KEY"), SecretKey: env("JOBSERVER_S3_SECRET_KEY"),
	}
	if c.S3.PathStyle, err = strconv.ParseBool(env("JOBSERVER_S3_PATH_STYLE")); err != nil {
		errs = append(errs, fmt.Errorf("JOBSERVER_S3_PATH_STYLE is %q; use true or false", env("JOBSERVER_S3_PATH_STYLE")))
	}
	if c.S3.Bucket != "" && c.BlobDir != "" {
		errs = append(errs, errors.New("JOBSERVER_BLOB_DIR and JOBSERVER_S3_BUCKET are both set; released files are kept in one place, so set one"))
	}
	if c.S3.Bucket != "" && (c.S3.AccessKey == "" || c.S3.SecretKey == "") {
		errs = append(errs, errors.New("JOBSERVER_S3_BUCKET needs JOBSERVER_S3_ACCESS_KEY and JOBSERVER_S3_SECRET_KEY"))
	}
	if w := c.HTTPTimeouts.Write; w > 0 && c.RequestTimeout > 0 && c.RequestTimeout >= w {
		errs = append(errs, fmt.Errorf("JOBSERVER_REQUEST_TIMEOUT (%s) must be shorter than JOBSERVER_WRITE_TIMEOUT (%s), "+
			"or a page that gives up on the database could not say so", c.RequestTimeout, w))
	}
	// An explicit connect timeout goes into the connection string, so every subcommand connects with it;
	// without one, the string's own connect_timeout or database.DefaultConnectTimeout applies.
	if _, set := os.LookupEnv("JOBSERVER_DB_CONNECT_TIMEOUT"); set {
		if d := duration("JOBSERVER_DB_CONNECT_TIMEOUT"); d > 0 {
			if c.DatabaseURL, err = database.WithTimeouts(c.DatabaseURL, database.Timeouts{Connect: d}); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return c, errors.Join(errs...)
}

// baseURLFor is the URL of a server listening on addr: a wildcard or missing host is this machine.
func baseURLFor(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip, err := netip.ParseAddr(host); host == "" || err == nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// blobStore opens where released files' bytes are kept: the S3 bucket when one is named, else the
// directory. Production names one or the other, as the bytes must outlive the working directory; only the
// server needs it, so other subcommands run without.
func blobStore(ctx context.Context, c config) (blobs.Store, error) {
	if c.S3.Bucket != "" {
		return blobs.NewS3(ctx, c.S3)
	}
	dir := c.BlobDir
	if dir == "" {
		if !c.Development {
			return nil, errors.New("JOBSERVER_BLOB_DIR (a directory) or JOBSERVER_S3_BUCKET is required in production, to keep released files")
		}
		dir = filepath.Join(".data", "blobs")
	}
	return blobs.NewDir(dir)
}

// secretKeys reads the server's secret key and builds the keyring from it (and from the older keys).
func secretKeys(development bool) ([]byte, *commands.Keyring, error) {
	key, err := secretKey(development)
	if err != nil {
		return nil, nil, err
	}
	ring, err := keyring(key)
	return key, ring, err
}

// keyring seals the secrets that must be read back (GitHub tokens) under a key derived from the current
// secret key, and still opens what older keys listed in JOBSERVER_OLD_SECRET_KEYS sealed.
func keyring(current []byte) (*commands.Keyring, error) {
	var older [][]byte
	for _, v := range strings.Split(os.Getenv("JOBSERVER_OLD_SECRET_KEYS"), ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		key, err := hex.DecodeString(v)
		if err != nil || len(key) != 32 {
			return nil, errors.New("JOBSERVER_OLD_SECRET_KEYS must be 64 hex digits (32 bytes) each, separated by commas")
		}
		older = append(older, key)
	}
	return commands.NewKeyring(current, older...)
}

// secretKey reads JOBSERVER_SECRET_KEY, which every command that reads or writes events needs (it wraps
// the keys of the personal data in them). In development a key is made once and kept under .data/, so
// sessions survive restarts; production must configure one.
func secretKey(development bool) ([]byte, error) {
	if v := os.Getenv("JOBSERVER_SECRET_KEY"); v != "" {
		key, err := hex.DecodeString(v)
		if err != nil || len(key) != 32 {
			return nil, errors.New("JOBSERVER_SECRET_KEY must be 64 hex digits (32 bytes)")
		}
		return key, nil
	}
	if !development {
		return nil, errors.New("JOBSERVER_SECRET_KEY is required in production (64 hex digits; e.g. `openssl rand -hex 32`)")
	}
	path := filepath.Join(".data", "secret-key")
	if b, err := os.ReadFile(path); err == nil {
		if key, err := hex.DecodeString(strings.TrimSpace(string(b))); err == nil && len(key) == 32 {
			return key, nil
		}
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(".data", 0o700); err != nil {
		return nil, fmt.Errorf("keep the development secret key: %w", err)
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("keep the development secret key: %w", err)
	}
	return key, nil
}

// byteSize reads a size in bytes: a positive integer, optionally followed by KiB, MiB or GiB.
func byteSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	unit := int64(1)
	for suffix, u := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(s, suffix) {
			s, unit = strings.TrimSpace(strings.TrimSuffix(s, suffix)), u
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/unit {
		return 0, fmt.Errorf("%q is not a size; use bytes or a number with KiB, MiB or GiB, such as 32MiB", s)
	}
	return n * unit, nil
}
