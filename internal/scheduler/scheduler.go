// Package scheduler fires scheduled rules: the rules whose
// ScheduleExpression (rate() or cron(), see package schedule) makes them
// trigger on time rather than on events. At each tick of an enabled rule it
// emits the event AWS sends for a schedule —
//
//	{"version":"0","id":..,"detail-type":"Scheduled Event","source":"aws.events",
//	 "account":..,"time":<tick>,"region":..,"resources":[<rule ARN>],"detail":{}}
//
// — to that rule's own targets: one task per target on the delivery stream,
// built as package match builds the tasks of matched events, so delivery,
// retries and dead letters are the same as for any event. Scheduled events
// do not go through the bus and its patterns, as in AWS. A tick is fired
// stageLead ahead of time: its tasks are stored due at the tick, and a
// deliverer holds them until then, so that the calls are made on time
// however many rules tick together; a rule changed in between is checked
// again at the tick (StillScheduled).
//
// Every Switchyard process runs a Scheduler over its control-plane View.
// Exactly one firing per tick, with several processes on one NATS cluster
// and across restarts, rests on two things: the tasks of a tick carry
// JetStream message ids derived from the rule ARN and the tick, so a tick
// published twice is stored once; and a per-rule record of the last tick
// fired, in the schedule bucket, is advanced with optimistic concurrency so
// that one process claims each tick and a restarted one knows what was
// fired.
//
// Timing follows AWS where it documents it: rate schedules are anchored at
// the rule's creation ("A rate expression starts when you create the
// scheduled event rule"), everything is UTC with one-minute resolution, and
// a disabled rule does not self-trigger. Where AWS is silent (it has no
// downtime its users see) the choices are: a tick is fired at most a minute
// late (AWS: a scheduled rule "runs within that minute"); ticks missed for
// longer — the process was down or stalled — are dropped, not caught up in
// a burst, as the ticks of a disabled rule are never fired when it is
// enabled again; and a change to a rule (PutRule, EnableRule, DisableRule,
// DeleteRule, PutTargets) takes effect from its next tick.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
	"github.com/switchyard/switchyard/internal/match"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/schedule"
)

// Clock is the scheduler's time source. Tests substitute one they advance
// by hand, to run months of schedule in seconds.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer the scheduler uses.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

type realClock struct{}

func (realClock) Now() time.Time                 { return time.Now() }
func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }

// stageLead is how long before a tick the scheduler fires it: stores its
// tasks, due at the tick, and claims it. A deliverer holds the tasks until
// the tick (package deliver, ticks.go), so that at the tick only the calls
// are left: ten thousand rules ticking together took this machine 1.2 to
// 1.9 s to store, claim and call, and the calls alone take a fraction of
// that. Each minute has two rounds: one at the boundary minus stageLead,
// which fires the boundary's ticks ahead, and one at the boundary, which
// fires the ticks of rules that appeared in between (as before, at the
// tick). Ten seconds is well within the tick consumer's acknowledgement
// wait, so held tasks stay with the process that holds them.
const stageLead = 10 * time.Second

// grace is how late a tick may still be fired. Every tick is on a minute
// boundary and (now-grace, now] holds exactly one, so whatever happened
// before, at most one tick per rule is ever fired late.
const grace = time.Minute

// DetailType and Source are those of the events AWS emits for schedules.
const (
	DetailType = "Scheduled Event"
	Source     = "aws.events"
)

// eventNamespace makes the event id of a tick a name-based (v5) UUID of the
// rule ARN and the tick: the same whichever process fires it.
var eventNamespace = uuid.MustParse("8a3c2f4e-5b1d-4c6e-9f70-2d1e3b4a5c6d")

var (
	firedTicks = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_schedule_ticks_fired_total",
		Help: "Ticks of scheduled rules this process fired (claimed).",
	})
	missedTicks = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_schedule_ticks_missed_total",
		Help: "Ticks of scheduled rules dropped because they were over a minute late (downtime, stalls).",
	})
	failedTicks = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_schedule_ticks_failed_total",
		Help: "Ticks whose tasks could not be stored within the minute; they are not fired.",
	})
)

