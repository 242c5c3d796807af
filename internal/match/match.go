// Package match routes accepted events: it consumes the events stream,
// matches each event against the enabled rules of its bus (through the
// control-plane View's pattern matchers) and appends one delivery task per
// (rule, target) to the durable delivery stream — or, when the deliverer of
// this process can call the target at once, hands it the first attempt
// directly (Router.Direct) and stores the task only if that attempt does
// not settle it. An event is acknowledged only after all of its tasks are
// stored or settled, and task IDs are deterministic, so a crash at any
// point leads to no lost and no duplicated task (a redelivered event may
// call a target again: at least once). Messages of buses with a customer
// managed key arrive sealed and are opened here, and the events of their
// tasks and archives are sealed again (package busenc).
package match

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchyard/switchyard/envelope"
	"github.com/switchyard/switchyard/internal/archive"
	"github.com/switchyard/switchyard/internal/busenc"
	"github.com/switchyard/switchyard/internal/buslog"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
	"github.com/switchyard/switchyard/internal/jsontext"
	"github.com/switchyard/switchyard/internal/metrics"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/tracing"
)

// Task is one delivery: an event for one target of one rule. The target is
// captured as it was when the event matched.
type Task struct {
	RuleArn  string          `json:"ruleArn"`
	RuleName string          `json:"ruleName"`
	Target   control.Target  `json:"target"`
	Event    json.RawMessage `json:"event"`
	// Ingested is when the event was accepted, in Unix milliseconds; retry
	// policies measure event age from it.
	Ingested int64 `json:"ingested"`
	// Trace is the event's X-Ray trace header, which the target's call
	// carries; "" for none. It is stored in the task message's header
	// (TaskTrace), never in its data.
	Trace string `json:"-"`
}

// consumerName is the durable consumer shared by every Switchyard process.
const consumerName = "match"

// Whether matching keeps up with ingestion is only visible from outside
// through these: a backlog that grows under sustained load means PutEvents
// is accepting faster than events can be routed.
var (
	matchedEvents = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_match_events_total",
		Help: "Events routed by this process's matcher (their tasks stored and the event acknowledged).",
	})
	backlogEvents = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "switchyard_match_backlog_events",
		Help: "Events in the events stream not yet acknowledged by the matcher consumer, sampled every second.",
	})
)

// FirstAttempter makes the first attempt of a task at once, in this
// process, without the task being stored first (deliver.Deliverer; see its
// TryFirst for the contract).
type FirstAttempter interface {
	TryFirst(subj string, head, event, stored []byte, trace string, ingested int64, id string, settled func(ok bool)) bool
}

// Router consumes the events stream.
type Router struct {
	st   *store.Store
	view *control.View
	log  *slog.Logger
	// Direct, when set, is offered each task's first attempt before the
	// task is stored; a task it takes is stored only if the attempt does
	// not settle it, and the event is acknowledged only once it has.
	Direct FirstAttempter
	// BusLog, if set, gets the buses' RULE_MATCH_START, RULE_MATCH and
	// NO_STANDARD_RULES_MATCHED records (package buslog).
	BusLog *buslog.Logger
	// Keys opens the sealed messages of buses with a customer managed key
	// and seals the events of their tasks and archives (package busenc).
	Keys *busenc.Keys
	// DeadLetters sends to a bus's dead-letter queue the events its key
	// cannot decrypt or encrypt for a reason someone must act on.
	DeadLetters ingest.BusDeadLetters
	// headCache holds the encoded task heads of each rule's targets. A
	// rule's revision is a new *control.Rule, so entries never go stale;
	// the map is emptied when it grows past maxHeads. Only Run's
	// goroutine uses it.
	headCache map[*control.Rule][][]byte
	// compact holds the event being routed, compacted (Run's goroutine).
	compact bytes.Buffer
}

const maxHeads = 10000

