package deliver

import (
	"context"
	"log/slog"

	"github.com/switchyard/switchyard/internal/tracing"
)

// Tracing and logs (package tracing). While tracing is on, each attempt
// is a client span, child of the span that matched the event (its task's
// trace header names it), so a task's retries, stored and taken again by
// whichever process, are spans side by side in one trace; the call carries
// the attempt's own trace header (X-Amzn-Trace-Id, Parent: the attempt's
// span) and the traceparent of the same span. A dead letter is a span of
// its own beside them.

// startAttempt starts the span of inv and makes inv carry its trace
// header; ctx is then the attempt's.
func (d *Deliverer) startAttempt(ctx context.Context, j *job, inv *Invocation) (context.Context, tracing.Span) {
	if !tracing.Enabled() {
		return ctx, tracing.Span{}
	}
	ctx, span, h := tracing.StartAttempt(ctx, inv.Trace, &tracing.Attempt{EventID: eventID(j.id), RuleARN: j.task.RuleArn,
		TargetID: j.task.Target.Id, TargetARN: j.task.Target.Arn, Kind: j.kind, Number: inv.Attempt})
	inv.Trace = h
	return ctx, span
}

// endAttempt ends an attempt's span with its outcome.
func endAttempt(span tracing.Span, err error) {
	if !span.Recording() {
		return
	}
	if err == nil {
		span.EndAttempt("success", "", nil)
		return
	}
	e := classify(err)
	outcome := "retryable_failure"
	if e.Permanent {
		outcome = "permanent_failure"
	}
	span.EndAttempt(outcome, e.Code, err)
}

// startDeadLetter starts the span of j's dead letter to queueArn and
// returns the context and trace header of the send.
func startDeadLetter(ctx context.Context, j *job, queueArn string) (context.Context, tracing.Span, string) {
	if !tracing.Enabled() {
		return ctx, tracing.Span{}, j.task.Trace
	}
	return tracing.StartDeadLetter(ctx, j.task.Trace, queueArn, &tracing.Attempt{EventID: eventID(j.id), RuleARN: j.task.RuleArn,
		TargetID: j.task.Target.Id, TargetARN: j.task.Target.Arn, Kind: j.kind})
}

// logContext is the context of a log line about j: it carries event_id,
// rule_arn and target_id, and the trace's ids while tracing
// (tracing.LogHandler). Built only for a line to log.
func logContext(ctx context.Context, j *job) context.Context {
	return tracing.LogContext(ctx, j.task.Trace, slog.String("event_id", eventID(j.id)),
		slog.String("rule_arn", j.task.RuleArn), slog.String("target_id", j.task.Target.Id))
}

// traceparent is the W3C traceparent a call carrying X-Ray trace header h
// carries too, "" for none.
func traceparent(h string) string { return tracing.Traceparent(h) }

// TraceparentHeader is the HTTP header of W3C trace context that calls of
// targets carry beside X-Amzn-Trace-Id, for the same trace.
const TraceparentHeader = "traceparent"
