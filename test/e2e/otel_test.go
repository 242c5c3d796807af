package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// OpenTelemetry tracing (package tracing), against a real OTLP/HTTP
// endpoint in this process that decodes the export requests switchyard's
// exporter sends (the OTLP protobuf messages of go.opentelemetry.io/proto/otlp).

// otlpSpan is a span as exported, its ids in hexadecimal.
type otlpSpan struct {
	trace, id, parent, name string
	kind                    tracepb.Span_SpanKind
	attrs                   map[string]string
	instance                string // the exporting process's service.instance.id
	links                   []string
	status                  tracepb.Status_StatusCode
}

// otlpCollector is an OTLP/HTTP trace endpoint (POST /v1/traces).
type otlpCollector struct {
	URL      string
	mu       sync.Mutex
	spans    []otlpSpan
	requests int
}

func newOTLPCollector(t *testing.T) *otlpCollector {
	c := &otlpCollector{}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "not an OTLP/HTTP protobuf trace export", http.StatusBadRequest)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.add(&req)
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	})}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	c.URL = "http://" + lis.Addr().String()
	return c
}

func anyValue(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *commonpb.AnyValue_BoolValue:
		return strconv.FormatBool(x.BoolValue)
	case *commonpb.AnyValue_ArrayValue:
		var s []string
		for _, e := range x.ArrayValue.GetValues() {
			s = append(s, anyValue(e))
		}
		return strings.Join(s, ",")
	}
	return v.String()
}

func (c *otlpCollector) add(req *coltracepb.ExportTraceServiceRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests++
	for _, rs := range req.GetResourceSpans() {
		instance := ""
		for _, a := range rs.GetResource().GetAttributes() {
			if a.GetKey() == "service.instance.id" {
				instance = anyValue(a.GetValue())
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				s := otlpSpan{trace: hex.EncodeToString(sp.GetTraceId()), id: hex.EncodeToString(sp.GetSpanId()),
					parent: hex.EncodeToString(sp.GetParentSpanId()), name: sp.GetName(), kind: sp.GetKind(),
					attrs: map[string]string{}, instance: instance, status: sp.GetStatus().GetCode()}
				for _, a := range sp.GetAttributes() {
					s.attrs[a.GetKey()] = anyValue(a.GetValue())
				}
				for _, l := range sp.GetLinks() {
					s.links = append(s.links, hex.EncodeToString(l.GetSpanId()))
				}
				c.spans = append(c.spans, s)
			}
		}
	}
}

// trace returns the spans of trace id exported so far.
func (c *otlpCollector) trace(id string) []otlpSpan {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []otlpSpan
	for _, s := range c.spans {
		if s.trace == id {
			out = append(out, s)
		}
	}
	return out
}

// waitTrace waits until trace id has spans named as in want (name: count)
// and returns them.
func (c *otlpCollector) waitTrace(t *testing.T, id string, want map[string]int) []otlpSpan {
	t.Helper()
	var spans []otlpSpan
	eventually(t, fmt.Sprintf("the spans %v of trace %s", want, id), func() bool {
		spans = c.trace(id)
		got := map[string]int{}
		for _, s := range spans {
			got[s.name]++
		}
		for k, n := range want {
			if got[k] < n {
				return false
			}
		}
		return true
	})
	return spans
}

func named(spans []otlpSpan, name string) []otlpSpan {
	var out []otlpSpan
	for _, s := range spans {
		if s.name == name {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].attrs["aws.eventbridge.attempt"] < out[j].attrs["aws.eventbridge.attempt"]
	})
	return out
}

func one(t *testing.T, spans []otlpSpan, name string) otlpSpan {
	t.Helper()
	s := named(spans, name)
	if len(s) != 1 {
		t.Fatalf("%d %q spans, want 1: %+v", len(s), name, spans)
	}
	return s[0]
}