// heads returns the encoded task heads of rule's targets, in order.
func (r *Router) heads(rule *control.Rule) ([][]byte, error) {
	if h, ok := r.headCache[rule]; ok {
		return h, nil
	}
	arn := rule.ARN()
	h := make([][]byte, len(rule.Targets))
	for i := range rule.Targets {
		var err error
		if h[i], err = EncodeHead(arn, rule.Name, &rule.Targets[i]); err != nil {
			return nil, err
		}
	}
	if r.headCache == nil || len(r.headCache) >= maxHeads {
		r.headCache = map[*control.Rule][][]byte{}
	}
	r.headCache[rule] = h
	return h, nil
}

// NewRouter returns a router over st using view for rules.
func NewRouter(st *store.Store, view *control.View, log *slog.Logger) *Router {
	return &Router{st: st, view: view, log: log}
}

type pending struct {
	msg     jetstream.Msg
	events  int
	futures []jetstream.PubAckFuture
	// unsent are tasks and archive records the client did not take for
	// an asynchronous publish; settle stores them.
	unsent  []*nats.Msg
	directs []*directTask
}

// directTask is a task whose first attempt Direct took: settled receives
// the attempt's outcome, and msg is the task to store if that is false.
type directTask struct {
	msg     func() *nats.Msg
	settled chan bool
}

func (t *directTask) settle(ok bool) { t.settled <- ok }

// Run routes events until ctx ends. Publishing tasks and acknowledging
// events run in two goroutines so that storage round trips overlap.
func (r *Router) Run(ctx context.Context) error {
	cons, err := r.st.JS.CreateOrUpdateConsumer(ctx, store.EventsStream, jetstream.ConsumerConfig{
		Durable:       consumerName,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       time.Minute,
		MaxAckPending: 20000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("match consumer: %w", err)
	}
	it, err := store.Messages(ctx, cons)
	if err != nil {
		return fmt.Errorf("match consume: %w", err)
	}
	go r.watchBacklog(ctx, cons)

	acks := make(chan pending, 4096)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.finish(ctx, acks)
	}()
	defer func() { close(acks); <-done }()
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				return nil
			}
			store.LogPullError(r.log, "match: next event", err)
			continue
		}
		p, err := r.route(ctx, msg)
		if err != nil {
			r.log.Error("match: route", "subject", msg.Subject(), "err", err)
			_ = msg.NakWithDelay(time.Second)
			continue
		}
		acks <- p
	}
}

// holdAck is how long the newest settled message may wait for its
// acknowledgement; see finish.
const holdAck = 50 * time.Millisecond

// finish acknowledges each message once all its tasks are stored or their
// direct attempts settled, in whatever order that happens (a direct
// attempt can take a while). The newest such message is held back until
// the next one is ready, or for holdAck: when the matcher catches up,
// acknowledging the last message empties the stream's last file block,
// and JetStream then deletes that file and creates a new one, which under
// steady load happened thousands of times a second and cost more than
// routing. A message held and then lost to a crash is redelivered; its
// task ids are deterministic, so that stores no duplicate.
func (r *Router) finish(ctx context.Context, acks <-chan pending) {
	ready := make(chan *pending, 1024)
	go func() {
		var wg sync.WaitGroup
		for p := range acks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r.settle(ctx, &p) {
					ready <- &p
				}
			}()
		}
		wg.Wait()
		close(ready)
	}()
	var held *pending
	idle := time.NewTimer(holdAck)
	idle.Stop()
	for {
		select {
		case p, ok := <-ready:
			if !ok {
				if held != nil {
					r.ack(held)
				}
				return
			}
			if held != nil {
				r.ack(held)
			}
			held = p
			idle.Reset(holdAck)
		case <-idle.C:
			if held != nil {
				r.ack(held)
				held = nil
			}
		}
	}
}

