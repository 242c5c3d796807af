package tracing

import (
	"context"
	"testing"
)

// While tracing is off, the data path's calls cost no allocation: they
// run for every request, event and attempt.
func TestOffAllocatesNothing(t *testing.T) {
	if Enabled() {
		t.Skip("tracing is on")
	}
	ctx := context.Background()
	const h = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	a := &Attempt{EventID: "e", RuleARN: "r", TargetID: "t", TargetARN: "arn", Kind: "sqs", Number: 1}
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"PutEvents, no trace", func() {
			_, s, _ := StartPutEvents(ctx, "", "", "", "111111111111", "us-east-1")
			s.EndPutEvents("default", 10, 0, nil)
		}},
		{"PutEvents, X-Ray header", func() {
			_, s, _ := StartPutEvents(ctx, h, "", "", "111111111111", "us-east-1")
			s.EndPutEvents("default", 10, 0, nil)
		}},
		{"event", func() {
			s, _ := StartEvent(ctx, h, true, "id", "default")
			s.EndEvent("")
		}},
		{"match", func() {
			s, _ := StartMatch(ctx, h, "id", "111111111111", "us-east-1", "default")
			s.EndMatch(nil, nil)
		}},
		{"attempt", func() {
			ctx, s, _ := StartAttempt(ctx, h, a)
			SetHTTPStatus(ctx, 200)
			s.EndAttempt("success", "", nil)
		}},
		{"dead letter", func() {
			_, s, _ := StartDeadLetter(ctx, h, "arn:aws:sqs:us-east-1:111111111111:dlq", a)
			s.EndDeadLetter(nil)
		}},
	} {
		if n := testing.AllocsPerRun(100, c.f); n != 0 {
			t.Errorf("%s: %v allocations with tracing off, want 0", c.name, n)
		}
	}
}

// BenchmarkOff is the cost of the data path's tracing calls for one
// event's request, event, match and attempt while tracing is off.
func BenchmarkOff(b *testing.B) {
	ctx := context.Background()
	const h = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
	a := &Attempt{EventID: "e", RuleARN: "r", TargetID: "t", TargetARN: "arn", Kind: "sqs", Number: 1}
	b.ReportAllocs()
	for b.Loop() {
		_, s, _ := StartPutEvents(ctx, h, "", "", "111111111111", "us-east-1")
		es, _ := StartEvent(ctx, h, false, "id", "default")
		ms, _ := StartMatch(ctx, h, "id", "111111111111", "us-east-1", "default")
		actx, as, _ := StartAttempt(ctx, h, a)
		SetHTTPStatus(actx, 200)
		as.EndAttempt("success", "", nil)
		ms.EndMatch(nil, nil)
		es.EndEvent("")
		s.EndPutEvents("default", 1, 0, nil)
	}
}
