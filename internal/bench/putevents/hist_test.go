package putevents

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketsAreContiguous(t *testing.T) {
	for v := uint64(0); v < 1<<20; v++ {
		i := bucketOf(v)
		if v > upperOf(i) || (i > 0 && v <= upperOf(i-1)) {
			t.Fatalf("value %d in bucket %d [%d, %d]", v, i, upperOf(i-1)+1, upperOf(i))
		}
	}
	if i := bucketOf(1<<63 - 1); i >= len(histogram{}.counts) {
		t.Fatalf("largest duration maps outside the table: %d", i)
	}
}

func TestQuantileWithinPrecision(t *testing.T) {
	var h histogram
	vals := make([]time.Duration, 100000)
	for i := range vals {
		vals[i] = time.Duration(rand.ExpFloat64() * float64(time.Millisecond))
		h.record(vals[i])
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.99, 0.999, 1} {
		want := vals[min(int(q*float64(len(vals))+0.5), len(vals))-1]
		got := h.quantile(q)
		if got < want || float64(got-want) > float64(want)/subCount+1 {
			t.Errorf("q%v = %v, exact %v", q, got, want)
		}
	}
	var m histogram
	m.merge(&h)
	if m.quantile(0.99) != h.quantile(0.99) || m.n != h.n {
		t.Error("merge into an empty histogram changed it")
	}
}
