package tracing

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// Structured logs.
//
// A log line about one event carries its event_id and, about one of its
// deliveries, rule_arn and target_id: the code that logs puts them in the
// context (WithLogAttrs) and logs with it, and LogHandler adds them to the
// line, with the trace_id and span_id of the context's span when there is
// one (tracing on), so that a line leads to its trace and back.

type logAttrsKey struct{}

// WithLogAttrs returns ctx with attrs added to those LogHandler puts on
// every line logged with it.
func WithLogAttrs(ctx context.Context, attrs ...slog.Attr) context.Context {
	if prev, _ := ctx.Value(logAttrsKey{}).([]slog.Attr); len(prev) > 0 {
		attrs = append(prev[:len(prev):len(prev)], attrs...)
	}
	return context.WithValue(ctx, logAttrsKey{}, attrs)
}

// LogHandler wraps h to add the context's log attributes (WithLogAttrs)
// and trace_id and span_id to every record.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ h slog.Handler }

func (l logHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return l.h.Enabled(ctx, level)
}

func (l logHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if attrs, _ := ctx.Value(logAttrsKey{}).([]slog.Attr); len(attrs) > 0 {
			r.AddAttrs(attrs...)
		}
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
		}
	}
	return l.h.Handle(ctx, r)
}

func (l logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{l.h.WithAttrs(attrs)}
}
func (l logHandler) WithGroup(name string) slog.Handler { return logHandler{l.h.WithGroup(name)} }

// LogContext returns ctx with attrs for LogHandler and, while tracing is
// on and ctx has no span of its own, the span of X-Ray trace header h as
// its span, so that the line names the trace it belongs to.
func LogContext(ctx context.Context, h string, attrs ...slog.Attr) context.Context {
	ctx = WithLogAttrs(ctx, attrs...)
	if Enabled() && h != "" && !trace.SpanContextFromContext(ctx).IsValid() {
		if sc, _ := FromXRay(h); sc.IsValid() {
			ctx = trace.ContextWithRemoteSpanContext(ctx, sc)
		}
	}
	return ctx
}
