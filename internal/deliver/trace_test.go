package deliver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/match"
	"github.com/switchyard/switchyard/internal/testpeer"
)

const testTrace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"

// traceReceiver is a real HTTP endpoint recording the X-Amzn-Trace-Id
// values of each event's calls ("" for a call without one), answering
// fails[id] calls of an event with 503 before accepting it.
type traceReceiver struct {
	URL   string
	mu    sync.Mutex
	calls map[string][]string
	fails map[string]int
}

func newTraceReceiver(t *testing.T, fails map[string]int) *traceReceiver {
	r := &traceReceiver{calls: map[string][]string{}, fails: fails}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var ev struct{ ID string }
		b, _ := io.ReadAll(req.Body)
		_ = json.Unmarshal(b, &ev)
		r.mu.Lock()
		vs, has := req.Header[TraceHeader]
		v := ""
		if has {
			v = fmt.Sprint(vs) // several values would show
			if len(vs) == 1 {
				v = vs[0]
			}
		}
		r.calls[ev.ID] = append(r.calls[ev.ID], v)
		n := len(r.calls[ev.ID])
		r.mu.Unlock()
		if n <= r.fails[ev.ID] {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	r.URL = "http://" + lis.Addr().String() + "/"
	return r
}

// waitCalls waits until event id was called n times and returns the trace
// headers of its calls.
func (r *traceReceiver) waitCalls(t *testing.T, id string, n int) []string {
	t.Helper()
	var got []string
	waitFor(t, fmt.Sprintf("%d calls of %s", n, id), func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		got = append([]string(nil), r.calls[id]...)
		return len(got) >= n
	})
	return got
}

// putTraced publishes a task of an event with trace header trace.
func (e *env) putTraced(rule string, target control.Target, id, trace string) {
	e.t.Helper()
	ev := fmt.Sprintf(`{"version":"0","id":%q,"detail-type":"t","source":"s","account":%q,"time":"2024-01-01T00:00:00Z","region":%q,"resources":[],"detail":{}}`, id, acct, region)
	m, err := match.TaskMsg(control.Scope{Account: acct, Region: region}, "default", id, &match.Task{
		RuleArn: "arn:aws:events:" + region + ":" + acct + ":rule/" + rule, RuleName: rule,
		Target: target, Event: json.RawMessage(ev), Trace: trace, Ingested: time.Now().UnixMilli()})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.st.JS.PublishMsg(context.Background(), m); err != nil {
		e.t.Fatal(err)
	}
}

// TestTraceHeaderOnEveryAttempt: EventBridge passes an event's trace
// header to its target ("Amazon EventBridge integration with AWS X-Ray",
// EventBridge User Guide) as X-Amzn-Trace-Id, on the first attempt and on
// each retry (which the stream re-publishes from the task's data), for
// stored tasks and direct first attempts alike; an event without one is
// sent without the header.
func TestTraceHeaderOnEveryAttempt(t *testing.T) {
	e := start(t, 8, 50*time.Millisecond, "")
	r := newTraceReceiver(t, map[string]int{"traced-retried": 2, "direct-retried": 1, "plain-retried": 1})
	target := control.Target{Id: "t", Arn: r.URL}
	e.putTraced("r", target, "traced", testTrace)
	e.putTraced("r", target, "traced-retried", testTrace)
	e.putTraced("r", target, "plain-retried", "")
	e.waitRunning(r.URL)
	for _, id := range []string{"direct", "direct-retried"} {
		if tr := e.tryFirstTraced("r", target, id, testTrace); !tr.taken || !tr.wait(t) {
			t.Fatalf("%s: direct attempt not taken or not settled", id)
		}
	}
	for id, n := range map[string]int{"traced": 1, "traced-retried": 3, "direct": 1, "direct-retried": 2} {
		for i, v := range r.waitCalls(t, id, n) {
			if v != testTrace {
				t.Errorf("%s, call %d: X-Amzn-Trace-Id %q, want %q", id, i+1, v, testTrace)
			}
		}
	}
	for i, v := range r.waitCalls(t, "plain-retried", 2) {
		if v != "" {
			t.Errorf("an event without a trace header, call %d: X-Amzn-Trace-Id %q, want none", i+1, v)
		}
	}
}

// TestTraceHeaderInDeadLetter: "the trace header is included in the
// SendMessage request that sends the event to the DLQ", and the message
// received from the queue has it as an attribute, not in its body
// ("Amazon EventBridge integration with AWS X-Ray"): moto's SQS returns it
// as the AWSTraceHeader system attribute. A dead letter of an event
// without one has none.
func TestTraceHeaderInDeadLetter(t *testing.T) {
	moto := testpeer.Moto(t)
	e := start(t, 8, 50*time.Millisecond, moto)
	q := testpeer.SQS(moto, region)
	dlqArn, dlqURL := testpeer.CreateQueue(t, q, "trace-dlq")
	r := newTraceReceiver(t, map[string]int{"traced": 100, "plain": 100})
	target := control.Target{Id: "t", Arn: r.URL, RetryPolicy: retryPolicy(1, 3600), DeadLetterConfig: &control.DeadLetterConfig{Arn: &dlqArn}}
	e.putTraced("r", target, "traced", testTrace)
	e.putTraced("r", target, "plain", "")
	got := map[string]testpeer.Message{}
	for _, m := range testpeer.Drain(t, q, dlqURL, 2, 20*time.Second) {
		var ev struct{ ID string }
		_ = json.Unmarshal([]byte(m.Body), &ev)
		got[ev.ID] = m
	}
	if len(got) != 2 {
		t.Fatalf("%d dead letters, want 2", len(got))
	}
	if v := got["traced"].System["AWSTraceHeader"]; v != testTrace {
		t.Errorf("dead letter of a traced event: AWSTraceHeader %q, want %q", v, testTrace)
	}
	if v, ok := got["plain"].System["AWSTraceHeader"]; ok {
		t.Errorf("dead letter of an event without a trace header: AWSTraceHeader %q", v)
	}
	for id, m := range got {
		var body map[string]any
		if err := json.Unmarshal([]byte(m.Body), &body); err != nil || body["id"] != id || len(body) != 9 {
			t.Errorf("dead letter %s: body %s is not the event alone", id, m.Body)
		}
	}
	for _, v := range r.waitCalls(t, "traced", 2) {
		if v != testTrace {
			t.Errorf("failed call of a traced event: X-Amzn-Trace-Id %q", v)
		}
	}
}
