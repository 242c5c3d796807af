// Package devcluster runs a Switchyard cluster on one machine's loopback:
// N nats-server processes forming one JetStream cluster, and N switchyard
// processes serving the API on it, every stream and bucket with N replicas.
// It is what `make cluster` runs for development, and what the end-to-end
// cluster tests and the cluster benchmark drive: each member can be killed
// (kill -9), stopped and started again on its port and data.
//
// Members are separate processes, not goroutines, so that killing one is
// what a crash is: the kernel closes its sockets and its files mid-write.
package devcluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Config describes a cluster.
type Config struct {
	// Nodes is how many NATS nodes and how many switchyard processes (3 if
	// 0). A JetStream cluster needs 3 nodes to survive the loss of one.
	Nodes int
	// Switchyard and NATS are the binaries.
	Switchyard, NATS string
	// Dir holds every member's data; it must exist.
	Dir string
	// Args are added to every switchyard serve (e.g. --auth none).
	Args []string
	// Env is added to every switchyard process's environment.
	Env []string
	// Log, if set, receives every member's output, each line prefixed
	// with the member's name.
	Log io.Writer
}

// Cluster is a running cluster.
type Cluster struct {
	cfg  Config
	NATS []*Member
	// Switchyard are the API processes; Addr is each one's host:port.
	Switchyard []*Member
	// URLs is the NATS client URL list that every switchyard uses.
	URLs string
}

// Member is one process of the cluster.
type Member struct {
	Name string
	Addr string // the API address of a switchyard; the client address of a NATS node
	args []string
	bin  string
	env  []string
	log  io.Writer

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	output strings.Builder
}

// Start starts the cluster and waits until every switchyard serves.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Nodes <= 0 {
		cfg.Nodes = 3
	}
	c := &Cluster{cfg: cfg}
	clientPorts, err := freePorts(cfg.Nodes)
	if err != nil {
		return nil, err
	}
	routePorts, err := freePorts(cfg.Nodes)
	if err != nil {
		return nil, err
	}
	monitorPorts, err := freePorts(cfg.Nodes)
	if err != nil {
		return nil, err
	}
	var routes, urls []string
	for i := range cfg.Nodes {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", routePorts[i]))
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", clientPorts[i]))
	}
	c.URLs = strings.Join(urls, ",")
	for i := range cfg.Nodes {
		name := fmt.Sprintf("nats-%d", i+1)
		conf := filepath.Join(cfg.Dir, name+".conf")
		// max_payload: Switchyard's PutEvents batches and archived bodies
		// reach 8 MB; the flag exists only in the configuration file.
		text := fmt.Sprintf(`server_name: %q
listen: "127.0.0.1:%d"
http: "127.0.0.1:%d"
max_payload: 8388608
jetstream { store_dir: %q }
cluster {
  name: switchyard
  listen: "127.0.0.1:%d"
  routes: [%s]
}
`, name, clientPorts[i], monitorPorts[i], filepath.Join(cfg.Dir, name), routePorts[i], strings.Join(routes, ", "))
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			c.Close()
			return nil, err
		}
		m := &Member{Name: name, Addr: fmt.Sprintf("127.0.0.1:%d", clientPorts[i]), bin: cfg.NATS, log: cfg.Log,
			args: []string{"-c", conf}}
		c.NATS = append(c.NATS, m)
		if err := m.Start(); err != nil {
			c.Close()
			return nil, err
		}
	}
	// Until every node's JetStream has a meta leader and is current
	// (the monitoring endpoint's /healthz says 200): switchyard creates
	// its streams and buckets as it starts.
	for i, m := range c.NATS {
		url := fmt.Sprintf("http://127.0.0.1:%d/healthz", monitorPorts[i])
		if err := waitHTTP(ctx, url, 90*time.Second); err != nil {
			c.Close()
			return nil, fmt.Errorf("%s: %w\n%s", m.Name, err, tailOf(m.Output(), 4000))
		}
	}
	apiPorts, err := freePorts(cfg.Nodes)
	if err != nil {
		c.Close()
		return nil, err
	}
	for i := range cfg.Nodes {
		name := fmt.Sprintf("switchyard-%d", i+1)
		m := &Member{Name: name, Addr: fmt.Sprintf("127.0.0.1:%d", apiPorts[i]), bin: cfg.Switchyard, log: cfg.Log,
			env: cfg.Env,
			// A data dir of its own, though on --nats-url it holds
			// nothing but the lock that keeps two processes off it.
			args: append([]string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", apiPorts[i]),
				"--data-dir", filepath.Join(cfg.Dir, name),
				"--nats-url", c.URLs, "--replicas", fmt.Sprint(min(cfg.Nodes, 3))}, cfg.Args...)}
		c.Switchyard = append(c.Switchyard, m)
		if err := m.Start(); err != nil {
			c.Close()
			return nil, err
		}
	}
	for _, m := range c.Switchyard {
		if err := m.WaitReady(ctx, 90*time.Second); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// Close kills every member.
func (c *Cluster) Close() {
	for _, m := range append(append([]*Member{}, c.Switchyard...), c.NATS...) {
		m.Kill9()
	}
}

// Stop stops every member gracefully: the switchyard processes first.
func (c *Cluster) Stop() {
	for _, m := range c.Switchyard {
		m.Stop(30 * time.Second)
	}
	for _, m := range c.NATS {
		m.Stop(30 * time.Second)
	}
}

// Start starts the member's process (again, on the same address and data).
func (m *Member) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		return fmt.Errorf("%s is running", m.Name)
	}
	cmd := exec.Command(m.bin, m.args...)
	cmd.Env = append(os.Environ(), m.env...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", m.Name, err)
	}
	m.cmd = cmd
	exited := make(chan struct{})
	m.exited = exited
	go func() {
		_ = cmd.Wait()
		_ = pw.Close()
		close(exited)
	}()
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			m.mu.Lock()
			if m.output.Len() < 4<<20 {
				m.output.WriteString(sc.Text() + "\n")
			}
			m.mu.Unlock()
			if m.log != nil {
				fmt.Fprintf(m.log, "%-13s %s\n", m.Name, sc.Text())
			}
		}
	}()
	return nil
}

