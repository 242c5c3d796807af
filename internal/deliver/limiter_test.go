package deliver

import (
	"testing"
	"time"
)

// These drive the limiter directly with given call latencies and a fixed
// clock: which tasks run, wait or are deferred follows from them alone.

func fixedLimiter(perTarget, window int) *limiter {
	l := newLimiter(perTarget, window)
	at := time.Now()
	l.now = func() time.Time { return at }
	return l
}

func admitN(l *limiter, key string, n int) (run, queued, deferred, waits int) {
	for range n {
		switch a, _ := l.admit(key, &job{}); a {
		case admitRun:
			run++
		case admitQueued:
			queued++
		case admitDefer:
			deferred++
		case admitWait:
			waits++
		}
	}
	return
}

// A burst of a thousand tasks to a fast target is queued, none deferred:
// the earlier fixed queue of 8 × 64 deferred 424 of them by 250 ms or more.
func TestLimiterBurstToFastTargetIsQueued(t *testing.T) {
	l := fixedLimiter(64, 20000)
	l.admit("fast", &job{})
	l.targets["fast"].latency = time.Millisecond
	run, queued, deferred, _ := admitN(l, "fast", 5000)
	if run != 63 || queued != 5000-63 || deferred != 0 {
		t.Fatalf("run %d, queued %d, deferred %d; want 63, %d, 0", run, queued, deferred, 5000-63)
	}
}

// A slow target's tasks wait in memory while the window is not crowded, up
// to half of it; then they are deferred.
func TestLimiterSlowTargetHoldsAtMostHalfTheWindow(t *testing.T) {
	l := fixedLimiter(16, 200)
	l.admit("slow", &job{})
	l.targets["slow"].latency = 5 * time.Second
	run, queued, deferred, _ := admitN(l, "slow", 299)
	if run != 15 || queued != 100 || deferred != 184 {
		t.Fatalf("run %d, queued %d, deferred %d; want 15, 100, 184", run, queued, deferred)
	}
	// Another target still gets in, and runs.
	if a, _ := l.admit("other", &job{}); a != admitRun {
		t.Fatalf("another target's task: %v, want admitRun", a)
	}
}

// Once slow targets crowd the window, their queues are cut back to what
// they drain within maxWait, and a fast target's queue within its room is
// left alone.
func TestLimiterCrowdedWindowTrimsSlowQueues(t *testing.T) {
	l := fixedLimiter(16, 400) // maxQueue 200, crowded at 300
	for _, k := range []string{"slow1", "slow2"} {
		l.admit(k, &job{})
		l.targets[k].latency = 4 * time.Second // room: 16 × 1 s / 4 s = 4
		admitN(l, k, 150)
	}
	l.admit("fast", &job{})
	l.targets["fast"].latency = time.Millisecond // room 16,000
	admitN(l, "fast", 100)
	if l.held < l.crowdedAt {
		t.Fatalf("held %d, want the window crowded (%d)", l.held, l.crowdedAt)
	}
	out := l.trim()
	if got := len(out); got != 2*(150-16-4) {
		t.Errorf("%d tasks deferred, want %d", got, 2*(150-16-4))
	}
	for _, k := range []string{"slow1", "slow2"} {
		if n := len(l.targets[k].queue); n != 4 {
			t.Errorf("%s: queue of %d after trim, want 4", k, n)
		}
	}
	if n := len(l.targets["fast"].queue); n != 100-15 {
		t.Errorf("fast: queue of %d after trim, want %d", n, 100-15)
	}
	if l.held != 2*(16+4)+16+85 {
		t.Errorf("held %d, want %d", l.held, 2*(16+4)+16+85)
	}
}

