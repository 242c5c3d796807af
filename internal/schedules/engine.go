package schedules

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchyard/switchyard/internal/match"
	"github.com/switchyard/switchyard/internal/scheduler"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/schedule"
)

// The engine fires schedules. Every Switchyard process runs one over the
// same bucket; exactly one firing of each occurrence, with several
// processes and across restarts, rests on the two mechanisms the
// scheduled rules of package scheduler use:
//
//   - the task of an occurrence carries a JetStream message id derived
//     from the schedule ARN and the occurrence (occurrenceID), so that the
//     processes racing for it store it once (the delivery stream's
//     duplicate window, two minutes, is far longer than the race);
//   - the schedule's fire record ("f." key) is advanced to the occurrence
//     with optimistic concurrency after the task is stored, and read
//     before: an occurrence recorded is never published again, whoever
//     recorded it and whenever.
//
// Publish, then record: a crash between the two leaves the occurrence
// unrecorded and the next process publishes it again, which the message id
// discards if it is within two minutes (a crash of every process for longer,
// at exactly that point, would deliver the occurrence twice: at least once
// rather than at most once, as AWS's targets are invoked "at least once").
//
// Missed occurrences. An occurrence a process was down for (all
// processes: any one fires it) is fired late, once, when one is back: the
// fire record says what was last fired, and the first occurrence after it
// is due at once; the others missed in between are not fired (AWS does not
// document catching up, and a burst of a schedule's missed occurrences
// would hit its target at once). A disabled schedule's occurrences are not
// fired when it is enabled again, nor are those before a schedule was
// created or last updated.
//
// Flexible time windows. An occurrence of a schedule with Mode FLEXIBLE
// fires at a moment within MaximumWindowInMinutes after its time ("each
// fire spread within the window"), the same moment in every process: a
// hash of the schedule ARN and the occurrence picks the offset, so that
// many schedules with the same expression spread over the window.

var (
	firedTotal = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_scheduler_fired_total",
		Help: "Occurrences of EventBridge Scheduler schedules this process fired (recorded).",
	})
	lateness = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "switchyard_scheduler_fire_lateness_seconds",
		Help:    "How late this process stored the task of a schedule's occurrence, after its due time (with the flexible window's offset).",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
	})
	failedFires = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_scheduler_fire_errors_total",
		Help: "Attempts to fire an occurrence of a schedule that failed (storage unavailable); they are retried.",
	})
)

// timing is what the engine keeps of a schedule: enough to compute its
// occurrences. The rest (the target, its input) is read from the bucket
// when it fires, so that a hundred thousand schedules cost little memory.
type timing struct {
	sched       schedule.Schedule
	loc         *time.Location
	start, end  time.Time // zero: none
	anchor      time.Time // rate(): the first occurrence
	from        time.Time // occurrences are strictly after from
	window      time.Duration
	deleteAfter bool
	enabled     bool
	arn         string
	rateUnit    time.Duration // the length of rate()'s minute (time.Minute; tests shrink it)
}

