package deliver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/match"
	"github.com/switchyard/switchyard/internal/metrics"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/testpeer"
)

const (
	acct   = "123456789012"
	region = "us-east-1"
)

// env is a store and a running deliverer over it.
type env struct {
	t  *testing.T
	st *store.Store
	d  *Deliverer
	// stop stops the deliverer and waits for Run to return.
	stop func()
}

func start(t *testing.T, perTarget int, base time.Duration, awsURL string, setup ...func(*Deliverer)) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Sync: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d := New(st, nil, log, perTarget)
	d.BaseDelay = base
	if awsURL != "" {
		d.AWS = awsclient.New(map[string]string{"sqs": awsURL})
	}
	for _, f := range setup {
		f(d)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(func() { stop(); st.Close() })
	return &env{t: t, st: st, d: d, stop: stop}
}

// put publishes a task as the matcher does.
func (e *env) put(rule string, target control.Target, id string, ingested time.Time) {
	e.t.Helper()
	ev := fmt.Sprintf(`{"version":"0","id":%q,"detail-type":"t","source":"s","account":%q,"time":"2024-01-01T00:00:00Z","region":%q,"resources":[],"detail":{}}`, id, acct, region)
	m, err := match.TaskMsg(control.Scope{Account: acct, Region: region}, "default", id, &match.Task{
		RuleArn: "arn:aws:events:" + region + ":" + acct + ":rule/" + rule, RuleName: rule,
		Target: target, Event: json.RawMessage(ev), Ingested: ingested.UnixMilli()})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.st.JS.PublishMsg(context.Background(), m); err != nil {
		e.t.Fatal(err)
	}
}

