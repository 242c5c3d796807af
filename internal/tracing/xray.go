package tracing

import (
	"context"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"strings"

	"go.opentelemetry.io/contrib/propagators/aws/xray"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// X-Ray and W3C trace context.
//
// An X-Ray trace id is "1-" + 8 hexadecimal digits (the trace's start time
// in Unix seconds) + "-" + 24 hexadecimal digits ("Tracing header" and
// "X-Ray trace ID format", X-Ray Developer Guide): its 32 digits without
// the version and dashes are a W3C trace id, and a W3C trace id is such an
// X-Ray trace id with its first 8 digits read as the time (go.opentelemetry.io/contrib/propagators/aws/xray
// maps them so). An X-Ray Parent (16 hexadecimal digits) is a W3C parent
// span id, and Sampled=1/0 the sampled trace flag. So one header is derived
// from the other without loss, except for tracestate, which X-Ray has no
// place for, and X-Ray's other fields (Self, Lineage), which W3C has none
// for: XRayHeader keeps those of the header it rewrites.

// XRayTraceID returns the X-Ray form of a W3C trace id.
func XRayTraceID(id trace.TraceID) string {
	s := id.String()
	return "1-" + s[:8] + "-" + s[8:]
}

// TraceIDFromXRay returns the W3C trace id of an X-Ray trace id ("1-" + 8 +
// "-" + 24 hexadecimal digits).
func TraceIDFromXRay(v string) (trace.TraceID, bool) {
	if len(v) != 35 || v[:2] != "1-" || v[10] != '-' {
		return trace.TraceID{}, false
	}
	var id trace.TraceID
	if _, err := hex.Decode(id[:4], []byte(v[2:10])); err != nil {
		return trace.TraceID{}, false
	}
	if _, err := hex.Decode(id[4:], []byte(v[11:])); err != nil {
		return trace.TraceID{}, false
	}
	return id, id.IsValid()
}

// headerCarrier is a one-header TextMapCarrier.
type headerCarrier struct{ xray, traceparent, tracestate string }

func (c *headerCarrier) Get(k string) string {
	switch http.CanonicalHeaderKey(k) {
	case "X-Amzn-Trace-Id":
		return c.xray
	case "Traceparent":
		return c.traceparent
	case "Tracestate":
		return c.tracestate
	}
	return ""
}

func (c *headerCarrier) Set(k, v string) {
	switch http.CanonicalHeaderKey(k) {
	case "X-Amzn-Trace-Id":
		c.xray = v
	case "Traceparent":
		c.traceparent = v
	case "Tracestate":
		c.tracestate = v
	}
}

func (c *headerCarrier) Keys() []string {
	return []string{"X-Amzn-Trace-Id", "traceparent", "tracestate"}
}

// FromXRay returns the span context of an X-Ray trace header: valid when
// the header has a Root and a Parent. A header with a Root only gives
// rootOnly, the trace id, and an invalid span context.
func FromXRay(h string) (sc trace.SpanContext, rootOnly trace.TraceID) {
	if h == "" {
		return trace.SpanContext{}, trace.TraceID{}
	}
	sc = trace.SpanContextFromContext(xray.Propagator{}.Extract(context.Background(), &headerCarrier{xray: h}))
	if sc.IsValid() {
		return sc.WithRemote(true), trace.TraceID{}
	}
	if root, ok := field(h, "Root"); ok {
		if id, ok := TraceIDFromXRay(root); ok {
			return trace.SpanContext{}, id
		}
	}
	return trace.SpanContext{}, trace.TraceID{}
}

// FromTraceparent returns the span context of W3C traceparent and
// tracestate headers; invalid for a malformed traceparent.
func FromTraceparent(traceparent, tracestate string) trace.SpanContext {
	if traceparent == "" {
		return trace.SpanContext{}
	}
	ctx := propagation.TraceContext{}.Extract(context.Background(), &headerCarrier{traceparent: traceparent, tracestate: tracestate})
	return trace.SpanContextFromContext(ctx)
}

// XRayHeader returns the X-Ray trace header of sc: Root, Parent and
// Sampled from sc, followed by the fields of orig (an X-Ray header, or "")
// other than those three, as X-Ray passes them on. "" for an invalid sc.
func XRayHeader(sc trace.SpanContext, orig string) string {
	if !sc.IsValid() {
		return ""
	}
	c := &headerCarrier{}
	xray.Propagator{}.Inject(trace.ContextWithSpanContext(context.Background(), sc), c)
	h := c.xray
	for f := range strings.SplitSeq(orig, ";") {
		k, _, ok := strings.Cut(f, "=")
		if !ok {
			continue // not a field: X-Ray would drop the header, we drop the junk
		}
		switch strings.TrimSpace(k) {
		case "", "Root", "Parent", "Sampled":
			continue
		}
		if len(h)+1+len(f) > maxHeader {
			break // the header must stay within TraceHeader's limit
		}
		h += ";" + f
	}
	return h
}

// maxHeader is the limit on a TraceHeader (ingest.MaxTraceHeader).
const maxHeader = 500

// Traceparent returns the W3C traceparent of the same trace as the X-Ray
// trace header h, for the calls that carry h: "00-" + trace id + "-" +
// parent id + "-" + flags. A header with no Parent (a trace started by a
// client that names no segment) gets a random parent id, as traceparent
// requires one. "" when h names no trace.
func Traceparent(h string) string {
	sc, root := FromXRay(h)
	if !sc.IsValid() {
		if !root.IsValid() {
			return ""
		}
		var sid trace.SpanID
		for !sid.IsValid() {
			n := rand.Uint64()
			for i := range sid {
				sid[i] = byte(n >> (8 * i))
			}
		}
		flags := trace.TraceFlags(0)
		if v, _ := field(h, "Sampled"); v == "1" {
			flags = trace.FlagsSampled
		}
		sc = trace.NewSpanContext(trace.SpanContextConfig{TraceID: root, SpanID: sid, TraceFlags: flags})
	}
	return FormatTraceparent(sc)
}

// FormatTraceparent returns sc as a W3C traceparent.
func FormatTraceparent(sc trace.SpanContext) string {
	c := &headerCarrier{}
	propagation.TraceContext{}.Inject(trace.ContextWithSpanContext(context.Background(), sc), c)
	return c.traceparent
}

// XRayFromTraceparent returns the X-Ray trace header of the same trace as
// a W3C traceparent, "" for a malformed one: a PutEvents request with only
// a traceparent passes the trace to its targets as an X-Ray header too.
func XRayFromTraceparent(traceparent string) string {
	return XRayHeader(FromTraceparent(traceparent, ""), "")
}

// field returns the value of field k of an X-Ray header.
func field(h, k string) (string, bool) {
	for f := range strings.SplitSeq(h, ";") {
		if fk, v, ok := strings.Cut(strings.TrimSpace(f), "="); ok && fk == k {
			return v, true
		}
	}
	return "", false
}

// parent returns ctx with the trace of X-Ray header h as its parent, for a
// span to start in: the remote span h names, or, for a header with a Root
// only, no parent but h's trace id (idGenerator). Without a trace in h,
// ctx is returned as it is.
func parent(ctx context.Context, h string) (context.Context, bool) {
	sc, root := FromXRay(h)
	switch {
	case sc.IsValid():
		return trace.ContextWithRemoteSpanContext(ctx, sc), true
	case root.IsValid():
		return context.WithValue(trace.ContextWithSpanContext(ctx, trace.SpanContext{}), traceIDKey{}, root), true
	}
	return ctx, false
}
