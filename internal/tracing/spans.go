package tracing

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// The spans of the data path. Each Start function returns the zero Span
// when tracing is off (or when there is no trace to continue), and every
// method of the zero Span does nothing, so callers need no check of their
// own; the functions take and return only strings and values, so that
// calling them while tracing is off allocates nothing.
//
// One trace of an event is
//
//	PutEvents (server)
//	└─ event <id>              one per accepted entry (ingest)
//	   └─ match <id>           its rules matched (match)
//	      ├─ deliver <target>  one per attempt (client), retries included
//	      │  └─ SQS.SendMessage, ...  the AWS SDK's own (otelaws)
//	      └─ dead letter       the send to the target's dead-letter queue
//
// An entry with a TraceHeader of its own belongs to that trace instead:
// its event span continues it, linked to the PutEvents span.

// unsampled reports whether the trace of X-Ray header h is not sampled
// (Sampled=0) and the sampler follows its parent's decision (the default,
// and every parentbased_* sampler), so that no span of it would be
// recorded: the steps after PutEvents then make none and pass the header
// on as it is, which costs an unsampled event nothing but this look.
func unsampled(h string) bool {
	if !followParent.Load() {
		return false
	}
	v, ok := field(h, "Sampled")
	return ok && v == "0"
}

// Span is a span of the data path; the zero Span does nothing.
type Span struct{ s trace.Span }

// Recording reports whether s is a span being recorded.
func (s Span) Recording() bool { return s.s != nil && s.s.IsRecording() }

// Context returns s's span context (the zero one for the zero Span).
func (s Span) Context() trace.SpanContext {
	if s.s == nil {
		return trace.SpanContext{}
	}
	return s.s.SpanContext()
}

func (s Span) end(err error, msg string) {
	if s.s == nil {
		return
	}
	if err != nil {
		s.s.RecordError(err)
	}
	if err != nil || msg != "" {
		if msg == "" {
			msg = err.Error()
		}
		s.s.SetStatus(codes.Error, msg)
	}
	s.s.End()
}

// Attribute keys of Switchyard's spans, beside OpenTelemetry's semantic
// conventions (rpc.*, cloud.*, http.response.status_code, error.type).
const (
	keyEventID    = attribute.Key("aws.eventbridge.event_id")
	keyBus        = attribute.Key("aws.eventbridge.event_bus")
	keyEntries    = attribute.Key("aws.eventbridge.entry_count")
	keyFailed     = attribute.Key("aws.eventbridge.failed_entry_count")
	keyRules      = attribute.Key("aws.eventbridge.rules_matched")
	keyRuleARNs   = attribute.Key("aws.eventbridge.rule_arns")
	keyRuleARN    = attribute.Key("aws.eventbridge.rule_arn")
	keyTargetID   = attribute.Key("aws.eventbridge.target_id")
	keyTargetARN  = attribute.Key("aws.eventbridge.target_arn")
	keyTargetKind = attribute.Key("aws.eventbridge.target_kind")
	keyAttempt    = attribute.Key("aws.eventbridge.attempt")
	keyOutcome    = attribute.Key("aws.eventbridge.outcome")
	keyQueueARN   = attribute.Key("aws.eventbridge.dead_letter_queue_arn")
	keyErrorCode  = attribute.Key("aws.error.code")
)

// StartPutEvents starts the server span of a PutEvents request of account
// and region, whose X-Amzn-Trace-Id, traceparent and tracestate headers
// are given ("" for those it has not), and returns the trace header its
// entries without one of their own take: the request's X-Ray header, or
// one derived from its traceparent, and while tracing is on that of the
// span (same trace, the span as Parent).
func StartPutEvents(ctx context.Context, xrayHeader, traceparent, tracestate, account, region string) (context.Context, Span, string) {
	if !Enabled() {
		if xrayHeader == "" && traceparent != "" {
			xrayHeader = XRayFromTraceparent(traceparent)
		}
		return ctx, Span{}, xrayHeader
	}
	if xrayHeader != "" || traceparent != "" {
		ctx = Propagator.Extract(ctx, &headerCarrier{xray: xrayHeader, traceparent: traceparent, tracestate: tracestate})
	}
	ctx, s := tracer.Start(ctx, "PutEvents", trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attribute.String("rpc.system", "aws-api"), attribute.String("rpc.service", "AWSEvents"), attribute.String("rpc.method", "PutEvents"),
		attribute.String("cloud.account.id", account), attribute.String("cloud.region", region)))
	return ctx, Span{s}, XRayHeader(s.SpanContext(), xrayHeader)
}

// EndPutEvents ends a PutEvents span: bus is the (first) entry's bus.
func (s Span) EndPutEvents(bus string, entries, failed int, err error) {
	if s.s == nil {
		return
	}
	s.s.SetAttributes(keyBus.String(bus), keyEntries.Int(entries), keyFailed.Int(failed))
	s.end(err, "")
}

