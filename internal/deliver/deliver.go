// Package deliver invokes targets: it consumes the delivery stream and hands
// each task's event to the Invoker registered for its target's kind (another
// event bus, an HTTP endpoint, ...), retrying failures with exponential
// backoff within the target's retry policy and dead-lettering what the
// policy gives up. An event's X-Ray trace header (match.Task.Trace) goes
// with every attempt, as the call's X-Amzn-Trace-Id header
// (Invocation.Trace), and with its dead letter (dlq.go). The event of a
// task of a bus with a customer managed key is stored sealed and opened
// here (package busenc); one that no longer opens goes to the target's
// dead-letter queue.
//
// Nothing waits in memory or on the consumer. A task to retry is
// acknowledged and written back to the stream as a JetStream message
// schedule (retry.go) that the NATS server re-publishes onto the task's
// subject when it is due, so thousands of events in backoff hold neither a
// consumer slot nor Switchyard memory, and survive any crash. Targets are
// isolated from each other by a per-target limit on calls in flight
// (limiter.go): a slow or hanging target occupies only its own slots.
package deliver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchyard/switchyard/envelope"
	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/busenc"
	"github.com/switchyard/switchyard/internal/buslog"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
	"github.com/switchyard/switchyard/internal/match"
	"github.com/switchyard/switchyard/internal/metrics"
	"github.com/switchyard/switchyard/internal/store"
)

// AWS's retry-policy defaults.
const (
	DefaultMaxAttempts = 185
	DefaultMaxAge      = 24 * time.Hour
)

const consumerName = "deliver"

// ackWait is how long a task may stay unacknowledged before JetStream
// hands it out again (after a crash). Tasks queued behind a busy target
// are kept alive with InProgress; see limiter.go.
const ackWait = 30 * time.Second

// DefaultWindow is the default of Deliverer.Window.
const DefaultWindow = 20000

// Deliverer consumes delivery tasks.
type Deliverer struct {
	st       *store.Store
	log      *slog.Logger
	invokers map[string]Invoker

	// PerTarget is the most calls of one target (one ARN or URL) in
	// flight at once; see limiter.go.
	PerTarget int
	// BaseDelay scales the whole retry schedule: the first retry waits
	// about BaseDelay, the cap is 180 × BaseDelay (1 s and 3 min by
	// default). Tests shrink it.
	BaseDelay time.Duration
	// Window is the most tasks this process takes from the stream at
	// once, in flight or queued behind their target: the consumer's
	// MaxAckPending, which bounds the memory they take (limiter.go).
	// DefaultWindow when zero.
	Window int
	// AWS configures the SDK clients of dead-letter queues.
	AWS *awsclient.Factory
	// StillScheduled, if set, is asked when a scheduled rule's tick
	// task, stored ahead of the tick, falls due, whether the rule (as
	// the task has it) still fires that target: it may have been
	// disabled, deleted or changed since. A task it refuses is dropped
	// (ticks.go).
	StillScheduled func(sc control.Scope, bus string, t *match.Task) bool
	// BusLog, if set, gets the buses' invocation records (buslog.go).
	BusLog *buslog.Logger
	// Keys opens the events of tasks stored sealed, those of buses with
	// a customer managed key (package busenc).
	Keys *busenc.Keys
	// DeadLetters, if set, sends the dead letters (else one is made from
	// AWS when Run starts).
	DeadLetters *DeadLetters

	limiter *limiter
	dlq     *DeadLetters
	// heads caches decoded task heads; Run's goroutine and the router's
	// (TryFirst) use it.
	headsMu sync.Mutex
	heads   map[string]*taskHead
	running sync.WaitGroup
	// idle takes work for a worker waiting for it (see worker).
	idle chan work
	// runCtx is Run's context once the deliverer takes tasks (nil before):
	// first attempts handed over by TryFirst run under it.
	runCtx atomic.Pointer[context.Context]
	// stopped is set, under stopMu, when Run stops taking calls.
	stopMu  sync.RWMutex
	stopped bool
}