// Scheduler fires the scheduled rules of a View.
type Scheduler struct {
	js    jetstream.JetStream
	kv    jetstream.KeyValue
	view  *control.View
	log   *slog.Logger
	clock Clock
	// workers is how many rules are fired concurrently within a tick.
	workers int
	// lead is how long before a tick its tasks are stored and the tick
	// claimed (0: at the tick); see stageLead.
	lead time.Duration

	// entries are the scheduled rules, by state key; only the Run
	// goroutine touches them.
	entries map[string]*entry

	mu    sync.Mutex
	state map[string]record // last known record of each state key

	// Counters of this instance, for tests (the metrics are per process).
	claimed, lost int64
	// woke, if set, is called after each timer-driven round with its time.
	woke func(now time.Time)
}

// record is a rule's entry in the schedule bucket.
type record struct {
	tick time.Time
	rev  uint64
}

// entry is one scheduled rule as the scheduler tracks it.
type entry struct {
	rule   *control.Rule
	arn    string
	expr   string
	anchor time.Time
	sched  schedule.Schedule
	next   time.Time // zero: no tick left
	done   time.Time // the last tick fired (or found fired)
}

// after returns the rule's first tick strictly after t.
func (e *entry) after(t time.Time) time.Time {
	if r, ok := e.sched.(*schedule.Rate); ok {
		return r.NextFrom(e.anchor, t)
	}
	return e.sched.Next(t)
}

// New returns a scheduler firing the scheduled rules of view through st.
func New(st *store.Store, view *control.View, log *slog.Logger) *Scheduler {
	return &Scheduler{js: st.JS, kv: st.Schedule, view: view, log: log, clock: realClock{}, workers: 64, lead: stageLead,
		entries: map[string]*entry{}, state: map[string]record{}}
}

// stateKey is the schedule-bucket key of a rule.
func stateKey(r *control.Rule) string {
	return r.Account + "." + r.Region + "." + store.Token(r.Bus) + "." + store.Token(r.Name)
}

// Run fires ticks until ctx ends. The View must be running.
func (s *Scheduler) Run(ctx context.Context) error {
	if err := s.load(ctx); err != nil {
		return err
	}
	var rev uint64 // the View revision the entries reflect
	first := true
	// A change seen at a round was made after the previous one: ticks
	// from then on are its to fire. At a start that is the minute past,
	// so a quick restart loses no tick (those fired are in the bucket).
	prev := s.clock.Now().Add(-grace)
	// The first round runs at once, so that a tick missed by a restart
	// within its minute is still fired.
	timer := s.clock.NewTimer(0)
	defer func() { timer.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C():
			now := s.clock.Now()
			// Changes are applied at rounds only: ticks are on minute
			// boundaries, and a burst of control-plane writes then costs
			// one reconciliation.
			if r := s.view.Rev(); r != rev || first {
				s.reconcile(prev)
				rev, first = r, false
			}
			s.round(ctx, now, now.Add(s.lead))
			prev = now
			if ctx.Err() != nil {
				return nil
			}
			// Every tick is on a minute boundary, so waking at each one
			// (and stageLead before it) needs no bookkeeping of the next
			// tick across changes.
			n := s.clock.Now()
			wake := n.Truncate(time.Minute).Add(time.Minute)
			if early := wake.Add(-s.lead); s.lead > 0 && early.After(n) {
				wake = early
			}
			timer = s.clock.NewTimer(wake.Sub(n))
			if s.woke != nil {
				s.woke(now)
			}
		}
	}
}