// otelReceiver is an HTTP target recording each call's trace headers by
// event id, answering status(call number from 1).
type otelReceiver struct {
	URL    string
	mu     sync.Mutex
	calls  map[string][]http.Header
	status func(n int) int
}

func newOTelReceiver(t *testing.T, status func(n int) int) *otelReceiver {
	r := &otelReceiver{calls: map[string][]http.Header{}, status: status}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		id := ""
		if i := bytes.Index(b, []byte(`"id":"`)); i >= 0 {
			id, _, _ = strings.Cut(string(b[i+6:]), `"`)
		}
		r.mu.Lock()
		r.calls[id] = append(r.calls[id], req.Header.Clone())
		n := len(r.calls[id])
		r.mu.Unlock()
		w.WriteHeader(r.status(n))
	})}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	r.URL = "http://" + lis.Addr().String() + "/events"
	return r
}

func (r *otelReceiver) wait(t *testing.T, id string, n int) []http.Header {
	t.Helper()
	var got []http.Header
	eventually(t, fmt.Sprintf("%d calls for event %s", n, id), func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		got = append([]http.Header(nil), r.calls[id]...)
		return len(got) >= n
	})
	return got
}

// failTwice fails the first two calls of each event with a 500.
func failTwice(n int) int {
	if n <= 2 {
		return http.StatusInternalServerError
	}
	return http.StatusOK
}

func withHeader(k, v string) func(*eventbridge.Options) {
	return func(o *eventbridge.Options) {
		o.APIOptions = append(o.APIOptions, smithyhttp.SetHeaderValue(k, v))
	}
}

func otelEnv(c *otlpCollector, instance string) []string {
	return []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + c.URL, "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_BSP_SCHEDULE_DELAY=100", "OTEL_RESOURCE_ATTRIBUTES=service.instance.id=" + instance}
}

func putOne(t *testing.T, eb *eventbridge.Client, src string, opts ...func(*eventbridge.Options)) string {
	t.Helper()
	out, err := eb.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		Source: aws.String(src), DetailType: aws.String("Test"), Detail: aws.String(`{"otel":true}`)}}}, opts...)
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v %+v", err, out)
	}
	return aws.ToString(out.Entries[0].EventId)
}

// checkCallTrace checks that a target call carried traceparent and
// X-Amzn-Trace-Id of trace (W3C id), both with parent span id parent.
func checkCallTrace(t *testing.T, what string, h http.Header, trace, parent string) {
	t.Helper()
	if got, want := h.Get("traceparent"), "00-"+trace+"-"+parent+"-01"; got != want {
		t.Errorf("%s: traceparent %q, want %q", what, got, want)
	}
	if got, want := h.Get("X-Amzn-Trace-Id"), "Root=1-"+trace[:8]+"-"+trace[8:]+";Parent="+parent+";Sampled=1"; got != want {
		t.Errorf("%s: X-Amzn-Trace-Id %q, want %q", what, got, want)
	}
}