// New returns a deliverer allowing workers calls in flight per target, with
// the built-in invokers: plain HTTP URLs and event buses.
func New(st *store.Store, in *ingest.Service, log *slog.Logger, workers int) *Deliverer {
	d := &Deliverer{st: st, log: log, invokers: map[string]Invoker{}, PerTarget: max(workers, 1), BaseDelay: time.Second, idle: make(chan work)}
	d.Register("http", newHTTPInvoker())
	d.Register("event-bus", busInvoker{in})
	return d
}

// Register sets the invoker for a kind of target (see Kind).
func (d *Deliverer) Register(kind string, inv Invoker) { d.invokers[kind] = inv }

// Run delivers until ctx ends.
func (d *Deliverer) Run(ctx context.Context) error {
	if d.AWS == nil {
		d.AWS = awsclient.New(nil)
	}
	d.dlq = d.DeadLetters
	if d.dlq == nil {
		d.dlq = NewDeadLetters(d.AWS)
	}
	if d.Window <= 0 {
		d.Window = DefaultWindow
	}
	d.limiter = newLimiter(d.PerTarget, d.Window)
	d.heads = map[string]*taskHead{}
	cons, err := d.st.JS.CreateOrUpdateConsumer(ctx, store.DeliveryStream, jetstream.ConsumerConfig{
		Durable:   consumerName,
		AckPolicy: jetstream.AckExplicitPolicy,
		AckWait:   ackWait,
		// Only tasks due now: waiting retries are schedules on RetryPrefix.
		FilterSubject: store.DeliveryPrefix + ">",
		// Bounds the tasks this process holds (in flight or queued behind
		// a busy target), hence its memory; the limiter keeps any one
		// target to half of it, and defers what would crowd it.
		MaxAckPending: d.Window,
		MaxDeliver:    -1, // the retry policy decides, per target
	})
	if err != nil {
		return fmt.Errorf("deliver consumer: %w", err)
	}
	it, err := store.Messages(ctx, cons)
	if err != nil {
		return fmt.Errorf("deliver consume: %w", err)
	}
	tickIt, err := d.tickMessages(ctx)
	if err != nil {
		return err
	}
	ticks := make(chan struct{})
	go func() { defer close(ticks); d.runTicks(ctx, tickIt) }()
	d.runCtx.Store(&ctx)
	go func() {
		tick := time.NewTicker(trimEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				for _, df := range d.limiter.trim() {
					d.deferLater(ctx, df.j, df.delay)
				}
			}
		}
	}()
	d.eachTask(ctx, it, "deliver: next task", func(j *job, _ jetstream.Msg) { d.dispatch(ctx, j) })
	// Queued tasks go back to the stream at once rather than after
	// ackWait; running ones finish (their calls see ctx end).
	<-ticks
	for _, j := range d.limiter.drain() {
		_ = j.msg.Nak()
	}
	d.stopMu.Lock()
	d.stopped = true
	d.stopMu.Unlock()
	d.running.Wait()
	return nil
}

// taskHead is a decoded task head (rule and target) as seen on one
// subject, with what every delivery of it needs: the target's kind and its
// metric series.
type taskHead struct {
	match.TaskHead
	subject string
	scope   control.Scope
	bus     string
	kind    string
	m       *series
}

// maxHeads bounds the decoded heads kept; the cache is emptied when full.
const maxHeads = 10000

func newTaskHead(subj string, sc control.Scope, bus string, t *match.TaskHead) *taskHead {
	h := &taskHead{TaskHead: *t, subject: subj, scope: sc, bus: bus, kind: Kind(t.Target.Arn)}
	lbl := []string{sc.Account, sc.Region, bus, t.RuleName, h.kind, t.Target.Id}
	h.m = &series{
		attempts:   metrics.InvocationAttempts.WithLabelValues(lbl...),
		retries:    metrics.RetryInvocationAttempts.WithLabelValues(lbl...),
		successes:  metrics.SuccessfulInvocationAttempts.WithLabelValues(lbl...),
		invoked:    metrics.Invocations.WithLabelValues(lbl...),
		startLat:   metrics.IngestionToInvocationStartLatency.WithLabelValues(sc.Account, sc.Region, bus, h.kind),
		successLat: metrics.IngestionToInvocationSuccessLatency.WithLabelValues(sc.Account, sc.Region, bus, h.kind),
	}
	return h
}

