package apidest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/store"
)

// rateLimits enforces each API destination's InvocationRateLimitPerSecond
// for the whole cluster, whatever the number of Switchyard processes
// delivering to it and however the deliveries are spread among them.
//
// Time is cut into one-second windows (Unix seconds). The rates bucket
// counts, per destination and window, the invocations processes have taken;
// a process takes them in small chunks with optimistic concurrency, uses
// them locally, and takes the next chunk when they run out. A window whose
// count has reached the rate is full: an invocation then takes from the
// next window and waits for it, up to maxWait ahead. So at most the rate is
// invoked in any window (a burst of up to the rate at a window's start, as
// a token bucket with one second's burst allows), one chunk costs one or
// two round trips, and a process that took more than it used wastes at most
// a chunk per window.
//
// Windows follow each process's clock; processes whose clocks disagree by
// a fraction of a second shift their windows by as much.
type rateLimits struct {
	kv  jetstream.KeyValue
	now func() time.Time

	mu   sync.Mutex
	dest map[string]*destLimit // by destination ARN
}

// destLimit is what this process knows of one destination's seconds. Its
// reservations are made one at a time, so that the process's deliveries
// use what it took before taking more, and only processes, not goroutines,
// race for the bucket's count.
type destLimit struct {
	mu      sync.Mutex
	windows map[int64]*window // by Unix second
}

// window is what this process knows of one destination's second.
type window struct {
	held int  // invocations taken from the bucket and not used yet
	full bool // the bucket's count reached the rate
}

func newRateLimits(kv jetstream.KeyValue) *rateLimits {
	return &rateLimits{kv: kv, now: time.Now, dest: make(map[string]*destLimit)}
}

// chunk is how many invocations a process takes at once: a twentieth of
// the rate, so that a destination costs about twenty bucket writes a second
// at full rate and an unused chunk is 5% of it.
func chunk(rate int) int { return max(1, rate/20) }

// reserve takes one invocation of the destination arn at perSecond a
// second (cluster-wide) and returns how long to wait before invoking: 0 in
// the current window, else until the window taken starts. When every window
// up to maxWait ahead is full it reserves nothing, returns false and how
// long until the first window it could not look at.
func (r *rateLimits) reserve(ctx context.Context, arn string, perSecond int32, maxWait time.Duration) (time.Duration, bool, error) {
	rate := max(int(perSecond), 1)
	r.mu.Lock()
	d := r.dest[arn]
	if d == nil {
		d = &destLimit{windows: make(map[int64]*window)}
		r.dest[arn] = d
	}
	r.mu.Unlock()

	d.mu.Lock()
	defer d.mu.Unlock()
	now := r.now()
	first, last := now.Unix(), now.Add(maxWait).Unix()
	for s := range d.windows {
		if s < first {
			delete(d.windows, s)
		}
	}
	for w := first; w <= last; w++ {
		win := d.windows[w]
		if win == nil {
			win = &window{}
			d.windows[w] = win
		}
		if win.held == 0 && !win.full {
			n, err := r.take(ctx, destKey(arn), w, rate)
			if err != nil {
				return 0, false, err
			}
			win.held, win.full = n, n == 0
		}
		if win.held > 0 {
			win.held--
			return until(now, w), true, nil
		}
	}
	return until(now, last+1), false, nil
}

// take adds up to a chunk to the bucket's count of destination key's second
// w, not beyond rate, and returns how many it added (0: the second is full).
func (r *rateLimits) take(ctx context.Context, key string, w int64, rate int) (int, error) {
	k := key + "." + strconv.FormatInt(w, 10)
	for attempt := 0; attempt < 20; attempt++ {
		var taken int
		var rev uint64
		e, err := r.kv.Get(ctx, k)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return 0, fmt.Errorf("rate limit: %w", err)
		default:
			rev = e.Revision()
			taken, _ = strconv.Atoi(string(e.Value()))
		}
		if taken >= rate {
			return 0, nil
		}
		n := min(chunk(rate), rate-taken)
		val := []byte(strconv.Itoa(taken + n))
		if _, err = store.Swap(ctx, r.kv, k, val, rev); err == nil {
			return n, nil
		}
		if !store.IsConflict(err) {
			return 0, fmt.Errorf("rate limit: %w", err)
		}
	}
	return 0, errors.New("rate limit: too many concurrent updates")
}

// forget drops what is known of the destinations gone is true of.
func (r *rateLimits) forget(gone func(arn string) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for arn := range r.dest {
		if gone(arn) {
			delete(r.dest, arn)
		}
	}
}

// destKey is a destination's key in the rates bucket: a digest of its ARN,
// whose characters KV keys do not all allow.
func destKey(arn string) string {
	sum := sha256.Sum256([]byte(arn))
	return hex.EncodeToString(sum[:12])
}

func until(now time.Time, second int64) time.Duration {
	return max(time.Unix(second, 0).Sub(now), 0)
}