func TestOTelTracing(t *testing.T) {
	c := newOTLPCollector(t)
	s := startServerEnv(t, otelEnv(c, "one"), "--otel", "--retry-base-delay", "50ms")
	eb := s.client("111111111111", "us-east-1")
	r := newOTelReceiver(t, failTwice)
	routeTo(t, eb, "", "otel.retry", types.Target{Arn: aws.String(r.URL)})
	ok := newOTelReceiver(t, func(int) int { return http.StatusOK })
	routeTo(t, eb, "", "otel.ok", types.Target{Arn: aws.String(ok.URL)})

	t.Run("traceparent", func(t *testing.T) {
		const trace, caller = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
		id := putOne(t, eb, "otel.retry", withHeader("traceparent", "00-"+trace+"-"+caller+"-01"))
		calls := r.wait(t, id, 3)
		spans := c.waitTrace(t, trace, map[string]int{"PutEvents": 1, "event": 1, "match": 1, "deliver http": 3})

		pe := one(t, spans, "PutEvents")
		if pe.parent != caller || pe.kind != tracepb.Span_SPAN_KIND_SERVER {
			t.Errorf("PutEvents span: parent %s kind %v, want the caller's %s, server", pe.parent, pe.kind, caller)
		}
		for k, v := range map[string]string{"cloud.account.id": "111111111111", "cloud.region": "us-east-1", "aws.eventbridge.event_bus": "default",
			"aws.eventbridge.entry_count": "1", "aws.eventbridge.failed_entry_count": "0", "rpc.method": "PutEvents"} {
			if pe.attrs[k] != v {
				t.Errorf("PutEvents span: %s = %q, want %q", k, pe.attrs[k], v)
			}
		}
		ev := one(t, spans, "event")
		if ev.parent != pe.id || ev.attrs["aws.eventbridge.event_id"] != id {
			t.Errorf("event span: parent %s, event id %q; want %s, %s", ev.parent, ev.attrs["aws.eventbridge.event_id"], pe.id, id)
		}
		m := one(t, spans, "match")
		if m.parent != ev.id || m.attrs["aws.eventbridge.rules_matched"] != "1" || !strings.HasSuffix(m.attrs["aws.eventbridge.rule_arns"], ":rule/otel.retry") {
			t.Errorf("match span: parent %s attrs %v; want parent %s, the rule otel.retry", m.parent, m.attrs, ev.id)
		}
		attempts := named(spans, "deliver http")
		for i, a := range attempts {
			want := map[string]string{"aws.eventbridge.attempt": strconv.Itoa(i + 1), "aws.eventbridge.event_id": id,
				"aws.eventbridge.target_arn": r.URL, "aws.eventbridge.target_id": "t0", "aws.eventbridge.target_kind": "http",
				"aws.eventbridge.outcome": "retryable_failure", "http.response.status_code": "500", "aws.error.code": "SDK_CLIENT_ERROR"}
			if i == 2 {
				want["aws.eventbridge.outcome"], want["http.response.status_code"], want["aws.error.code"] = "success", "200", ""
			}
			for k, v := range want {
				if a.attrs[k] != v {
					t.Errorf("attempt %d: %s = %q, want %q", i+1, k, a.attrs[k], v)
				}
			}
			if !strings.HasSuffix(a.attrs["aws.eventbridge.rule_arn"], ":rule/otel.retry") {
				t.Errorf("attempt %d: rule %q", i+1, a.attrs["aws.eventbridge.rule_arn"])
			}
			if a.parent != m.id || a.kind != tracepb.Span_SPAN_KIND_CLIENT {
				t.Errorf("attempt %d: parent %s kind %v, want the match span %s, client", i+1, a.parent, a.kind, m.id)
			}
			if (i < 2) != (a.status == tracepb.Status_STATUS_CODE_ERROR) {
				t.Errorf("attempt %d: status %v", i+1, a.status)
			}
			// The call of each attempt carries its span, in both forms.
			checkCallTrace(t, fmt.Sprintf("call %d", i+1), calls[i], trace, a.id)
		}
	})

	t.Run("X-Ray only", func(t *testing.T) {
		// The documented X-Ray example: its W3C trace id is its 32 digits.
		const xray = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
		const trace = "5759e988bd862e3fe1be46a994272793"
		id := putOne(t, eb, "otel.ok", withRequestTrace(xray))
		calls := ok.wait(t, id, 1)
		spans := c.waitTrace(t, trace, map[string]int{"PutEvents": 1, "event": 1, "match": 1, "deliver http": 1})
		if pe := one(t, spans, "PutEvents"); pe.parent != "53995c3f42cd8ad8" {
			t.Errorf("PutEvents span's parent %s, want the X-Ray Parent", pe.parent)
		}
		a := one(t, spans, "deliver http")
		checkCallTrace(t, "call", calls[0], trace, a.id)
	})

	t.Run("entry TraceHeader", func(t *testing.T) {
		// An entry's own TraceHeader puts its event in that trace, linked
		// to the request's.
		const trace = "67a1b2c30123456789abcdef01234567"
		id := putTraced(t, eb, "otel.ok", "Root=1-67a1b2c3-0123456789abcdef01234567;Parent=1111111111111111;Sampled=1")
		calls := ok.wait(t, id, 1)
		spans := c.waitTrace(t, trace, map[string]int{"event": 1, "match": 1, "deliver http": 1})
		ev := one(t, spans, "event")
		if ev.parent != "1111111111111111" || len(ev.links) != 1 {
			t.Errorf("event span: parent %s links %v, want the entry's Parent and a link to the PutEvents span", ev.parent, ev.links)
		}
		checkCallTrace(t, "call", calls[0], trace, one(t, spans, "deliver http").id)
	})

	t.Run("not sampled", func(t *testing.T) {
		// The caller's decision holds (parent-based sampling): no span is
		// exported, and the target gets the trace, not sampled, with the
		// PutEvents span (not recorded) as parent.
		const trace = "4bf92f3577b34da6a3ce929d0e0e4738"
		id := putOne(t, eb, "otel.ok", withHeader("traceparent", "00-"+trace+"-00f067aa0ba902b7-00"))
		h := ok.wait(t, id, 1)[0]
		tp := strings.Split(h.Get("traceparent"), "-")
		if len(tp) != 4 || tp[1] != trace || tp[3] != "00" || tp[2] == "00f067aa0ba902b7" {
			t.Errorf("traceparent %q, want trace %s not sampled, parent the PutEvents span", h.Get("traceparent"), trace)
		}
		if x := h.Get("X-Amzn-Trace-Id"); !strings.HasSuffix(x, ";Sampled=0") {
			t.Errorf("X-Amzn-Trace-Id %q, want not sampled", x)
		}
		// Spans of the next event, exported after any of this one's.
		next := putOne(t, eb, "otel.ok", withHeader("traceparent", "00-"+trace[:31]+"9-00f067aa0ba902b7-01"))
		ok.wait(t, next, 1)
		c.waitTrace(t, trace[:31]+"9", map[string]int{"deliver http": 1})
		if spans := c.trace(trace); len(spans) != 0 {
			t.Errorf("%d spans of a trace not sampled: %+v", len(spans), spans)
		}
	})

	t.Run("no trace context", func(t *testing.T) {
		// A request without one starts a trace, which the target gets.
		id := putOne(t, eb, "otel.ok")
		h := ok.wait(t, id, 1)[0]
		tp := strings.Split(h.Get("traceparent"), "-")
		if len(tp) != 4 {
			t.Fatalf("traceparent %q", h.Get("traceparent"))
		}
		spans := c.waitTrace(t, tp[1], map[string]int{"PutEvents": 1, "event": 1, "match": 1, "deliver http": 1})
		if pe := one(t, spans, "PutEvents"); pe.parent != "" {
			t.Errorf("PutEvents span has parent %s, want a root span", pe.parent)
		}
		checkCallTrace(t, "call", h, tp[1], one(t, spans, "deliver http").id)
	})
}