// series are the metric series of every delivery, resolved once per task
// head rather than looked up by label values per call.
type series struct {
	attempts, retries, successes, invoked prometheus.Counter
	startLat, successLat                  prometheus.Observer
}

// taskMsg is what a job needs of its message: a JetStream message of the
// delivery stream, or a directMsg for a first attempt the router handed
// over without storing the task (direct.go).
type taskMsg interface {
	Data() []byte
	Subject() string
	Ack() error
	Nak() error
	NakWithDelay(delay time.Duration) error
	InProgress() error
	Term() error
}

// job is one task taken from the stream.
type job struct {
	msg   taskMsg
	task  match.Task
	scope control.Scope
	bus   string
	kind  string
	m     *series
	// id identifies the task across its re-publications.
	id string
	// attempts is how many calls of the target already failed.
	attempts int
	// defers counts re-publications for a busy target (not attempts).
	defers int
	// dead is set once the policy gave the task up and only its dead
	// letter is left to send; dlqAttempts counts failed sends.
	dead        *deadLetter
	dlqAttempts int
	queued      time.Time
	// direct: a first attempt the router handed over (direct.go).
	direct bool
	// dueAt is when a tick task falls due (ticks.go).
	dueAt time.Time
	// bl is the bus log of the job's bus, once looked up (buslog.go);
	// callStart and callDur time its last call, and input is what the
	// call sent, for its records.
	bl        *buslog.Bus
	callStart time.Time
	callDur   time.Duration
	input     []byte
}

// decode reads a task. Its head (rule and target) is decoded once per
// distinct head and subject and cached with its metric series, so that a
// delivery costs no JSON decoding and no label lookups; the event is
// never decoded (see match.EncodeTask).
// eachTask hands each task pulled from it to handle, with its message,
// until it stops or ctx ends; pull errors are logged under what, and
// messages that are not tasks are settled by decode.
func (d *Deliverer) eachTask(ctx context.Context, it *store.Iterator, what string, handle func(*job, jetstream.Msg)) {
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				return
			}
			store.LogPullError(d.log, what, err)
			continue
		}
		if j, ok := d.decode(ctx, msg); ok {
			handle(j, msg)
		}
	}
}

func (d *Deliverer) decode(ctx context.Context, msg jetstream.Msg) (*job, bool) {
	j, err := d.newJob(msg, msg.Subject(), msg.Data())
	if err == nil {
		err = j.readHeaders(msg.Headers())
	}
	if err == nil && envelope.IsSealed(j.task.Event) {
		if !d.open(ctx, j) {
			return nil, false
		}
	}
	if err != nil {
		d.log.Error("deliver: undecodable task; dropped", "subject", msg.Subject(), "err", err)
		_ = msg.Term()
		return nil, false
	}
	return j, true
}

// open replaces the sealed event of j by its plaintext and reports whether
// it did. When it cannot, j is settled: a failure someone must act on
// (the key disabled or deleted, the data corrupt) gives the task up to its
// target's dead-letter queue with the stored form, base64, as the body
// ("If a non-retriable encryption or decryption error occurs while
// EventBridge is attempting to send the event to a target ... the event
// is sent to the DLQ for the target", EventBridge User Guide); any other
// (KMS unreachable) leaves it in the stream for later.
func (d *Deliverer) open(ctx context.Context, j *job) bool {
	plain, err := d.Keys.Open(ctx, j.task.Event)
	if err == nil {
		j.task.Event = plain
		return true
	}
	code, dead := busenc.DeadLetterCode(err)
	if !dead {
		d.log.Warn("deliver: task's event not decrypted, key unavailable; will retry", "rule", j.task.RuleArn, "target", j.task.Target.Id, "err", err)
		_ = j.msg.NakWithDelay(5 * time.Second)
		return false
	}
	j.task.Event = []byte(base64.StdEncoding.EncodeToString(j.task.Event))
	d.giveUp(ctx, j, &Error{Code: code, Permanent: true, Err: err}, "", j.attempts)
	return false
}

