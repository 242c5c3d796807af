package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/control/controltest"
	"github.com/switchyard/switchyard/internal/store"
)

func TestRateLimit(t *testing.T) {
	st, _ := controltest.Open(t, store.Config{})
	cx := context.Background()
	now := time.Unix(100, 0)
	r := New(st.Rates)
	r.now = func() time.Time { return now }
	for i := 0; i < 5; i++ { // this second's five
		if w, ok, err := r.Reserve(cx, "d", 5, time.Second); err != nil || !ok || w != 0 {
			t.Fatalf("call %d: wait %v ok %v err %v", i, w, ok, err)
		}
	}
	now = now.Add(200 * time.Millisecond)
	if w, ok, _ := r.Reserve(cx, "d", 5, time.Second); !ok || w != 800*time.Millisecond {
		t.Errorf("6th: wait %v ok %v, want 800ms (the next second)", w, ok)
	}
	if w, ok, _ := r.Reserve(cx, "d", 5, 300*time.Millisecond); ok || w != 800*time.Millisecond {
		t.Errorf("7th, next second out of reach: wait %v ok %v, want refused, 800ms", w, ok)
	}
	now = now.Add(2 * time.Second)
	if w, ok, _ := r.Reserve(cx, "d", 5, 0); !ok || w != 0 {
		t.Errorf("two seconds later: wait %v ok %v", w, ok)
	}
}

// Processes sharing the rates bucket share each key's rate: three of them,
// taking as fast as they can, get the rate together in each second.
func TestRateLimitSharedByProcesses(t *testing.T) {
	st, _ := controltest.Open(t, store.Config{})
	cx := context.Background()
	now := time.Unix(1000, 0)
	var ps []*Limiter
	for range 3 {
		r := New(st.Rates)
		r.now = func() time.Time { return now }
		ps = append(ps, r)
	}
	for second := 0; second < 3; second++ {
		got := 0
		for round := 0; round < 100; round++ {
			for _, r := range ps {
				if w, ok, err := r.Reserve(cx, "shared", 60, 0); err != nil {
					t.Fatal(err)
				} else if ok && w == 0 {
					got++
				}
			}
		}
		if got != 60 {
			t.Errorf("second %d: %d invocations taken by three processes, want the rate, 60", second, got)
		}
		now = now.Add(time.Second)
	}
	// Another destination has its own count.
	if _, ok, _ := ps[0].Reserve(cx, "other", 1, 0); !ok {
		t.Error("another destination was throttled")
	}
}

// A key not used in the current second is forgotten by ForgetIdle, and
// what it took stays counted in the bucket.
func TestForgetIdle(t *testing.T) {
	st, _ := controltest.Open(t, store.Config{})
	cx := context.Background()
	now := time.Unix(5000, 0)
	r := New(st.Rates)
	r.now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if _, ok, err := r.Reserve(cx, "k", 3, 0); err != nil || !ok {
			t.Fatal(ok, err)
		}
	}
	r.ForgetIdle()
	if len(r.keys) != 1 {
		t.Fatalf("a key used this second was forgotten")
	}
	if _, ok, _ := r.Reserve(cx, "k", 3, 0); ok {
		t.Fatal("a fourth unit in a second of three")
	}
	now = now.Add(time.Second)
	r.ForgetIdle()
	if len(r.keys) != 0 {
		t.Fatalf("%d idle keys kept", len(r.keys))
	}
	// The second a forgotten key's units were counted in stays full.
	now = now.Add(-time.Second)
	if _, ok, _ := r.Reserve(cx, "k", 3, 0); ok {
		t.Fatal("forgetting a key reset its count in the bucket")
	}
}