// Two processes on one NATS: the first accepts and matches the event and
// makes the first attempt (failed), then stops; the second takes the retry
// (a JetStream message schedule) and delivers it. One trace holds all.
func TestOTelAcrossProcesses(t *testing.T) {
	c := newOTLPCollector(t)
	url := startNATS(t)
	key := newKeyFile(t, "secrets.key")
	a := startServerEnv(t, otelEnv(c, "a"), "--otel", "--nats-url", url, "--secrets-key-file", key, "--retry-base-delay", "3s")
	eb := a.client("111111111111", "us-east-1")
	r := newOTelReceiver(t, func(n int) int {
		if n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	routeTo(t, eb, "", "otel.cluster", types.Target{Arn: aws.String(r.URL)})
	const trace = "0af7651916cd43dd8448eb211c80319c"
	id := putOne(t, eb, "otel.cluster", withHeader("traceparent", "00-"+trace+"-b7ad6b7169203331-01"))
	r.wait(t, id, 1)
	// The retry is stored once the first attempt's failure is logged (a
	// stop before that cuts the attempt short, and it is made again as a
	// first attempt). The line names the event, its delivery and the
	// trace (tracing.LogHandler).
	var line string
	eventually(t, "the log of the retry", func() bool {
		for l := range strings.SplitSeq(a.logs(), "\n") {
			if strings.Contains(l, "deliver: will retry") {
				line = l
				return true
			}
		}
		return false
	})
	for _, want := range []string{"event_id=" + id, ":rule/otel.cluster target_id=t0", "trace_id=" + trace, "span_id="} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q does not say %q", line, want)
		}
	}
	a.stop() // flushes its spans
	b := startServerEnv(t, otelEnv(c, "b"), "--otel", "--nats-url", url, "--secrets-key-file", key, "--retry-base-delay", "3s")
	defer b.stop()
	calls := r.wait(t, id, 2)
	spans := c.waitTrace(t, trace, map[string]int{"PutEvents": 1, "event": 1, "match": 1, "deliver http": 2})
	m := one(t, spans, "match")
	if m.instance != "a" {
		t.Errorf("match span from %q, want a", m.instance)
	}
	attempts := named(spans, "deliver http")
	for i, want := range []string{"a", "b"} {
		at := attempts[i]
		if at.instance != want || at.parent != m.id || at.attrs["aws.eventbridge.attempt"] != strconv.Itoa(i+1) {
			t.Errorf("attempt %d: from %q, parent %s, attempt %s; want from %s, parent the match span %s", i+1, at.instance, at.parent, at.attrs["aws.eventbridge.attempt"], want, m.id)
		}
		checkCallTrace(t, fmt.Sprintf("call %d", i+1), calls[i], trace, at.id)
	}
	if !strings.Contains(line, "span_id="+attempts[0].id) {
		t.Errorf("log line %q is not about the first attempt's span %s", line, attempts[0].id)
	}
}

