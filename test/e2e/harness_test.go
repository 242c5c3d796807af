// Package e2e drives the real switchyard binary, as a separate process,
// with the real aws-sdk-go-v2 EventBridge client and real HTTP receivers.
package e2e

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/switchyard/switchyard/internal/testpeer"
)

// binary is the switchyard executable under test, built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "switchyard-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = os.Getenv("SWITCHYARD_BIN")
	if binary == "" {
		binary = filepath.Join(dir, "switchyard")
		cmd := exec.Command("go", "build", "-o", binary, "../../cmd/switchyard")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build switchyard:", err)
			os.Exit(1)
		}
	} else if binary, err = filepath.Abs(binary); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	stopMoto()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is one running switchyard process.
type server struct {
	t       testing.TB
	cmd     *exec.Cmd
	addr    string
	dataDir string
	args    []string
	keyFile string   // the secrets key made for it (secretsArgs)
	env     []string // added to the switchyard process's environment (startServerEnv)
	exited  chan struct{}
	logMu   sync.Mutex
	log     strings.Builder
}

var servingRE = regexp.MustCompile(`switchyard serving"? addr=(\S+)`)

// startServer runs switchyard on a fresh data directory.
func startServer(t testing.TB, args ...string) *server {
	t.Helper()
	s := &server{t: t, dataDir: t.TempDir(), args: args}
	t.Cleanup(func() { s.stop() })
	s.start("127.0.0.1:0")
	return s
}

// startServerEnv is startServer with env ("NAME=value") added to the
// switchyard process's environment only, so that a test can configure the
// SDK inside switchyard without changing its own clients' environment.
func startServerEnv(t testing.TB, env []string, args ...string) *server {
	t.Helper()
	s := &server{t: t, dataDir: t.TempDir(), args: args, env: env}
	t.Cleanup(func() { s.stop() })
	s.start("127.0.0.1:0")
	return s
}

// quotaArgs turns the accounts' API quotas off, unless the test's own
// arguments set one: the suite's tests make requests as fast as they can,
// with one attempt each; the quota tests set theirs.
func quotaArgs(args []string) []string {
	for _, a := range args {
		if strings.HasPrefix(a, "--quota-") {
			return nil
		}
	}
	return []string{"--quota-putevents", "0", "--quota-control", "0"}
}

func (s *server) start(listen string) {
	s.t.Helper()
	args := append([]string{"serve", "--listen", listen, "--data-dir", s.dataDir}, s.args...)
	args = append(args, devAuth(s.args)...)
	args = append(args, s.secretsArgs()...)
	args = append(args, quotaArgs(s.args)...)
	s.cmd = exec.Command(binary, args...)
	if s.env != nil {
		s.cmd.Env = append(os.Environ(), s.env...)
	}
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.exited = make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.logMu.Lock()
			s.log.WriteString(line + "\n")
			s.logMu.Unlock()
			if m := servingRE.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case s.addr = <-addr:
	case <-s.exited:
		s.cmd = nil
		s.t.Fatalf("switchyard exited before serving:\n%s", s.logs())
	case <-time.After(60 * time.Second):
		s.kill9()
		s.t.Fatalf("switchyard did not start:\n%s", s.logs())
	}
}

// devAuth is the --auth none (dev mode) that servers get unless a test
// chose its own --auth: the tests predating SigV4 verification send any
// credentials, 12-digit access key ids as accounts.
func devAuth(args []string) []string {
	for _, a := range args {
		if a == "--auth" || strings.HasPrefix(a, "--auth=") {
			return nil
		}
	}
	return []string{"--auth", "none"}
}

func (s *server) logs() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.log.String()
}

// stop shuts the server down gracefully (SIGTERM).
func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		s.t.Errorf("switchyard did not stop on SIGTERM within 30s")
	}
	s.cmd = nil
}

// kill9 kills the server without warning.
func (s *server) kill9() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
	s.cmd = nil
}

// restart starts the server again on the same data directory and address.
func (s *server) restart() {
	s.t.Helper()
	s.start(s.addr)
}

