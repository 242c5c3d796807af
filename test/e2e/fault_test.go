package e2e

// The fault-injection suite: sustained PutEvents load against the real
// binary while something goes wrong — the process is killed with SIGKILL,
// the target is down, the target hangs — and, at the end, a count of every
// event: acknowledged, delivered, duplicated, lost. Lost must be 0.
//
// `make test` runs each fault briefly. `make soak` runs the same faults for
// longer (SWITCHYARD_SOAK, a duration, e.g. 10m: the load runs that long
// per fault and the faults repeat through it); docs/reliability.md records
// the figures.

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// soakDuration is how long each fault's load runs: SWITCHYARD_SOAK, or
// short for `make test`.
func soakDuration(t *testing.T, short time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv("SWITCHYARD_SOAK")
	if v == "" {
		return short
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("SWITCHYARD_SOAK=%q is not a duration", v)
	}
	return d
}

// faultReceiver is an HTTP target that counts the events it accepts by id
// and can be switched to failing (503), hanging (holding every call until
// switched back) or up.
type faultReceiver struct {
	URL   string
	mode  atomic.Int32 // receiverUp, receiverDown, receiverHang
	calls atomic.Int64
	mu    sync.Mutex
	seen  map[string]int
	hang  chan struct{} // closed when a hang ends
}

const (
	receiverUp int32 = iota
	receiverDown
	receiverHang
)

func newFaultReceiver(t *testing.T) *faultReceiver {
	r := &faultReceiver{seen: map[string]int{}, hang: make(chan struct{})}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.calls.Add(1)
		switch r.mode.Load() {
		case receiverDown:
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		case receiverHang:
			r.mu.Lock()
			hang := r.hang
			r.mu.Unlock()
			select {
			case <-hang:
			case <-req.Context().Done():
				return
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var ev event
		if err := json.NewDecoder(req.Body).Decode(&ev); err != nil || ev.ID == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.seen[ev.ID]++
		r.mu.Unlock()
	})}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { r.set(receiverUp); _ = srv.Close() })
	r.URL = "http://" + lis.Addr().String() + "/events"
	return r
}

func (r *faultReceiver) set(mode int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mode.Swap(mode) == receiverHang && mode != receiverHang {
		close(r.hang)
		r.hang = make(chan struct{})
	}
}

// load puts events at about rate a second from 4 clients until stop is
// closed, and records the id of every entry acknowledged.
type load struct {
	mu     sync.Mutex
	acked  map[string]bool
	calls  atomic.Int64
	failed atomic.Int64 // calls that got an error (the server was down)
	wg     sync.WaitGroup
	stop   chan struct{}
}

func startLoad(t *testing.T, c func() *eventbridge.Client, rate int) *load {
	l := &load{acked: map[string]bool{}, stop: make(chan struct{})}
	const clients, batch = 4, 10
	every := time.Duration(float64(time.Second) * clients * batch / float64(rate))
	for w := 0; w < clients; w++ {
		l.wg.Add(1)
		go func(w int) {
			defer l.wg.Done()
			tick := time.NewTicker(every)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				case <-tick.C:
				}
				entries := make([]types.PutEventsRequestEntry, batch)
				for j := range entries {
					entries[j] = types.PutEventsRequestEntry{Source: aws.String("fault"), DetailType: aws.String("load"),
						Detail: aws.String(fmt.Sprintf(`{"w":%d,"i":%d,"j":%d}`, w, i, j))}
				}
				l.calls.Add(1)
				out, err := c().PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: entries})
				if err != nil {
					l.failed.Add(1)
					continue // nothing of this call was acknowledged
				}
				l.mu.Lock()
				for _, e := range out.Entries {
					if e.EventId != nil {
						l.acked[*e.EventId] = true
					}
				}
				l.mu.Unlock()
			}
		}(w)
	}
	return l
}