// AWS targets with tracing on: an SQS target's attempt has the AWS SDK's
// span (otelaws) as its child, whose SendMessage carries traceparent and
// X-Amzn-Trace-Id of that span; the message's AWSTraceHeader, as AWS
// documents, is the event's trace header, here the attempt's. A target
// that refuses the event for good sends it to its dead-letter queue, a
// span of its own, child of the match.
func TestOTelAWSTargets(t *testing.T) {
	c := newOTLPCollector(t)
	m := startMoto(t)
	s := startServerEnv(t, otelEnv(c, "aws"), "--otel", "--aws-endpoint", m)
	eb := s.client(acct, "eu-central-1")
	q := sqs.NewFromConfig(motoConfig(m))

	t.Run("SQS", func(t *testing.T) {
		url, arn := createQueue(t, q, "otel-traced", nil)
		routeTo(t, eb, "", "otel.sqs", types.Target{Arn: aws.String(arn)})
		const trace = "5759e988bd862e3fe1be46a994272794"
		id := putOne(t, eb, "otel.sqs", withHeader("traceparent", "00-"+trace+"-53995c3f42cd8ad8-01"))
		msg := receive(t, q, url)
		spans := c.waitTrace(t, trace, map[string]int{"match": 1, "deliver sqs": 1, "SQS.SendMessage": 1})
		a, sdk := one(t, spans, "deliver sqs"), one(t, spans, "SQS.SendMessage")
		if sdk.parent != a.id || a.parent != one(t, spans, "match").id {
			t.Errorf("SendMessage span's parent %s, want the attempt %s; the attempt's %s, want the match", sdk.parent, a.id, a.parent)
		}
		if got, want := msg.Attributes["AWSTraceHeader"], "Root=1-5759e988-bd862e3fe1be46a994272794;Parent="+a.id+";Sampled=1"; got != want {
			t.Errorf("AWSTraceHeader %q, want %q", got, want)
		}
		send := motoCall(t, "the traced SendMessage", func(r motoRequest) bool {
			return strings.Contains(header(r.Headers, "X-Amz-Target"), "SendMessage") && strings.Contains(r.body(), id)
		})
		h := http.Header{}
		h.Set("traceparent", header(send.Headers, "traceparent"))
		h.Set("X-Amzn-Trace-Id", header(send.Headers, "X-Amzn-Trace-Id"))
		checkCallTrace(t, "SendMessage", h, trace, sdk.id)
	})

	t.Run("DeadLetter", func(t *testing.T) {
		r := newOTelReceiver(t, func(int) int { return http.StatusBadRequest }) // permanent: no retry
		url, dlq := createQueue(t, q, "otel-dlq", nil)
		routeTo(t, eb, "", "otel.dlq", types.Target{Arn: aws.String(r.URL), DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlq)}})
		const trace = "5759e988bd862e3fe1be46a994272795"
		id := putOne(t, eb, "otel.dlq", withHeader("traceparent", "00-"+trace+"-53995c3f42cd8ad8-01"))
		msg := receive(t, q, url)
		spans := c.waitTrace(t, trace, map[string]int{"match": 1, "deliver http": 1, "dead letter": 1, "SQS.SendMessage": 1})
		mt, a, dl := one(t, spans, "match"), one(t, spans, "deliver http"), one(t, spans, "dead letter")
		if a.attrs["aws.eventbridge.outcome"] != "permanent_failure" || a.attrs["http.response.status_code"] != "400" {
			t.Errorf("attempt: %v", a.attrs)
		}
		if dl.parent != mt.id || dl.attrs["aws.eventbridge.dead_letter_queue_arn"] != dlq || dl.attrs["aws.eventbridge.event_id"] != id {
			t.Errorf("dead letter span: parent %s attrs %v; want the match %s", dl.parent, dl.attrs, mt.id)
		}
		if got, want := msg.Attributes["AWSTraceHeader"], "Root=1-5759e988-bd862e3fe1be46a994272795;Parent="+dl.id+";Sampled=1"; got != want {
			t.Errorf("dead letter's AWSTraceHeader %q, want %q", got, want)
		}
		// The log line of the dead letter names the event, its delivery
		// and its trace.
		eventually(t, "the dead letter's log line", func() bool {
			for l := range strings.SplitSeq(s.logs(), "\n") {
				if strings.Contains(l, "gave up; to the dead-letter queue") && strings.Contains(l, "event_id="+id) {
					for _, want := range []string{":rule/otel.dlq target_id=t0", "trace_id=" + trace, "span_id=" + a.id} {
						if !strings.Contains(l, want) {
							t.Errorf("log line %q does not say %q", l, want)
						}
					}
					return true
				}
			}
			return false
		})
	})
}