// timingOf derives the timing of a stored schedule.
func timingOf(sc *Schedule, rateMinute time.Duration) (*timing, error) {
	s, err := schedule.ParseScheduler(sc.ScheduleExpression)
	if err != nil {
		return nil, err
	}
	t := &timing{sched: s, loc: time.UTC, enabled: sc.State == "ENABLED", arn: sc.Arn, rateUnit: rateMinute}
	if z := sc.ScheduleExpressionTimezone; z != nil {
		if t.loc, err = loadZone(*z); err != nil {
			return nil, err
		}
	}
	if sc.StartDate != nil {
		t.start = sc.StartDate.Time
	}
	if sc.EndDate != nil {
		t.end = sc.EndDate.Time
	}
	if w := sc.FlexibleTimeWindow; w.Mode == "FLEXIBLE" && w.MaximumWindowInMinutes != nil {
		t.window = time.Duration(*w.MaximumWindowInMinutes) * time.Minute
	}
	t.deleteAfter = sc.ActionAfterCompletion != nil && *sc.ActionAfterCompletion == "DELETE"
	// Occurrences from the minute the schedule was written (AWS's
	// precision is the minute: "if you set your schedule to run at 1:00,
	// it will invoke the target API between 1:00:00 and 1:00:59").
	// (rate()'s minute is rateMinute, which tests shrink.)
	unit := time.Minute
	if _, ok := s.(*schedule.Rate); ok && rateMinute > 0 {
		unit = rateMinute
	}
	t.from = sc.LastModificationDate.Truncate(unit).Add(-time.Nanosecond)
	// A rate schedule without a StartDate "starts invoking the target
	// immediately"; with one, its first occurrence is the StartDate.
	t.anchor = sc.CreationDate.Truncate(unit)
	if !t.start.IsZero() {
		t.anchor = t.start
	}
	if _, ok := s.(*schedule.At); ok {
		// "EventBridge Scheduler ignores StartDate and EndDate for
		// one-time schedules" (CreateSchedule, API Reference).
		t.start, t.end = time.Time{}, time.Time{}
	}
	return t, nil
}

// next returns the first occurrence strictly after after, or the zero
// Time when none is left.
func (t *timing) next(after time.Time) time.Time {
	var n time.Time
	switch s := t.sched.(type) {
	case *schedule.At:
		if in := s.In(t.loc); in.After(after) {
			n = in.UTC()
		}
	case *schedule.Rate:
		p := time.Duration(s.Value) * (s.Unit / time.Minute) * t.rateUnit
		if p <= 0 {
			return time.Time{}
		}
		a := t.anchor
		if after.Before(a) {
			n = a
		} else {
			k := after.Sub(a)/p + 1
			n = a.Add(k * p)
		}
		if !t.start.IsZero() && n.Before(t.start) {
			n = t.start
		}
	case *schedule.Cron:
		from := after
		if !t.start.IsZero() && from.Before(t.start) {
			from = t.start.Add(-time.Nanosecond)
		}
		n = s.NextIn(from, t.loc)
	}
	if !n.IsZero() && !t.end.IsZero() && n.After(t.end) {
		return time.Time{}
	}
	return n
}

// offset is the flexible window's delay of the occurrence at tick.
func (t *timing) offset(tick time.Time) time.Duration {
	if t.window <= 0 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(t.arn + "|" + tick.UTC().Format(time.RFC3339Nano)))
	return time.Duration(h.Sum64()%uint64(t.window/time.Second)) * time.Second
}

// entry is one schedule in the engine.
type entry struct {
	key  string
	rev  uint64
	t    *timing
	tick time.Time // the next occurrence
	due  time.Time // tick plus the flexible offset
	idx  int       // in the heap; -1 when not in it
}

type dueHeap []*entry

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].idx = i; h[j].idx = j }
func (h *dueHeap) Push(x any)        { e := x.(*entry); e.idx = len(*h); *h = append(*h, e) }
func (h *dueHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.idx = -1
	return e
}

// firing is one occurrence handed to a worker.
type firing struct {
	key      string
	rev      uint64
	tick     time.Time
	due      time.Time
	t        *timing
	deleting bool // no occurrence left: delete the schedule (ActionAfterCompletion DELETE)
}

// Engine fires the schedules of a bucket.
type Engine struct {
	repo *repo
	js   jetstream.JetStream
	log  *slog.Logger
	// RateMinute is the length of rate()'s minute: time.Minute but in
	// tests, which shrink it to see rate(1 minute) fire in seconds.
	RateMinute time.Duration
	// Workers is how many occurrences are fired at once.
	Workers int
	// Observe, if set, is called with the lateness of each occurrence
	// this process fired (benchmarks).
	Observe func(late time.Duration)

	mu      sync.Mutex
	entries map[string]*entry
	heap    dueHeap
	fired   map[string]time.Time // the last occurrence known fired, by schedule key
	revs    map[string]uint64    // the fire record's revision last seen, by schedule key
	kick    chan struct{}
	ready   chan struct{}

	// Claimed counts the occurrences this engine fired (recorded).
	Claimed atomic.Int64
	// applied is the bucket revision of the last schedule change applied.
	applied atomic.Uint64
	loaded  atomic.Bool
}

