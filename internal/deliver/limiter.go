package deliver

import (
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter isolates targets from each other. All tasks come from one
// consumer, so a target that is slow (or hangs until the 5-second timeout)
// must not be able to take every worker, nor every slot of the consumer.
//
// Each target (one ARN, or one URL) gets at most perTarget calls in flight.
// Tasks beyond that wait in the target's queue, in memory; a task that
// should not wait there is deferred: re-published through the stream as a
// schedule due when the target's backlog should have drained, so that it
// holds nothing meanwhile.
//
// Which tasks are deferred. The earlier rule, a queue of at most
// 8 × perTarget, was wrong both ways. For a healthy target taking a burst
// it was far too short: at 10,000 events/s the consumer pulls a thousand
// tasks at once, and the ones beyond 576 were deferred for at least 250 ms
// (JetStream fires schedules at most every 250 ms) although the target
// would have taken them within milliseconds. And deferral is not free:
// each deferred task is one more publish, schedule, re-delivery and
// acknowledgement, so deferring work the deliverer could not keep up with
// made it keep up less, and one burst became a backlog of minutes. Yet for
// isolation a count says little: what matters is how long the queue takes
// to drain. A task queued behind its target is expected to wait
//
//	wait ≈ (position in the queue) × latency / perTarget
//
// (perTarget calls in flight, each taking about latency; Little's law), so
// within maxWait a fast target (1 ms) drains tens of thousands of tasks and
// a hanging one (5 s) about perTarget/5: that is its room.
//
// A queue longer than its room is still better than deferral for as long
// as it hurts no one: deferring a task makes it no sooner, and only
// matters when the tasks held fill the consumer's window (MaxAckPending),
// for then tasks of other targets can no longer enter the process. So:
//
//   - a task within its target's room is queued;
//   - beyond the room, it is queued too while the window is not crowded
//     (all targets together hold less than crowdedAt) and its target holds
//     less than maxQueue (half the window, so one target never crowds it
//     alone);
//   - otherwise it is deferred; and once the window is crowded, every
//     queue is cut back to its room (the newest tasks first) and the rest
//     deferred.
//
// A hanging target therefore holds at most perTarget calls and maxQueue
// tasks, and while several such targets would crowd the window, only a
// second's worth each; a healthy target under a burst, or a deliverer
// that is simply overloaded, defers nothing until half the window waits
// on one target.
//
// latency is the larger of the target's moving average and its stall,
// how long it has had calls in flight and none ended (once over
// stallFloor): a target that starts hanging is known to be slow before any
// of its calls ends, which matters most for a new target whose first calls
// hang, for which no average exists yet. The stall is measured from the
// last call to end, not from the oldest call in flight: one call held up
// (a GC pause, a scheduling hiccup, one slow request) among thousands a
// second says nothing of the target, and taking it as the latency made a
// busy target look slow and deferred its tasks by tens of seconds. Rooms
// and the crowding are re-checked every trimEvery.
//
// Deferrals are rationed (deferRate a second, a burst of as many). Under an
// overload of the whole process every call slows down, targets that are
// healthy look slow, and deferring their tasks would spend on publishes
// and schedules the CPU the calls lack, which slows them further: a
// collapse (an overload of 10,000 events/s for 15 s made 64,000
// deferrals and minutes of delay). Past the ration a task that would be
// deferred makes the consumer wait instead (admitWait, at most maxWait,
// then it is deferred after all), and a crowded window's queues are cut
// back only as far as the ration allows: the overload stays in the stream
// as back-pressure, where it costs nothing. A really slow target among
// healthy ones is still deferred, for its overflow is far below the ration.
//
// Memory stays bounded by the consumer's MaxAckPending: a queued task is an
// unacknowledged message, and the consumer hands out no more than that.
//
// Why not a consumer per target kind: a slow HTTP endpoint would still
// stall every other HTTP endpoint. Why not a consumer per target: targets
// come and go with PutTargets, and thousands of consumers would each cost
// the server a pull loop; the limiter gives the same isolation from one
// consumer.
type limiter struct {
	perTarget int
	maxWait   time.Duration
	maxQueue  int
	crowdedAt int
	mu        sync.Mutex
	targets   map[string]*targetState
	// held counts the tasks in flight and queued, over all targets;
	// direct, the first attempts among them made without the stream.
	held, direct int
	// defers rations deferrals; see limiter.
	defers *rate.Limiter
	// now is time.Now; tests fix it.
	now func() time.Time
}

type targetState struct {
	// calls holds the start of each call in flight, by slot; free lists
	// the unused slots. inflight = len(calls) - len(free).
	calls []time.Time
	free  []int
	queue []*job
	// latency is a moving average of the target's calls.
	latency time.Duration
	// progress is when a call of the target last ended, or its first
	// call started after it had none in flight.
	progress time.Time
	// stall is, when last checked (trim) with calls in flight, how long
	// none had ended: it bounds the latency from below before calls end.
	stall time.Duration
	// idle is when the target last had nothing in flight or queued.
	idle time.Time
}

func (t *targetState) inflight() int { return len(t.calls) - len(t.free) }

// lat is the target's expected call latency; see limiter.
func (t *targetState) lat() time.Duration { return max(t.latency, t.stall) }

// room is the longest queue t drains within maxWait.
func (l *limiter) room(t *targetState) int {
	lat := t.lat()
	if lat <= 0 {
		return l.maxQueue
	}
	return int(min(int64(l.maxQueue), int64(l.maxWait)*int64(l.perTarget)/int64(lat)))
}

type admission int

// admit's answers: run the task now; it waits in its target's queue;
// defer it through the stream; or (admitWait) the target is healthy but
// has as many tasks as it may hold, and the consumer should wait until it
// has room instead of taking more tasks from the stream.
//
// Why the consumer waits rather than defers for a healthy target: its tasks
// are beyond its share only because the deliverer as a whole is
// overloaded (more offered than it can call), and deferring then does not
// make any task sooner; it adds a publish, a schedule, a re-delivery and
// an acknowledgement per task to a process already short of CPU, and the
// consumer, free to pull, defers the whole backlog of the stream at the
// speed it can publish, over and over: an overload of 10,000 events/s for
// ten seconds became 58,000 deferrals and a backlog of minutes. Waiting
// is back-pressure: the tasks stay in the stream at no cost, and the
// consumer resumes as soon as the target's queue shrinks, which for a
// healthy target is within its call latency / perTarget. Other targets'
// tasks already taken keep running meanwhile; the ones behind in the
// stream wait as they would behind any burst. The wait is bounded
// (maxWait per task, then the task is deferred after all), and a slow
// target never makes the consumer wait.
const (
	admitRun admission = iota
	admitQueued
	admitDefer
	admitWait
)

const (
	// defaultMaxWait is how long a task may be expected to wait behind
	// its own target before it is deferred instead. Deferral costs a
	// publish, a schedule, and at least 250 ms; below a second, waiting
	// in memory is cheaper and sooner.
	defaultMaxWait = time.Second
	// trimEvery is how often queues are checked against their targets'
	// latest latency, and the oldest call's age measured.
	trimEvery = 100 * time.Millisecond
	// stallFloor: no call ending for less than this says more about
	// this process (a GC pause, a busy CPU) than about the target, and
	// does not count as a stall.
	stallFloor = 250 * time.Millisecond
	// minDefer is the shortest deferral: JetStream fires schedules at most
	// every 250 ms anyway.
	minDefer = 250 * time.Millisecond
	// blockFor: a target that drains maxQueue tasks within this is
	// healthy (see healthy): with the defaults, calls of up to about
	// 128 ms. A CPU-starved process stretches its healthy targets' calls
	// to tens of milliseconds; a target slower than this is slow.
	blockFor = 20 * time.Second
	// idleForget is how long an idle target's state (its latency) is
	// kept.
	idleForget = time.Minute
	// deferRate is the ration of deferrals a second (and its burst).
	deferRate = 500
)

// newLimiter allows perTarget calls in flight per target, for a consumer
// window of window tasks (MaxAckPending).
func newLimiter(perTarget, window int) *limiter {
	return &limiter{perTarget: perTarget, maxWait: defaultMaxWait, maxQueue: max(window/2, 1), crowdedAt: max(window*3/4, 1),
		targets: map[string]*targetState{}, now: time.Now, defers: rate.NewLimiter(deferRate, deferRate)}
}

// target returns the state of the target key, new if it has none; l.mu
// is held.
func (l *limiter) target(key string) *targetState {
	t := l.targets[key]
	if t == nil {
		t = &targetState{}
		l.targets[key] = t
	}
	return t
}

// admit returns admitRun with the call's slot, admitQueued when j waits in
// the target's queue (and will be returned by done), or admitDefer.
func (l *limiter) admit(key string, j *job) (admission, int) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.target(key)
	if t.inflight() < l.perTarget {
		l.held++
		return admitRun, t.take(now)
	}
	if n := len(t.queue) + 1; n <= l.room(t) || (n <= l.maxQueue && l.held < l.crowdedAt) {
		l.held++
		j.queued = now
		t.queue = append(t.queue, j)
		return admitQueued, 0
	}
	if l.healthy(t) || !l.defers.AllowN(now, 1) {
		return admitWait, 0
	}
	return admitDefer, 0
}