// load reads the schedule bucket, so that ticks fired before a restart (or
// by other processes) are known without a round trip each.
func (s *Scheduler) load(ctx context.Context) error {
	w, err := s.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("watch schedule bucket: %w", err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("schedule bucket watch ended")
			}
			if e == nil {
				return nil
			}
			if t, err := time.Parse(time.RFC3339, string(e.Value())); err == nil {
				s.state[e.Key()] = record{t, e.Revision()}
			}
		}
	}
}

// reconcile brings the entries in line with the View's scheduled rules. A
// new or changed schedule starts after since: a rule put, enabled or changed
// between two ticks fires at the next, never at one already past.
func (s *Scheduler) reconcile(since time.Time) {
	seen := make(map[string]bool, len(s.entries))
	for _, r := range s.view.ScheduledRules() {
		k := stateKey(r)
		seen[k] = true
		e := s.entries[k]
		if e != nil && (e.rule == r || (e.expr == r.ScheduleExpression && e.anchor.Equal(r.CreationTime))) {
			e.rule, e.arn = r, r.ARN() // targets and the like: used from the next tick
			continue
		}
		sched, err := schedule.Parse(r.ScheduleExpression)
		if err != nil {
			if e == nil || e.expr != r.ScheduleExpression {
				s.log.Error("scheduler: stored schedule expression does not parse; rule not fired", "rule", r.ARN(), "expr", r.ScheduleExpression, "err", err)
			}
			delete(s.entries, k)
			continue
		}
		from := since
		// A cron tick before the rule existed is not one of its ticks.
		if r.CreationTime.After(from) {
			from = r.CreationTime
		}
		ne := &entry{rule: r, arn: r.ARN(), expr: r.ScheduleExpression, anchor: r.CreationTime, sched: sched}
		if e != nil && e.done.After(from) {
			from, ne.done = e.done, e.done
		}
		ne.next = ne.after(from)
		s.entries[k] = ne
	}
	for k := range s.entries {
		if !seen[k] { // deleted or disabled
			delete(s.entries, k)
		}
	}
}

// firing is one tick of one rule.
type firing struct {
	key  string
	rule *control.Rule
	arn  string
	tick time.Time
}

// round fires every tick due at now, and those due by horizon ahead of
// time (their tasks held until the tick; see stageLead).
func (s *Scheduler) round(ctx context.Context, now, horizon time.Time) {
	var due []firing
	for k, e := range s.entries {
		if e.next.IsZero() || e.next.After(horizon) {
			continue
		}
		t := e.next
		if now.Sub(t) >= grace {
			// Missed (downtime, a stall, a clock jump): not caught up.
			missedTicks.Inc()
			s.log.Debug("scheduler: tick missed", "rule", e.arn, "tick", t)
			if t = e.after(now.Add(-grace)); t.IsZero() || t.After(horizon) {
				e.next = t
				continue
			}
		}
		due = append(due, firing{k, e.rule, e.arn, t})
		e.done, e.next = t, e.after(t)
	}
	if len(due) == 0 {
		return
	}
	// All the tasks of the round are sent before any is waited for or
	// claimed, so that deliveries start while claims are written.
	sent := make([]sending, len(due))
	for i, f := range due {
		s.mu.Lock()
		rec, known := s.state[f.key]
		s.mu.Unlock()
		if known && !rec.tick.Before(f.tick) {
			sent[i].skip = true // fired before a restart, or by another process
			continue
		}
		sent[i].futures, sent[i].err = s.send(f.rule, eventID(f.arn, f.tick), f.tick, true)
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(s.workers, len(due)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if !sent[i].skip {
					s.fire(ctx, due[i], sent[i])
				}
			}
		}()
	}
	for i := range due {
		work <- i
	}
	close(work)
	wg.Wait()
}

// sending is the state of a firing's tasks within a round.
type sending struct {
	skip    bool
	futures []jetstream.PubAckFuture
	err     error
}

// eventID is the id of the event of a tick: the same in every process.
func eventID(arn string, tick time.Time) string {
	return uuid.NewSHA1(eventNamespace, []byte(arn+"|"+tick.UTC().Format(time.RFC3339))).String()
}