// StartEvent starts the span of one accepted event (id) of a PutEvents
// request, whose span is ctx's, and returns the trace header the event
// keeps. trace is the event's trace header; own says it is the entry's
// own TraceHeader, whose trace the event then continues (linked to the
// request's), rather than the request's.
func StartEvent(ctx context.Context, traceHeader string, own bool, id, bus string) (Span, string) {
	if !Enabled() || unsampled(traceHeader) {
		return Span{}, traceHeader
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(keyEventID.String(id), keyBus.String(bus))}
	if own {
		opts = append(opts, trace.WithLinks(trace.LinkFromContext(ctx)))
		ctx, _ = parent(ctx, traceHeader)
	}
	_, s := tracer.Start(ctx, "event", opts...)
	return Span{s}, XRayHeader(s.SpanContext(), traceHeader)
}

// EndEvent ends an event span; code is the entry's error code, "" when it
// was stored.
func (s Span) EndEvent(code string) { s.end(nil, code) }

// StartMatch starts the span of matching event id of bus, which has the
// trace header h ("" for an event without one, which gets no span), and
// returns the trace header its delivery tasks carry.
func StartMatch(ctx context.Context, h, id, account, region, bus string) (Span, string) {
	if !Enabled() || h == "" || unsampled(h) {
		return Span{}, h
	}
	ctx, ok := parent(ctx, h)
	if !ok {
		return Span{}, h
	}
	_, s := tracer.Start(ctx, "match", trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
		keyEventID.String(id), keyBus.String(bus), attribute.String("cloud.account.id", account), attribute.String("cloud.region", region)))
	return Span{s}, XRayHeader(s.SpanContext(), h)
}

// EndMatch ends a match span with the ARNs of the rules matched, or the
// error that kept the event from being matched.
func (s Span) EndMatch(rules []string, err error) {
	if s.s == nil {
		return
	}
	s.s.SetAttributes(keyRules.Int(len(rules)), keyRuleARNs.StringSlice(rules))
	s.end(err, "")
}

// Attempt describes a delivery attempt.
type Attempt struct {
	EventID, RuleARN, TargetID, TargetARN, Kind string
	// Number counts the task's attempts, from 1.
	Number int
}

// StartAttempt starts the client span of a delivery attempt of the task
// whose trace header is h, and returns the context to make the call in and
// the trace header the call carries (Parent: this span).
func StartAttempt(ctx context.Context, h string, a *Attempt) (context.Context, Span, string) {
	if !Enabled() || h == "" || unsampled(h) {
		return ctx, Span{}, h
	}
	ctx, ok := parent(ctx, h)
	if !ok {
		return ctx, Span{}, h
	}
	ctx, s := tracer.Start(ctx, "deliver "+a.Kind, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		keyEventID.String(a.EventID), keyRuleARN.String(a.RuleARN), keyTargetID.String(a.TargetID),
		keyTargetARN.String(a.TargetARN), keyTargetKind.String(a.Kind), keyAttempt.Int(a.Number)))
	return ctx, Span{s}, XRayHeader(s.SpanContext(), h)
}

// EndAttempt ends an attempt's span: outcome is "success", "retry" or
// "permanent_failure", code the error code of a failure (AWS's, or
// THROTTLING, SDK_CLIENT_ERROR, ...).
func (s Span) EndAttempt(outcome, code string, err error) {
	if s.s == nil {
		return
	}
	s.s.SetAttributes(keyOutcome.String(outcome))
	if code != "" {
		s.s.SetAttributes(keyErrorCode.String(code), attribute.String("error.type", code))
	}
	s.end(err, "")
}

// SetHTTPStatus records the HTTP status a target answered on the span of
// ctx (an attempt's).
func SetHTTPStatus(ctx context.Context, status int) {
	if !Enabled() {
		return
	}
	trace.SpanFromContext(ctx).SetAttributes(attribute.Int("http.response.status_code", status))
}

// StartDeadLetter starts the span of sending a task's event, whose trace
// header is h, to the dead-letter queue queueARN; it returns the context
// and the trace header of the send.
func StartDeadLetter(ctx context.Context, h, queueARN string, a *Attempt) (context.Context, Span, string) {
	if !Enabled() || h == "" || unsampled(h) {
		return ctx, Span{}, h
	}
	ctx, ok := parent(ctx, h)
	if !ok {
		return ctx, Span{}, h
	}
	ctx, s := tracer.Start(ctx, "dead letter", trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(
		keyEventID.String(a.EventID), keyRuleARN.String(a.RuleARN), keyTargetID.String(a.TargetID),
		keyTargetARN.String(a.TargetARN), keyQueueARN.String(queueARN)))
	return ctx, Span{s}, XRayHeader(s.SpanContext(), h)
}

// EndDeadLetter ends a dead letter's span.
func (s Span) EndDeadLetter(err error) { s.end(err, "") }