func (l *load) end() int {
	close(l.stop)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// tally waits up to within for every acknowledged event to reach rcv, then
// logs and returns the counts; lost events fail the test.
func tally(t *testing.T, fault string, l *load, rcv *faultReceiver, within time.Duration, s *server) (acked, delivered, duplicated, lost int) {
	t.Helper()
	began := time.Now()
	deadline := began.Add(within)
	for {
		rcv.mu.Lock()
		acked, delivered, duplicated, lost = len(l.acked), 0, 0, 0
		for id := range l.acked {
			if rcv.seen[id] > 0 {
				delivered++
			} else {
				lost++
			}
		}
		for _, n := range rcv.seen {
			duplicated += n - 1
		}
		rcv.mu.Unlock()
		if lost == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("fault=%s acknowledged=%d delivered=%d duplicated=%d lost=%d (PutEvents calls %d, failed %d; target calls %d; waited %s for the last)",
		fault, acked, delivered, duplicated, lost, l.calls.Load(), l.failed.Load(), rcv.calls.Load(), time.Since(began).Round(100*time.Millisecond))
	if acked == 0 {
		t.Fatalf("fault=%s: nothing was acknowledged; the load did not run", fault)
	}
	if lost > 0 {
		t.Errorf("fault=%s: %d acknowledged events were never delivered\n%s", fault, lost, s.logs())
	}
	return
}

// TestFaultKill9UnderLoad kills the process with SIGKILL while events flow
// (once in `make test`; every 20 s in a soak), restarting it each time:
// every event whose PutEvents call was acknowledged is delivered.
func TestFaultKill9UnderLoad(t *testing.T) {
	dur := soakDuration(t, 4*time.Second)
	s := startServer(t)
	rcv := newFaultReceiver(t)
	mustRule(t, s.client(acct, "us-east-1"), "default", "all", `{"source":["fault"]}`, rcv.URL)
	var mu sync.Mutex
	client := s.client(acct, "us-east-1")
	current := func() *eventbridge.Client { mu.Lock(); defer mu.Unlock(); return client }
	l := startLoad(t, current, 1000)
	every := min(dur/2, 20*time.Second)
	kills := 0
	for start := time.Now(); time.Since(start)+every <= dur || kills == 0; {
		time.Sleep(every)
		s.kill9()
		kills++
		time.Sleep(300 * time.Millisecond) // calls in the meantime fail: not acknowledged
		s.restart()
		mu.Lock()
		client = s.client(acct, "us-east-1")
		mu.Unlock()
	}
	time.Sleep(every / 2)
	l.end()
	t.Logf("kill -9 %d times in %s", kills, dur)
	tally(t, "kill9", l, rcv, 90*time.Second, s)
}

// TestFaultTargetDown has the target answer 503 for a while in the middle
// of the load (2 s in `make test`, a minute in a soak): retries deliver
// every event once it is back.
func TestFaultTargetDown(t *testing.T) {
	dur := soakDuration(t, 6*time.Second)
	down := min(dur/3, time.Minute)
	s := startServer(t, "--retry-base-delay", "100ms")
	rcv := newFaultReceiver(t)
	mustRule(t, s.client(acct, "us-east-1"), "default", "all", `{"source":["fault"]}`, rcv.URL)
	client := s.client(acct, "us-east-1")
	l := startLoad(t, func() *eventbridge.Client { return client }, 500)
	time.Sleep((dur - down) / 2)
	rcv.set(receiverDown)
	time.Sleep(down)
	rcv.set(receiverUp)
	time.Sleep((dur - down) / 2)
	l.end()
	// The retry schedule is capped at 180x the base delay (18 s here).
	tally(t, "target-down", l, rcv, 60*time.Second, s)
}

// TestFaultHangingTarget has one target hang (every call held until its
// 5 s timeout) while another target of the same events is healthy: the
// healthy target gets every event while the other still hangs, and the
// hanging one gets them all once it answers again.
func TestFaultHangingTarget(t *testing.T) {
	dur := soakDuration(t, 6*time.Second)
	s := startServer(t, "--retry-base-delay", "100ms")
	healthy, hanging := newFaultReceiver(t), newFaultReceiver(t)
	c := s.client(acct, "us-east-1")
	mustRule(t, c, "default", "to-healthy", `{"source":["fault"]}`, healthy.URL)
	mustRule(t, c, "default", "to-hanging", `{"source":["fault"]}`, hanging.URL)
	hanging.set(receiverHang)
	l := startLoad(t, func() *eventbridge.Client { return c }, 500)
	time.Sleep(dur)
	l.end()
	// While the other target still hangs, the healthy one has everything.
	tally(t, "hanging-target(healthy side)", l, healthy, 15*time.Second, s)
	hanging.set(receiverUp)
	// Every event to the hung target is waiting for a retry, most of them
	// put back in the stream as schedules (a slow target's backlog is not
	// held in memory); the drain is paced, so the wait grows with the
	// backlog.
	acked := len(l.acked)
	tally(t, "hanging-target(hung side)", l, hanging, time.Minute+time.Duration(acked/200)*time.Second, s)
}

// TestFaultDiskFull fills the data directory's filesystem (a small tmpfs)
// while events flow, for a while in the middle of the load (2 s in `make
// test`, a minute in a soak), then frees it: calls in the meantime are
// refused with a retryable error (not acknowledged), and every event that
// was acknowledged, before, during and after, is delivered — without a
// restart. It needs root to mount the tmpfs, and skips without.
func TestFaultDiskFull(t *testing.T) {
	dur := soakDuration(t, 6*time.Second)
	full := min(dur/3, time.Minute)
	mnt := mountTmpfs(t, 64)
	s := startServerOn(t, filepath.Join(mnt, "data"), "--retry-base-delay", "100ms", "--disk-reserve", "4MiB")
	pid := s.cmd.Process.Pid
	rcv := newFaultReceiver(t)
	c := s.client(acct, "us-east-1")
	mustRule(t, c, "default", "all", `{"source":["fault"]}`, rcv.URL)
	l := startLoad(t, func() *eventbridge.Client { return c }, 500)
	// Cycles of a third of the load each: room, a full disk, room again.
	cycles := 0
	for start := time.Now(); cycles == 0 || time.Since(start)+3*full <= dur; cycles++ {
		before := l.failed.Load()
		time.Sleep(full)
		filler := fillDisk(t, mnt)
		time.Sleep(full)
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		// A call caught writing when the disk filled waits out its
		// acknowledgement (5 s) before it is refused.
		time.Sleep(max(full, 6*time.Second))
		if l.failed.Load() == before {
			t.Errorf("cycle %d: no PutEvents call was refused while the disk was full", cycles)
		}
	}
	l.end()
	if s.cmd.Process.Pid != pid {
		t.Fatal("switchyard was restarted")
	}
	t.Logf("disk filled %d times for %s", cycles, full)
	tally(t, "disk-full", l, rcv, 60*time.Second, s)
}
