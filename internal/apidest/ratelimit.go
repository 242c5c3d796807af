package apidest

import (
	"sync"
	"time"
)

// rateLimits holds a token bucket per API destination, refilled at its
// InvocationRateLimitPerSecond with a burst of one second's worth. Each
// process has its own buckets: N processes sharing a NATS cluster together
// invoke a destination at up to N times its rate.
type rateLimits struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*bucket // by destination ARN
}

type bucket struct {
	rate   float64
	tokens float64
	last   time.Time
}

func newRateLimits() *rateLimits {
	return &rateLimits{now: time.Now, m: make(map[string]*bucket)}
}

// reserve takes a token for one invocation of the destination at rate per
// second and returns how long to wait before invoking. A wait over maxWait
// is not reserved: the caller defers the invocation instead, and the token
// stays for others.
func (r *rateLimits) reserve(arn string, rate int32, maxWait time.Duration) (wait time.Duration, ok bool) {
	if rate < 1 {
		rate = 1
	}
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.m[arn]
	if b == nil {
		b = &bucket{rate: float64(rate), tokens: float64(rate), last: now}
		r.m[arn] = b
	}
	if b.rate != float64(rate) { // UpdateApiDestination changed it
		b.rate = float64(rate)
		b.tokens = min(b.tokens, b.rate)
	}
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(b.rate, b.tokens+el.Seconds()*b.rate)
		b.last = now
	}
	b.tokens--
	if b.tokens >= 0 {
		return 0, true
	}
	wait = time.Duration(-b.tokens / b.rate * float64(time.Second))
	if wait > maxWait {
		b.tokens++
		return wait, false
	}
	return wait, true
}
