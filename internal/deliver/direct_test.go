package deliver

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/match"
	"github.com/switchyard/switchyard/internal/store"
)

// directTry is one task offered to TryFirst, and what became of it.
type directTry struct {
	taken   bool
	settled chan bool
}

// tryFirst offers the task of event id for target t of rule to TryFirst,
// as the router does.
func (e *env) tryFirst(rule string, t control.Target, id string) *directTry {
	e.t.Helper()
	return e.tryFirstTraced(rule, t, id, "")
}

// tryFirstTraced is tryFirst for an event with trace header trace.
func (e *env) tryFirstTraced(rule string, t control.Target, id, trace string) *directTry {
	e.t.Helper()
	arn := "arn:aws:events:" + region + ":" + acct + ":rule/" + rule
	head, err := match.EncodeHead(arn, rule, &t)
	if err != nil {
		e.t.Fatal(err)
	}
	ev := fmt.Appendf(nil, `{"version":"0","id":%q,"detail-type":"t","source":"s","account":%q,"time":"2024-01-01T00:00:00Z","region":%q,"resources":[],"detail":{}}`, id, acct, region)
	subj := store.DeliveryPrefix + acct + "." + region + ".default." + rule
	tr := &directTry{settled: make(chan bool, 2)}
	tr.taken = e.d.TryFirst(subj, head, ev, ev, trace, time.Now().UnixMilli(), id+"|"+arn+"|"+t.Id, func(ok bool) { tr.settled <- ok })
	return tr
}

// waitRunning waits until the deliverer takes direct attempts (Run has
// started), offering throw-away tasks to a target that accepts them.
func (e *env) waitRunning(url string) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		tr := e.tryFirst("warm", control.Target{Id: "w", Arn: url}, fmt.Sprintf("warm-%d", i))
		if tr.taken {
			<-tr.settled
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatal("the deliverer never took a direct attempt")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (tr *directTry) wait(t *testing.T) bool {
	t.Helper()
	select {
	case ok := <-tr.settled:
		return ok
	case <-time.After(15 * time.Second):
		t.Fatal("direct attempt never settled")
		return false
	}
}

// storedTasks is how many messages the delivery stream holds (tasks due,
// and retries waiting as schedules).
func (e *env) storedTasks() uint64 {
	e.t.Helper()
	s, err := e.st.JS.Stream(context.Background(), store.DeliveryStream)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return info.State.Msgs
}

// TestTryFirstDelivers: a first attempt handed over directly reaches the
// target once, settles as done, and stores nothing.
func TestTryFirstDelivers(t *testing.T) {
	e := start(t, 8, 100*time.Millisecond, "")
	r := newReceiver(t, func(string, int) (int, http.Header, time.Duration) { return 200, nil, 0 })
	e.waitRunning(r.URL)
	evs := ids("direct", 20)
	var tries []*directTry
	for _, id := range evs {
		tr := e.tryFirst("r", control.Target{Id: "t", Arn: r.URL}, id)
		if !tr.taken {
			t.Fatalf("event %s: a healthy target's first attempt was not taken", id)
		}
		tries = append(tries, tr)
	}
	for i, tr := range tries {
		if !tr.wait(t) {
			t.Fatalf("event %s: settled as not done", evs[i])
		}
	}
	calls, ok := r.snapshot()
	for _, id := range evs {
		if len(calls[id]) != 1 || ok[id] != 1 {
			t.Errorf("event %s: %d calls, %d accepted; want 1 and 1", id, len(calls[id]), ok[id])
		}
	}
	if n := e.storedTasks(); n != 0 {
		t.Errorf("delivery stream holds %d messages after direct deliveries, want 0", n)
	}
}

// TestTryFirstFailureIsRetriedThroughTheStream: a direct attempt that fails
// settles once its retry is stored, and the retry comes from the stream.
func TestTryFirstFailureIsRetriedThroughTheStream(t *testing.T) {
	e := start(t, 8, 100*time.Millisecond, "")
	r := newReceiver(t, func(id string, n int) (int, http.Header, time.Duration) {
		if id != "" && id[0] == 'f' && n == 0 {
			return 503, nil, 0
		}
		return 200, nil, 0
	})
	e.waitRunning(r.URL)
	tr := e.tryFirst("r", control.Target{Id: "t", Arn: r.URL}, "fail-once")
	if !tr.taken {
		t.Fatal("first attempt not taken")
	}
	if !tr.wait(t) {
		t.Fatal("a failed direct attempt whose retry was stored settled as not done")
	}
	calls := r.waitOK(t, []string{"fail-once"}, 10*time.Second)
	if len(calls["fail-once"]) != 2 {
		t.Errorf("%d calls, want 2 (the direct attempt and the stored retry)", len(calls["fail-once"]))
	}
}

// TestTryFirstRefusesSlowTarget: once a target's calls hang, its first
// attempts are no longer taken directly (the router stores them), while
// another target's still are.
func TestTryFirstRefusesSlowTarget(t *testing.T) {
	e := start(t, 4, 100*time.Millisecond, "")
	slow := newReceiver(t, func(string, int) (int, http.Header, time.Duration) { return 200, nil, time.Second })
	fast := newReceiver(t, func(string, int) (int, http.Header, time.Duration) { return 200, nil, 0 })
	e.waitRunning(fast.URL)
	var taken []*directTry
	refused := false
	for i := 0; i < 100 && !refused; i++ {
		tr := e.tryFirst("slow", control.Target{Id: "s", Arn: slow.URL}, fmt.Sprintf("slow-%d", i))
		if tr.taken {
			taken = append(taken, tr)
		} else {
			refused = true
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !refused {
		t.Fatalf("a target whose calls hang took %d direct attempts, none refused", len(taken))
	}
	if tr := e.tryFirst("fast", control.Target{Id: "f", Arn: fast.URL}, "fast-1"); !tr.taken || !tr.wait(t) {
		t.Fatal("a healthy target's direct attempt was not taken while another target hangs")
	}
	for _, tr := range taken {
		if !tr.wait(t) {
			t.Error("a slow but successful direct attempt settled as not done")
		}
	}
}

// TestTryFirstCutShortIsHandedBack: a direct attempt cut short by the
// deliverer stopping settles as not done, so that the router stores its
// task; and a stopped deliverer takes no more.
func TestTryFirstCutShortIsHandedBack(t *testing.T) {
	e := start(t, 8, 100*time.Millisecond, "")
	hang := newReceiver(t, func(string, int) (int, http.Header, time.Duration) { return 200, nil, 10 * time.Second })
	fast := newReceiver(t, func(string, int) (int, http.Header, time.Duration) { return 200, nil, 0 })
	e.waitRunning(fast.URL)
	tr := e.tryFirst("r", control.Target{Id: "t", Arn: hang.URL}, "cut")
	if !tr.taken {
		t.Fatal("first attempt not taken")
	}
	time.Sleep(200 * time.Millisecond) // the call is in flight
	e.stop()
	if tr.wait(t) {
		t.Fatal("an attempt cut short by shutdown settled as done; its task would be lost")
	}
	if again := e.tryFirst("r", control.Target{Id: "t", Arn: fast.URL}, "after"); again.taken {
		t.Fatal("a stopped deliverer took a direct attempt")
	}
}
