package deliver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
)

// Invocation is one attempt to hand an event to a target.
type Invocation struct {
	Scope    control.Scope // the rule's account and region
	RuleArn  string
	RuleName string
	Target   *control.Target
	// Event is the event in EventBridge's envelope.
	Event []byte
	// Input is what the target receives: the event, or the target's
	// shaped input (Input, InputPath, InputTransformer).
	Input []byte
	// Trace is the event's X-Ray trace header, "" for none. EventBridge
	// passes it to every target ("Amazon EventBridge integration with
	// AWS X-Ray", EventBridge User Guide): invokers send it as the
	// X-Amzn-Trace-Id header of their call (TraceHeader), and never
	// invent one.
	Trace    string
	Ingested time.Time
	// Attempt counts invocations of this task, from 1.
	Attempt int
	// ID identifies the task across attempts; invokers that can
	// deduplicate (FIFO queues, streams) use it.
	ID string
	// Reply, when set, asks for the target's answer: invokers of targets
	// that answer (API destinations, Lambda functions invoked
	// synchronously) store the answer's body there on success. EventBridge
	// Pipes' enrichment uses it; rules' deliveries leave it nil, and
	// Lambda is then invoked asynchronously, as EventBridge does.
	Reply *[]byte
}

// TraceHeader is the HTTP header that carries an X-Ray trace header: on
// each call of a target, the event's (Invocation.Trace), for every kind of
// target ("Default HTTP header", in "Amazon EventBridge integration with
// AWS X-Ray", EventBridge User Guide).
const TraceHeader = ingest.TraceHeaderName

// Invoker delivers to one kind of target. It returns nil once the target
// has accepted the input, or an error; errors that retrying cannot fix are
// marked with Permanent.
type Invoker interface {
	Invoke(ctx context.Context, inv *Invocation) error
}

// InvokerFunc adapts a function to Invoker.
type InvokerFunc func(ctx context.Context, inv *Invocation) error

// Invoke calls f.
func (f InvokerFunc) Invoke(ctx context.Context, inv *Invocation) error { return f(ctx, inv) }

// Error is a failed invocation, classified. Code is the error code a
// dead-letter message reports (ERROR_CODE).
type Error struct {
	Code string
	Err  error
	// Permanent failures (a missing resource, permission denied, a request
	// the target refuses) are not retried, as AWS does not retry them.
	Permanent bool
	// RetryAfter, when set, is the earliest the target asked to be retried
	// (an HTTP Retry-After).
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Code + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Permanent marks err as not worth retrying.
func Permanent(code string, err error) error { return &Error{Code: code, Err: err, Permanent: true} }

// Retryable marks err as transient.
func Retryable(code string, err error) error { return &Error{Code: code, Err: err} }

// classify returns err's classification; unclassified errors are transient.
func classify(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: "InternalError", Err: err}
}

// Kind names the kind of target an ARN designates, the key invokers are
// registered under: "http" for a plain URL (Switchyard's interim HTTP
// target), "event-bus" and "api-destination" for EventBridge resources,
// otherwise the ARN's service ("sqs", "sns", "lambda", "kinesis",
// "firehose", "states", "logs", ...).
func Kind(arn string) string {
	if strings.HasPrefix(arn, "http://") || strings.HasPrefix(arn, "https://") {
		return "http"
	}
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return ""
	}
	if parts[2] == "events" {
		res, _, _ := strings.Cut(parts[5], "/")
		return res
	}
	return parts[2]
}

// unsupported answers for target kinds no invoker is registered for.
func unsupported(arn string) error {
	return Permanent("UnsupportedTarget", fmt.Errorf("target kind %q is not supported yet (%s)", Kind(arn), arn))
}

// Invoke makes one call of inv's target through the invoker registered for
// its kind, as a delivery attempt does, but with nothing around it: no
// retry, shaping, dead letter or bus log. It is for services that drive
// their own retries over the same targets (EventBridge Pipes); inv.Input
// is sent as it is.
func (d *Deliverer) Invoke(ctx context.Context, inv *Invocation) error {
	return d.invoke(ctx, inv)
}
