package deliver

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchyard/switchyard/internal/match"
)

// First attempts without the stream.
//
// A task the router stores costs JetStream a publish, a write, a delivery
// to this process, an acknowledgement and a removal, before and after the
// one call that, for a healthy target, is all the work there is. At 10,000
// events/s that was most of the storage work of the whole process. So the
// router offers each task's first attempt here first (TryFirst): when the
// target can take a call at once, the attempt runs now, in this process,
// and the task is stored only if the attempt does not settle it — a
// failure to retry, written as a retry schedule exactly as for a stored
// task, or a call cut short by shutdown, which the router then stores as
// it would have.
//
// Nothing acknowledged can be lost on the way: the router acknowledges the
// event only once each of its direct attempts has settled (delivered,
// retry stored, dead-lettered) or its task is stored. A crash before that
// redelivers the event, which is routed again: at least once, as for a
// crash between a call and its task's acknowledgement.
//
// Only a target that can take the call soon is tried directly: one with a
// free slot, or a queue it drains within the limiter's maxWait (or any
// queue, if it is healthy: see limiter.healthy), no stall, and calls that
// end quickly (directMaxLatency). When the process holds as many direct
// attempts as it may and the target is healthy, the router waits: the
// process is overloaded, and storing the task would only add to its work. A task that would have to wait goes through the
// stream, as before, where the limiter's queueing and deferral keep slow
// targets from holding anything up; and the router's event waits for its
// direct attempts, so a target that might take seconds is kept off this
// path.

// directMaxLatency is the slowest a target's calls may be, on average, for
// its first attempts to be made directly; directMaxInflight bounds the
// direct attempts in flight in the process. Together they bound how many
// of the router's messages wait for their acknowledgement, and for how
// long, below the router consumer's MaxAckPending: even when every target
// turns slow at once, routing goes on. The latency bound is loose on
// purpose: under a burst every call slows while the CPU is short, and a
// tighter bound sent every task to the stream, which cost more CPU, which
// kept the calls slow (seen: 6 s of delays at 10,000 events/s).
//
// directMaxInflight is the HTTP client's PerHost on purpose: with more
// direct calls in flight than one host takes, the rest waited in the
// client's gate, in no order, long enough for their targets to look
// stalled (limiter.stallFloor), whose next tasks were then stored, at
// several times the cost of a direct call: a 500-target fan-out of 1,000
// events on one host, on 2 CPUs, stored up to 70% of its tasks and made
// ~21,000 calls/s in some runs, ~45,000 in others. With the two equal it
// makes 48,500-53,500 in every run, all of them direct.
const (
	directMaxLatency  = time.Second
	directMaxInflight = PerHost
)

// TryFirst starts the first attempt of a task (its encoded head and event,
// as match.EncodeTask takes them, and its trace header, for the
// delivery-stream subject subj, with task id id) at once, if its target
// can take a call now, and reports whether it did. If it did, settled is called exactly
// once when the attempt is over: with true when the task needs nothing
// more from the caller (delivered, or stored for a retry, or
// dead-lettered), with false when the caller must store the task (the
// attempt was cut short). stored is the event as the stored task holds it
// (sealed, for a bus with a customer managed key; else event itself),
// what a retry stores. Neither may change until then.
func (d *Deliverer) TryFirst(subj string, head, event, stored []byte, trace string, ingested int64, id string, settled func(bool)) bool {
	// Not before Run takes tasks, nor once it is waiting for its calls
	// to end (a call started then would outlive it).
	d.stopMu.RLock()
	defer d.stopMu.RUnlock()
	ctx := d.runCtx.Load()
	if ctx == nil || d.stopped || (*ctx).Err() != nil {
		return false
	}
	m := &directMsg{subject: subj, head: head, event: stored, ingested: ingested, settled: settled}
	j, err := d.jobOf(m, subj, head, event, trace, ingested)
	if err != nil {
		return false // the router stores it; the deliverer reports it
	}
	j.id, j.direct = id, true
	key := j.task.Target.Arn
	var waitUntil time.Time
	for {
		switch adm, slot := d.limiter.admitDirect(key, j); adm {
		case admitRun:
			d.start(*ctx, j, key, slot)
		case admitQueued:
		case admitWait:
			// Overloaded with a healthy target: the router waits (the
			// events wait in their stream, at no cost), at most maxWait.
			now := time.Now()
			if waitUntil.IsZero() {
				waitUntil = now.Add(d.limiter.maxWait)
			}
			if now.Before(waitUntil) && (*ctx).Err() == nil {
				time.Sleep(200 * time.Microsecond)
				continue
			}
			return false
		default:
			return false
		}
		directAttempts.Inc()
		return true
	}
}

// directMsg stands for the stored message of a task tried directly: its
// acknowledgement settles the attempt, and asking for redelivery hands
// the task back to the router to store.
type directMsg struct {
	subject     string
	head, event []byte // event as stored: sealed, for an encrypted bus
	ingested    int64
	settled     func(bool)
	once        sync.Once
}

func (m *directMsg) Data() []byte    { return match.EncodeTask(m.head, m.event, m.ingested) }
func (m *directMsg) Subject() string { return m.subject }
func (m *directMsg) Ack() error      { m.settle(true); return nil }
func (m *directMsg) Term() error     { m.settle(true); return nil }
func (m *directMsg) Nak() error      { m.settle(false); return nil }

// NakWithDelay: the task could not be stored for its retry; the router
// stores it for an attempt now rather than lose it.
func (m *directMsg) NakWithDelay(time.Duration) error { m.settle(false); return nil }

// InProgress: a direct attempt waits in its target's queue for at most
// about a second, and the router's event message has its own, longer,
// acknowledgement wait.
func (m *directMsg) InProgress() error { return nil }

func (m *directMsg) settle(ok bool) { m.once.Do(func() { m.settled(ok) }) }

// directAttempts counts first attempts made without storing the task.
var directAttempts = promauto.NewCounter(prometheus.CounterOpts{
	Name: "switchyard_deliver_direct_attempts_total",
	Help: "First attempts the router handed to this process's deliverer without storing the task, because the target could take the call at once.",
})
