// Package natstarget is Switchyard's native NATS target: a rule target
// with the ARN
//
//	arn:aws:events:<region>:<account>:nats-subject/<subject>
//
// publishes each matched event (or the target's shaped input) on <subject>
// of the NATS server Switchyard itself uses (--nats-url; the embedded
// server has no listener, so there only streams of that server can take
// the messages). The region and account are the rule's, so that the ARN
// reads like any EventBridge ARN; they are not part of the subject, which
// is the NATS deployment's own namespace, shared by every account.
//
// When a JetStream stream captures the subject, the event is published to
// JetStream and delivered once the stream has stored it, with the delivery
// task's id as Nats-Msg-Id so that the stream's duplicate window drops a
// retried publish. Otherwise it is a core NATS publish, delivered once the
// server has received it (flushed): core NATS holds no message for a
// subscriber that is not there.
//
// Each message carries the header Switchyard-Rule-Arn, and
// Switchyard-Event-Id when the event has an id, and X-Amzn-Trace-Id when
// the event has an X-Ray trace header, which EventBridge passes to every
// kind of target (see deliver.TraceHeader).
package natstarget

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/deliver"
)

// Kind is the target kind of NATS subject ARNs (see deliver.Kind).
const Kind = "nats-subject"

// Headers set on every published message.
const (
	HeaderRuleArn = "Switchyard-Rule-Arn"
	HeaderEventID = "Switchyard-Event-Id"
)

// bindingTTL is how long whether a subject is captured by a stream is
// remembered: asking the server costs a round trip per event otherwise,
// and streams are created or changed rarely.
const bindingTTL = 30 * time.Second

// Invoker publishes to NATS subjects.
type Invoker struct {
	nc *nats.Conn
	js jetstream.JetStream
	mu sync.Mutex
	// stream says, per subject, whether a stream captures it and since when
	// that is known.
	stream map[string]binding
}

type binding struct {
	captured bool
	at       time.Time
}

// New returns an invoker publishing on nc.
func New(nc *nats.Conn, js jetstream.JetStream) *Invoker {
	return &Invoker{nc: nc, js: js, stream: map[string]binding{}}
}

// Invoke publishes the input.
func (n *Invoker) Invoke(ctx context.Context, inv *deliver.Invocation) error {
	subj, ok := control.NATSSubject(inv.Target.Arn)
	if !ok || !control.ValidNATSSubject(subj) {
		return deliver.Permanent("InvalidTarget", fmt.Errorf("target %s: not a subject a target may publish on", inv.Target.Arn))
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	msg := &nats.Msg{Subject: subj, Data: inv.Input, Header: nats.Header{}}
	msg.Header.Set(HeaderRuleArn, inv.RuleArn)
	var ev struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(inv.Event, &ev) == nil && ev.ID != "" {
		msg.Header.Set(HeaderEventID, ev.ID)
	}
	if inv.Trace != "" {
		msg.Header.Set(deliver.TraceHeader, inv.Trace)
	}
	captured, err := n.captured(ctx, subj)
	if err != nil {
		return deliver.Retryable("NatsError", fmt.Errorf("nats subject %s: %w", subj, err))
	}
	if captured {
		if inv.ID != "" {
			msg.Header.Set(jetstream.MsgIDHeader, inv.ID)
		}
		if _, err := n.js.PublishMsg(ctx, msg); err != nil {
			if errors.Is(err, jetstream.ErrNoStreamResponse) {
				n.forget(subj) // the stream may be gone: look again next time
			}
			return deliver.Retryable("NatsError", fmt.Errorf("nats subject %s (jetstream): %w", subj, err))
		}
		return nil
	}
	if err := n.nc.PublishMsg(msg); err != nil {
		return deliver.Retryable("NatsError", fmt.Errorf("nats subject %s: %w", subj, err))
	}
	if err := n.nc.FlushWithContext(ctx); err != nil {
		return deliver.Retryable("NatsError", fmt.Errorf("nats subject %s: flush: %w", subj, err))
	}
	return nil
}

// captured reports whether a stream captures subj.
func (n *Invoker) captured(ctx context.Context, subj string) (bool, error) {
	n.mu.Lock()
	b, ok := n.stream[subj]
	n.mu.Unlock()
	if ok && time.Since(b.at) < bindingTTL {
		return b.captured, nil
	}
	_, err := n.js.StreamNameBySubject(ctx, subj)
	switch {
	case err == nil:
		b = binding{captured: true, at: time.Now()}
	case errors.Is(err, jetstream.ErrStreamNotFound):
		b = binding{captured: false, at: time.Now()}
	default:
		return false, err
	}
	n.mu.Lock()
	n.stream[subj] = b
	n.mu.Unlock()
	return b.captured, nil
}

func (n *Invoker) forget(subj string) {
	n.mu.Lock()
	delete(n.stream, subj)
	n.mu.Unlock()
}