// client returns an EventBridge client for the given account (a 12-digit
// access key id) and region.
func (s *server) client(account, region string) *eventbridge.Client {
	return eventbridge.New(eventbridge.Options{
		Region:           region,
		BaseEndpoint:     aws.String("http://" + s.addr),
		Credentials:      credentials.NewStaticCredentialsProvider(account, "secret", ""),
		RetryMaxAttempts: 1,
	})
}

// receiver is a real HTTP endpoint recording what it receives.
type receiver struct {
	URL    string
	mu     sync.Mutex
	bodies [][]byte
	at     []time.Time // when each of bodies arrived
	status int
	notify chan struct{}
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{status: http.StatusOK, notify: make(chan struct{}, 1)}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := r.status
		if status < 300 {
			r.bodies = append(r.bodies, b)
			r.at = append(r.at, time.Now())
		}
		r.mu.Unlock()
		select {
		case r.notify <- struct{}{}:
		default:
		}
		w.WriteHeader(status)
	})}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	r.URL = "http://" + lis.Addr().String() + "/events"
	return r
}

// receivedAt returns what received does and when each arrived.
func (r *receiver) receivedAt() ([][]byte, []time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...), append([]time.Time(nil), r.at...)
}

func (r *receiver) received() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...)
}

// waitFor waits until the receiver holds at least n bodies.
func (r *receiver) waitFor(t testing.TB, n int, within time.Duration) [][]byte {
	t.Helper()
	deadline := time.After(within)
	for {
		if got := r.received(); len(got) >= n {
			return got
		}
		select {
		case <-r.notify:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("receiver got %d bodies, want %d", len(r.received()), n)
		}
	}
}

// event is the EventBridge envelope as targets receive it.
type event struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// moto is the moto_server shared by every test of this binary: starting one
// costs seconds, and tests keep apart by naming their own resources.
var moto struct {
	once     sync.Once
	srv      *testpeer.MotoServer
	url      string
	dir      string
	recorded string // moto's request recording (MOTO_ENABLE_RECORDING)
	err      error
}

// startMoto returns the URL of the shared moto_server, starting it on a
// free loopback port on first use; the test is skipped when moto_server is
// not installed. It also sets, for this process and the switchyard
// processes it starts, the dummy credentials moto accepts: pass the URL to
// switchyard as --aws-endpoint. moto's Lambda runs no code (no Docker):
// Invoke calls are accepted and recorded, see motoRequests.
func startMoto(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Skip("moto_server is not installed")
	}
	moto.once.Do(func() { moto.err = launchMoto(bin) })
	if moto.err != nil {
		t.Fatal(moto.err)
	}
	return moto.url
}

func launchMoto(bin string) error {
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_SESSION_TOKEN": "", "AWS_EC2_METADATA_DISABLED": "true"} {
		os.Setenv(k, v)
	}
	dir, err := os.MkdirTemp("", "switchyard-e2e-moto")
	if err != nil {
		return err
	}
	moto.dir, moto.recorded = dir, filepath.Join(dir, "recording.jsonl")
	moto.srv, err = testpeer.StartMoto(bin, []string{"MOTO_ENABLE_RECORDING=true", "MOTO_RECORDER_FILEPATH=" + moto.recorded},
		60*time.Second)
	if err != nil {
		return err
	}
	moto.url = moto.srv.URL
	resp, err := http.Post(moto.url+"/moto-api/config", "application/json",
		strings.NewReader(`{"lambda": {"use_docker": false}}`))
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

func stopMoto() {
	if moto.srv != nil {
		moto.srv.Stop()
	}
	if moto.dir != "" {
		os.RemoveAll(moto.dir)
	}
}

// motoRequest is one request moto recorded.
type motoRequest struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	Encoded bool              `json:"body_encoded"`
}

// body is the request's body, decoded.
func (r motoRequest) body() string {
	if !r.Encoded {
		return r.Body
	}
	b, _ := base64.StdEncoding.DecodeString(r.Body)
	return string(b)
}

// motoRequests returns the requests moto has received so far.
func motoRequests(t testing.TB) []motoRequest {
	t.Helper()
	b, err := os.ReadFile(moto.recorded)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []motoRequest
	for _, line := range strings.Split(string(b), "\n") {
		var r motoRequest
		if json.Unmarshal([]byte(line), &r) == nil {
			out = append(out, r)
		}
	}
	return out
}
