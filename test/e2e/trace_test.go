package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// What EventBridge does with a PutEvents entry's TraceHeader, an AWS X-Ray
// trace header ("Amazon EventBridge integration with AWS X-Ray",
// EventBridge User Guide): it passes it to the targets, as the
// X-Amzn-Trace-Id header of its calls, never inside the event; the entry's
// attribute overrides the PutEvents request's own X-Amzn-Trace-Id; an
// invalid one is dropped and the event still processed; archived events
// and their replays have none; the dead letter's SendMessage has it, and
// the queue returns it as a message attribute.

const (
	traceA = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	traceB = "Root=1-67a1b2c3-0123456789abcdef01234567;Sampled=0"
)

// traceReceiver is a real HTTP endpoint that records, by event id, the
// X-Amzn-Trace-Id values of each call it gets and answers with status(id,
// call number from 1).
type traceReceiver struct {
	URL    string
	mu     sync.Mutex
	calls  map[string][][]string
	bodies map[string][]byte
	status func(id string, n int) int
}

func newTraceReceiver(t *testing.T, status func(id string, n int) int) *traceReceiver {
	r := &traceReceiver{calls: map[string][][]string{}, bodies: map[string][]byte{}, status: status}
	if r.status == nil {
		r.status = func(string, int) int { return http.StatusOK }
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var ev struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(b, &ev)
		r.mu.Lock()
		r.calls[ev.ID] = append(r.calls[ev.ID], req.Header.Values("X-Amzn-Trace-Id"))
		r.bodies[ev.ID] = b
		n := len(r.calls[ev.ID])
		r.mu.Unlock()
		w.WriteHeader(r.status(ev.ID, n))
	})}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	r.URL = "http://" + lis.Addr().String() + "/events"
	return r
}

// wait waits until event id was called n times and returns the trace
// header values of each call.
func (r *traceReceiver) wait(t *testing.T, id string, n int) [][]string {
	t.Helper()
	var got [][]string
	eventually(t, fmt.Sprintf("%d calls for event %s", n, id), func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		got = append([][]string(nil), r.calls[id]...)
		return len(got) >= n
	})
	return got
}

func (r *traceReceiver) body(id string) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bodies[id]
}

// checkTrace checks that a call carried exactly the trace header want, or
// none when want is "".
func checkTrace(t *testing.T, what string, got []string, want string) {
	t.Helper()
	switch {
	case want == "" && len(got) != 0:
		t.Errorf("%s: X-Amzn-Trace-Id %q, want none", what, got)
	case want != "" && (len(got) != 1 || got[0] != want):
		t.Errorf("%s: X-Amzn-Trace-Id %q, want %q", what, got, want)
	}
}

// withRequestTrace sets the X-Amzn-Trace-Id header of a PutEvents request,
// as the X-Ray SDK (and aws-sdk-go-v2 in a traced Lambda function) does.
func withRequestTrace(v string) func(*eventbridge.Options) {
	return func(o *eventbridge.Options) {
		o.APIOptions = append(o.APIOptions, smithyhttp.SetHeaderValue("X-Amzn-Trace-Id", v))
	}
}

// routeTo puts a rule on bus (default when "") matching source src with
// the given targets.
func routeTo(t *testing.T, eb *eventbridge.Client, bus, src string, targets ...types.Target) {
	t.Helper()
	var busName *string
	if bus != "" {
		busName = aws.String(bus)
	}
	if _, err := eb.PutRule(ctx(t), &eventbridge.PutRuleInput{Name: aws.String(src), EventBusName: busName,
		EventPattern: aws.String(fmt.Sprintf(`{"source":[%q]}`, src))}); err != nil {
		t.Fatal(err)
	}
	for i := range targets {
		if targets[i].Id == nil {
			targets[i].Id = aws.String(fmt.Sprintf("t%d", i))
		}
	}
	out, err := eb.PutTargets(ctx(t), &eventbridge.PutTargetsInput{Rule: aws.String(src), EventBusName: busName, Targets: targets})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutTargets: %v %+v", err, out)
	}
}

