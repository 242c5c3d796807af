package putevents

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
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a server process this run started and must stop.
type child struct {
	cmd    *exec.Cmd
	pid    int
	args   []string
	url    string
	dir    string // removed on stop
	exited chan struct{}

	mu       sync.Mutex
	complain []string // warning and error lines of its log

	stopOnce sync.Once
}

var servingRE = regexp.MustCompile(`switchyard serving"? addr=(\S+)`)

// startSwitchyard runs `switchyard serve` on a loopback port and a fresh
// data directory, with the environment's SWITCHYARD_* settings removed so
// that the figures do not depend on them.
func startSwitchyard(ctx context.Context, cfg Config) (*child, error) {
	bin := cfg.ServeBinary
	if bin == "" {
		var err error
		if bin, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("locate switchyard: %w", err)
		}
	}
	dir, err := os.MkdirTemp("", "switchyard-bench-")
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dir, "--sync", cfg.Sync,
		"--log-level", "info", "--log-format", "text",
		"--quota-putevents", "0", "--quota-control", "0"}, cfg.ServeArgs...) // no quotas: it measures how fast Switchyard goes
	if !hasAuthFlag(cfg.ServeArgs) {
		args = append(args, "--auth", "none") // unsigned load, as before SigV4 verification
	}
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SWITCHYARD_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	c := &child{cmd: cmd, args: append([]string{bin}, args...), dir: dir}
	addr := make(chan string, 1)
	if err := c.start(func(r io.Reader) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if m := servingRE.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
			if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
				c.note(line)
			}
		}
	}); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	select {
	case a := <-addr:
		c.url = "http://" + a
	case <-c.exited:
		c.stop()
		return nil, fmt.Errorf("switchyard serve exited before serving:\n%s", c.complaints())
	case <-time.After(30 * time.Second):
		c.stop()
		return nil, errors.New("switchyard serve did not start serving within 30s")
	case <-ctx.Done():
		c.stop()
		return nil, ctx.Err()
	}
	return c, nil
}

func hasAuthFlag(args []string) bool {
	for _, a := range args {
		if a == "--auth" || strings.HasPrefix(a, "--auth=") {
			return true
		}
	}
	return false
}

// startMoto runs moto_server on a free loopback port.
func startMoto(ctx context.Context, cfg Config) (*child, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	args := []string{"-H", "127.0.0.1", "-p", strconv.Itoa(port)}
	c := &child{cmd: exec.Command(cfg.MotoCommand, args...), args: append([]string{cfg.MotoCommand}, args...),
		url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	// moto logs every request; only its last words matter.
	if err := c.start(func(r io.Reader) {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if line := sc.Text(); !strings.Contains(line, `"POST / HTTP/1.1"`) {
				c.note(line)
			}
		}
	}); err != nil {
		return nil, fmt.Errorf("start moto_server: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(c.url + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return c, nil
		}
		select {
		case <-c.exited:
			c.stop()
			return nil, fmt.Errorf("moto_server exited:\n%s", c.complaints())
		case <-ctx.Done():
			c.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, errors.New("moto_server did not answer within 30s")
		}
	}
}

func (c *child) start(logs func(io.Reader)) error {
	// Its own process group: an interrupt reaches this process, which then
	// stops the child in order, rather than both at once.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		return err
	}
	c.cmd.Stdout = c.cmd.Stderr
	if err := c.cmd.Start(); err != nil {
		return err
	}
	c.pid = c.cmd.Process.Pid
	c.exited = make(chan struct{})
	go func() {
		logs(stderr)
		_ = c.cmd.Wait()
		close(c.exited)
	}()
	return nil
}

func (c *child) note(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.complain) < 20 {
		c.complain = append(c.complain, line)
	}
}

func (c *child) complaints() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, l := range c.complain {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

// stop asks the child's process group to terminate, insists after 30s,
// and removes its data directory. It may be called more than once.
func (c *child) stop() {
	c.stopOnce.Do(func() {
		_ = syscall.Kill(-c.pid, syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-c.pid, syscall.SIGKILL)
			<-c.exited
		}
		if c.dir != "" {
			os.RemoveAll(c.dir)
		}
	})
}

// cpu is the user+system time the child's process has used (Linux only;
// 0 elsewhere).
func (c *child) cpu() time.Duration { return pidCPU(c.pid) }

// ProcessCPU is the CPU time (user and system) the processes have used,
// together (Linux; 0 elsewhere).
func ProcessCPU(pids []int) time.Duration { return pidsCPU(pids) }

// pidsCPU is the CPU time the processes have used, together.
func pidsCPU(pids []int) time.Duration {
	var sum time.Duration
	for _, p := range pids {
		sum += pidCPU(p)
	}
	return sum
}

// pidCPU is the CPU time (user and system) process pid has used.
func pidCPU(pid int) time.Duration {
	if runtime.GOOS != "linux" {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name; utime and stime are
	// the 14th and 15th of the whole line, in USER_HZ (100/s on Linux).
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * 10 * time.Millisecond
}

// hostNote describes the machine for the report.
func hostNote() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = ", load average " + strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return fmt.Sprintf("host: %s, %d CPUs%s; the load generator shares them with the server", model, runtime.NumCPU(), load)
}