// newJob returns the job of the stored task data on subject subj; its
// trace header, in the message's headers, is read by readHeaders.
func (d *Deliverer) newJob(msg taskMsg, subj string, data []byte) (*job, error) {
	head, event, ingested, ok := match.SplitTask(data)
	if ok {
		return d.jobOf(msg, subj, head, event, "", ingested)
	}
	// The earlier JSON form (see match.EncodeTask).
	t, err := match.DecodeTask(data)
	if err != nil {
		return nil, err
	}
	sc, bus, ok := taskScope(subj)
	if !ok {
		return nil, fmt.Errorf("unexpected subject %q", subj)
	}
	h := newTaskHead(subj, sc, bus, &match.TaskHead{RuleArn: t.RuleArn, RuleName: t.RuleName, Target: t.Target})
	return h.job(msg, t.Event, "", t.Ingested), nil
}

// jobOf returns the job of a task given as its encoded head, event and
// trace header.
func (d *Deliverer) jobOf(msg taskMsg, subj string, head, event []byte, trace string, ingested int64) (*job, error) {
	d.headsMu.Lock()
	h := d.heads[string(head)]
	d.headsMu.Unlock()
	if h == nil || h.subject != subj {
		var th match.TaskHead
		if err := json.Unmarshal(head, &th); err != nil {
			return nil, fmt.Errorf("task head: %w", err)
		}
		sc, bus, ok := taskScope(subj)
		if !ok {
			return nil, fmt.Errorf("unexpected subject %q", subj)
		}
		h = newTaskHead(subj, sc, bus, &th)
		d.headsMu.Lock()
		if len(d.heads) >= maxHeads {
			clear(d.heads)
		}
		d.heads[string(head)] = h
		d.headsMu.Unlock()
	}
	return h.job(msg, event, trace, ingested), nil
}

func (h *taskHead) job(msg taskMsg, event []byte, trace string, ingested int64) *job {
	return &job{msg: msg, task: match.Task{RuleArn: h.RuleArn, RuleName: h.RuleName, Target: h.Target, Event: event, Trace: trace, Ingested: ingested},
		scope: h.scope, bus: h.bus, kind: h.kind, m: h.m}
}

// dispatch starts j, or queues it behind its target's calls in flight, or
// defers it through the stream. It waits (at most the limiter's maxWait)
// only for a healthy target that holds as many tasks as it may: a slow
// target cannot hold up the consumer.
func (d *Deliverer) dispatch(ctx context.Context, j *job) {
	if j.dead != nil {
		// A dead letter is a call of the queue, not of the target.
		d.start(ctx, j, "", 0)
		return
	}
	key := j.task.Target.Arn
	var waitUntil time.Time
	for {
		switch adm, slot := d.limiter.admit(key, j); adm {
		case admitRun:
			d.start(ctx, j, key, slot)
			return
		case admitQueued:
			return
		case admitWait:
			// Back-pressure from a healthy target (limiter.go): taken
			// again when it has room, or deferred after maxWait.
			now := time.Now()
			if waitUntil.IsZero() {
				waitUntil = now.Add(d.limiter.maxWait)
			}
			if now.Before(waitUntil) && ctx.Err() == nil {
				time.Sleep(time.Millisecond)
				continue
			}
			fallthrough
		case admitDefer:
			d.deferLater(ctx, j, d.limiter.deferDelay(key))
			return
		}
	}
}

// deferLater re-publishes j for after delay, in the background.
func (d *Deliverer) deferLater(ctx context.Context, j *job, delay time.Duration) {
	d.running.Add(1)
	go func() {
		defer d.running.Done()
		d.deferJob(ctx, j, delay)
	}()
}

// start runs j and then, while its target has queued tasks, those, in one
// goroutine (a target's slot passes from task to task). key is "" for
// calls outside the limiter (dead letters).
//
// The goroutine is an idle worker's when one waits (see worker).
func (d *Deliverer) start(ctx context.Context, j *job, key string, slot int) {
	d.running.Add(1)
	w := work{ctx: ctx, j: j, key: key, slot: slot}
	select {
	case d.idle <- w:
	default:
		go d.worker(w)
	}
}