// putTraced puts one event of source src with trace header trace (none
// when "") and returns its id.
func putTraced(t *testing.T, eb *eventbridge.Client, src, trace string) string {
	t.Helper()
	e := types.PutEventsRequestEntry{Source: aws.String(src), DetailType: aws.String("Test"), Detail: aws.String(`{"traced":true}`)}
	if trace != "" {
		e.TraceHeader = aws.String(trace)
	}
	out, err := eb.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{e}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %v %+v", err, out)
	}
	return aws.ToString(out.Entries[0].EventId)
}

// motoCall waits for the request moto recorded that matches, and returns
// it; the recording is shared with other tests, so match must name this
// test's event.
func motoCall(t *testing.T, what string, match func(motoRequest) bool) motoRequest {
	t.Helper()
	var got *motoRequest
	eventually(t, what, func() bool {
		for _, r := range motoRequests(t) {
			if match(r) {
				got = &r
				return true
			}
		}
		return false
	})
	return *got
}

func TestTraceHeader(t *testing.T) {
	e := newAWSTargetEnv(t)
	q := sqs.NewFromConfig(e.cfg)

	t.Run("HTTP", func(t *testing.T) {
		r := newTraceReceiver(t, nil)
		routeTo(t, e.eb, "", "trace.http", types.Target{Arn: aws.String(r.URL)})
		entry := func(trace *string) types.PutEventsRequestEntry {
			return types.PutEventsRequestEntry{Source: aws.String("trace.http"), DetailType: aws.String("Test"),
				Detail: aws.String(`{"a":1}`), TraceHeader: trace}
		}
		// One request of several entries (stored as one batch), each
		// with its own trace header or none; a malformed one is dropped,
		// and its entry accepted all the same.
		out, err := e.eb.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
			entry(aws.String(traceA)), entry(nil), entry(aws.String("Root=not-a-trace-id")), entry(aws.String(traceB)),
		}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %v %+v", err, out)
		}
		for i, want := range []string{traceA, "", "", traceB} {
			id := aws.ToString(out.Entries[i].EventId)
			checkTrace(t, fmt.Sprintf("entry %d", i+1), r.wait(t, id, 1)[0], want)
			// The event itself is as it was: the trace header is not
			// part of what the target receives.
			if b := r.body(id); strings.Contains(string(b), "Root=") {
				t.Errorf("entry %d: the delivered event holds the trace header: %s", i+1, b)
			}
		}
		// The request's own X-Amzn-Trace-Id is the trace context of the
		// entries without a (valid) TraceHeader; an entry's overrides it.
		out, err = e.eb.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
			entry(nil), entry(aws.String(traceA)), entry(aws.String("garbage")),
		}}, withRequestTrace(traceB))
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %v %+v", err, out)
		}
		for i, want := range []string{traceB, traceA, traceB} {
			checkTrace(t, fmt.Sprintf("request-traced entry %d", i+1), r.wait(t, aws.ToString(out.Entries[i].EventId), 1)[0], want)
		}
	})

	// An API destination's call carries the event's trace header, over one
	// the target's HttpParameters set; an untraced event's call carries
	// theirs.
	t.Run("APIDestination", func(t *testing.T) {
		r := newTraceReceiver(t, nil)
		conn, err := e.eb.CreateConnection(ctx(t), &eventbridge.CreateConnectionInput{Name: aws.String("trace-conn"),
			AuthorizationType: types.ConnectionAuthorizationTypeApiKey,
			AuthParameters: &types.CreateConnectionAuthRequestParameters{
				ApiKeyAuthParameters: &types.CreateConnectionApiKeyAuthRequestParameters{ApiKeyName: aws.String("x-api-key"), ApiKeyValue: aws.String("k")}}})
		if err != nil {
			t.Fatal(err)
		}
		dest, err := e.eb.CreateApiDestination(ctx(t), &eventbridge.CreateApiDestinationInput{Name: aws.String("trace-dest"),
			ConnectionArn: conn.ConnectionArn, InvocationEndpoint: aws.String(r.URL), HttpMethod: types.ApiDestinationHttpMethodPost})
		if err != nil {
			t.Fatal(err)
		}
		const own = "Root=1-00000001-000000000000000000000001"
		routeTo(t, e.eb, "", "trace.apidest", types.Target{Arn: dest.ApiDestinationArn,
			HttpParameters: &types.HttpParameters{HeaderParameters: map[string]string{"X-Amzn-Trace-Id": own}}})
		traced := putTraced(t, e.eb, "trace.apidest", traceA)
		plain := putTraced(t, e.eb, "trace.apidest", "")
		checkTrace(t, "API destination, traced event", r.wait(t, traced, 1)[0], traceA)
		checkTrace(t, "API destination, untraced event", r.wait(t, plain, 1)[0], own)
	})

	t.Run("TooLong", func(t *testing.T) {
		long := "Root=1-5759e988-bd862e3fe1be46a994272793;X=" + strings.Repeat("a", 501-43)
		_, err := e.eb.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
			Source: aws.String("trace.long"), DetailType: aws.String("Test"), Detail: aws.String(`{}`), TraceHeader: aws.String(long)}}})
		var ae smithy.APIError
		want := "1 validation error detected: Value '" + long + "' at 'entries.1.member.traceHeader' failed to satisfy constraint: " +
			"Member must have length less than or equal to 500"
		if !errors.As(err, &ae) || ae.ErrorCode() != "ValidationException" || ae.ErrorMessage() != want {
			t.Errorf("a TraceHeader of 501 characters: %v, want ValidationException %q", err, want)
		}
	})

	t.Run("SQS", func(t *testing.T) {
		url, arn := createQueue(t, q, "traced", nil)
		routeTo(t, e.eb, "", "trace.sqs", types.Target{Arn: aws.String(arn)})
		traced := putTraced(t, e.eb, "trace.sqs", traceA)
		plain := putTraced(t, e.eb, "trace.sqs", "")
		got := map[string]map[string]string{}
		for len(got) < 2 {
			m := receive(t, q, url) // asks for every system attribute
			var ev event
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
				t.Fatal(err)
			}
			checkEnvelope(t, aws.ToString(m.Body), ev.ID, "trace.sqs", `{"traced":true}`)
			got[ev.ID] = m.Attributes
			_, _ = q.DeleteMessage(ctx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
		}
		if v := got[traced]["AWSTraceHeader"]; v != traceA {
			t.Errorf("SQS message of a traced event: AWSTraceHeader %q, want %q", v, traceA)
		}
		if v, ok := got[plain]["AWSTraceHeader"]; ok {
			t.Errorf("SQS message of an event without a trace header: AWSTraceHeader %q", v)
		}
		send := motoCall(t, "the traced SendMessage", func(r motoRequest) bool {
			return strings.Contains(header(r.Headers, "X-Amz-Target"), "SendMessage") && strings.Contains(r.body(), traced)
		})
		checkTrace(t, "SendMessage", []string{header(send.Headers, "X-Amzn-Trace-Id")}, traceA)
	})

	t.Run("Lambda", func(t *testing.T) {
		createRole(t, e.moto, "trace-lambda-role")
		lm := lambda.NewFromConfig(e.cfg)
		fn, err := lm.CreateFunction(ctx(t), &lambda.CreateFunctionInput{FunctionName: aws.String("traced"),
			Runtime: lambdatypes.RuntimePython312, Handler: aws.String("index.handler"),
			Role: aws.String("arn:aws:iam::" + motoAccount + ":role/trace-lambda-role"),
			Code: &lambdatypes.FunctionCode{ZipFile: []byte("PK\x05\x06" + strings.Repeat("\x00", 18))}})
		if err != nil {
			t.Fatal(err)
		}
		routeTo(t, e.eb, "", "trace.lambda", types.Target{Arn: fn.FunctionArn})
		traced := putTraced(t, e.eb, "trace.lambda", traceA)
		plain := putTraced(t, e.eb, "trace.lambda", "")
		for id, want := range map[string]string{traced: traceA, plain: ""} {
			inv := motoCall(t, "the Invoke call", func(r motoRequest) bool {
				return strings.HasSuffix(strings.Split(r.URL, "?")[0], "/invocations") && strings.Contains(r.body(), id)
			})
			var got []string
			if v := header(inv.Headers, "X-Amzn-Trace-Id"); v != "" {
				got = []string{v}
			}
			checkTrace(t, "Lambda Invoke", got, want)
		}
	})

	t.Run("SNS", func(t *testing.T) {
		sn := sns.NewFromConfig(e.cfg)
		topic, err := sn.CreateTopic(ctx(t), &sns.CreateTopicInput{Name: aws.String("traced")})
		if err != nil {
			t.Fatal(err)
		}
		routeTo(t, e.eb, "", "trace.sns", types.Target{Arn: topic.TopicArn})
		id := putTraced(t, e.eb, "trace.sns", traceB)
		pub := motoCall(t, "the Publish call", func(r motoRequest) bool {
			return strings.Contains(r.body(), "Action=Publish") && strings.Contains(r.body(), id)
		})
		checkTrace(t, "SNS Publish", []string{header(pub.Headers, "X-Amzn-Trace-Id")}, traceB)
	})

	// An event-bus target forwards the event with its trace header, which
	// the targets of the other bus receive in turn.
	t.Run("EventBus", func(t *testing.T) {
		if _, err := e.eb.CreateEventBus(ctx(t), &eventbridge.CreateEventBusInput{Name: aws.String("trace-next")}); err != nil {
			t.Fatal(err)
		}
		r := newTraceReceiver(t, nil)
		routeTo(t, e.eb, "trace-next", "trace.bus", types.Target{Arn: aws.String(r.URL)})
		routeTo(t, e.eb, "", "trace.bus", types.Target{Arn: aws.String("arn:aws:events:eu-central-1:" + acct + ":event-bus/trace-next")})
		traced := putTraced(t, e.eb, "trace.bus", traceA)
		plain := putTraced(t, e.eb, "trace.bus", "")
		checkTrace(t, "target behind an event-bus target", r.wait(t, traced, 1)[0], traceA)
		checkTrace(t, "target behind an event-bus target, untraced event", r.wait(t, plain, 1)[0], "")
	})

	// The dead letter of a traced event: its SendMessage carries the trace
	// header, and the queue's message has it as AWSTraceHeader, not in the
	// body.
	t.Run("DeadLetter", func(t *testing.T) {
		r := newTraceReceiver(t, func(string, int) int { return http.StatusBadRequest }) // permanent: no retries
		url, dlq := createQueue(t, q, "trace-dlq", nil)
		routeTo(t, e.eb, "", "trace.dlq", types.Target{Arn: aws.String(r.URL), DeadLetterConfig: &types.DeadLetterConfig{Arn: aws.String(dlq)}})
		traced := putTraced(t, e.eb, "trace.dlq", traceA)
		plain := putTraced(t, e.eb, "trace.dlq", "")
		checkTrace(t, "the failed call", r.wait(t, traced, 1)[0], traceA)
		got := map[string]map[string]string{}
		for len(got) < 2 {
			m := receive(t, q, url)
			var ev event
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
				t.Fatalf("dead letter is not the event: %s", aws.ToString(m.Body))
			}
			checkEnvelope(t, aws.ToString(m.Body), ev.ID, "trace.dlq", `{"traced":true}`)
			got[ev.ID] = m.Attributes
			_, _ = q.DeleteMessage(ctx(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle})
		}
		if v := got[traced]["AWSTraceHeader"]; v != traceA {
			t.Errorf("dead letter of a traced event: AWSTraceHeader %q, want %q", v, traceA)
		}
		if v, ok := got[plain]["AWSTraceHeader"]; ok {
			t.Errorf("dead letter of an event without a trace header: AWSTraceHeader %q", v)
		}
		send := motoCall(t, "the dead letter's SendMessage", func(r motoRequest) bool {
			return strings.Contains(header(r.Headers, "X-Amz-Target"), "SendMessage") && strings.Contains(r.body(), traced) &&
				strings.Contains(r.body(), "RULE_ARN")
		})
		checkTrace(t, "the dead letter's SendMessage", []string{header(send.Headers, "X-Amzn-Trace-Id")}, traceA)
	})

	// Archived events keep no trace header, and a replay's events carry
	// none.
	t.Run("Replay", func(t *testing.T) {
		const bus = "trace-arc"
		if _, err := e.eb.CreateEventBus(ctx(t), &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil {
			t.Fatal(err)
		}
		busArn := "arn:aws:events:eu-central-1:" + acct + ":event-bus/" + bus
		arc, err := e.eb.CreateArchive(ctx(t), &eventbridge.CreateArchiveInput{ArchiveName: aws.String(bus), EventSourceArn: aws.String(busArn)})
		if err != nil {
			t.Fatal(err)
		}
		r := newTraceReceiver(t, nil)
		routeTo(t, e.eb, bus, "trace.arc", types.Target{Arn: aws.String(r.URL)})
		t0 := time.Now().Add(-time.Minute)
		out, err := e.eb.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
			EventBusName: aws.String(bus), Source: aws.String("trace.arc"), DetailType: aws.String("Test"), Detail: aws.String(`{}`),
			Time: aws.Time(t0.Add(time.Second)), TraceHeader: aws.String(traceA)}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %v %+v", err, out)
		}
		id := aws.ToString(out.Entries[0].EventId)
		checkTrace(t, "live delivery", r.wait(t, id, 1)[0], traceA)
		waitArchived(t, e.eb, bus, 1)
		if _, err := e.eb.StartReplay(ctx(t), &eventbridge.StartReplayInput{ReplayName: aws.String(bus), EventSourceArn: arc.ArchiveArn,
			EventStartTime: aws.Time(t0), EventEndTime: aws.Time(time.Now()),
			Destination: &types.ReplayDestination{Arn: aws.String(busArn)}}); err != nil {
			t.Fatal(err)
		}
		calls := r.wait(t, id, 2)
		if !strings.Contains(string(r.body(id)), `"replay-name"`) {
			t.Fatalf("second call is not the replay: %s", r.body(id))
		}
		checkTrace(t, "replayed event", calls[1], "")
	})
}

