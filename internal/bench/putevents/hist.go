package putevents

import (
	"math/bits"
	"time"
)

// histogram records durations in log-linear buckets, as HdrHistogram does:
// each power of two is split into subCount linear sub-buckets, so any
// recorded value is known to within 1/subCount (under 0.8%) from 1 ns to
// hours, in a fixed 64 KiB, with O(1) recording and no allocation. A
// dependency for this was not worth it.
type histogram struct {
	counts [64 * subCount]uint64
	n      uint64
	max    int64
}

const (
	subBits  = 7
	subCount = 1 << subBits
)

func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	e := bits.Len64(v) - subBits - 1 // v>>e lies in [subCount, 2*subCount)
	return (e+1)*subCount + int(v>>e) - subCount
}

// upperOf is the largest value bucket i holds; percentiles report it so
// that they never understate.
func upperOf(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	e := i/subCount - 1
	m := uint64(i%subCount + subCount)
	return (m+1)<<e - 1
}

func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.n++
	if int64(d) > h.max {
		h.max = int64(d)
	}
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the smallest bucket bound at or below which a fraction
// q of the values lie, capped at the exact maximum.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			return time.Duration(min(int64(upperOf(i)), h.max))
		}
	}
	return time.Duration(h.max)
}
