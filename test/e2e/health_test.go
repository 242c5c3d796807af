package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// probe GETs path on s and returns the status and body.
func probe(t *testing.T, addr, path string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitProbe polls path until it answers want, or fails the test.
func waitProbe(t *testing.T, addr, path string, want int, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		code, body := probe(t, addr, path)
		if code == want {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s answered %d %q, want %d within %v", path, code, body, want, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestReadiness: /readyz follows the NATS connection (an external NATS
// stopped and started again) while /healthz stays 200 throughout.
func TestReadiness(t *testing.T) {
	url, nats := natsProcess(t)
	s := startServer(t, "--nats-url", url)
	if code, body := probe(t, s.addr, "/readyz"); code != 200 || !strings.Contains(body, `"ready":true`) {
		t.Fatalf("/readyz = %d %q on a healthy server", code, body)
	}
	if code, _ := probe(t, s.addr, "/healthz"); code != 200 {
		t.Fatalf("/healthz = %d", code)
	}
	// NATS down: not ready, and says why; still alive.
	_ = nats.Process.Signal(syscall.SIGKILL)
	_, _ = nats.Process.Wait()
	body := waitProbe(t, s.addr, "/readyz", http.StatusServiceUnavailable, 15*time.Second)
	var out struct {
		Ready   bool
		Reasons []string
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil || out.Ready || len(out.Reasons) == 0 {
		t.Fatalf("/readyz body %q: %v", body, err)
	}
	if !strings.Contains(strings.Join(out.Reasons, ";"), "NATS") && !strings.Contains(strings.Join(out.Reasons, ";"), "JetStream") {
		t.Errorf("reasons %q do not name NATS or JetStream", out.Reasons)
	}
	if code, _ := probe(t, s.addr, "/healthz"); code != 200 {
		t.Fatalf("/healthz = %d with NATS down: liveness must not follow storage", code)
	}
}

// TestShutdownDrain: on SIGTERM with --shutdown-delay, the server keeps
// answering requests while /readyz says 503, then exits.
func TestShutdownDrain(t *testing.T) {
	s := startServer(t, "--shutdown-delay", "3s")
	waitProbe(t, s.addr, "/readyz", 200, 10*time.Second)
	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitProbe(t, s.addr, "/readyz", http.StatusServiceUnavailable, 2*time.Second)
	// Still serving the API during the delay.
	c := s.client("123456789012", "us-east-1")
	if _, err := c.ListEventBuses(ctx(t), nil); err != nil {
		t.Fatalf("ListEventBuses during the drain: %v", err)
	}
	select {
	case <-s.exited:
		if d := time.Since(start); d < 2*time.Second {
			t.Errorf("exited after %v, before the 3 s shutdown delay", d)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("did not exit after the drain")
	}
	s.cmd = nil
}

// TestConfigFile: serve reads its settings from --config; the command line
// wins over the file, and a key that is no flag is refused at once.
func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "switchyard.yaml")
	// targets-per-rule from the file; rules-per-bus in both (the command line's wins).
	writeConfig(t, cfg, "targets-per-rule: 2\nrules-per-bus: 7\nlog-level: info\n")
	s := startServer(t, "--config", cfg, "--rules-per-bus", "1")
	c := s.client("123456789012", "us-east-1")
	pattern := aws.String(`{"source":["x"]}`)
	if _, err := c.PutRule(ctx(t), &eventbridge.PutRuleInput{Name: aws.String("r1"), EventPattern: pattern}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutRule(ctx(t), &eventbridge.PutRuleInput{Name: aws.String("r2"), EventPattern: pattern}); err == nil || !strings.Contains(err.Error(), "LimitExceededException") {
		t.Fatalf("second rule with --rules-per-bus 1 on the command line: %v", err)
	}
	var targets []types.Target
	for i := range 3 {
		targets = append(targets, types.Target{Id: aws.String(fmt.Sprint(i)), Arn: aws.String("arn:aws:sqs:us-east-1:123456789012:q")})
	}
	if _, err := c.PutTargets(ctx(t), &eventbridge.PutTargetsInput{Rule: aws.String("r1"), Targets: targets}); err == nil || !strings.Contains(err.Error(), "LimitExceededException") {
		t.Fatalf("3 targets with targets-per-rule: 2 in the config file: %v", err)
	}

	writeConfig(t, cfg, "listen: 127.0.0.1:0\nno-such-flag: 1\n")
	out, err := exec.Command(binary, "serve", "--config", cfg, "--auth", "none", "--data-dir", t.TempDir()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), `"no-such-flag" is not a serve flag`) {
		t.Fatalf("unknown key: %v %s", err, out)
	}
}

func writeConfig(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}