// TestTraceHeaderThroughRetriesAndRestart: the trace header is stored with
// the event, so every attempt has it: the first, the retries (written back
// to the stream as schedules), and those made by the next process after a
// restart.
func TestTraceHeaderThroughRetriesAndRestart(t *testing.T) {
	s := startServer(t, "--retry-base-delay", "400ms")
	eb := s.client(acct, "eu-central-1")
	var up sync.Mutex
	failing := true
	r := newTraceReceiver(t, func(string, int) int {
		up.Lock()
		defer up.Unlock()
		if failing {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	routeTo(t, eb, "", "trace.retry", types.Target{Arn: aws.String(r.URL),
		RetryPolicy: &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(50), MaximumEventAgeInSeconds: aws.Int32(3600)}})
	traced := putTraced(t, eb, "trace.retry", traceA)
	plain := putTraced(t, eb, "trace.retry", "")
	r.wait(t, traced, 2)
	r.wait(t, plain, 2)
	s.stop()
	s.restart()
	r.mu.Lock()
	before := map[string]int{traced: len(r.calls[traced]), plain: len(r.calls[plain])}
	r.mu.Unlock()
	up.Lock()
	failing = false
	up.Unlock()
	for id, want := range map[string]string{traced: traceA, plain: ""} {
		// A call made by the restarted process, which read the task
		// (and its trace header) from the stream.
		calls := r.wait(t, id, before[id]+1)
		for i, c := range calls {
			checkTrace(t, fmt.Sprintf("event %s, call %d of %d", id, i+1, len(calls)), c, want)
		}
	}
}
