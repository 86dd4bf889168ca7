// Package alertmanagertest starts a real Prometheus Alertmanager for
// tests: Debian's prometheus-alertmanager (0.25), on a free loopback port,
// with its own temporary storage, without clustering (no gossip), its
// webhook receiver pointed at a bot with bearer credentials and its group
// and repeat intervals shortened. Tests post alerts to Alertmanager's own
// API and watch what reaches the bot.
package alertmanagertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Binary is where Debian installs Alertmanager.
const Binary = "/usr/bin/prometheus-alertmanager"

// binary finds Alertmanager: Debian's path, or prometheus-alertmanager or
// alertmanager on PATH.
func binary() (string, bool) {
	if _, err := os.Stat(Binary); err == nil {
		return Binary, true
	}
	for _, name := range []string{"prometheus-alertmanager", "alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// SkipReason is why the Alertmanager tests cannot run here, or "".
func SkipReason() string {
	if _, ok := binary(); !ok {
		return "prometheus-alertmanager not found: install it (apt-get install prometheus-alertmanager, as .ci/run does) to run the Alertmanager tests"
	}
	return ""
}

// Options configure one Alertmanager.
type Options struct {
	// WebhookURL is the bot's receiver, e.g.
	// http://127.0.0.1:8470/v1/alerts/alertmanager; Token its bearer token.
	WebhookURL, Token string
	// Receiver is the webhook receiver's name; default "recallbot".
	Receiver string
	// GroupBy defaults to ["alertname"].
	GroupBy []string
	// GroupWait, GroupInterval and RepeatInterval default to 200ms, 1s
	// and 3s: a test sees a group's first notification, its changes and
	// its repeats within seconds.
	GroupWait, GroupInterval, RepeatInterval time.Duration
	// SendResolved defaults to true, as Alertmanager's does.
	NoResolved bool
}

// Server is a running Alertmanager.
type Server struct {
	URL  string
	cmd  *exec.Cmd
	dir  string
	log  string
	done chan struct{}
}

// Start starts an Alertmanager for t (which it stops at the end), or skips
// t when Alertmanager is not installed; under CI=1 it fails instead.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	if reason := SkipReason(); reason != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI needs the Alertmanager tests: %s", reason)
		}
		t.Skip(reason)
	}
	s, err := start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func start(o Options) (*Server, error) {
	bin, _ := binary()
	if o.Receiver == "" {
		o.Receiver = "recallbot"
	}
	if len(o.GroupBy) == 0 {
		o.GroupBy = []string{"alertname"}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.GroupWait, 200*time.Millisecond)
	def(&o.GroupInterval, time.Second)
	def(&o.RepeatInterval, 3*time.Second)
	dir, err := os.MkdirTemp("", "recallbot-alertmanager-")
	if err != nil {
		return nil, err
	}
	groupBy, _ := json.Marshal(o.GroupBy)
	cfg := fmt.Sprintf(`route:
  receiver: %q
  group_by: %s
  group_wait: %s
  group_interval: %s
  repeat_interval: %s
receivers:
  - name: %q
    webhook_configs:
      - url: %q
        send_resolved: %t
        max_alerts: 0
        http_config:
          authorization:
            type: Bearer
            credentials: %q
`, o.Receiver, groupBy, o.GroupWait, o.GroupInterval, o.RepeatInterval, o.Receiver, o.WebhookURL, !o.NoResolved, o.Token)
	if err := os.WriteFile(filepath.Join(dir, "alertmanager.yml"), []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	_ = l.Close()
	s := &Server{URL: "http://" + addr, dir: dir, log: filepath.Join(dir, "alertmanager.log"), done: make(chan struct{})}
	logf, err := os.Create(s.log)
	if err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin, "--config.file="+filepath.Join(dir, "alertmanager.yml"), "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--web.external-url="+s.URL, "--cluster.listen-address=", "--log.level=info")
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test binary
	if err := s.cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("starting alertmanager: %w", err)
	}
	go func() { _ = s.cmd.Wait(); _ = logf.Close(); close(s.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := http.Get(s.URL + "/-/ready")
		if err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return s, nil
			}
		}
		select {
		case <-s.done:
			b, _ := os.ReadFile(s.log)
			return nil, fmt.Errorf("alertmanager exited at start:\n%s", b)
		case <-time.After(50 * time.Millisecond): // polling a child's readiness: it has no other signal
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("alertmanager did not become ready in 20 s")
		}
	}
}

// Stop kills Alertmanager and removes its directory.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.done
	}
	_ = os.RemoveAll(s.dir)
}

// Log is what Alertmanager logged so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.log)
	return string(b)
}

// Alert is an alert as Alertmanager's POST /api/v2/alerts takes it.
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Post posts alerts to Alertmanager's own API. An alert posted with EndsAt
// in the past is resolved.
func (s *Server) Post(ctx context.Context, alerts ...Alert) error {
	b, _ := json.Marshal(alerts)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/api/v2/alerts", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("POST /api/v2/alerts: %d %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// Matcher is one of a silence's matchers as Alertmanager shows it;
// IsEqual is nil where Alertmanager leaves it out (equality).
type Matcher struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"isRegex"`
	IsEqual *bool  `json:"isEqual"`
}

// Silence is a silence as GET /api/v2/silences shows it.
type Silence struct {
	ID        string    `json:"id"`
	Matchers  []Matcher `json:"matchers"`
	CreatedBy string    `json:"createdBy"`
	Comment   string    `json:"comment"`
	EndsAt    time.Time `json:"endsAt"`
	Status    struct {
		State string `json:"state"`
	} `json:"status"`
}

// Silences lists every silence Alertmanager has.
func (s *Server) Silences(ctx context.Context) ([]Silence, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v2/silences", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []Silence
	return out, json.NewDecoder(resp.Body).Decode(&out)
}

// AlertStatus is an alert as GET /api/v2/alerts shows it: its labels and
// whether it is active or suppressed (silenced or inhibited), and by what.
type AlertStatus struct {
	Labels map[string]string `json:"labels"`
	Status struct {
		State      string   `json:"state"`
		SilencedBy []string `json:"silencedBy"`
	} `json:"status"`
}

// Alerts lists the alerts Alertmanager has, with their state.
func (s *Server) Alerts(ctx context.Context) ([]AlertStatus, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/v2/alerts", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []AlertStatus
	return out, json.NewDecoder(resp.Body).Decode(&out)
}
