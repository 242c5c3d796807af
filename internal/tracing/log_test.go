package tracing

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestLogHandler(t *testing.T) {
	sc := FromTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "")
	event := WithLogAttrs(context.Background(), slog.String("event_id", "e1"))
	delivery := WithLogAttrs(event, slog.String("rule_arn", "arn:aws:events:us-east-1:111111111111:rule/r"), slog.String("target_id", "t"))
	for _, c := range []struct {
		name string
		ctx  context.Context
		want map[string]string
	}{
		{"plain", context.Background(), map[string]string{}},
		{"event", event, map[string]string{"event_id": "e1"}},
		{"delivery", delivery, map[string]string{"event_id": "e1", "rule_arn": "arn:aws:events:us-east-1:111111111111:rule/r", "target_id": "t"}},
		{"traced", trace.ContextWithSpanContext(delivery, sc), map[string]string{"event_id": "e1", "target_id": "t",
			"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "deliver")
			log.WarnContext(c.ctx, "deliver: gave up", "retries", 185)
			var got map[string]any
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("%s: %v", buf.String(), err)
			}
			if got["component"] != "deliver" || got["retries"] != float64(185) {
				t.Errorf("the line's own attributes are lost: %s", buf.String())
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %q (%s)", k, got[k], v, buf.String())
				}
			}
			for _, k := range []string{"event_id", "rule_arn", "target_id", "trace_id", "span_id"} {
				if _, ok := c.want[k]; !ok && k != "rule_arn" {
					if _, has := got[k]; has {
						t.Errorf("%s on a line without it in the context: %s", k, buf.String())
					}
				}
			}
		})
	}
}

// A context that is not traced gives no trace ids, even when tracing is
// off and the event has a trace header (LogContext adds them only while
// tracing: the header's Parent is no span of this process's).
func TestLogContextOff(t *testing.T) {
	ctx := LogContext(context.Background(), "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1", slog.String("event_id", "e"))
	if trace.SpanContextFromContext(ctx).IsValid() {
		t.Error("tracing off: the log context has a span")
	}
}