// Keys returns the keys of the schedules the engine holds that start with
// prefix, sorted; ok is false until the engine has loaded the bucket.
// ListSchedules pages through these rather than listing the bucket's keys
// for every page, which with a hundred thousand schedules cost seconds a
// page.
func (e *Engine) Keys(prefix string) (keys []string, ok bool) {
	if !e.loaded.Load() {
		return nil, false
	}
	e.mu.Lock()
	for k := range e.entries {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	e.mu.Unlock()
	slices.Sort(keys)
	return keys, true
}

// WaitApplied waits, up to ctx's end or a second, until the engine has
// applied the bucket's changes up to revision rev: a schedule this process
// just wrote is then listed.
func (e *Engine) WaitApplied(ctx context.Context, rev uint64) {
	deadline := time.Now().Add(time.Second)
	for e.applied.Load() < rev && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
	}
}

func newEngine(r *repo, js jetstream.JetStream, log *slog.Logger) *Engine {
	return &Engine{repo: r, js: js, log: log, RateMinute: time.Minute, Workers: 128,
		entries: map[string]*entry{}, fired: map[string]time.Time{}, revs: map[string]uint64{}, kick: make(chan struct{}, 1), ready: make(chan struct{})}
}

// Ready is closed once the engine has loaded every schedule.
func (e *Engine) Ready() <-chan struct{} { return e.ready }

// Len is the number of schedules the engine tracks.
func (e *Engine) Len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.entries)
}

// Run fires schedules until ctx ends.
//
// Storage trouble does not end it: if the bucket cannot be read or its
// watch ends, the engine logs it and starts over a second later (the
// occurrences it knows keep their places; the watch replays the bucket).
func (e *Engine) Run(ctx context.Context) error {
	for {
		err := e.run(ctx)
		if ctx.Err() != nil {
			return nil
		}
		e.log.Error("scheduler: engine interrupted; starting over", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func (e *Engine) run(ctx context.Context) error {
	if err := e.loadLedger(ctx); err != nil {
		return err
	}
	w, err := e.repo.kv.Watch(ctx, "s.>")
	if err != nil {
		return fmt.Errorf("watch schedules: %w", err)
	}
	defer func() { _ = w.Stop() }()
	work := make(chan firing, 1024)
	var wg sync.WaitGroup
	for i := 0; i < max(e.Workers, 1); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				e.fire(ctx, f)
			}
		}()
	}
	defer func() { close(work); wg.Wait() }()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		for _, f := range e.dueNow(time.Now()) {
			select {
			case work <- f:
			case <-ctx.Done():
				return nil
			}
		}
		timer.Reset(e.wait(time.Now()))
		select {
		case <-ctx.Done():
			return nil
		case <-e.kick:
		case <-timer.C:
		case up, ok := <-w.Updates():
			if !ok {
				return errors.New("schedules watch ended")
			}
			if up == nil {
				e.markLoaded()
				continue
			}
			e.apply(up)
			// Take the rest of a burst before computing what is due.
			for more := true; more; {
				select {
				case up, ok := <-w.Updates():
					if !ok {
						return errors.New("schedules watch ended")
					}
					if up == nil {
						e.markLoaded()
						continue
					}
					e.apply(up)
				default:
					more = false
				}
			}
		}
	}
}

// markLoaded notes that the bucket's schedules are all applied.
func (e *Engine) markLoaded() {
	if !e.loaded.Swap(true) {
		close(e.ready)
	}
}

