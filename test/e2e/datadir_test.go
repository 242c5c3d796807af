package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// The data directory is safe: one process at a time, a directory that
// cannot be written refused at once, and a full disk survived without a
// restart (issue 13). These tests need root for tmpfs mounts, as the
// disk-full ones need a small filesystem to fill; they skip, saying so,
// when mounting is not permitted.

// TestDataDirLocked: a second `switchyard serve` on a data directory in use
// refuses to start at once, naming the process that holds it; once that
// process is killed with SIGKILL the directory is free again.
func TestDataDirLocked(t *testing.T) {
	s := startServer(t)
	out, took, err := serveOnce(t, s.dataDir, 10*time.Second)
	if err == nil {
		t.Fatalf("a second switchyard on the same data dir started:\n%s", out)
	}
	if took > 5*time.Second {
		t.Errorf("the second switchyard took %v to refuse", took)
	}
	pid := strconv.Itoa(s.cmd.Process.Pid)
	for _, want := range []string{s.dataDir, "in use", "pid " + pid, s.addr} {
		if !strings.Contains(out, want) {
			t.Errorf("refusal does not say %q:\n%s", want, out)
		}
	}
	t.Logf("refused in %v: %s", took.Round(time.Millisecond), strings.TrimSpace(out))

	// The lock dies with its holder, even by kill -9.
	s.kill9()
	s.restart()
	c := s.client(acct, "us-east-1")
	if _, err := c.ListEventBuses(ctx(t), &eventbridge.ListEventBusesInput{}); err != nil {
		t.Fatalf("after kill -9 and a new start: %v", err)
	}
}

// TestDataDirReadOnly: a data directory on a read-only filesystem fails the
// start at once, with a message naming the directory and the OS's error
// (it used to wait 30 s and say only that NATS was not ready).
func TestDataDirReadOnly(t *testing.T) {
	mnt := mountTmpfs(t, 8)
	dir := filepath.Join(mnt, "data")
	s := startServerOn(t, dir)
	s.stop()
	if out, err := exec.Command("mount", "-o", "remount,ro", mnt).CombinedOutput(); err != nil {
		t.Fatalf("remount read-only: %v: %s", err, out)
	}
	out, took, err := serveOnce(t, dir, 40*time.Second)
	if err == nil {
		t.Fatalf("switchyard started on a read-only data dir:\n%s", out)
	}
	if took > 5*time.Second {
		t.Errorf("switchyard took %v to refuse a read-only data dir", took)
	}
	for _, want := range []string{dir, "not writable", "read-only file system"} {
		if !strings.Contains(out, want) {
			t.Errorf("refusal does not say %q:\n%s", want, out)
		}
	}
	t.Logf("refused in %v: %s", took.Round(time.Millisecond), strings.TrimSpace(out))
}

