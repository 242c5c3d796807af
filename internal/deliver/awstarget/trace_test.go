package awstarget

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/awsclient/awsclienttest"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/deliver"
	"github.com/switchyard/switchyard/internal/testpeer"
)

// wire is an SDK HTTP client that sends each request on to the real
// server (moto_server here) and keeps, for each, the operation it calls and
// the X-Amzn-Trace-Id header it went out with.
type wire struct {
	mu    sync.Mutex
	calls []wireCall
}

type wireCall struct {
	op     string // X-Amz-Target, the query Action, or the REST path
	trace  []string
	body   string
	status int    // moto's answer, 0 for none
	answer string // the body of a 5xx answer
}

func (w *wire) Do(req *http.Request) (*http.Response, error) {
	op := req.Header.Get("X-Amz-Target")
	var b []byte
	if req.Body != nil {
		b, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	if op == "" {
		if q, err := url.ParseQuery(string(b)); err == nil && q.Get("Action") != "" {
			op = q.Get("Action")
		}
	}
	if op == "" {
		op = req.URL.Path
	}
	resp, err := http.DefaultClient.Do(req)
	c := wireCall{op: op, trace: req.Header.Values(deliver.TraceHeader), body: string(b)}
	if err == nil {
		c.status = resp.StatusCode
		if resp.StatusCode >= 500 {
			rb, _ := io.ReadAll(resp.Body)
			resp.Body = io.NopCloser(bytes.NewReader(rb))
			c.answer = string(rb)
		}
	}
	w.mu.Lock()
	w.calls = append(w.calls, c)
	w.mu.Unlock()
	return resp, err
}

// sent returns the calls of an operation whose name contains op.
func (w *wire) sent(op string) []wireCall {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []wireCall
	for _, c := range w.calls {
		if strings.Contains(c.op, op) {
			out = append(out, c)
		}
	}
	return out
}

// last returns the trace headers of the last call of an operation whose
// name contains op.
func (w *wire) last(t *testing.T, op string) []string {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := len(w.calls) - 1; i >= 0; i-- {
		if strings.Contains(w.calls[i].op, op) {
			return w.calls[i].trace
		}
	}
	t.Fatalf("no %s call was sent", op)
	return nil
}

// TestTraceHeaderOnEveryService: the call that delivers an event with a
// trace header carries it as X-Amzn-Trace-Id, once, for every AWS service
// target (EventBridge passes it to every target: "Amazon EventBridge
// integration with AWS X-Ray", EventBridge User Guide), and the call of an
// event without one carries none. Whether the resource exists does not
// matter here: the header is on the request either way (moto answers).
func TestTraceHeaderOnEveryService(t *testing.T) {
	const region = "us-east-1"
	const trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	// The machine's own AWS settings (a CA bundle needs an HTTP client
	// the SDK can configure) stay out of it.
	awsclienttest.IsolateEnv(t)
	t.Setenv("AWS_REGION", region)
	moto := testpeer.Moto(t)
	w := &wire{}
	f := awsclient.New(map[string]string{"*": moto})
	f.LoadOptions = []func(*config.LoadOptions) error{config.WithHTTPClient(w)}
	ctx := context.Background()

	// The two targets whose delivering call follows another that needs
	// the resource.
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		t.Fatal(err)
	}
	q := sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(moto) })
	if _, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("traced")}); err != nil {
		t.Fatal(err)
	}
	logs := cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) { o.BaseEndpoint = aws.String(moto) })
	if _, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("traced")}); err != nil {
		t.Fatal(err)
	}

	acct := testpeer.Account
	invokers := Invokers(f)
	for _, c := range []struct{ kind, arn, op string }{
		{"sqs", "arn:aws:sqs:" + region + ":" + acct + ":traced", "SendMessage"},
		{"sns", "arn:aws:sns:" + region + ":" + acct + ":missing", "Publish"},
		{"lambda", "arn:aws:lambda:" + region + ":" + acct + ":function:missing", "/invocations"},
		{"kinesis", "arn:aws:kinesis:" + region + ":" + acct + ":stream/missing", "PutRecord"},
		{"firehose", "arn:aws:firehose:" + region + ":" + acct + ":deliverystream/missing", "PutRecord"},
		{"states", "arn:aws:states:" + region + ":" + acct + ":stateMachine:missing", "StartExecution"},
		{"logs", "arn:aws:logs:" + region + ":" + acct + ":log-group:traced", "PutLogEvents"},
	} {
		for _, tr := range []string{trace, ""} {
			inv := &deliver.Invocation{Target: &control.Target{Id: "t", Arn: c.arn}, RuleArn: "arn:aws:events:" + region + ":" + acct + ":rule/r",
				Event: []byte(`{"id":"e-` + c.kind + `","time":"2026-01-02T03:04:05Z","detail":{}}`), Trace: tr, ID: c.kind + tr}
			inv.Input = inv.Event
			_ = invokers[c.kind].Invoke(ctx, inv)
			got := w.last(t, c.op)
			switch {
			case tr != "" && (len(got) != 1 || got[0] != tr):
				t.Errorf("%s %s: X-Amzn-Trace-Id %q, want %q", c.kind, c.op, got, tr)
			case tr == "" && len(got) != 0:
				t.Errorf("%s %s of an event without a trace header: X-Amzn-Trace-Id %q, want none", c.kind, c.op, got)
			}
		}
	}
}