// loadLedger reads the fire records, so that what was fired before a
// restart (or by other processes) is known without a read per schedule.
func (e *Engine) loadLedger(ctx context.Context) error {
	w, err := e.repo.kv.Watch(ctx, "f.>", jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("watch fire records: %w", err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case up, ok := <-w.Updates():
			if !ok {
				return errors.New("fire records watch ended")
			}
			if up == nil {
				return nil
			}
			k := "s" + up.Key()[1:]
			e.mu.Lock()
			e.revs[k] = up.Revision()
			if t, err := time.Parse(time.RFC3339Nano, string(up.Value())); err == nil && t.After(e.fired[k]) {
				e.fired[k] = t
			}
			e.mu.Unlock()
		}
	}
}

// apply takes a change of the bucket's schedules into the heap.
func (e *Engine) apply(up jetstream.KeyValueEntry) {
	key := up.Key()
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.applied.Store(up.Revision())
	old := e.entries[key]
	if old != nil && old.idx >= 0 {
		heap.Remove(&e.heap, old.idx)
	}
	if up.Operation() != jetstream.KeyValuePut {
		delete(e.entries, key)
		delete(e.fired, key)
		delete(e.revs, key)
		return
	}
	sc, err := decodeSchedule(key, up.Value())
	if err == nil {
		var t *timing
		if t, err = timingOf(sc, e.RateMinute); err == nil {
			en := &entry{key: key, rev: up.Revision(), t: t, idx: -1}
			e.entries[key] = en
			e.schedule(en)
			return
		}
	}
	e.log.Error("scheduler: stored schedule unreadable; not fired", "key", key, "err", err)
	delete(e.entries, key)
}

// schedule sets en's next occurrence, after the later of what was last
// fired and the schedule's own start, and puts it in the heap. e.mu is
// held.
func (e *Engine) schedule(en *entry) {
	if !en.t.enabled {
		return
	}
	from := en.t.from
	if f, ok := e.fired[en.key]; ok && f.After(from) {
		from = f
	}
	en.tick = en.t.next(from)
	if en.tick.IsZero() {
		if en.t.deleteAfter {
			// Nothing left to fire: the schedule is deleted, as
			// ActionAfterCompletion DELETE asks, by the next round.
			en.due = time.Time{}
			heap.Push(&e.heap, en)
		}
		return
	}
	en.due = en.tick.Add(en.t.offset(en.tick))
	heap.Push(&e.heap, en)
}

// dueNow pops the occurrences due by now and sets each entry's next one.
func (e *Engine) dueNow(now time.Time) []firing {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []firing
	for len(e.heap) > 0 && !e.heap[0].due.After(now) && len(out) < 4096 {
		en := heap.Pop(&e.heap).(*entry)
		if en.tick.IsZero() {
			out = append(out, firing{key: en.key, rev: en.rev, t: en.t, deleting: true})
			continue
		}
		out = append(out, firing{key: en.key, rev: en.rev, tick: en.tick, due: en.due, t: en.t})
		e.fired[en.key] = en.tick
		// The next occurrence after this one; if that too is already
		// past (the process was down, or is behind), the first after
		// now: missed occurrences are fired late once, not caught up.
		n := en.t.next(en.tick)
		if !n.IsZero() && n.Add(en.t.offset(n)).Before(now.Add(-time.Minute)) {
			n = en.t.next(now)
		}
		en.tick = n
		if n.IsZero() {
			// The last occurrence: its firing deletes the schedule if
			// ActionAfterCompletion says so (fireOnce).
			continue
		}
		en.due = n.Add(en.t.offset(n))
		heap.Push(&e.heap, en)
	}
	return out
}

// wait is how long until the next occurrence is due.
func (e *Engine) wait(now time.Time) time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.heap) == 0 {
		return time.Hour
	}
	return max(e.heap[0].due.Sub(now), 0)
}