// fire publishes the tasks of one tick and claims it.
//
// Publish, then claim: a crash between the two leaves the tick unclaimed,
// and whoever fires it next (a restart within the minute, or another
// process racing for it) publishes the same message ids again, which the
// delivery stream's duplicate window (2 minutes, longer than grace)
// discards. Claiming first would instead lose the tick to such a crash,
// since the claim would say it was fired. Processes that race for a tick
// both publish, one copy is stored, and one claim wins.
func (s *Scheduler) fire(ctx context.Context, f firing, sent sending) {
	err := sent.err
	if err == nil {
		err = await(ctx, sent.futures)
	}
	for attempt := 0; err != nil && ctx.Err() == nil; attempt++ {
		if s.clock.Now().Sub(f.tick) >= grace-5*time.Second {
			failedTicks.Inc()
			s.log.Error("scheduler: tick not fired: its tasks could not be stored", "rule", f.arn, "tick", f.tick, "err", err)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
		err = s.publish(ctx, f.rule, eventID(f.arn, f.tick), f.tick, true)
	}
	if err != nil {
		return
	}
	won, err := s.claim(ctx, f.key, f.tick)
	switch {
	case err != nil && ctx.Err() == nil:
		// The tasks are stored; only the record is behind, and the
		// message ids keep a second firing of this tick out.
		s.log.Warn("scheduler: tick fired but not recorded", "rule", f.arn, "tick", f.tick, "err", err)
	case won:
		firedTicks.Inc()
		s.mu.Lock()
		s.claimed++
		s.mu.Unlock()
	default:
		s.mu.Lock()
		s.lost++
		s.mu.Unlock()
	}
}

// publish stores one task per target of rule for the event of a tick: as
// tick tasks, held until the tick and dropped if the rule changed by then,
// or (FireNow) as tasks due at once.
func (s *Scheduler) publish(ctx context.Context, rule *control.Rule, id string, tick time.Time, tickTasks bool) error {
	futures, err := s.send(rule, id, tick, tickTasks)
	if err != nil {
		return err
	}
	return await(ctx, futures)
}

// send publishes the tasks of publish without waiting for them to be stored.
func (s *Scheduler) send(rule *control.Rule, id string, tick time.Time, tickTasks bool) ([]jetstream.PubAckFuture, error) {
	if len(rule.Targets) == 0 {
		return nil, nil
	}
	arn := rule.ARN()
	event := ingest.Envelope(id, DetailType, Source, rule.Scope, tick, []string{arn}, []byte("{}"))
	futures := make([]jetstream.PubAckFuture, 0, len(rule.Targets))
	for _, t := range rule.Targets {
		task := &match.Task{RuleArn: arn, RuleName: rule.Name, Target: t, Event: event, Ingested: tick.UnixMilli()}
		var m *nats.Msg
		var err error
		if tickTasks {
			m, err = match.TickTaskMsg(rule.Scope, rule.Bus, id, task, tick)
		} else {
			m, err = match.TaskMsg(rule.Scope, rule.Bus, id, task)
		}
		if err != nil {
			return nil, err
		}
		f, err := s.js.PublishMsgAsync(m, store.StallWait)
		if err != nil {
			return nil, fmt.Errorf("publish task: %w", err)
		}
		futures = append(futures, f)
	}
	return futures, nil
}

// await waits until every future's message is stored.
func await(ctx context.Context, futures []jetstream.PubAckFuture) error {
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("store task: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// claim advances the rule's record to tick, unless it already holds tick
// or a later one. It reports whether this call advanced it: exactly one
// claimant of a tick does, whatever the number of processes.
func (s *Scheduler) claim(ctx context.Context, key string, tick time.Time) (bool, error) {
	s.mu.Lock()
	rec := s.state[key] // revision 0: no record known
	s.mu.Unlock()
	return Claim(ctx, s.kv, key, tick, rec.rev, func(t time.Time, rev uint64) { s.remember(key, record{t, rev}) })
}

// Claim advances the record under key in kv — the time of the last
// occurrence fired of something scheduled, RFC 3339 — to tick, unless it
// already holds tick or a later one, with optimistic concurrency from
// revision rev (0: no record known). It reports whether this call advanced
// it: exactly one claimant of a tick does, whatever the number of
// processes. seen, if not nil, is told each record read or written (its
// time and revision), for callers that cache them. EventBridge
// Scheduler's schedules (package schedules) are claimed with it too.
func Claim(ctx context.Context, kv jetstream.KeyValue, key string, tick time.Time, rev uint64, seen func(t time.Time, rev uint64)) (bool, error) {
	val := []byte(tick.UTC().Format(time.RFC3339Nano))
	if seen == nil {
		seen = func(time.Time, uint64) {}
	}
	for attempt := 0; attempt < 10; attempt++ {
		nrev, err := store.Swap(ctx, kv, key, val, rev)
		if err == nil {
			seen(tick, nrev)
			return true, nil
		}
		if !store.IsConflict(err) {
			return false, err
		}
		// Someone else wrote the record (or it expired): look again.
		e, err := kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			rev = 0
			continue
		case err != nil:
			return false, err
		}
		t, perr := time.Parse(time.RFC3339Nano, string(e.Value()))
		if perr != nil {
			t = time.Time{} // an unreadable record is overwritten
		}
		rev = e.Revision()
		seen(t, rev)
		if !t.Before(tick) {
			return false, nil
		}
	}
	return false, errors.New("schedule record: too many concurrent updates")
}

func (s *Scheduler) remember(key string, r record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.state[key]; !ok || r.rev > old.rev {
		s.state[key] = r
	}
}

// StillScheduled reports whether the task of a tick, stored ahead of it
// (see stageLead), is still to be delivered at the tick: its rule still
// exists, enabled, with a schedule, and still has that target. A change
// made between the staging and the tick thus applies to the tick, as a
// change made before the staging would (package deliver asks when the
// tick falls due).
func (s *Scheduler) StillScheduled(sc control.Scope, bus string, t *match.Task) bool {
	r, _ := s.view.Rule(sc, bus, t.RuleName)
	if r == nil || r.State != control.StateEnabled || r.ScheduleExpression == "" || r.ARN() != t.RuleArn {
		return false
	}
	for _, rt := range r.Targets {
		if rt.Id == t.Target.Id {
			return rt.Arn == t.Target.Arn
		}
	}
	return false
}

// Fired describes an event FireNow emitted.
type Fired struct {
	EventID string
	Time    time.Time
	Targets int // how many targets it was sent to
}

// FireNow emits the scheduled event of a rule at once, to the rule's
// targets, whatever its state (a disabled rule can be fired by hand, which
// is how tests drive scheduled code without waiting for ticks). It neither
// claims nor moves the rule's ticks. Errors are AWS-shaped:
// ResourceNotFoundException for a missing rule, ValidationException for a
// rule without a schedule.
func (s *Scheduler) FireNow(ctx context.Context, sc control.Scope, busNameOrARN, name string) (Fired, error) {
	bus, err := control.ResolveBus(sc, busNameOrARN)
	if err != nil {
		return Fired{}, err
	}
	r, _ := s.view.Rule(sc, bus, name)
	if r == nil {
		return Fired{}, awserr.NotFound("Rule %s does not exist on EventBus %s.", name, bus)
	}
	if r.ScheduleExpression == "" {
		return Fired{}, awserr.Validation("Rule %s has no ScheduleExpression: only scheduled rules can be fired; rules with an EventPattern are triggered by PutEvents.", name)
	}
	f := Fired{EventID: uuid.NewString(), Time: s.clock.Now().UTC().Truncate(time.Second), Targets: len(r.Targets)}
	if err := s.publish(ctx, r, f.EventID, f.Time, false); err != nil {
		return Fired{}, err
	}
	return f, nil
}