// admitDirect admits j, a first attempt offered without its task stored
// (direct.go), if its target is quick and not stalled: to a free slot
// (admitRun), or to the target's queue (admitQueued) when that drains
// within maxWait or the target is healthy. When the process already holds
// all it may (a crowded window, or directMaxInflight direct attempts), a
// healthy target's attempt answers admitWait: the process is overloaded,
// and the caller should wait rather than store the task, which would only
// add work. Otherwise, and for a slow target, admitDefer: the task is to
// be stored, where the limiter's queueing and deferral isolate the target.
func (l *limiter) admitDirect(key string, j *job) (admission, int) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.target(key)
	if t.lat() > directMaxLatency || (t.inflight() > 0 && now.Sub(t.progress) >= stallFloor) {
		return admitDefer, 0 // slow, or none of its calls has ended for a while
	}
	if l.held >= l.crowdedAt || l.direct >= directMaxInflight {
		if l.healthy(t) {
			return admitWait, 0
		}
		return admitDefer, 0
	}
	if t.inflight() < l.perTarget {
		l.held++
		l.direct++
		return admitRun, t.take(now)
	}
	if len(t.queue) < l.room(t) || l.healthy(t) {
		l.held++
		l.direct++
		j.queued = now
		t.queue = append(t.queue, j)
		return admitQueued, 0
	}
	return admitDefer, 0
}