// settle waits until the tasks of p are stored and its direct attempts
// settled, storing the tasks of those that were not; if a task is not
// stored, it asks for p's redelivery and returns false.
func (r *Router) settle(ctx context.Context, p *pending) bool {
	var grace <-chan time.Time // once shutting down
	for _, f := range p.futures {
		select {
		case <-f.Ok():
			continue
		case <-f.Err():
			p.unsent = append(p.unsent, f.Msg())
			continue
		case <-ctx.Done():
		}
		// Shutting down: the answers are on their way (the connection
		// outlives the router), and an event left unacknowledged would
		// come again after the AckWait, its direct attempts made twice.
		if grace == nil {
			grace = time.After(5 * time.Second)
		}
		select {
		case <-f.Ok():
		case <-f.Err():
			p.unsent = append(p.unsent, f.Msg())
		case <-grace:
			return false
		}
	}
	for _, m := range p.unsent {
		if err := r.store(ctx, m); err != nil {
			r.log.Error("match: task not stored; event will be redelivered", "err", err)
			_ = p.msg.NakWithDelay(time.Second)
			return false
		}
	}
	for _, t := range p.directs {
		var ok bool
		select {
		case ok = <-t.settled:
		case <-ctx.Done():
			// Shutting down: the deliverer cuts its calls short and
			// hands them back; wait for that, briefly.
			select {
			case ok = <-t.settled:
			case <-time.After(10 * time.Second):
				_ = p.msg.Nak()
				return false
			}
		}
		if ok {
			continue
		}
		// Store the task for another attempt, also while shutting down
		// (the connection outlives the router), so that the next process
		// takes it at once rather than after the event's redelivery.
		if err := r.store(ctx, t.msg()); err != nil {
			r.log.Error("match: task not stored; event will be redelivered", "err", err)
			_ = p.msg.NakWithDelay(time.Second)
			return false
		}
	}
	return true
}

// storeFor bounds how long settle keeps trying to store one message before
// it has the event redelivered instead: well inside the router consumer's
// AckWait (a minute), after which the event would come again anyway.
const storeFor = 30 * time.Second

// store publishes m, a task or an archive record, and waits until it is
// stored, trying again for up to storeFor (once more, briefly, when ctx
// has ended: the connection outlives the router). Its message id keeps a
// copy that was stored after all from being stored twice. Having the
// event redelivered instead would make again every direct attempt already
// made for its other tasks: thousands of duplicate deliveries, each time
// a NATS node of a cluster under load was killed or restarted.
func (r *Router) store(ctx context.Context, m *nats.Msg) error {
	deadline := time.Now().Add(storeFor)
	wait := 100 * time.Millisecond
	for {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_, err := r.st.JS.PublishMsg(sctx, m)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || time.Now().Add(wait).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

func (r *Router) ack(p *pending) {
	if err := p.msg.Ack(); err != nil {
		r.log.Warn("match: ack", "err", err)
		return
	}
	matchedEvents.Add(float64(p.events))
}

func (r *Router) watchBacklog(ctx context.Context, cons jetstream.Consumer) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if info, err := cons.Info(ctx); err == nil {
			backlogEvents.Set(float64(info.NumPending) + float64(info.NumAckPending))
		}
	}
}