// TestJSONTasksOfEarlierVersionsAreDelivered: tasks stored as one JSON
// document, as versions before match.EncodeTask wrote them, are still
// delivered, with the same event bytes.
func TestJSONTasksOfEarlierVersionsAreDelivered(t *testing.T) {
	e := start(t, 8, 100*time.Millisecond, "")
	r := newReceiver(t, func(string, int) (int, http.Header, time.Duration) { return 200, nil, 0 })
	evs := ids("json", 5)
	for _, id := range evs {
		ev := fmt.Sprintf(`{"version":"0","id":%q,"detail-type":"t","source":"s","account":%q,"time":"2024-01-01T00:00:00Z","region":%q,"resources":[],"detail":{}}`, id, acct, region)
		data, _ := json.Marshal(match.Task{RuleArn: "arn:aws:events:" + region + ":" + acct + ":rule/old", RuleName: "old",
			Target: control.Target{Id: "t", Arn: r.URL}, Event: json.RawMessage(ev), Ingested: time.Now().UnixMilli()})
		m := &nats.Msg{Subject: store.DeliveryPrefix + acct + "." + region + ".default.old", Data: data, Header: nats.Header{}}
		m.Header.Set(jetstream.MsgIDHeader, id+"|old|t")
		if _, err := e.st.JS.PublishMsg(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	r.waitOK(t, evs, time.Minute)
	if n := value(metrics.Invocations.WithLabelValues(acct, region, "default", "old", "http", "t")); n != 5 {
		t.Errorf("Invocations{old} = %v, want 5", n)
	}
}

// receiver is a real HTTP endpoint; answer decides each response from the
// event id and how many calls of it came before.
type receiver struct {
	URL    string
	mu     sync.Mutex
	calls  map[string][]time.Time
	ok     map[string]int
	answer func(id string, n int) (status int, header http.Header, sleep time.Duration)
}

func newReceiver(t *testing.T, answer func(id string, n int) (int, http.Header, time.Duration)) *receiver {
	r := &receiver{calls: map[string][]time.Time{}, ok: map[string]int{}, answer: answer}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: r}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	r.URL = "http://" + lis.Addr().String() + "/"
	return r
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var ev struct{ ID string }
	b, _ := io.ReadAll(req.Body)
	_ = json.Unmarshal(b, &ev)
	r.mu.Lock()
	n := len(r.calls[ev.ID])
	r.calls[ev.ID] = append(r.calls[ev.ID], time.Now())
	r.mu.Unlock()
	status, h, sleep := r.answer(ev.ID, n)
	if sleep > 0 {
		select {
		case <-time.After(sleep):
		case <-req.Context().Done():
			return
		}
	}
	for k, v := range h {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	if status < 300 {
		r.mu.Lock()
		r.ok[ev.ID]++
		r.mu.Unlock()
	}
}

func (r *receiver) snapshot() (map[string][]time.Time, map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	calls, ok := map[string][]time.Time{}, map[string]int{}
	for k, v := range r.calls {
		calls[k] = append([]time.Time(nil), v...)
	}
	for k, v := range r.ok {
		ok[k] = v
	}
	return calls, ok
}

// waitOK waits until every id was accepted at least once.
func (r *receiver) waitOK(t *testing.T, ids []string, within time.Duration) map[string][]time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		calls, ok := r.snapshot()
		missing := 0
		for _, id := range ids {
			if ok[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			return calls
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events not delivered within %v", missing, len(ids), within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	return out
}

func retryPolicy(attempts, age int32) *control.RetryPolicy {
	return &control.RetryPolicy{MaximumRetryAttempts: &attempts, MaximumEventAgeInSeconds: &age}
}

// TestRetriesWithBackoff: a target failing twice per event with 500 gets
// every event on the third call, the calls spaced by the growing backoff.
func TestRetriesWithBackoff(t *testing.T) {
	e := start(t, 8, 100*time.Millisecond, "")
	r := newReceiver(t, func(id string, n int) (int, http.Header, time.Duration) {
		if n < 2 {
			return 500, nil, 0
		}
		return 200, nil, 0
	})
	evs := ids("b", 20)
	for _, id := range evs {
		e.put("r", control.Target{Id: "t", Arn: r.URL}, id, time.Now())
	}
	r.waitOK(t, evs, 20*time.Second)
	time.Sleep(300 * time.Millisecond) // no stray extra call may follow
	calls, ok := r.snapshot()
	for _, id := range evs {
		c := calls[id]
		if len(c) != 3 || ok[id] != 1 {
			t.Fatalf("event %s: %d calls, %d accepted; want 3 and 1", id, len(c), ok[id])
		}
		// Retry 1 waits at least base/2, retry 2 at least base (full
		// jitter in the upper half of base·2^n).
		if g := c[1].Sub(c[0]); g < 50*time.Millisecond {
			t.Errorf("event %s: first retry after %v", id, g)
		}
		if g := c[2].Sub(c[1]); g < 100*time.Millisecond {
			t.Errorf("event %s: second retry after %v", id, g)
		}
	}
	lbl := []string{acct, region, "default", "r", "http", "t"}
	if n := value(metrics.RetryInvocationAttempts.WithLabelValues(lbl...)); n < 40 {
		t.Errorf("RetryInvocationAttempts = %v, want >= 40", n)
	}
}

// TestRetryAfterIsHonoured: a 429 with Retry-After: 1 is retried no sooner
// than a second later, although the backoff alone would be 50 ms.
func TestRetryAfterIsHonoured(t *testing.T) {
	e := start(t, 8, 50*time.Millisecond, "")
	r := newReceiver(t, func(id string, n int) (int, http.Header, time.Duration) {
		if n == 0 {
			return 429, http.Header{"Retry-After": {"1"}}, 0
		}
		return 200, nil, 0
	})
	evs := ids("ra", 5)
	for _, id := range evs {
		e.put("r", control.Target{Id: "t", Arn: r.URL}, id, time.Now())
	}
	calls := r.waitOK(t, evs, 15*time.Second)
	for _, id := range evs {
		if g := calls[id][1].Sub(calls[id][0]); g < time.Second {
			t.Errorf("event %s retried %v after a Retry-After of 1 s", id, g)
		}
	}
}

// TestDeadLetters: retries exhausted, a permanent error, and the event's
// age exceeded each end in the dead-letter queue (moto's SQS) with AWS's
// attributes; nothing delivered is dead-lettered.
func TestDeadLetters(t *testing.T) {
	moto := testpeer.Moto(t)
	e := start(t, 8, 50*time.Millisecond, moto)
	q := testpeer.SQS(moto, region)
	dlqArn, dlqURL := testpeer.CreateQueue(t, q, "dlq")
	dlq := &control.DeadLetterConfig{Arn: &dlqArn}

	failing := newReceiver(t, func(string, int) (int, http.Header, time.Duration) { return 503, nil, 0 })
	refusing := newReceiver(t, func(string, int) (int, http.Header, time.Duration) { return 400, nil, 0 })
	healthy := newReceiver(t, func(string, int) (int, http.Header, time.Duration) { return 200, nil, 0 })

	exhausted, permanent, old, fine := ids("ex", 5), ids("pm", 5), ids("old", 3), ids("ok", 10)
	for _, id := range exhausted {
		e.put("r1", control.Target{Id: "failing", Arn: failing.URL, RetryPolicy: retryPolicy(2, 3600), DeadLetterConfig: dlq}, id, time.Now())
	}
	for _, id := range permanent {
		e.put("r2", control.Target{Id: "refusing", Arn: refusing.URL, DeadLetterConfig: dlq}, id, time.Now())
	}
	for _, id := range old {
		// Already past its maximum age when first tried: called once,
		// never retried.
		e.put("r3", control.Target{Id: "old", Arn: failing.URL, RetryPolicy: retryPolicy(185, 60), DeadLetterConfig: dlq}, id,
			time.Now().Add(-61*time.Second))
	}
	for _, id := range fine {
		e.put("r4", control.Target{Id: "healthy", Arn: healthy.URL, DeadLetterConfig: dlq}, id, time.Now())
	}
	healthy.waitOK(t, fine, 10*time.Second)
	msgs := testpeer.Drain(t, q, dlqURL, 13, 20*time.Second)

	got := map[string]testpeer.Message{}
	for _, m := range msgs {
		var ev struct{ ID string }
		if err := json.Unmarshal([]byte(m.Body), &ev); err != nil {
			t.Fatalf("dead letter is not the event: %s", m.Body)
		}
		if _, dup := got[ev.ID]; dup {
			t.Errorf("event %s dead-lettered twice", ev.ID)
		}
		got[ev.ID] = m
	}
	if len(got) != 13 {
		t.Fatalf("%d dead letters, want 13: %v", len(got), keys(got))
	}
	check := func(id, rule, target, code, condition, retries string) {
		t.Helper()
		m, ok := got[id]
		if !ok {
			t.Errorf("event %s not dead-lettered", id)
			return
		}
		a := m.Attrs
		if a["RULE_ARN"] != "arn:aws:events:"+region+":"+acct+":rule/"+rule || a["TARGET_ARN"] != target ||
			a["ERROR_CODE"] != code || a["EXHAUSTED_RETRY_CONDITION"] != condition || a["RETRY_ATTEMPTS"] != retries ||
			a["ERROR_MESSAGE"] == "" {
			t.Errorf("event %s: dead-letter attributes %v", id, a)
		}
	}
	for _, id := range exhausted {
		check(id, "r1", failing.URL, "SDK_CLIENT_ERROR", "MaximumRetryAttempts", "2")
	}
	for _, id := range permanent {
		check(id, "r2", refusing.URL, "SDK_CLIENT_ERROR", "", "0")
	}
	for _, id := range old {
		check(id, "r3", failing.URL, "SDK_CLIENT_ERROR", "MaximumEventAgeInSeconds", "0")
	}
	for _, id := range fine {
		if _, ok := got[id]; ok {
			t.Errorf("delivered event %s was dead-lettered", id)
		}
	}
	calls, _ := failing.snapshot()
	for _, id := range exhausted {
		if len(calls[id]) != 3 {
			t.Errorf("event %s: %d calls, want 3 (MaximumRetryAttempts 2)", id, len(calls[id]))
		}
	}
	calls, _ = refusing.snapshot()
	for _, id := range permanent {
		if len(calls[id]) != 1 {
			t.Errorf("event %s: %d calls of a target answering 400, want 1", id, len(calls[id]))
		}
	}
	lbl := []string{acct, region, "default", "r1", "http", "failing"}
	if n := value(metrics.InvocationsSentToDlq.WithLabelValues(lbl...)); n != 5 {
		t.Errorf("InvocationsSentToDlq{r1} = %v, want 5", n)
	}
}

// TestDeadLetterQueueUnavailableIsRetried: the queue does not exist yet
// when the events are given up; once it is created, they all arrive.
func TestDeadLetterQueueUnavailableIsRetried(t *testing.T) {
	moto := testpeer.Moto(t)
	e := start(t, 8, 50*time.Millisecond, moto)
	q := testpeer.SQS(moto, region)
	dlqArn := "arn:aws:sqs:" + region + ":" + testpeer.Account + ":later"
	refusing := newReceiver(t, func(string, int) (int, http.Header, time.Duration) { return 404, nil, 0 })
	evs := ids("later", 5)
	for _, id := range evs {
		e.put("r", control.Target{Id: "t", Arn: refusing.URL, DeadLetterConfig: &control.DeadLetterConfig{Arn: &dlqArn}}, id, time.Now())
	}
	lbl := []string{acct, region, "default", "r", "http", "t"}
	deadline := time.Now().Add(10 * time.Second)
	for value(metrics.InvocationsFailedToBeSentToDlq.WithLabelValues(lbl...)) < 10 {
		if time.Now().After(deadline) {
			t.Fatal("dead letters were not retried")
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, url := testpeer.CreateQueue(t, q, "later")
	msgs := testpeer.Drain(t, q, url, len(evs), 30*time.Second)
	seen := map[string]bool{}
	for _, m := range msgs {
		var ev struct{ ID string }
		_ = json.Unmarshal([]byte(m.Body), &ev)
		seen[ev.ID] = true
	}
	for _, id := range evs {
		if !seen[id] {
			t.Errorf("event %s lost while its dead-letter queue was missing", id)
		}
	}
}

// TestNoDeadLetterQueueDrops: without a queue, a given-up event is dropped
// and counted.
func TestNoDeadLetterQueueDrops(t *testing.T) {
	e := start(t, 8, 50*time.Millisecond, "")
	r := newReceiver(t, func(string, int) (int, http.Header, time.Duration) { return 500, nil, 0 })
	evs := ids("drop", 4)
	for _, id := range evs {
		e.put("drops", control.Target{Id: "t", Arn: r.URL, RetryPolicy: retryPolicy(1, 3600)}, id, time.Now())
	}
	lbl := []string{acct, region, "default", "drops", "http", "t"}
	deadline := time.Now().Add(10 * time.Second)
	for value(metrics.DroppedEvents.WithLabelValues(lbl...)) < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("DroppedEvents = %v, want 4", value(metrics.DroppedEvents.WithLabelValues(lbl...)))
		}
		time.Sleep(20 * time.Millisecond)
	}
	calls, _ := r.snapshot()
	for _, id := range evs {
		if len(calls[id]) != 2 {
			t.Errorf("event %s: %d calls, want 2", id, len(calls[id]))
		}
	}
}

// TestTargetDownThenUp: nothing listens on the target's port for a while;
// then it comes up and receives every event exactly as sent.
func TestTargetDownThenUp(t *testing.T) {
	e := start(t, 8, 100*time.Millisecond, "")
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	evs := ids("down", 30)
	for _, id := range evs {
		e.put("r", control.Target{Id: "t", Arn: "http://" + addr + "/"}, id, time.Now())
	}
	time.Sleep(1500 * time.Millisecond)
	r := &receiver{calls: map[string][]time.Time{}, ok: map[string]int{},
		answer: func(string, int) (int, http.Header, time.Duration) { return 200, nil, 0 }}
	lis, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port taken meanwhile: %v", err)
	}
	srv := &http.Server{Handler: r}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	r.waitOK(t, evs, 30*time.Second)
	lbl := []string{acct, region, "default", "r", "http", "t"}
	if n := value(metrics.RetryInvocationAttempts.WithLabelValues(lbl...)); n < 30 {
		t.Errorf("RetryInvocationAttempts = %v; the target was down, every event needed a retry", n)
	}
}

// TestSlowTargetDoesNotDelayOthers: a target that hangs, with hundreds of
// events, takes only its own slots: another target's events, put behind
// them in the stream, all arrive while every call of the hanging target is
// still held by the test; and the hanging target's tasks then wait in the
// stream, not on the consumer.
//
// No wall-clock bound is asserted: the hanging receiver holds its calls
// until the test releases them (the HTTP client's timeout is lifted), so
// "arrived while the other target hung" is a fact of ordering, whatever
// the machine's load; the deadlines below only end a run that is stuck.
func TestSlowTargetDoesNotDelayOthers(t *testing.T) {
	const perTarget = 16
	// A window smaller than the hanging target's tasks: without deferral
	// they would fill it, and the fast target's tasks, behind them in the
	// stream, could never be taken.
	const window = 200
	e := start(t, perTarget, 2*time.Second, "", func(d *Deliverer) {
		d.invokers["http"].(*httpInvoker).client = NewHTTPClient(time.Hour)
		d.Window = window
	})
	release := make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	var (
		mu              sync.Mutex
		hung, returned  int
		returnedEarly   bool
		fastDoneAt      = -1 // hung calls when the last fast event arrived
		fastOK, fastAll = 0, 50
	)
	hanging := newReceiver(t, func(string, int) (int, http.Header, time.Duration) {
		mu.Lock()
		hung++
		mu.Unlock()
		<-release
		mu.Lock()
		returned++
		if fastDoneAt < 0 {
			returnedEarly = true
		}
		mu.Unlock()
		return 200, nil, 0
	})
	fast := newReceiver(t, func(string, int) (int, http.Header, time.Duration) {
		mu.Lock()
		fastOK++
		if fastOK == fastAll {
			fastDoneAt = hung
		}
		mu.Unlock()
		return 200, nil, 0
	})
	slow := ids("slow", 300)
	for _, id := range slow {
		e.put("slow", control.Target{Id: "hang", Arn: hanging.URL}, id, time.Now())
	}
	// The hanging target is busy (all its slots taken) before the fast
	// target's events are even put.
	waitFor(t, "the hanging target's slots to fill", func() bool { mu.Lock(); defer mu.Unlock(); return hung == perTarget })
	quick := ids("quick", fastAll)
	for _, id := range quick {
		e.put("quick", control.Target{Id: "fast", Arn: fast.URL}, id, time.Now())
	}
	fast.waitOK(t, quick, time.Minute)
	mu.Lock()
	if returnedEarly || returned > 0 {
		t.Errorf("a call of the hanging target returned before the fast target had all its events")
	}
	if fastDoneAt != perTarget || hung != perTarget {
		t.Errorf("calls of the hanging target: %d when the fast target was done, %d now; want %d (its limit) throughout", fastDoneAt, hung, perTarget)
	}
	mu.Unlock()

	// The hanging target holds its calls and at most half the window; the
	// rest of its tasks wait in the stream as schedules.
	cons, err := e.st.JS.Consumer(context.Background(), store.DeliveryStream, consumerName)
	if err != nil {
		t.Fatal(err)
	}
	var pending int
	waitFor(t, "the consumer to hold at most the hanging target's calls and half the window", func() bool {
		info, err := cons.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pending = info.NumAckPending
		return pending <= perTarget+window/2
	})
	t.Logf("consumer holds %d tasks of the hanging target", pending)
	si, err := e.st.Deliver.Info(context.Background(), jetstream.WithSubjectFilter(store.RetryPrefix+">"))
	if err != nil {
		t.Fatal(err)
	}
	if len(si.State.Subjects) == 0 {
		t.Errorf("no task of the hanging target waits as a schedule")
	}
	// All of the hanging target's tasks are still in the stream.
	si, err = e.st.Deliver.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if si.State.Msgs < uint64(len(slow)) {
		t.Errorf("stream holds %d messages; the hanging target's %d tasks should all still wait", si.State.Msgs, len(slow))
	}
	mu.Lock()
	if hung != perTarget {
		t.Errorf("%d calls of the hanging target, want %d in flight and no more", hung, perTarget)
	}
	mu.Unlock()
	// Released, the target gets every event.
	releaseOnce.Do(func() { close(release) })
	hanging.waitOK(t, slow, 3*time.Minute)
}

// waitFor polls cond until it holds; the deadline only ends a stuck run.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestThousandsInBackoffHoldNoSlot: 2,000 failing events wait for their
// retry in the stream while the consumer holds none of them and keeps
// delivering to another target.
func TestThousandsInBackoffHoldNoSlot(t *testing.T) {
	if testing.Short() {
		t.Skip("load")
	}
	e := start(t, 64, 30*time.Second, "")
	failing := newReceiver(t, func(string, int) (int, http.Header, time.Duration) { return 500, nil, 0 })
	fast := newReceiver(t, func(string, int) (int, http.Header, time.Duration) { return 200, nil, 0 })
	many := ids("many", 2000)
	for _, id := range many {
		e.put("failing", control.Target{Id: "f", Arn: failing.URL}, id, time.Now())
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		calls, _ := failing.snapshot()
		if len(calls) == len(many) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d first attempts made", len(calls), len(many))
		}
		time.Sleep(50 * time.Millisecond)
	}
	quick := ids("q", 20)
	for _, id := range quick {
		e.put("ok", control.Target{Id: "ok", Arn: fast.URL}, id, time.Now())
	}
	fast.waitOK(t, quick, 3*time.Second)
	cons, _ := e.st.JS.Consumer(context.Background(), store.DeliveryStream, consumerName)
	deadline = time.Now().Add(5 * time.Second)
	for {
		info, err := cons.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if info.NumAckPending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumer holds %d tasks while they wait for their retry", info.NumAckPending)
		}
		time.Sleep(50 * time.Millisecond)
	}
	si, err := e.st.Deliver.Info(context.Background(), jetstream.WithSubjectFilter(store.RetryPrefix+">"))
	if err != nil {
		t.Fatal(err)
	}
	n := len(si.State.Subjects)
	if n != len(many) {
		t.Errorf("%d retry schedules in the stream, want %d", n, len(many))
	}
}

func keys(m map[string]testpeer.Message) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// value reads a counter.
func value(c prometheus.Counter) float64 {
	var m dto.Metric
	_ = c.Write(&m)
	return m.GetCounter().GetValue()
}