// work is what start hands a worker.
type work struct {
	ctx  context.Context
	j    *job
	key  string
	slot int
}

// workerIdle is how long a worker waits for more work before it ends.
const workerIdle = 2 * time.Second

// worker runs w and then, for up to workerIdle at a time, what start hands
// it. A goroutine per call grew its stack anew on every call: the HTTP
// client's calls go deep, and copying stacks was an eighth of the CPU of
// a fan-out to 500 targets, whose calls come in short runs per target.
func (d *Deliverer) worker(w work) {
	var idle *time.Timer
	for {
		d.run(w)
		if idle == nil {
			idle = time.NewTimer(workerIdle)
		} else {
			idle.Reset(workerIdle)
		}
		select {
		case w = <-d.idle:
		case <-idle.C:
			return
		case <-w.ctx.Done():
			idle.Stop()
			return
		}
	}
}

// run makes w's call and its target's queued ones after it.
func (d *Deliverer) run(w work) {
	defer d.running.Done()
	for j := w.j; j != nil; {
		t0 := time.Now()
		d.handle(w.ctx, j)
		if w.key == "" {
			return
		}
		j = d.limiter.done(w.key, w.slot, time.Since(t0), j)
	}
}

// handle makes one attempt of j and settles it: acknowledged when the
// target took it, re-published for a later attempt, or given up.
func (d *Deliverer) handle(ctx context.Context, j *job) {
	if j.dead != nil {
		d.sendDeadLetter(ctx, j)
		return
	}
	t := &j.task
	inv := &Invocation{Scope: j.scope, RuleArn: t.RuleArn, RuleName: t.RuleName, Target: &t.Target, Event: t.Event,
		Input: t.Event, Trace: t.Trace, Ingested: time.UnixMilli(t.Ingested), Attempt: j.attempts + 1, ID: j.id}
	if err := d.shape(inv); err != nil {
		d.settle(ctx, j, inv, err)
		return
	}
	if IsScheduleArn(t.RuleArn) {
		inv.Input = scheduleAttempt(inv.Input, j.id, inv.Attempt)
	}
	if inv.Attempt == 1 && t.Ingested > 0 {
		j.m.startLat.Observe(time.Since(inv.Ingested).Seconds())
	}
	j.m.attempts.Inc()
	if inv.Attempt > 1 {
		j.m.retries.Inc()
	}
	j.input = inv.Input
	if d.BusLog != nil {
		d.logStart(j, inv)
		j.callStart = time.Now()
	}
	ctx, span := d.startAttempt(ctx, j, inv)
	err := d.invoke(ctx, inv)
	endAttempt(span, err)
	if d.BusLog != nil {
		j.callDur = time.Since(j.callStart)
	}
	if err != nil && ctx.Err() != nil {
		// Shutting down: the call was cut short, which says nothing
		// about the target. Redelivered at once to the next process.
		_ = j.msg.Nak()
		return
	}
	d.settle(ctx, j, inv, err)
}

// shape sets the input the target receives: the event, or the target's
// Input, InputPath or InputTransformer applied to it (shape.go).
func (d *Deliverer) shape(inv *Invocation) error {
	return shapeInput(inv)
}

