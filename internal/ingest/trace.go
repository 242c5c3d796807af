package ingest

import (
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
)

// Trace headers.
//
// A PutEvents entry may carry an AWS X-Ray trace header (TraceHeader, at
// most 500 characters: the API model's TraceHeader shape, min 1, max 500),
// and EventBridge passes it to the event's targets ("Amazon EventBridge
// integration with AWS X-Ray", EventBridge User Guide). What that page
// says, and Switchyard does:
//
//   - The trace context comes from the PutEvents request: the entry's
//     TraceHeader, or else the X-Amzn-Trace-Id HTTP header of the request
//     itself (which the X-Ray SDK sets); the entry's attribute overrides
//     the HTTP header. Scheduled events and events from AWS services or
//     partners carry none.
//   - "X-Ray validates trace headers, and trace headers that aren't valid
//     are dropped. However, the event is still processed": a malformed
//     trace header is no entry error, the event is accepted without one
//     (see ValidTraceHeader). One longer than 500 characters fails the
//     request's validation instead, as the model's length constraint does
//     (package api).
//   - The trace header does not count toward the entry's size (EntrySize).
//   - It is not part of the event targets receive, nor of archived events,
//     and a replay's events have none: it is kept beside the event (the
//     HeaderTrace headers), never in the envelope, and archives store
//     envelopes only.
//   - A dead letter's SendMessage carries it, and the queue's message has
//     it as the AWSTraceHeader attribute (package deliver).
//
// Events forwarded to another bus by an event-bus target keep it (Forward):
// a bus is one of the targets EventBridge passes it to.

// HeaderTrace holds, on an events-stream message of one event, the event's
// trace header (and on a delivery task's message, its event's: see
// match.TaskTrace). A batch (HeaderEvents) holds the trace header of its
// event i (from 0) in HeaderTrace + "-" + i. An event without one has no
// header, so messages stored before trace headers were kept read as events
// without one, and a process of an earlier version reads the messages of
// a later one (without the trace headers it does not know).
const HeaderTrace = "Sy-Trace"

// TraceHeaderName is the HTTP header that carries an X-Ray trace header on
// requests: on a PutEvents request, and on EventBridge's calls of targets.
const TraceHeaderName = "X-Amzn-Trace-Id"

// MaxTraceHeader is the API model's limit on an entry's TraceHeader.
const MaxTraceHeader = 500

// batchTraceHeader is the header of event i's trace header in a batch.
func batchTraceHeader(i int) string { return HeaderTrace + "-" + strconv.Itoa(i) }

// ReadTraces sets the Trace of each of evs, the events of an events-stream
// message with headers h, from the message's trace headers.
func ReadTraces(h nats.Header, evs []Event) {
	// Most messages have no trace header: a look at the few header names
	// costs less than a lookup, with a name built, per event.
	traced := false
	for k := range h {
		if strings.HasPrefix(k, HeaderTrace) {
			traced = true
			break
		}
	}
	if !traced {
		return
	}
	if h.Get(HeaderEvents) == "" {
		if len(evs) == 1 {
			evs[0].Trace = h.Get(HeaderTrace)
		}
		return
	}
	for i := range evs {
		evs[i].Trace = h.Get(batchTraceHeader(i))
	}
}

// entryTrace is the trace header an accepted entry's event keeps: its own,
// if valid, else the request's (see the comment above).
func entryTrace(e *Entry) string {
	if e.TraceHeader != nil && ValidTraceHeader(*e.TraceHeader) {
		return *e.TraceHeader
	}
	if ValidTraceHeader(e.RequestTraceHeader) {
		return e.RequestTraceHeader
	}
	return ""
}

// ValidTraceHeader reports whether s is a well-formed X-Ray trace header,
// as X-Ray validates them before EventBridge passes them on: fields
// "key=value" separated by ";", one of them Root with an X-Ray trace id,
// "1-" then the request's time as 8 hexadecimal digits, "-", and a 96-bit
// identifier as 24 hexadecimal digits ("X-Ray trace ID format", X-Ray
// Developer Guide, "Elastic Load Balancing and AWS X-Ray"); Parent, if
// present, a segment id of 16 hexadecimal digits ("AWS X-Ray segment
// documents"); Sampled, if present, 0, 1 or ? ("Tracing header", X-Ray
// Developer Guide). Other fields (Self, Lineage, ...) are kept as they are.
// Only printable ASCII is accepted: the header is sent on as an HTTP
// header, and SQS takes only "a correctly formatted X-Ray trace header
// string" as AWSTraceHeader.
func ValidTraceHeader(s string) bool {
	if s == "" || len(s) > MaxTraceHeader {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	root := false
	seen := map[string]bool{}
	for field := range strings.SplitSeq(s, ";") {
		if field == "" {
			continue // "Root=...;" ends with a separator in some clients
		}
		k, v, ok := strings.Cut(field, "=")
		if !ok || k == "" || seen[k] {
			return false
		}
		seen[k] = true
		switch k {
		case "Root":
			if !validTraceID(v) {
				return false
			}
			root = true
		case "Parent":
			if !isHex(v, 16) {
				return false
			}
		case "Sampled":
			if v != "0" && v != "1" && v != "?" {
				return false
			}
		}
	}
	return root
}

// validTraceID reports whether v is "1-" + 8 hex digits + "-" + 24 hex
// digits.
func validTraceID(v string) bool {
	return len(v) == 35 && v[:2] == "1-" && isHex(v[2:10], 8) && v[10] == '-' && isHex(v[11:], 24)
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