// route publishes the tasks of the events of one message, or hands their
// first attempts to Direct.
func (r *Router) route(ctx context.Context, msg jetstream.Msg) (pending, error) {
	sc, bus, ok := ParseSubject(msg.Subject())
	if !ok {
		r.log.Error("match: unexpected subject; dropped", "subject", msg.Subject())
		return pending{msg: msg, events: 1}, nil
	}
	h := msg.Headers()
	data := msg.Data()
	if envelope.IsSealed(data) {
		plain, err := r.Keys.Open(ctx, data)
		if err != nil {
			return r.undecryptable(ctx, msg, sc, bus, err)
		}
		data = plain
	}
	key := r.Keys.BusKey(sc, bus)
	events, err := ingest.Events(h.Get(ingest.HeaderEvents), h.Get(jetstream.MsgIDHeader), data)
	if err != nil {
		r.log.Error("match: undecodable message; dropped", "subject", msg.Subject(), "err", err)
		return pending{msg: msg, events: 1}, nil
	}
	ingest.ReadTraces(h, events)
	if rev, err := strconv.ParseUint(h.Get(ingest.HeaderRev), 10, 64); err == nil && rev > 0 {
		// The event was accepted after this control-plane revision; match
		// it against at least that state (rules put just before the event).
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := r.view.WaitRev(wctx, rev)
		cancel()
		if err != nil && ctx.Err() == nil {
			r.log.Warn("match: control view behind the event's revision; matching with what it has", "want", rev, "have", r.view.Rev())
		}
	}
	ingested, _ := strconv.ParseInt(h.Get(ingest.HeaderIngested), 10, 64)
	// A replay's events go to the rules it names (all when none), and
	// never to an archive; other events go to archives through their
	// managed rules, stored before the message is acknowledged.
	replay := h.Get(archive.HeaderReplay)
	var only []string
	if f := h.Get(archive.HeaderReplayFilter); f != "" {
		only = strings.Split(f, ",")
	}
	archived := archive.NewBatch(r.view, sc, h.Get(jetstream.MsgIDHeader), h.Get(ingest.HeaderEvents), data)
	var (
		futures []jetstream.PubAckFuture
		unsent  []*nats.Msg
		directs []*directTask
	)
	bl := r.BusLog.Bus(sc, bus)
	matchAll := h.Get(ingest.HeaderMatchAll)
	for k, ev := range events {
		// The event as targets receive it: compact JSON, as AWS sends it
		// (an entry's Detail keeps the caller's spacing in the envelope).
		// Done once per event, on its first task. owned is its copy for
		// direct attempts, which outlive this loop.
		var event, owned []byte
		// stored is event as tasks store it, sealed under the bus's key
		// (if it has one); storedOwned is owned's.
		var stored, storedOwned []byte
		// Everything on the events stream was checked on the way in
		// (PutEvents, Forward, replays of archived events), so the fast
		// path may read only what the rules need; but where the event
		// reaches one path through two spellings ("a" and "a.b", see
		// ingest.CheckDetailPaths) it may stop before the second, so
		// those events, and replays (whose messages do not say), are
		// matched reading all of them.
		if bl.On(buslog.RuleMatchStart) {
			logRuleMatchStart(bl, ev.ID, ev.Envelope)
		}
		var rules []*control.Rule
		var span tracing.Span // while tracing, the tasks continue its trace (otel.go)
		span, ev.Trace = tracing.StartMatch(ctx, ev.Trace, ev.ID, sc.Account, sc.Region, bus)
		if replay != "" || ingest.MatchAll(matchAll, k) {
			rules, err = r.view.Match(sc, bus, ev.Envelope)
		} else {
			rules, err = r.view.MatchValid(sc, bus, ev.Envelope)
		}
		endMatch(span, rules, err)
		if err != nil {
			r.log.ErrorContext(eventLogContext(ctx, ev.ID, ev.Trace), "match: event does not parse; dropped", "subject", msg.Subject(), "err", err)
			continue
		}
		if bl.Any() {
			logRuleMatches(bl, ev.ID, rules, replay != "", only)
		}
		for _, rule := range rules {
			if archive.IsArchiveRule(rule) {
				if replay == "" {
					archived.Add(rule, ev)
				}
				continue
			}
			if only != nil && !slices.Contains(only, rule.ARN()) {
				continue
			}
			// Counted when routed; a redelivered event (after a crash) is
			// counted again, as AWS's best-effort metrics may.
			metrics.MatchedEvents.WithLabelValues(sc.Account, sc.Region, bus, rule.Name).Inc()
			metrics.TriggeredRules.WithLabelValues(sc.Account, sc.Region, bus, rule.Name).Inc()
			heads, err := r.heads(rule)
			if err != nil {
				return pending{}, err
			}
			arn := rule.ARN()
			if event == nil && len(rule.Targets) > 0 {
				if jsontext.Compacted(ev.Envelope) {
					// most are: only a Detail sent with spacing needs
					// compacting, and skipping it was a tenth of the
					// router's CPU in a replay into HTTP
					event = ev.Envelope
				} else {
					r.compact.Reset()
					if err := json.Compact(&r.compact, ev.Envelope); err != nil {
						r.log.ErrorContext(eventLogContext(ctx, ev.ID, ev.Trace), "match: event is not JSON; dropped", "subject", msg.Subject(), "err", err)
						break
					}
					event = r.compact.Bytes()
				}
				if stored, err = r.Keys.Seal(ctx, key, sc, bus, event); err != nil {
					if err := r.unencryptable(ctx, sc, bus, ev, event, err); err != nil {
						return pending{}, err
					}
					break
				}
			}
			subj := taskSubject(store.DeliveryPrefix, sc, bus, rule.Name)
			for i := range rule.Targets {
				// A replay's first attempts go direct too, as live
				// events' do: TryFirst takes a call only when its target
				// can make it soon, and the event's message stays
				// unacknowledged until every attempt has settled, so the
				// router's backlog still paces the replay (package
				// archive). Storing every replayed task first held a
				// replay into an HTTP target to half the bare HTTP
				// ceiling (docs/performance.md, "Archives and replay").
				if r.Direct != nil {
					if owned == nil {
						owned = event // the message's data, which outlives the attempts
						if !sameStart(event, ev.Envelope) {
							owned = bytes.Clone(event) // r.compact, reused for the next event
						}
						storedOwned = owned
						if key != "" {
							storedOwned = stored // a copy already
						}
					}
					head, tid, trace, so := heads[i], rule.Targets[i].Id, ev.Trace, storedOwned
					id := taskID(ev.ID, arn, tid)
					t := &directTask{settled: make(chan bool, 1), msg: func() *nats.Msg {
						return taskMsg(subj, ev.ID, arn, tid, trace, EncodeTask(head, so, ingested))
					}}
					if r.Direct.TryFirst(subj, head, owned, so, trace, ingested, id, t.settle) {
						directs = append(directs, t)
						continue
					}
				}
				m := taskMsg(subj, ev.ID, arn, rule.Targets[i].Id, ev.Trace, EncodeTask(heads[i], stored, ingested))
				f, err := r.st.JS.PublishMsgAsync(m, store.StallWait)
				if err != nil {
					// stalled (storage slow or a NATS node down): settle
					// stores it, rather than the whole message coming
					// again with the direct attempts made for it
					unsent = append(unsent, m)
					continue
				}
				futures = append(futures, f)
			}
		}
	}
	af, au, err := archived.Publish(ctx, r.st.JS, r.Keys, r.log)
	if err != nil {
		return pending{}, err
	}
	return pending{msg: msg, events: len(events), futures: append(futures, af...), unsent: append(unsent, au...), directs: directs}, nil
}