// A healthy target holding half the window (the deliverer as a whole
// overloaded) makes the consumer wait instead of deferring its tasks: they
// stay in the stream, at no cost.
func TestLimiterOverloadedHealthyTargetWaits(t *testing.T) {
	l := fixedLimiter(64, 20000)
	l.admit("fast", &job{})
	// 64 calls in flight at 10 ms each: 6,400 calls/s, so half the window
	// takes about 1.6 s to drain, over maxWait but healthy.
	l.targets["fast"].latency = 10 * time.Millisecond
	run, queued, deferred, waits := admitN(l, "fast", 10100)
	if run != 63 || queued != 10000 || deferred != 0 || waits != 37 {
		t.Fatalf("run %d, queued %d, deferred %d, waits %d; want 63, 10000, 0, 37", run, queued, deferred, waits)
	}
	// When a call ends, the slot passes to the queue's head, and there
	// is room for one more.
	if j := l.done("fast", 0, 10*time.Millisecond, &job{}); j == nil {
		t.Fatal("no queued task took the slot")
	}
	if a, _ := l.admit("fast", &job{}); a != admitQueued {
		t.Fatalf("after a call ended: %v, want admitQueued", a)
	}
}

// Deferrals are rationed: past deferRate (at one instant), what would be
// deferred makes the consumer wait instead, so that an overloaded process
// does not spend its CPU re-publishing the tasks it cannot call.
func TestLimiterDeferralsAreRationed(t *testing.T) {
	l := fixedLimiter(16, 200) // maxQueue 100
	l.admit("slow", &job{})
	l.targets["slow"].latency = 5 * time.Second
	run, queued, deferred, waits := admitN(l, "slow", 3000)
	if run != 15 || queued != 100 || deferred != deferRate || waits != 3000-15-100-deferRate {
		t.Fatalf("run %d, queued %d, deferred %d, waits %d; want 15, 100, %d, %d",
			run, queued, deferred, waits, deferRate, 3000-15-100-deferRate)
	}
	// A second later the ration is back.
	at := l.now().Add(time.Second)
	l.now = func() time.Time { return at }
	if a, _ := l.admit("slow", &job{}); a != admitDefer {
		t.Fatalf("a second later: %v, want admitDefer", a)
	}
}

// First attempts offered directly (admitDirect): a quick target's are run
// or queued, a slow or stalled target's are stored, and an overloaded
// process makes the router wait for a healthy target rather than store.
func TestLimiterAdmitDirect(t *testing.T) {
	count := func(l *limiter, key string, n int) map[admission]int {
		out := map[admission]int{}
		for range n {
			a, _ := l.admitDirect(key, &job{direct: true})
			out[a]++
		}
		return out
	}
	cases := []struct {
		name    string
		latency time.Duration
		stalled bool
		n       int
		want    map[admission]int
	}{
		// 8 run, then queued up to the 4096 direct attempts in flight
		// (healthy: any queue), then the router waits.
		{"quick target", time.Millisecond, false, 5000, map[admission]int{admitRun: 8, admitQueued: directMaxInflight - 8, admitWait: 5000 - directMaxInflight}},
		{"new target", 0, false, 100, map[admission]int{admitRun: 8, admitQueued: 92}},
		{"slow target", 2 * time.Second, false, 10, map[admission]int{admitDefer: 10}},
		// 200 ms calls: room for 40 within a second, not healthy beyond.
		{"sluggish target", 200 * time.Millisecond, false, 100, map[admission]int{admitRun: 8, admitQueued: 40, admitDefer: 52}},
		{"stalled target", time.Millisecond, true, 10, map[admission]int{admitDefer: 10}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := fixedLimiter(8, 20000)
			ts := &targetState{latency: c.latency}
			l.targets["t"] = ts
			if c.stalled {
				ts.take(l.now().Add(-time.Second)) // a call in flight for a second, none ended
			}
			got := count(l, "t", c.n)
			for _, a := range []admission{admitRun, admitQueued, admitDefer, admitWait} {
				if got[a] != c.want[a] {
					t.Errorf("admission %d: %d, want %d (all: %v)", a, got[a], c.want[a], got)
				}
			}
		})
	}
	// A crowded window: a healthy target waits, a slow one is stored.
	l := fixedLimiter(8, 20000)
	l.held = l.crowdedAt
	l.targets["slowish"] = &targetState{latency: 500 * time.Millisecond}
	if a, _ := l.admitDirect("quick", &job{}); a != admitWait {
		t.Errorf("crowded window, new target: %d, want admitWait", a)
	}
	if a, _ := l.admitDirect("slowish", &job{}); a != admitDefer {
		t.Errorf("crowded window, slow target: %d, want admitDefer", a)
	}
}
