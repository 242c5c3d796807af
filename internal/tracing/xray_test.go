package tracing

import (
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

// The X-Ray examples are those of the X-Ray Developer Guide ("Tracing
// header": "X-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
// and the trace id "1-58406520-a006649127e371903a2de979" of "X-Ray trace
// ID format"); the traceparent examples are the W3C Trace Context
// specification's ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").
func TestXRayToW3C(t *testing.T) {
	for _, c := range []struct {
		name, xray, traceparent string
	}{
		{"documented header", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
			"00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"},
		{"not sampled", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0",
			"00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-00"},
		{"fields in another order", "Sampled=1;Parent=53995c3f42cd8ad8;Root=1-58406520-a006649127e371903a2de979",
			"00-58406520a006649127e371903a2de979-53995c3f42cd8ad8-01"},
		{"with Lineage", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1|68fd508a:5",
			"00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"},
		{"no trace", "Parent=53995c3f42cd8ad8;Sampled=1", ""},
		{"bad root", "Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8", ""},
		{"short root", "Root=1-5759e988-bd862e3fe1be46a99427279;Parent=53995c3f42cd8ad8", ""},
		{"empty", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Traceparent(c.xray); got != c.traceparent {
				t.Errorf("Traceparent(%q) = %q, want %q", c.xray, got, c.traceparent)
			}
		})
	}
}

func TestW3CToXRay(t *testing.T) {
	for _, c := range []struct {
		name, traceparent, xray string
	}{
		{"spec example", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
			"Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1"},
		{"not sampled", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
			"Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=0"},
		{"documented X-Ray trace, back", "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01",
			"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"},
		{"zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", ""},
		{"zero parent", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", ""},
		{"version ff", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ""},
		{"garbage", "not a traceparent", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := XRayFromTraceparent(c.traceparent); got != c.xray {
				t.Errorf("XRayFromTraceparent(%q) = %q, want %q", c.traceparent, got, c.xray)
			}
		})
	}
}

func TestTraceIDMapping(t *testing.T) {
	for _, c := range []struct{ xray, w3c string }{
		{"1-5759e988-bd862e3fe1be46a994272793", "5759e988bd862e3fe1be46a994272793"},
		{"1-58406520-a006649127e371903a2de979", "58406520a006649127e371903a2de979"},
	} {
		id, ok := TraceIDFromXRay(c.xray)
		if !ok || id.String() != c.w3c {
			t.Errorf("TraceIDFromXRay(%q) = %v, %v; want %s", c.xray, id, ok, c.w3c)
		}
		w, _ := trace.TraceIDFromHex(c.w3c)
		if got := XRayTraceID(w); got != c.xray {
			t.Errorf("XRayTraceID(%s) = %q, want %q", c.w3c, got, c.xray)
		}
	}
	for _, bad := range []string{"", "1-5759e988-bd862e3fe1be46a99427279", "1-5759e98g-bd862e3fe1be46a994272793", "1_5759e988-bd862e3fe1be46a994272793", "1-00000000-000000000000000000000000"} {
		if id, ok := TraceIDFromXRay(bad); ok {
			t.Errorf("TraceIDFromXRay(%q) = %v, want not ok", bad, id)
		}
	}
}

// A header with a Root and no Parent names a trace but no span: its
// traceparent gets a parent id of its own, in the same trace.
func TestTraceparentRootOnly(t *testing.T) {
	tp := Traceparent("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
	if !strings.HasPrefix(tp, "00-5759e988bd862e3fe1be46a994272793-") || !strings.HasSuffix(tp, "-01") || len(tp) != 55 {
		t.Fatalf("Traceparent = %q", tp)
	}
	if sc := FromTraceparent(tp, ""); !sc.IsValid() {
		t.Fatalf("%q is not a valid traceparent", tp)
	}
}

// XRayHeader sets Root, Parent and Sampled and keeps the other fields.
func TestXRayHeaderKeepsFields(t *testing.T) {
	sc := FromTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "")
	for _, c := range []struct{ orig, want string }{
		{"", "Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1"},
		{"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;Lineage=a87bd80c:1|68fd508a:5;Self=1-5759e988-bd862e3fe1be46a994272793",
			"Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1;Lineage=a87bd80c:1|68fd508a:5;Self=1-5759e988-bd862e3fe1be46a994272793"},
		{"Root=1-5759e988-bd862e3fe1be46a994272793;junk;", "Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1"},
		{"Root=1-5759e988-bd862e3fe1be46a994272793;Big=" + strings.Repeat("x", 480), "Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1"},
	} {
		if got := XRayHeader(sc, c.orig); got != c.want {
			t.Errorf("XRayHeader(_, %q) = %q, want %q", c.orig, got, c.want)
		}
	}
	if got := XRayHeader(trace.SpanContext{}, "Root=1-5759e988-bd862e3fe1be46a994272793"); got != "" {
		t.Errorf("XRayHeader of no span = %q", got)
	}
}

// FuzzTraceHeaders: no input panics, and what names a trace maps to a
// traceparent that maps back to the same trace and parent.
func FuzzTraceHeaders(f *testing.F) {
	for _, s := range []string{"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
		"Root=1-5759e988-bd862e3fe1be46a994272793", "Root=;Parent=", ";;;", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=zz",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tp := Traceparent(s)
		_ = XRayFromTraceparent(s)
		_, _ = TraceIDFromXRay(s)
		if tp == "" {
			return
		}
		back := FromTraceparent(tp, "")
		if !back.IsValid() {
			t.Fatalf("Traceparent(%q) = %q, not valid", s, tp)
		}
		sc, root := FromXRay(s)
		if sc.IsValid() && (back.TraceID() != sc.TraceID() || back.SpanID() != sc.SpanID()) {
			t.Fatalf("%q -> %q: another span", s, tp)
		}
		if !sc.IsValid() && back.TraceID() != root {
			t.Fatalf("%q -> %q: another trace", s, tp)
		}
	})
}