// sameStart reports whether a and b begin at the same byte of memory.
func sameStart(a, b []byte) bool {
	return len(a) > 0 && len(b) > 0 && &a[0] == &b[0]
}

// undecryptable settles an events-stream message whose data does not
// decrypt. A failure someone must act on (the key disabled, deleted or
// refused, the data corrupt) sends it to the bus's dead-letter queue, its
// stored form base64 as the body, as AWS sends "custom and partner events
// that generate encryption or decryption errors" there ("Using dead-letter
// queues to capture encrypted event errors in EventBridge"); without a
// queue it is dropped, as AWS drops it. Any other failure (KMS
// unreachable) returns the error: the message is redelivered later.
func (r *Router) undecryptable(ctx context.Context, msg jetstream.Msg, sc control.Scope, bus string, err error) (pending, error) {
	code, dead := busenc.DeadLetterCode(err)
	if !dead {
		return pending{}, fmt.Errorf("decrypt events of bus %s: %w", control.BusARN(sc, bus), err)
	}
	body := []byte(base64.StdEncoding.EncodeToString(msg.Data()))
	if err := r.busDeadLetter(ctx, sc, bus, body, msg.Headers().Get(ingest.HeaderTrace), code, err); err != nil {
		return pending{}, err
	}
	return pending{msg: msg, events: 1}, nil
}

// unencryptable settles event ev, which its bus's key could not encrypt
// for its tasks: as undecryptable, but the body is the event itself.
func (r *Router) unencryptable(ctx context.Context, sc control.Scope, bus string, ev ingest.Event, event []byte, err error) error {
	code, dead := busenc.DeadLetterCode(err)
	if !dead {
		return fmt.Errorf("encrypt event of bus %s: %w", control.BusARN(sc, bus), err)
	}
	return r.busDeadLetter(ctx, sc, bus, event, ev.Trace, code, err)
}

