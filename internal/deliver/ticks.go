package deliver

import (
	"container/heap"
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchyard/switchyard/internal/match"
	"github.com/switchyard/switchyard/internal/store"
)

// Ticks of scheduled rules.
//
// Ten thousand rules with rate(1 minute) all tick at the same instant, and
// a tick is on time only if its call is made within a second of it. Storing
// ten thousand tasks and claiming ten thousand ticks takes this machine
// longer than that by itself, so the scheduler does it ahead of the tick
// (package scheduler), storing each task under store.TickPrefix with the
// tick as its due time (match.HeaderDue). A second consumer of the
// delivery stream takes those tasks as they are stored and holds them here
// until due; at the tick only the calls are left to make.
//
// A held task is an unacknowledged message like any task in a target's
// queue: a crash hands it to another process after ackWait, late but not
// lost. The tick consumer has its own window (tickWindow), so that tasks
// held for a tick never take the places of live deliveries in the main
// consumer's. Between the staging and the tick a rule may be disabled,
// deleted or given other targets; StillScheduled is asked at the tick, and
// a task whose rule no longer fires its target is dropped, so that a
// change made before the tick applies to it, as the scheduler promises.

const (
	tickConsumer = "deliver-ticks"
	// tickWindow is the most tick tasks a process holds (its consumer's
	// MaxAckPending); beyond it they are taken as the held ones are done.
	tickWindow = 50000
)

var (
	ticksHeld = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "switchyard_deliver_ticks_held",
		Help: "Tasks of scheduled rules' ticks stored ahead of their tick and held by this process until due.",
	})
	ticksDropped = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_deliver_ticks_dropped_total",
		Help: "Tick tasks dropped when due because their rule no longer fires that target (disabled, deleted or changed after the tick was staged).",
	})
)

// tickMessages creates (or updates) the tick consumer and starts pulling.
func (d *Deliverer) tickMessages(ctx context.Context) (*store.Iterator, error) {
	cons, err := d.st.JS.CreateOrUpdateConsumer(ctx, store.DeliveryStream, jetstream.ConsumerConfig{
		Durable:       tickConsumer,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		FilterSubject: store.TickPrefix + ">",
		MaxAckPending: tickWindow,
		MaxDeliver:    -1,
	})
	if err != nil {
		return nil, fmt.Errorf("tick consumer: %w", err)
	}
	it, err := store.Messages(ctx, cons)
	if err != nil {
		return nil, fmt.Errorf("tick consume: %w", err)
	}
	return it, nil
}

// runTicks holds the tick tasks of it until due, until ctx ends.
func (d *Deliverer) runTicks(ctx context.Context, it *store.Iterator) {
	h := &heldTicks{wake: make(chan struct{}, 1)}
	released := make(chan struct{})
	go func() {
		defer close(released)
		d.releaseTicks(ctx, h)
	}()
	d.eachTask(ctx, it, "deliver: next tick task", func(j *job, msg jetstream.Msg) {
		var due time.Time // none: a retry of a tick task, due now
		if ms, err := strconv.ParseInt(msg.Headers().Get(match.HeaderDue), 10, 64); err == nil {
			due = time.UnixMilli(ms)
		}
		h.push(j, due)
	})
	<-released
	for _, j := range h.drain() {
		_ = j.msg.Nak()
	}
}

// releaseTicks dispatches each held task when it is due, and keeps the
// others alive on the consumer.
func (d *Deliverer) releaseTicks(ctx context.Context, h *heldTicks) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		for _, j := range h.due(now) {
			if !j.dueAt.IsZero() && d.StillScheduled != nil && !d.StillScheduled(j.scope, j.bus, &j.task) {
				ticksDropped.Inc()
				_ = j.msg.Ack()
				continue
			}
			d.dispatch(ctx, j)
		}
		next, ok := h.next()
		wait := ackWait / 3
		if ok {
			wait = min(wait, next.Sub(now))
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
		case <-timer.C:
			h.keepAlive(time.Now())
		}
	}
}

// heldTicks is a min-heap of tick tasks by due time.
type heldTicks struct {
	mu   sync.Mutex
	jobs tickHeap
	// wake is signalled when a task due sooner than the others arrives.
	wake chan struct{}
}

func (h *heldTicks) push(j *job, due time.Time) {
	j.dueAt = due
	j.queued = time.Now()
	h.mu.Lock()
	first := len(h.jobs) == 0 || due.Before(h.jobs[0].dueAt)
	heap.Push(&h.jobs, j)
	ticksHeld.Set(float64(len(h.jobs)))
	h.mu.Unlock()
	if first {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
}

// due pops the tasks due at now.
func (h *heldTicks) due(now time.Time) []*job {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*job
	for len(h.jobs) > 0 && !h.jobs[0].dueAt.After(now) {
		out = append(out, heap.Pop(&h.jobs).(*job))
	}
	ticksHeld.Set(float64(len(h.jobs)))
	return out
}

func (h *heldTicks) next() (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.jobs) == 0 {
		return time.Time{}, false
	}
	return h.jobs[0].dueAt, true
}

// keepAlive tells the consumer that tasks held long are still being
// worked on, so that it does not hand them to another process.
func (h *heldTicks) keepAlive(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, j := range h.jobs {
		if now.Sub(j.queued) > ackWait/3 {
			_ = j.msg.InProgress()
			j.queued = now
		}
	}
}

func (h *heldTicks) drain() []*job {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := []*job(h.jobs)
	h.jobs = nil
	ticksHeld.Set(0)
	return out
}

type tickHeap []*job

func (q tickHeap) Len() int           { return len(q) }
func (q tickHeap) Less(i, k int) bool { return q[i].dueAt.Before(q[k].dueAt) }
func (q tickHeap) Swap(i, k int)      { q[i], q[k] = q[k], q[i] }
func (q *tickHeap) Push(x any)        { *q = append(*q, x.(*job)) }
func (q *tickHeap) Pop() any {
	old := *q
	j := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return j
}