// TestDiskFullWhileRunning fills the data directory's filesystem under a
// running switchyard: PutEvents must answer a retryable error promptly
// (not a 400, not a hang); once space is freed, PutEvents and
// CreateEventBus work again without a restart, and every event
// acknowledged before, during and after is delivered.
//
// With a reserve, switchyard refuses PutEvents as soon as the free space is
// below it; without one ("off"), the writes reach the full disk and fail
// in nats-server, whose broken streams switchyard recovers by restarting
// its embedded server once there is room.
func TestDiskFullWhileRunning(t *testing.T) {
	for _, reserve := range []string{"2MiB", "off"} {
		t.Run("reserve="+reserve, func(t *testing.T) {
			mnt := mountTmpfs(t, 48)
			s := startServerOn(t, filepath.Join(mnt, "data"), "--disk-reserve", reserve, "--retry-base-delay", "100ms")
			pid := s.cmd.Process.Pid
			c := s.client(acct, "us-east-1")
			cx := ctx(t)
			rcv := newReceiver(t)
			mustRule(t, c, "default", "all", `{"source":["fill"]}`, rcv.URL)
			acked := newAckLog()
			for i := 0; i < 5; i++ {
				if err := acked.put(cx, c, 4, 1000); err != nil {
					t.Fatal(err)
				}
			}

			filler := fillDisk(t, mnt)
			full := time.Now()
			var refused error
			for refused == nil && time.Since(full) < 20*time.Second {
				start := time.Now()
				err := acked.put(cx, c, 4, 1000)
				if took := time.Since(start); took > 15*time.Second {
					t.Fatalf("PutEvents on a full disk took %v", took)
				}
				if err != nil {
					refused = err
				}
			}
			if refused == nil {
				t.Fatal("PutEvents kept succeeding on a full disk")
			}
			checkRetryable(t, "PutEvents on a full disk", refused)
			t.Logf("PutEvents %.1fs after the disk filled: %v", time.Since(full).Seconds(), refused)
			if _, err := c.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("during")}); err != nil {
				checkRetryable(t, "CreateEventBus on a full disk", err)
			}

			if err := os.Remove(filler); err != nil {
				t.Fatal(err)
			}
			freed := time.Now()
			for {
				err := acked.put(cx, c, 4, 1000)
				if err == nil {
					break
				}
				checkRetryable(t, "PutEvents after space was freed", err)
				if time.Since(freed) > 20*time.Second {
					t.Fatalf("PutEvents still failing 20s after space was freed: %v\n%s", err, s.logs())
				}
				time.Sleep(100 * time.Millisecond)
			}
			t.Logf("PutEvents works again %.1fs after space was freed", time.Since(freed).Seconds())
			if _, err := c.CreateEventBus(cx, &eventbridge.CreateEventBusInput{Name: aws.String("after")}); err != nil {
				t.Fatalf("CreateEventBus after space was freed: %v\n%s", err, s.logs())
			}
			for i := 0; i < 5; i++ {
				if err := acked.put(cx, c, 4, 1000); err != nil {
					t.Fatal(err)
				}
			}
			if s.cmd == nil || s.cmd.Process.Pid != pid {
				t.Fatal("switchyard was restarted")
			}
			select {
			case <-s.exited:
				t.Fatalf("switchyard exited:\n%s", s.logs())
			default:
			}
			waitDelivered(t, s, rcv, acked, 20*time.Second)
		})
	}
}

// TestDiskFullKill9Restart fills the disk until PutEvents fails, kills
// switchyard with SIGKILL while the disk is full, frees the space and
// starts it again: it must come up (with nats-server 2.15.2 recovering a
// stream after such a crash could panic, a nil pointer in the file store's
// recovery) and deliver every event that was acknowledged.
func TestDiskFullKill9Restart(t *testing.T) {
	mnt := mountTmpfs(t, 40)
	// No reserve, so that the writes reach the full disk as they do when
	// something else fills it.
	s := startServerOn(t, filepath.Join(mnt, "data"), "--disk-reserve", "off", "--retry-base-delay", "100ms")
	c := s.client(acct, "us-east-1")
	cx := ctx(t)
	rcv := newReceiver(t)
	rcv.mu.Lock()
	rcv.status = 503 // the target is down: tasks pile up, with their retries
	rcv.mu.Unlock()
	mustRule(t, c, "default", "all", `{"source":["fill"]}`, rcv.URL)

	// A filler leaves about 10 MB, less than the JetStream limit set from
	// the free space at start, so that the disk fills before the limit.
	filler := filepath.Join(mnt, "filler")
	if err := writeFile(filler, 28<<20); err != nil {
		t.Fatal(err)
	}
	acked := newAckLog()
	fails := 0
	start := time.Now()
	for fails < 3 && time.Since(start) < 20*time.Second {
		if err := acked.put(cx, c, 4, 50000); err != nil {
			fails++
			continue
		}
		fails = 0
	}
	if fails < 3 {
		t.Fatalf("PutEvents still succeeding after 20s of filling (%d acknowledged)", acked.len())
	}
	t.Logf("%d events acknowledged before the disk was full (%.1fs)", acked.len(), time.Since(start).Seconds())
	s.kill9()

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	rcv.mu.Lock()
	rcv.status = 200
	rcv.mu.Unlock()
	s.restart() // fails the test if switchyard exits or does not serve
	waitDelivered(t, s, rcv, acked, 25*time.Second)
}

// ackLog records the ids of acknowledged events.
type ackLog struct {
	mu  sync.Mutex
	ids map[string]bool
	n   int
}

func newAckLog() *ackLog { return &ackLog{ids: map[string]bool{}} }

func (a *ackLog) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.ids)
}

