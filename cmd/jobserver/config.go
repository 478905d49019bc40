package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// setting is one environment variable the server reads.
type setting struct {
	name, fallback, help string
}

var settings = []setting{
	{"DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jobserver?sslmode=disable", "Postgres holding the event store and the read models (created when missing)"},
	{"JOBSERVER_ADDR", "localhost:8000", "address the web server listens on"},
	{"JOBSERVER_ENV", "production", "development enables the local demo login and demo data; production refuses them"},
	{"JOBSERVER_BASE_URL", "http://localhost:8000", "public URL of the server, for OAuth callbacks and links in e-mail"},
	{"JOBSERVER_SECRET_KEY", "", "64 hex digits (32 bytes) for cookies and encrypted secrets; required in production, generated under .data/ in development"},
	{"GITHUB_CLIENT_ID", "", "OAuth app client id for \"Log in with GitHub\""},
	{"GITHUB_CLIENT_SECRET", "", "OAuth app client secret"},
	{"GITHUB_URL", "https://github.com", "GitHub (or GitHub Enterprise) web URL, for the OAuth endpoints"},
	{"GITHUB_API_URL", "https://api.github.com/", "GitHub REST API URL"},
	{"LOG_LEVEL", "info", "debug, info, warn or error"},
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
		GitHubClientID:     env("GITHUB_CLIENT_ID"),
		GitHubClientSecret: env("GITHUB_CLIENT_SECRET"),
		GitHubURL:          strings.TrimRight(env("GITHUB_URL"), "/"),
		GitHubAPIURL:       env("GITHUB_API_URL"),
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
	return c, errors.Join(errs...)
}

// secretKey reads JOBSERVER_SECRET_KEY, which only the web server needs. In development a key is made once and kept under .data/, so
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