// busDeadLetter sends body to the dead-letter queue of bus, if it has one.
func (r *Router) busDeadLetter(ctx context.Context, sc control.Scope, bus string, body []byte, trace, code string, cause error) error {
	b, _ := r.view.Bus(sc, bus)
	if b == nil || b.DeadLetterConfig == nil || b.DeadLetterConfig.Arn == nil || *b.DeadLetterConfig.Arn == "" || r.DeadLetters == nil {
		busDeadLetters.WithLabelValues("dropped").Inc()
		r.log.Error("match: events of an encrypted bus cannot be processed and the bus has no dead-letter queue; dropped",
			"bus", control.BusARN(sc, bus), "err", cause)
		return nil
	}
	if err := r.DeadLetters.SendBusDeadLetter(ctx, *b.DeadLetterConfig.Arn, body, trace, code, cause.Error()); err != nil {
		busDeadLetters.WithLabelValues("failed").Inc()
		return fmt.Errorf("bus dead-letter queue %s: %w", *b.DeadLetterConfig.Arn, err)
	}
	busDeadLetters.WithLabelValues("sent").Inc()
	r.log.Warn("match: events of an encrypted bus cannot be processed; sent to the bus's dead-letter queue",
		"bus", control.BusARN(sc, bus), "queue", *b.DeadLetterConfig.Arn, "err", cause)
	return nil
}

var busDeadLetters = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "switchyard_bus_dead_letters_total",
	Help: "Events-stream messages or events of buses with a customer managed key that could not be decrypted or encrypted, by outcome: sent (to the bus's dead-letter queue), failed (sending failed; retried), dropped (the bus has no queue).",
}, []string{"outcome"})

// TaskMsg returns the delivery-stream message of task, for the rule of bus
// in scope sc that eventID matched. Its JetStream message id derives from
// the event, rule and target, so that publishing it again (after a crash, or
// from another process) stores no duplicate within the stream's window.
func TaskMsg(sc control.Scope, bus, eventID string, task *Task) (*nats.Msg, error) {
	return encodeTaskMsg(taskSubject(store.DeliveryPrefix, sc, bus, task.RuleName), eventID, task)
}

func encodeTaskMsg(subj, eventID string, task *Task) (*nats.Msg, error) {
	head, err := EncodeHead(task.RuleArn, task.RuleName, &task.Target)
	if err != nil {
		return nil, err
	}
	return taskMsg(subj, eventID, task.RuleArn, task.Target.Id, task.Trace, EncodeTask(head, task.Event, task.Ingested)), nil
}

func taskMsg(subj, eventID, ruleArn, targetID, trace string, data []byte) *nats.Msg {
	m := &nats.Msg{
		Subject: subj,
		Data:    data,
		Header:  nats.Header{jetstream.MsgIDHeader: {taskID(eventID, ruleArn, targetID)}},
	}
	SetTaskTrace(m.Header, trace)
	return m
}

// taskID is the id of the task of an event for a target of a rule: its
// JetStream message id, and the id the deliverer knows it by.
func taskID(eventID, ruleArn, targetID string) string {
	return eventID + "|" + ruleArn + "|" + targetID
}

// taskSubject is the delivery-stream subject of the tasks of a rule, under
// prefix (store.DeliveryPrefix, or store.TickPrefix for a tick's).
func taskSubject(prefix string, sc control.Scope, bus, ruleName string) string {
	return prefix + sc.Account + "." + sc.Region + "." + store.Token(bus) + "." + store.Token(ruleName)
}

// ParseSubject splits an events-stream subject into scope and bus.
func ParseSubject(subj string) (control.Scope, string, bool) {
	rest, ok := strings.CutPrefix(subj, store.EventsPrefix)
	if !ok {
		return control.Scope{}, "", false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return control.Scope{}, "", false
	}
	return control.Scope{Account: parts[0], Region: parts[1]}, store.Untoken(parts[2]), true
}
