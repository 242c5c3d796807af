package ingest

import (
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

const (
	root   = "Root=1-5759e988-bd862e3fe1be46a994272793"
	parent = "Parent=53995c3f42cd8ad8"
)

// TestValidTraceHeader: the X-Ray trace header format (X-Ray Developer
// Guide: "X-Ray trace ID format", "Tracing header"). EventBridge drops a
// header X-Ray finds invalid and accepts the event ("Amazon EventBridge
// integration with AWS X-Ray", EventBridge User Guide), so these decide
// only whether targets get it.
func TestValidTraceHeader(t *testing.T) {
	for _, tt := range []struct {
		h  string
		ok bool
	}{
		{root + ";" + parent + ";Sampled=1", true},
		{root, true},
		{root + ";Sampled=0", true},
		{root + ";Sampled=?", true},
		{parent + ";" + root, true}, // any order
		{root + ";", true},
		{"Root=1-5759E988-BD862E3FE1BE46A994272793", true},
		// Fields X-Ray and Lambda add are kept as they are.
		{root + ";" + parent + ";Sampled=1;Lineage=a87bd80c:1|68fd508a:5", true},
		{"Self=1-67891234-12456789abcdef012345678;" + root, true},
		{"", false},
		{parent + ";Sampled=1", false}, // no Root
		{"Root=2-5759e988-bd862e3fe1be46a994272793", false}, // version 1 only
		{"Root=1-5759e98-bd862e3fe1be46a994272793", false},  // 7 digits of time
		{"Root=1-5759e988-bd862e3fe1be46a99427279", false},  // 23 digits of id
		{"Root=1-5759e988-bd862e3fe1be46a9942727934", false},
		{"Root=1-5759e988_bd862e3fe1be46a994272793", false},
		{"Root=1-5759e98g-bd862e3fe1be46a994272793", false},
		{root + ";Parent=53995c3f42cd8ad", false},
		{root + ";Parent=53995c3f42cd8adz", false},
		{root + ";Sampled=yes", false},
		{root + ";" + root, false}, // a field twice
		{root + ";Sampled", false},
		{root + ";=1", false},
		{root + "; " + parent, false}, // no spaces: sent on as an HTTP header
		{root + ";X=\r\nInjected: 1", false},
		{root + ";X=ü", false},
		{"not a trace header", false},
		{root + ";X=" + strings.Repeat("a", MaxTraceHeader-len(root)-3), true},
		{root + ";X=" + strings.Repeat("a", MaxTraceHeader-len(root)-2), false}, // 501
	} {
		if got := ValidTraceHeader(tt.h); got != tt.ok {
			t.Errorf("ValidTraceHeader(%q) = %v, want %v", tt.h, got, tt.ok)
		}
	}
}

// TestEntryTrace: the entry's TraceHeader overrides the request's
// X-Amzn-Trace-Id ("Amazon EventBridge integration with AWS X-Ray"); an
// invalid one is dropped, leaving the request's, if valid.
func TestEntryTrace(t *testing.T) {
	good, other := root+";Sampled=1", "Root=1-00000001-000000000000000000000001"
	for _, tt := range []struct {
		entry   *string
		request string
		want    string
	}{
		{nil, "", ""},
		{&good, "", good},
		{&good, other, good},
		{nil, other, other},
		{str("garbage"), other, other},
		{str("garbage"), "", ""},
		{nil, "garbage", ""},
	} {
		e := Entry{TraceHeader: tt.entry, RequestTraceHeader: tt.request}
		if got := entryTrace(&e); got != tt.want {
			t.Errorf("entry %v, request %q: trace %q, want %q", deref(tt.entry), tt.request, got, tt.want)
		}
	}
}

// TestTraceHeaderDoesNotCount: the trace header is not part of an entry's
// size ("Amazon EventBridge integration with AWS X-Ray").
func TestTraceHeaderDoesNotCount(t *testing.T) {
	e := Entry{Source: str("a"), DetailType: str("b"), Detail: str(`{}`)}
	n := EntrySize(&e)
	e.TraceHeader = str(root)
	if got := EntrySize(&e); got != n {
		t.Errorf("EntrySize with a trace header = %d, want %d", got, n)
	}
}

// TestReadTraces: trace headers of one-event messages and of batches, and
// messages without any (as stored before trace headers were kept).
func TestReadTraces(t *testing.T) {
	one := []Event{{ID: "a"}}
	ReadTraces(nats.Header{HeaderTrace: {root}}, one)
	if one[0].Trace != root {
		t.Errorf("one event: trace %q", one[0].Trace)
	}
	batch := []Event{{ID: "a"}, {ID: "b"}, {ID: "c"}}
	h := nats.Header{}
	h.Set(HeaderEvents, "3")
	h.Set(batchTraceHeader(0), "t0")
	h.Set(batchTraceHeader(2), "t2")
	h.Set(HeaderTrace, "not for a batch")
	ReadTraces(h, batch)
	if batch[0].Trace != "t0" || batch[1].Trace != "" || batch[2].Trace != "t2" {
		t.Errorf("batch traces %q %q %q, want t0, none, t2", batch[0].Trace, batch[1].Trace, batch[2].Trace)
	}
	old := []Event{{ID: "a"}}
	ReadTraces(nats.Header{HeaderEvents: nil, "Nats-Msg-Id": {"a"}}, old)
	ReadTraces(nil, old)
	if old[0].Trace != "" {
		t.Errorf("a message without trace headers: trace %q", old[0].Trace)
	}
}