// otlpGRPC is an OTLP/gRPC trace endpoint feeding c.
type otlpGRPC struct {
	coltracepb.UnimplementedTraceServiceServer
	c *otlpCollector
}

func (g otlpGRPC) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	g.c.add(req)
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// With OTEL_EXPORTER_OTLP_PROTOCOL=grpc the spans go over OTLP/gRPC.
func TestOTelGRPC(t *testing.T) {
	c := &otlpCollector{}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, otlpGRPC{c: c})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	s := startServerEnv(t, []string{"OTEL_TRACES_EXPORTER=otlp", "OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + lis.Addr().String(), "OTEL_BSP_SCHEDULE_DELAY=100"})
	eb := s.client("111111111111", "us-east-1")
	r := newOTelReceiver(t, func(int) int { return http.StatusOK })
	routeTo(t, eb, "", "otel.grpc", types.Target{Arn: aws.String(r.URL)})
	const trace = "4bf92f3577b34da6a3ce929d0e0e4737"
	id := putOne(t, eb, "otel.grpc", withHeader("traceparent", "00-"+trace+"-00f067aa0ba902b7-01"))
	calls := r.wait(t, id, 1)
	spans := c.waitTrace(t, trace, map[string]int{"PutEvents": 1, "event": 1, "match": 1, "deliver http": 1})
	checkCallTrace(t, "call", calls[0], trace, one(t, spans, "deliver http").id)
}

// Tracing refuses an exporter or protocol it does not have, at start.
func TestOTelRefusesUnknownExporter(t *testing.T) {
	for _, env := range [][]string{{"OTEL_TRACES_EXPORTER=zipkin"}, {"OTEL_TRACES_EXPORTER=otlp", "OTEL_EXPORTER_OTLP_PROTOCOL=http/json"}} {
		cx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a server that starts is killed
		defer cancel()
		cmd := exec.CommandContext(cx, binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--auth", "none")
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "supported") {
			t.Errorf("%v: %v, %s; want a refusal naming what is supported", env, err, out)
		}
	}
}

// The hostile side: a collector that is down, or that accepts and never
// answers, costs the data path nothing (the exporter's batches are
// dropped, not waited for), nor the shutdown more than its flush timeout;
// a malformed traceparent is ignored, and its event gets a trace of its
// own.
func TestOTelDeadOrHangingCollector(t *testing.T) {
	down, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downURL := "http://" + down.Addr().String()
	down.Close()
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hang.Close() })
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c) }() // reads, never answers
		}
	}()
	for name, endpoint := range map[string]string{"down": downURL, "hanging": "http://" + hang.Addr().String()} {
		t.Run(name, func(t *testing.T) {
			s := startServerEnv(t, []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + endpoint, "OTEL_BSP_SCHEDULE_DELAY=50", "OTEL_EXPORTER_OTLP_TIMEOUT=60000"}, "--otel")
			eb := s.client("111111111111", "us-east-1")
			r := newOTelReceiver(t, func(int) int { return http.StatusOK })
			routeTo(t, eb, "", "otel.dead", types.Target{Arn: aws.String(r.URL)})
			var ids []string
			for i := range 20 {
				opts := []func(*eventbridge.Options){}
				if i%2 == 0 {
					opts = append(opts, withHeader("traceparent", "00-not-a-trace-"+strconv.Itoa(i)))
				}
				ids = append(ids, putOne(t, eb, "otel.dead", opts...))
			}
			for _, id := range ids {
				h := r.wait(t, id, 1)[0]
				if tp := h.Get("traceparent"); len(tp) != 55 || !strings.HasPrefix(tp, "00-") {
					t.Errorf("event %s: traceparent %q, want one of a trace of its own", id, tp)
				}
			}
			t0 := time.Now()
			s.stop()
			if d := time.Since(t0); d > 15*time.Second {
				t.Errorf("stopping took %v with the collector %s", d, name)
			}
		})
	}
}

// With tracing off the trace context still goes through in both forms: a
// request with only a traceparent gives its targets the X-Ray header of
// that trace, one with only an X-Ray header the traceparent, each with the
// caller's span as parent (nothing in between records a span).
func TestTraceContextWithoutOTel(t *testing.T) {
	s := startServer(t)
	eb := s.client("111111111111", "us-east-1")
	r := newOTelReceiver(t, func(int) int { return http.StatusOK })
	routeTo(t, eb, "", "w3c.off", types.Target{Arn: aws.String(r.URL)})
	for _, c := range []struct {
		name, header, value, trace, parent string
	}{
		{"traceparent only", "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"},
		{"X-Ray only", "X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", "5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := putOne(t, eb, "w3c.off", withHeader(c.header, c.value))
			checkCallTrace(t, "call", r.wait(t, id, 1)[0], c.trace, c.parent)
		})
	}
}