// fire fires one occurrence, or deletes a finished schedule.
func (e *Engine) fire(ctx context.Context, f firing) {
	if f.deleting {
		if err := e.repo.deleteSchedule(ctx, f.key, f.rev); err != nil && !store.IsConflict(err) && ctx.Err() == nil {
			e.log.Warn("scheduler: finished schedule not deleted", "key", f.key, "err", err)
		}
		return
	}
	for attempt := 0; ctx.Err() == nil; attempt++ {
		err := e.fireOnce(ctx, f)
		if err == nil {
			return
		}
		failedFires.Inc()
		e.log.Warn("scheduler: occurrence not fired yet; retrying", "schedule", f.t.arn, "occurrence", f.tick, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(min(time.Duration(attempt+1)*500*time.Millisecond, 10*time.Second)):
		}
	}
}

// finishWithin bounds how long an occurrence begun before a shutdown may
// take to finish: its publish and claim are not cut off between the two
// by the shutdown (the process's store closes only after the engine has
// returned), which would leave a task stored and unclaimed, for the next
// process to fire again once the stored copy is delivered and gone.
const finishWithin = 5 * time.Second

func (e *Engine) fireOnce(ctx context.Context, f firing) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishWithin)
	defer cancel()
	sc, rev, err := e.repo.getScheduleKey(ctx, f.key)
	if err != nil {
		return err
	}
	if sc == nil || sc.State != "ENABLED" {
		return nil // deleted or disabled since
	}
	if rev != f.rev {
		// Changed since: fire only if the occurrence is still one of it.
		t, err := timingOf(sc, e.RateMinute)
		if err != nil || !t.next(f.tick.Add(-time.Nanosecond)).Equal(f.tick) || !f.tick.After(t.from) {
			return nil
		}
	}
	// Whether the occurrence was fired already (by this process before a
	// restart, or by another) is read from its record; but an occurrence
	// due within the last minute, well inside the delivery stream's
	// two-minute duplicate window, is published without that read: if
	// another process fired it, it did so within the window, the copy is
	// discarded, and the claim below finds the record ahead. That saves a
	// round trip per occurrence when many fall due together.
	e.mu.Lock()
	lrev := e.revs[f.key]
	e.mu.Unlock()
	if time.Since(f.due) >= time.Minute {
		var last time.Time
		if last, lrev, err = e.repo.lastFired(ctx, f.key); err != nil {
			return err
		}
		if !last.Before(f.tick) {
			return nil
		}
	}
	scope, _, _, _ := parseScheduleKey(f.key)
	now := time.Now()
	task, id := taskOf(sc, scope, f.tick, now)
	m, err := match.TaskMsg(scope, TaskBus, id, task)
	if err != nil {
		return err
	}
	if _, err := e.js.PublishMsg(ctx, m); err != nil {
		return fmt.Errorf("store task: %w", err)
	}
	late := time.Since(f.due)
	won, err := e.claim(ctx, f.key, f.tick, lrev)
	if err != nil {
		// The task is stored; its message id keeps a second firing out
		// for two minutes, and the record is written by the retry.
		return err
	}
	if !won {
		return nil
	}
	firedTotal.Inc()
	lateness.Observe(late.Seconds())
	e.Claimed.Add(1)
	if e.Observe != nil {
		e.Observe(late)
	}
	if t, err := timingOf(sc, e.RateMinute); err == nil && t.deleteAfter && t.next(f.tick).IsZero() {
		// "EventBridge Scheduler deletes your schedule after it's last
		// planned invocation" (ActionAfterCompletion DELETE).
		if err := e.repo.deleteSchedule(ctx, f.key, rev); err != nil && !store.IsConflict(err) {
			e.log.Warn("scheduler: finished schedule not deleted", "schedule", sc.Arn, "err", err)
		}
	}
	return nil
}

// claim advances the fire record of key to tick, unless it holds tick or
// a later occurrence (scheduler.Claim, as the scheduled rules of
// EventBridge are claimed); it reports whether this call advanced it.
func (e *Engine) claim(ctx context.Context, key string, tick time.Time, rev uint64) (bool, error) {
	return scheduler.Claim(ctx, e.repo.kv, ledgerKey(key), tick, rev, func(_ time.Time, rev uint64) {
		e.mu.Lock()
		e.revs[key] = rev
		e.mu.Unlock()
	})
}
