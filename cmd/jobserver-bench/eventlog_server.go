package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// serverProcess is `jobserver serve` built from this checkout and run as a process of its own, so its
// memory and CPU are the server's alone, not the bench's or its clients'.
type serverProcess struct {
	cmd *exec.Cmd
	dir string
	url string
	// operator is the address of its operators' listener: metrics and profiles.
	operator string
	logs     *tailBuffer
	done     chan struct{}
}

// startServer builds cmd/jobserver and serves the database at dsn on a free loopback port, in development
// mode (for its login form; its demo data adds a handful of people and one workspace), with its operators'
// listener (metrics, profiles) on another free loopback port and warnings only in its log, with secretKey (which wraps the keys of the personal data
// the bench sealed). It returns once the login page answers.
func startServer(ctx context.Context, dsn string, secretKey []byte) (*serverProcess, error) {
	dir, err := os.MkdirTemp("", "jobserver-bench-server-")
	if err != nil {
		return nil, err
	}
	s := &serverProcess{dir: dir, logs: &tailBuffer{max: 8 << 10}, done: make(chan struct{})}
	bin := filepath.Join(dir, "jobserver")
	build := exec.CommandContext(ctx, goTool(), "build", "-o", bin, "./cmd/jobserver")
	if out, err := build.CombinedOutput(); err != nil {
		s.remove()
		return nil, fmt.Errorf("build cmd/jobserver (run the bench from the repository's root): %w\n%s", err, out)
	}
	addr, err := freeLoopbackAddr()
	if err == nil {
		s.operator, err = freeLoopbackAddr()
	}
	if err != nil {
		s.remove()
		return nil, err
	}
	s.url = "http://" + addr
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Dir = dir // where a development server keeps its files, were it to
	s.cmd.Env = append(os.Environ(), "DATABASE_URL="+dsn, "JOBSERVER_ADDR="+addr, "JOBSERVER_ENV=development",
		"JOBSERVER_SECRET_KEY="+hex.EncodeToString(secretKey), "JOBSERVER_METRICS_ADDR="+s.operator, "LOG_LEVEL=warn")
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		s.remove()
		return nil, err
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(5 * time.Minute) // it catches its read models up first
	// A server still starting holds connections in its listener's queue: each try gives up on its own.
	probe := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := probe.Get(s.url + "/login")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.done:
			s.remove()
			return nil, fmt.Errorf("the server stopped before it served: %s", s.logs)
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("the server did not serve within 5 minutes: %s", s.logs)
		}
	}
}

// serverProfileLength is how long a CPU profile of the server runs: less than the server's write timeout.
const serverProfileLength = 40 * time.Second

// profileCPU writes a CPU profile of the server over the next serverProfileLength to path.
func (s *serverProcess) profileCPU(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", s.operator, int(serverProfileLength.Seconds())), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("profile the server: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile the server: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// goTool is the go command of the toolchain that runs the bench.
func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// stop ends the server as an operator would (SIGTERM, then a kill after its grace) and removes its binary.
func (s *serverProcess) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.remove()
}

func (s *serverProcess) remove() { _ = os.RemoveAll(s.dir) }

// memory is the server's resident set now and its peak so far (VmRSS and VmHWM of /proc/<pid>/status), in MiB.
func (s *serverProcess) memory() (rss, peak float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		key, value, _ := strings.Cut(line, ":")
		kb, convErr := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 64)
		switch {
		case convErr != nil:
		case key == "VmRSS":
			rss = kb / 1024
		case key == "VmHWM":
			peak = kb / 1024
		}
	}
	return rss, peak, nil
}

// clockTicks is the unit of /proc/<pid>/stat's CPU times (USER_HZ, 100 on Linux).
const clockTicks = 100

// cpu is the user and system CPU time the server has used so far (/proc/<pid>/stat).
func (s *serverProcess) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; the fields after its closing parenthesis are fixed.
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(fields) < 13 {
		return 0, errors.New("unexpected /proc/<pid>/stat")
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

var csrfTokenField = regexp.MustCompile(`name="gorilla\.csrf\.Token" value="([^"]+)"`)

// login returns a browser (its own cookies) logged in as userID through the development login.
func (s *serverProcess) login(ctx context.Context, userID string) (*http.Client, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	body, _, err := get(ctx, c, s.url+"/login")
	if err != nil {
		return nil, err
	}
	m := csrfTokenField.FindSubmatch(body)
	if m == nil {
		return nil, errors.New("the login page has no CSRF token")
	}
	form := url.Values{"user": {userID}, "gorilla.csrf.Token": {html.UnescapeString(string(m[1]))}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/login/dev", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	if !bytes.Contains(page, []byte(`class="user-login"`)) {
		return nil, fmt.Errorf("development login as %s: %d at %s", userID, resp.StatusCode, resp.Request.URL)
	}
	return c, nil
}

// get fetches a page and fails on anything but 200.
func get(ctx context.Context, c *http.Client, address string) ([]byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, address, nil)
	if err != nil {
		return nil, 0, err
	}
	return do(c, req)
}

// do sends a GET and returns the body and how long it took to arrive whole; anything but 200 fails.
func do(c *http.Client, req *http.Request) ([]byte, time.Duration, error) {
	address := req.URL.String()
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	elapsed := time.Since(start)
	if err != nil {
		return nil, elapsed, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, elapsed, fmt.Errorf("GET %s: %d", address, resp.StatusCode)
	}
	return body, elapsed, nil
}

// tailBuffer keeps the last max bytes written to it: the end of the server's log, for an error message.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// projectionDelays reads the server's histogram of the time from an event's recording to projector
// applying it (jobserver_projection_delay_seconds): cumulative counts by upper bound, in seconds.
func (s *serverProcess) projectionDelays(ctx context.Context, projector string) (map[float64]uint64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.operator+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read the server's metrics: %w", err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read the server's metrics: %w", err)
	}
	counts := map[float64]uint64{}
	for _, m := range families["jobserver_projection_delay_seconds"].GetMetric() {
		for _, label := range m.GetLabel() {
			if label.GetName() == "projector" && label.GetValue() == projector {
				for _, b := range m.GetHistogram().GetBucket() {
					counts[b.GetUpperBound()] = b.GetCumulativeCount()
				}
				counts[math.Inf(1)] = m.GetHistogram().GetSampleCount()
			}
		}
	}
	return counts, nil
}

// delayQuantile is the upper bound of the bucket holding quantile q of the events counted between two
// readings of projectionDelays.
func delayQuantile(before, after map[float64]uint64, q float64) float64 {
	bounds := slices.Sorted(maps.Keys(after))
	total := after[math.Inf(1)] - before[math.Inf(1)]
	for _, b := range bounds {
		if float64(after[b]-before[b]) >= q*float64(total) {
			return b
		}
	}
	return math.Inf(1)
}