// put sends one PutEvents of n entries with a detail of about size bytes,
// records the entries acknowledged, and returns the call's error, or an
// error if no entry was acknowledged.
func (a *ackLog) put(cx context.Context, c *eventbridge.Client, n, size int) error {
	a.mu.Lock()
	a.n++
	k := a.n
	a.mu.Unlock()
	entries := make([]types.PutEventsRequestEntry, n)
	pad := strings.Repeat("x", size)
	for j := range entries {
		entries[j] = types.PutEventsRequestEntry{Source: aws.String("fill"), DetailType: aws.String("fill"),
			Detail: aws.String(fmt.Sprintf(`{"k":%d,"j":%d,"pad":%q}`, k, j, pad))}
	}
	cx, cancel := context.WithTimeout(cx, 30*time.Second)
	defer cancel()
	out, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: entries})
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ok := 0
	for _, e := range out.Entries {
		if e.EventId != nil && e.ErrorCode == nil {
			a.ids[*e.EventId] = true
			ok++
		}
	}
	if ok == 0 {
		return fmt.Errorf("no entry acknowledged: %s: %s", aws.ToString(out.Entries[0].ErrorCode), aws.ToString(out.Entries[0].ErrorMessage))
	}
	return nil
}

// checkRetryable fails the test unless err is an HTTP 5xx answer that the
// AWS SDK's standard retryer retries.
func checkRetryable(t *testing.T, what string, err error) {
	t.Helper()
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Errorf("%s: not an HTTP answer: %v", what, err)
		return
	}
	if code := re.HTTPStatusCode(); code < 500 {
		t.Errorf("%s: HTTP %d, want a 5xx: %v", what, code, err)
	}
	if retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) != aws.TrueTernary {
		t.Errorf("%s: the SDK would not retry: %v", what, err)
	}
}

// waitDelivered waits until every acknowledged event has reached rcv.
func waitDelivered(t *testing.T, s *server, rcv *receiver, acked *ackLog, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		seen := map[string]bool{}
		for _, b := range rcv.received() {
			var ev event
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatalf("receiver got a non-event: %.200s", b)
			}
			seen[ev.ID] = true
		}
		acked.mu.Lock()
		missing := 0
		for id := range acked.ids {
			if !seen[id] {
				missing++
			}
		}
		n := len(acked.ids)
		acked.mu.Unlock()
		if missing == 0 {
			t.Logf("all %d acknowledged events delivered (%d bodies received)", n, len(rcv.received()))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged events not delivered within %v\n%s", missing, n, within, s.logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// mountTmpfs mounts a tmpfs of sizeMB megabytes on a new directory,
// unmounted when the test ends; it skips the test if mounting is not
// permitted (not root, or no CAP_SYS_ADMIN in a container).
func mountTmpfs(t *testing.T, sizeMB int) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm", sizeMB), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("needs a small filesystem, and mounting a tmpfs is not permitted here: %v: %s", err, strings.TrimSpace(string(out)))
	}
	// Registered after TempDir's removal, so it runs before it; and after
	// any server started later has been stopped (cleanups run last first).
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// startServerOn runs switchyard on the given data directory.
func startServerOn(t *testing.T, dataDir string, args ...string) *server {
	t.Helper()
	s := &server{t: t, dataDir: dataDir, args: args}
	t.Cleanup(func() { s.stop() })
	s.start("127.0.0.1:0")
	return s
}

// serveOnce runs `switchyard serve` on dataDir, expecting it to exit, and
// returns its output and how long it ran; a process still running after
// limit is killed and reported as serving (nil error).
func serveOnce(t *testing.T, dataDir string, limit time.Duration) (string, time.Duration, error) {
	t.Helper()
	cx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(cx, binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--auth", "none")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if cx.Err() != nil {
		return string(out), took, nil
	}
	return string(out), took, err
}

// fillDisk fills the filesystem of dir with a file, returned, until a
// write fails for lack of space.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	name := filepath.Join(dir, "filler")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{1 << 20, 4 << 10, 512} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				break
			}
		}
	}
	_ = f.Sync()
	return name
}

// writeFile writes n bytes to a new file.
func writeFile(name string, n int) error {
	return os.WriteFile(name, make([]byte, n), 0o600)
}