// settle acts on the outcome of an attempt.
func (d *Deliverer) settle(ctx context.Context, j *job, inv *Invocation, err error) {
	if err == nil {
		j.m.successes.Inc()
		j.m.invoked.Inc()
		if j.task.Ingested > 0 {
			j.m.successLat.Observe(time.Since(inv.Ingested).Seconds())
		}
		if d.BusLog != nil {
			d.logAttempt(j, inv, buslog.InvocationAttemptSuccess, nil)
			d.logOutcome(j, buslog.InvocationSuccess, inv.Attempt, nil)
		}
		_ = j.msg.Ack()
		return
	}
	e := classify(err)
	pol := policyOf(&j.task.Target)
	retries := inv.Attempt - 1
	age := time.Since(inv.Ingested)
	if d.BusLog != nil {
		switch {
		case e.Permanent:
			d.logAttempt(j, inv, buslog.InvocationAttemptPermanentFailure, e)
		case isThrottle(e):
			d.logAttempt(j, inv, buslog.InvocationAttemptThrottle, e)
		default:
			d.logAttempt(j, inv, buslog.InvocationAttemptRetryableFailure, e)
		}
	}
	if e.Permanent {
		d.giveUp(ctx, j, e, "", retries)
		return
	}
	if retries >= pol.maxRetries {
		d.giveUp(ctx, j, e, ConditionRetryAttempts, retries)
		return
	}
	delay := max(backoff(retries, d.BaseDelay), e.RetryAfter)
	if age+delay >= pol.maxAge {
		// The retry would come after the event's age limit: give up now
		// rather than hold it until then.
		d.giveUp(ctx, j, e, ConditionEventAge, retries)
		return
	}
	// The first retry of a task is news; the ones after it, until the
	// task is delivered or given up (logged at warn), are not.
	level := slog.LevelDebug
	if retries == 0 {
		level = slog.LevelInfo
	}
	d.log.Log(logContext(ctx, j), level, "deliver: will retry", "retry", retries+1, "in", delay, "err", err)
	d.republish(ctx, j, retryState{attempts: inv.Attempt}, delay)
}

// deferred counts deferrals; a healthy target under a burst should cause
// none (limiter.go).
var deferred = promauto.NewCounter(prometheus.CounterOpts{
	Name: "switchyard_deliver_deferred_total",
	Help: "Delivery tasks put back in the stream untried, for later, because their target had more waiting than it could take soon while the deliverer's window was crowded.",
})

// deferJob sends j, untried, back to the stream for later: its target has
// as many calls in flight and queued as it may.
func (d *Deliverer) deferJob(ctx context.Context, j *job, delay time.Duration) {
	deferred.Inc()
	if d.BusLog != nil {
		d.logThrottleStart(j)
	}
	pol := policyOf(&j.task.Target)
	if time.Since(time.UnixMilli(j.task.Ingested))+delay >= pol.maxAge {
		e := &Error{Code: "THROTTLING", Err: errors.New("the target had too many calls in flight until the event's maximum age")}
		d.giveUp(ctx, j, e, ConditionEventAge, j.attempts)
		return
	}
	d.republish(ctx, j, retryState{attempts: j.attempts, defers: j.defers + 1}, delay)
}

// invoke hands the invocation to the invoker of its target's kind.
func (d *Deliverer) invoke(ctx context.Context, inv *Invocation) error {
	i := d.invokers[Kind(inv.Target.Arn)]
	if i == nil {
		return unsupported(inv.Target.Arn)
	}
	return i.Invoke(ctx, inv)
}

func (j *job) labels() []string {
	return []string{j.scope.Account, j.scope.Region, j.bus, j.task.RuleName, j.kind, j.task.Target.Id}
}

// policy is a target's RetryPolicy with AWS's defaults filled in.
type policy struct {
	maxRetries int
	maxAge     time.Duration
}

func policyOf(t *control.Target) policy {
	p := policy{DefaultMaxAttempts, DefaultMaxAge}
	if rp := t.RetryPolicy; rp != nil {
		if rp.MaximumRetryAttempts != nil {
			p.maxRetries = int(*rp.MaximumRetryAttempts)
		}
		if rp.MaximumEventAgeInSeconds != nil {
			p.maxAge = time.Duration(*rp.MaximumEventAgeInSeconds) * time.Second
		}
	}
	return p
}

func taskScope(subj string) (control.Scope, string, bool) {
	rest, ok := strings.CutPrefix(subj, store.DeliveryPrefix)
	if !ok {
		if rest, ok = strings.CutPrefix(subj, store.TickPrefix); !ok {
			return control.Scope{}, "", false
		}
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 4 {
		return control.Scope{}, "", false
	}
	return control.Scope{Account: parts[0], Region: parts[1]}, store.Untoken(parts[2]), true
}