// Pid is the member's process id (0 when it is not running).
func (m *Member) Pid() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return 0
	}
	return m.cmd.Process.Pid
}

// Running reports whether the member's process is up.
func (m *Member) Running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cmd != nil
}

// Kill9 kills the member without warning.
func (m *Member) Kill9() {
	m.signal(syscall.SIGKILL, 0)
}

// Stop stops the member with SIGTERM, and kills it after grace.
func (m *Member) Stop(grace time.Duration) {
	m.signal(syscall.SIGTERM, grace)
}

func (m *Member) signal(sig syscall.Signal, grace time.Duration) {
	m.mu.Lock()
	cmd, exited := m.cmd, m.exited
	m.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	if grace > 0 {
		select {
		case <-exited:
		case <-time.After(grace):
			_ = cmd.Process.Kill()
		}
	}
	<-exited
	m.mu.Lock()
	m.cmd = nil
	m.mu.Unlock()
}

// Output is what the member has written so far (its first 4 MiB).
func (m *Member) Output() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.output.String()
}

// WaitReady waits until a switchyard member's /readyz answers 200.
func (m *Member) WaitReady(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get("http://" + m.Addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		m.mu.Lock()
		exited := m.cmd == nil
		if m.exited != nil {
			select {
			case <-m.exited:
				exited = true
			default:
			}
		}
		m.mu.Unlock()
		if exited {
			return fmt.Errorf("%s exited before it was ready:\n%s", m.Name, tailOf(m.Output(), 4000))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within %v:\n%s", m.Name, within, tailOf(m.Output(), 4000))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func tailOf(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func waitHTTP(ctx context.Context, url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not healthy within %v: %w", url, within, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// freePorts finds n ports free on 127.0.0.1 now.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// BuildNATS builds nats-server, the version go.mod names, into dir, and
// returns its path: the cluster's nodes run the very server the embedded
// mode links.
func BuildNATS(ctx context.Context, moduleDir, dir string) (string, error) {
	bin := filepath.Join(dir, "nats-server")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/nats-io/nats-server/v2")
	cmd.Dir = moduleDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build nats-server: %w\n%s", err, out)
	}
	return bin, nil
}
