// Package ratelimit counts, for a whole cluster of Switchyard processes,
// how many times something happened in each second, and refuses or delays
// what would go over a rate: API destinations' invocation rates (package
// apidest) and accounts' API request quotas (package quota) are enforced
// with it, whatever the number of processes and however the work is spread
// among them. The counts live in a JetStream key-value bucket
// (store.RatesBucket) that every process shares.
package ratelimit

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

// Limiter enforces rates per key (an API destination's ARN, an account's
// API class, ...) for the whole cluster.
//
// Time is cut into one-second windows (Unix seconds). The rates bucket
// counts, per key and window, the units processes have taken;
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
type Limiter struct {
	kv  jetstream.KeyValue
	now func() time.Time

	mu   sync.Mutex
	keys map[string]*keyLimit
}

// keyLimit is what this process knows of one key's seconds. Its
// reservations are made one at a time, so that the process uses what it
// took before taking more, and only processes, not goroutines, race for
// the bucket's count.
type keyLimit struct {
	mu      sync.Mutex
	windows map[int64]*window // by Unix second
}

// window is what this process knows of one key's second.
type window struct {
	held int  // units taken from the bucket and not used yet
	full bool // the bucket's count reached the rate
}

// New returns a Limiter counting in kv (store.Store.Rates).
func New(kv jetstream.KeyValue) *Limiter {
	return &Limiter{kv: kv, now: time.Now, keys: make(map[string]*keyLimit)}
}

// chunk is how many units a process takes at once: a twentieth of the
// rate, so that a key costs about twenty bucket writes a second at full
// rate and an unused chunk is 5% of it.
func chunk(rate int) int { return max(1, rate/20) }

// Reserve takes one unit of key at perSecond a second (cluster-wide) and
// returns how long to wait before using it: 0 in the current window, else
// until the window taken starts. When every window up to maxWait ahead is
// full it reserves nothing, returns false and how long until the first
// window it could not look at. With maxWait 0 it answers whether the
// current second has room.
func (r *Limiter) Reserve(ctx context.Context, key string, perSecond int, maxWait time.Duration) (time.Duration, bool, error) {
	rate := max(perSecond, 1)
	r.mu.Lock()
	d := r.keys[key]
	if d == nil {
		d = &keyLimit{windows: make(map[int64]*window)}
		r.keys[key] = d
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
			n, err := r.take(ctx, bucketKey(key), w, rate)
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

// take adds up to a chunk to the bucket's count of key's second w, not
// beyond rate, and returns how many it added (0: the second is full).
func (r *Limiter) take(ctx context.Context, key string, w int64, rate int) (int, error) {
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

// Forget drops what this process knows of the keys gone is true of (the
// bucket's counts expire by themselves).
func (r *Limiter) Forget(gone func(key string) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.keys {
		if gone(k) {
			delete(r.keys, k)
		}
	}
}

// ForgetIdle drops what this process knows of the keys it holds nothing of
// for the current second or later: a key used again starts afresh, from
// the bucket's count.
func (r *Limiter) ForgetIdle() {
	now := r.now().Unix()
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, d := range r.keys {
		if !d.mu.TryLock() {
			continue // in use
		}
		idle := true
		for s := range d.windows {
			if s >= now {
				idle = false
				break
			}
		}
		d.mu.Unlock()
		if idle {
			delete(r.keys, k)
		}
	}
}

// bucketKey is a key's name in the rates bucket: a digest, as an ARN's
// characters are not all allowed in KV keys.
func bucketKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:12])
}

func until(now time.Time, second int64) time.Duration {
	return max(time.Unix(second, 0).Sub(now), 0)
}
