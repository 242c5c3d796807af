package deliver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/match"
	"github.com/switchyard/switchyard/internal/store"
)

// Headers a task carries once it has been re-published. The first
// publication (by the matcher) has none of them: its attempt count is 0 and
// its id is its Nats-Msg-Id, which JetStream strips from the messages a
// schedule produces.
const (
	hdrTask     = "Switchyard-Task"
	hdrAttempts = "Switchyard-Attempts" // failed calls of the target so far
	hdrDefers   = "Switchyard-Defers"   // re-publications for a busy target
	// A dead letter to send: the give-up's error and condition, and the
	// failed sends so far.
	hdrDeadCode      = "Switchyard-Dead-Code"
	hdrDeadMessage   = "Switchyard-Dead-Message"
	hdrDeadCondition = "Switchyard-Dead-Condition"
	hdrDeadRetries   = "Switchyard-Dead-Retries"
	hdrDLQAttempts   = "Switchyard-Dlq-Attempts"
)

// JetStream's message-schedule headers (ADR-51, nats-server 2.12+).
const (
	hdrSchedule       = "Nats-Schedule"
	hdrScheduleTarget = "Nats-Schedule-Target"
)

// The EXHAUSTED_RETRY_CONDITION values of AWS's dead letters. A permanent
// error exhausts no condition, and its dead letter has no such attribute.
const (
	ConditionRetryAttempts = "MaximumRetryAttempts"
	ConditionEventAge      = "MaximumEventAgeInSeconds"
)

func (j *job) readHeaders(h nats.Header) error {
	j.task.Trace = match.TaskTrace(h)
	j.id = h.Get(hdrTask)
	if j.id == "" {
		j.id = h.Get(jetstream.MsgIDHeader)
	}
	var err error
	num := func(name string) int {
		v := h.Get(name)
		if v == "" || err != nil {
			return 0
		}
		n, e := strconv.Atoi(v)
		if e != nil || n < 0 {
			err = errors.New(name + ": " + v)
		}
		return n
	}
	j.attempts, j.defers, j.dlqAttempts = num(hdrAttempts), num(hdrDefers), num(hdrDLQAttempts)
	if code := h.Get(hdrDeadCode); code != "" {
		j.dead = &deadLetter{code: code, message: h.Get(hdrDeadMessage), condition: h.Get(hdrDeadCondition), retries: num(hdrDeadRetries)}
	}
	return err
}

// retryState is what a re-published task carries forward.
type retryState struct {
	attempts, defers int
	dead             *deadLetter
	dlqAttempts      int
}

// key names one re-publication of a task. It is the same however often the
// same decision is taken for the same delivery of the task, which is what
// makes re-publish-then-acknowledge crash-safe: after a crash between the
// two, the task comes back, fails the same way, and re-publishes under the
// same key, which JetStream deduplicates (Nats-Msg-Id, within the stream's
// two-minute window) and which names the same schedule subject (whose
// roll-up keeps one schedule per subject) — one later attempt, not two.
func (r retryState) key(id string) string {
	k := id + "|a" + strconv.Itoa(r.attempts) + "|d" + strconv.Itoa(r.defers)
	if r.dead != nil {
		k += "|dlq" + strconv.Itoa(r.dlqAttempts)
	}
	return k
}

// republish writes j back to the stream as a schedule due after delay, then
// acknowledges it. The task then waits in the stream alone: no consumer
// slot, no memory here, and nothing a crash can lose.
func (d *Deliverer) republish(ctx context.Context, j *job, r retryState, delay time.Duration) {
	key := r.key(j.id)
	sum := sha256.Sum256([]byte(key))
	m := &nats.Msg{
		// One subject per re-publication: a schedule rolls up (replaces)
		// any other message on its subject.
		Subject: store.RetryPrefix + hex.EncodeToString(sum[:16]),
		Data:    j.msg.Data(),
		Header:  nats.Header{},
	}
	// Sub-second precision: the server's RFC 3339 parsing accepts it, and
	// short test delays need it. The server fires at most every 250 ms.
	m.Header.Set(hdrSchedule, "@at "+time.Now().Add(delay).UTC().Format(time.RFC3339Nano))
	// A schedule's target must be a subject of its own stream: the task's
	// subject, so the retry reaches the consumer like any task.
	m.Header.Set(hdrScheduleTarget, j.msg.Subject())
	m.Header.Set(jetstream.MsgIDHeader, "retry|"+key)
	m.Header.Set(hdrTask, j.id)
	// The event's trace header is the message's, not the data's: it goes
	// with every later attempt, and with the dead letter.
	match.SetTaskTrace(m.Header, j.task.Trace)
	if r.attempts > 0 {
		m.Header.Set(hdrAttempts, strconv.Itoa(r.attempts))
	}
	if r.defers > 0 {
		m.Header.Set(hdrDefers, strconv.Itoa(r.defers))
	}
	if dl := r.dead; dl != nil {
		m.Header.Set(hdrDeadCode, dl.code)
		m.Header.Set(hdrDeadMessage, dl.message)
		if dl.condition != "" {
			m.Header.Set(hdrDeadCondition, dl.condition)
		}
		m.Header.Set(hdrDeadRetries, strconv.Itoa(dl.retries))
		m.Header.Set(hdrDLQAttempts, strconv.Itoa(r.dlqAttempts))
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	_, err := d.st.JS.PublishMsg(pctx, m)
	cancel()
	if err != nil {
		// Not stored: keep the task on the consumer instead, for the same
		// delay. It holds a slot meanwhile, but nothing is lost.
		d.log.WarnContext(logContext(ctx, j), "deliver: retry not stored; the task waits on the consumer", "err", err)
		_ = j.msg.NakWithDelay(delay)
		return
	}
	_ = j.msg.Ack()
}

// backoff is the wait before retry n+1: exponential from base, capped at
// 180 × base (three minutes by default), with full jitter in its upper
// half so that events that failed together do not retry together.
func backoff(n int, base time.Duration) time.Duration {
	if base <= 0 {
		base = time.Second
	}
	d := base << min(n, 8)
	d = min(d, 180*base)
	return d/2 + rand.N(d/2+1)
}

// Backoff is the default schedule's wait before retry n+1.
func Backoff(n int) time.Duration { return backoff(n, time.Second) }
