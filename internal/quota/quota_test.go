package quota

import (
	"context"
	"log/slog"
	"testing"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/control/controltest"
	"github.com/switchyard/switchyard/internal/store"
)

func TestClasses(t *testing.T) {
	st, _ := controltest.Open(t, store.Config{})
	q := New(st.Rates, Config{PutEvents: 2, Control: 1, Operations: map[string]int{"CreateEndpoint": 3}}, slog.Default())
	sc := control.Scope{Account: "123456789012", Region: "us-east-1"}
	cx := context.Background()
	// Each class has its own count; ops without their own share "control".
	for _, tt := range []struct {
		op   string
		want []bool // allowed, call after call
	}{
		{"PutEvents", []bool{true, true, false}},
		{"ListRules", []bool{true, false}},
		{"PutRule", []bool{false}},
		{"CreateEndpoint", []bool{true, true, true, false}},
	} {
		for i, want := range tt.want {
			err := q.Allow(cx, sc, tt.op)
			if got := err == nil; got != want {
				t.Fatalf("%s call %d: allowed %v, want %v (%v)", tt.op, i+1, got, want, err)
			}
			if err != nil {
				if ae, ok := awserr.As(err); !ok || ae.Code != "ThrottlingException" || ae.Message != "Rate exceeded" || ae.Status != 400 {
					t.Fatalf("%s: %#v", tt.op, err)
				}
			}
		}
	}
	// Off: no quota at all.
	if !(Config{}).Off() || Defaults().Off() || (Config{Operations: map[string]int{"X": 1}}).Off() {
		t.Error("Off")
	}
}

// BenchmarkAllow is the cost a quota adds to each request: one chunk of
// the bucket's count is taken every twentieth of the rate.
func BenchmarkAllow(b *testing.B) {
	st, _ := controltest.Open(b, store.Config{})
	q := New(st.Rates, Config{PutEvents: 1 << 40}, slog.Default())
	sc := control.Scope{Account: "123456789012", Region: "us-east-1"}
	cx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := q.Allow(cx, sc, "PutEvents"); err != nil {
			b.Fatal(err)
		}
	}
}
