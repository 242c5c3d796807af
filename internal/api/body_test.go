package api

import "testing"

func TestBodyPoolClasses(t *testing.T) {
	for _, n := range []int{0, 1, minPooled - 1, minPooled, minPooled + 1, 100_000, 1 << 20, maxBody - 1, maxBody} {
		b := getBody(n)
		if len(b) != n {
			t.Fatalf("getBody(%d) has length %d", n, len(b))
		}
		if n >= minPooled && (cap(b) < n || cap(b)&(cap(b)-1) != 0 || cap(b) >= 2*n) {
			t.Errorf("getBody(%d) has capacity %d, want the power of two at or above it", n, cap(b))
		}
		putBody(b)
		if again := getBody(n); len(again) != n {
			t.Fatalf("getBody(%d) after putBody has length %d", n, len(again))
		}
	}
	putBody(make([]byte, 10, 3000)) // not a pooled class: dropped, not panicking
}
