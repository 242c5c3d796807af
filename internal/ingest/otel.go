package ingest

import "github.com/switchyard/switchyard/internal/tracing"

// Tracing (package tracing): while it is on, each accepted entry's event
// has a span, child of the PutEvents span or, for an entry with a valid
// TraceHeader of its own, of that header's trace; the trace header the
// event keeps (HeaderTrace) is then that of its span, so that matching,
// in whichever process, continues the trace from it.

// eventSpan is the span of the event of entry i.
type eventSpan struct {
	i    int
	span tracing.Span
}

// ownTrace reports whether the trace header entryTrace gives e is e's own.
func ownTrace(e *Entry) bool { return e.TraceHeader != nil && ValidTraceHeader(*e.TraceHeader) }

// endEventSpans ends the spans of the events once their entries' results
// are known.
func endEventSpans(spans []eventSpan, results []Result) {
	for _, s := range spans {
		s.span.EndEvent(results[s.i].ErrorCode)
	}
}
