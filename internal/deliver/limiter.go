package deliver

import (
	"math/rand/v2"
	"sync"
	"time"
)

// limiter isolates targets from each other. All tasks come from one
// consumer, so a target that is slow (or hangs until the 5-second timeout)
// must not be able to take every worker, nor every slot of the consumer.
// Each target (one ARN, or one URL) gets at most perTarget calls in flight
// and a short queue behind them (queueFactor × perTarget, in memory,
// bounded, kept alive with InProgress); a task arriving when both are full is deferred: re-published
// through the stream for when the target's backlog should have drained, so
// it holds nothing meanwhile.
//
// Why not a consumer per target kind: a slow HTTP endpoint would still
// stall every other HTTP endpoint. Why not a consumer per target: targets
// come and go with PutTargets, and thousands of consumers would each cost
// the server a pull loop; the limiter gives the same isolation from one
// consumer, and its memory is bounded by the consumer's MaxAckPending.
type limiter struct {
	perTarget int
	mu        sync.Mutex
	targets   map[string]*targetState
}

const queueFactor = 8

type targetState struct {
	inflight int
	queue    []*job
	// latency is a moving average of the target's calls, to size deferrals.
	latency time.Duration
}

type admission int

const (
	admitRun admission = iota
	admitQueued
	admitDefer
)

// minDefer is the shortest deferral: JetStream fires schedules at most every
// 250 ms anyway, and a deferral for a fast target should be about that.
const minDefer = 250 * time.Millisecond

func newLimiter(perTarget int) *limiter {
	return &limiter{perTarget: perTarget, targets: map[string]*targetState{}}
}

func (l *limiter) admit(key string, j *job) admission {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.targets[key]
	if t == nil {
		t = &targetState{}
		l.targets[key] = t
	}
	switch {
	case t.inflight < l.perTarget:
		t.inflight++
		return admitRun
	case len(t.queue) < queueFactor*l.perTarget:
		j.queued = time.Now()
		t.queue = append(t.queue, j)
		return admitQueued
	}
	return admitDefer
}

// done records a finished call and returns the target's next queued task,
// which inherits the slot, or nil.
func (l *limiter) done(key string, took time.Duration) *job {
	l.mu.Lock()
	t := l.targets[key]
	if t.latency == 0 {
		t.latency = took
	} else {
		t.latency = (7*t.latency + took) / 8
	}
	if len(t.queue) == 0 {
		t.inflight--
		if t.inflight == 0 {
			delete(l.targets, key)
		}
		l.mu.Unlock()
		return nil
	}
	j := t.queue[0]
	t.queue[0] = nil
	t.queue = t.queue[1:]
	l.mu.Unlock()
	return j
}

// touch tells JetStream that tasks queued for a while are still being
// worked on, so that a long wait behind a slow target (its queue times its
// timeout can exceed ackWait) does not hand them out a second time.
func (l *limiter) touch() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range l.targets {
		for _, j := range t.queue {
			if time.Since(j.queued) > ackWait/3 {
				_ = j.msg.InProgress()
				j.queued = time.Now()
			}
		}
	}
}

// deferDelay is about when the target's current backlog should be done,
// with jitter, at least minDefer and at most a minute.
func (l *limiter) deferDelay(key string) time.Duration {
	l.mu.Lock()
	var d time.Duration
	if t := l.targets[key]; t != nil {
		d = t.latency * time.Duration(1+(t.inflight+len(t.queue))/l.perTarget)
	}
	l.mu.Unlock()
	d = min(max(d, minDefer), time.Minute)
	return d + rand.N(d/2+1)
}

// drain empties every queue, for shutdown.
func (l *limiter) drain() []*job {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*job
	for _, t := range l.targets {
		out = append(out, t.queue...)
		t.queue = nil
	}
	return out
}
