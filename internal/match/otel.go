package match

import (
	"context"
	"log/slog"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/tracing"
)

// endMatch ends the span of an event's match (package tracing) with the
// rules it matched; the ARNs are listed only for a span being recorded.
func endMatch(span tracing.Span, rules []*control.Rule, err error) {
	if !span.Recording() {
		return
	}
	arns := make([]string, 0, len(rules))
	for _, r := range rules {
		arns = append(arns, r.ARN())
	}
	span.EndMatch(arns, err)
}

// eventLogContext is the context of a log line about event id, whose trace
// header is trace: it carries event_id and, while tracing, the trace's
// ids (tracing.LogHandler).
func eventLogContext(ctx context.Context, id, trace string) context.Context {
	return tracing.LogContext(ctx, trace, slog.String("event_id", id))
}
