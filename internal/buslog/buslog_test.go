package buslog

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchyard/switchyard/internal/control"
)

func str(s string) *string { return &s }

// TestOn: a step is logged at its level and above ("ERROR ... errors",
// "INFO ... errors, as well as major steps", "TRACE ... all steps"; OFF
// none), and not at all without a LogConfig.
func TestOn(t *testing.T) {
	tests := []struct {
		level string
		step  MessageType
		want  bool
	}{
		{"OFF", InvocationFailure, false},
		{"ERROR", InvocationFailure, true},
		{"ERROR", EventReceipt, false},
		{"INFO", EventReceipt, true},
		{"INFO", InvocationDLQ, true},
		{"INFO", InvocationAttemptStart, false},
		{"TRACE", InvocationAttemptStart, true},
		{"TRACE", RuleMatchStart, true},
	}
	for _, tt := range tests {
		t.Run(tt.level+"/"+string(tt.step), func(t *testing.T) {
			l := New(nil, func(control.Scope, string) *control.LogConfig { return &control.LogConfig{Level: str(tt.level)} }, slog.Default(), Options{})
			if got := l.Bus(control.Scope{}, "b").On(tt.step); got != tt.want {
				t.Errorf("On = %v, want %v", got, tt.want)
			}
		})
	}
	l := New(nil, func(control.Scope, string) *control.LogConfig { return nil }, slog.Default(), Options{})
	if l.Bus(control.Scope{}, "b").Any() {
		t.Error("a bus without LogConfig logs")
	}
	var none *Logger
	if none.Bus(control.Scope{}, "b").On(InvocationFailure) {
		t.Error("a nil Logger logs")
	}
}

// TestQueueFull: a full queue drops and counts instead of blocking.
func TestQueueFull(t *testing.T) {
	l := New(nil, func(control.Scope, string) *control.LogConfig { return &control.LogConfig{Level: str("TRACE")} }, slog.Default(), Options{Queue: 2})
	before := testutil.ToFloat64(dropped.WithLabelValues(ReasonQueueFull))
	b := l.Bus(control.Scope{Account: "1", Region: "r"}, "b")
	for range 5 {
		b.Emit(&Record{MessageType: EventReceipt})
	}
	if got := testutil.ToFloat64(dropped.WithLabelValues(ReasonQueueFull)) - before; got != 3 {
		t.Errorf("dropped %v, want 3", got)
	}
}

// TestFileRotation: the file is rotated to path.1 when full, so the
// destination stays near twice its maximum.
func TestFileRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bus.log")
	s, err := OpenFile(path, 1000)
	if err != nil {
		t.Fatal(err)
	}
	rec := &Record{ResourceArn: "arn:aws:events:r:1:event-bus/b", MessageType: EventReceipt, LogLevel: "INFO"}
	for range 100 {
		if err := s.Write(context.Background(), []*Record{rec, rec}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + ".1"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > 1000+400 {
			t.Errorf("%s is %d bytes", p, st.Size())
		}
	}
}

// BenchmarkBusOff is what a data-path step site costs for a bus with
// Level OFF while a destination is configured: the LogConfig lookup and
// the test.
func BenchmarkBusOff(b *testing.B) {
	lc := &control.LogConfig{Level: str("OFF")}
	l := New(nil, func(control.Scope, string) *control.LogConfig { return lc }, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{})
	b.ReportAllocs()
	for b.Loop() {
		if bl := l.Bus(control.Scope{}, "b"); bl.On(EventReceipt) {
			b.Fatal("on")
		}
	}
}