// healthy reports whether t would drain a full queue (maxQueue) within
// blockFor: a target that is busy only because it is sent more than this
// process can deliver, not because it is slow. Its overflow waits in the
// stream (admitWait) rather than being deferred; see admission.
func (l *limiter) healthy(t *targetState) bool {
	return time.Duration(l.maxQueue)*t.lat() <= blockFor*time.Duration(l.perTarget)
}

// take marks a slot busy from now.
func (t *targetState) take(now time.Time) int {
	if t.inflight() == 0 {
		t.progress = now
	}
	if n := len(t.free); n > 0 {
		s := t.free[n-1]
		t.free = t.free[:n-1]
		t.calls[s] = now
		return s
	}
	t.calls = append(t.calls, now)
	return len(t.calls) - 1
}

// done records the end of the call of finished in slot, which took took,
// and returns
// the target's next queued task, which inherits the slot, or nil.
func (l *limiter) done(key string, slot int, took time.Duration, finished *job) *job {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.targets[key]
	l.held--
	if finished.direct {
		l.direct--
	}
	t.progress = now
	if t.latency == 0 {
		t.latency = took
	} else {
		t.latency = (7*t.latency + took) / 8
	}
	if len(t.queue) == 0 {
		t.calls[slot] = time.Time{}
		t.free = append(t.free, slot)
		if t.inflight() == 0 {
			t.idle = now
		}
		return nil
	}
	j := t.queue[0]
	t.queue[0] = nil
	t.queue = t.queue[1:]
	t.calls[slot] = now
	return j
}

// trim measures each target's oldest call in flight and, when the window
// is crowded, takes from the queues the tasks (newest first) beyond their
// target's room: the caller defers them. It also keeps queued tasks alive
// on the consumer (InProgress) and forgets idle targets.
func (l *limiter) trim() []deferral {
	now := l.now()
	var out []deferral
	l.mu.Lock()
	defer l.mu.Unlock()
	crowded := l.held >= l.crowdedAt
	for key, t := range l.targets {
		if t.inflight() == 0 && len(t.queue) == 0 {
			if now.Sub(t.idle) > idleForget {
				delete(l.targets, key)
			}
			continue
		}
		t.stall = 0
		if t.inflight() > 0 {
			if s := now.Sub(t.progress); s >= stallFloor {
				t.stall = s
			}
		}
		if n := l.room(t); crowded && n < len(t.queue) {
			// Within the ration: n grows to what is left of the queue
			// beyond it.
			n = max(n, len(t.queue)-int(l.defers.TokensAt(now)))
			if cut := len(t.queue) - n; cut > 0 && l.defers.AllowN(now, cut) {
				delay := l.delayLocked(t)
				for i, j := range t.queue[n:] {
					out = append(out, deferral{j, delay})
					t.queue[n+i] = nil
					if j.direct {
						l.direct--
					}
				}
				l.held -= cut
				t.queue = t.queue[:n]
			}
		}
		// Tasks queued beyond their room can wait longer than ackWait;
		// InProgress keeps them from being handed out a second time.
		for _, j := range t.queue {
			if now.Sub(j.queued) > ackWait/3 && j.msg != nil {
				_ = j.msg.InProgress()
				j.queued = now
			}
		}
	}
	return out
}

// deferral is a task taken back from a queue, to re-publish after delay.
type deferral struct {
	j     *job
	delay time.Duration
}

// deferDelay is about when the target's current backlog should be done,
// with jitter, at least minDefer and at most a minute.
func (l *limiter) deferDelay(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t := l.targets[key]; t != nil {
		return l.delayLocked(t)
	}
	return l.delayLocked(&targetState{})
}

func (l *limiter) delayLocked(t *targetState) time.Duration {
	d := t.lat() * time.Duration(1+(t.inflight()+len(t.queue))/l.perTarget)
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
		l.held -= len(t.queue)
		for _, j := range t.queue {
			if j.direct {
				l.direct--
			}
		}
		t.queue = nil
	}
	return out
}
