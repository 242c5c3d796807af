// Package deliver invokes targets: it consumes the delivery stream and hands
// each task's event to the Invoker registered for its target's kind (another
// event bus, an HTTP endpoint, ...), retrying failures with exponential
// backoff within the target's retry policy. A task stays in the stream until
// it is delivered or given up, so a crash loses none.
package deliver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
	"github.com/switchyard/switchyard/internal/match"
	"github.com/switchyard/switchyard/internal/store"
)

// AWS's retry-policy defaults.
const (
	DefaultMaxAttempts = 185
	DefaultMaxAge      = 24 * time.Hour
)

const consumerName = "deliver"

// Deliverer consumes delivery tasks.
type Deliverer struct {
	st       *store.Store
	log      *slog.Logger
	workers  int
	invokers map[string]Invoker
}

// New returns a deliverer with the given number of concurrent workers and
// the built-in invokers: plain HTTP URLs and event buses.
func New(st *store.Store, in *ingest.Service, log *slog.Logger, workers int) *Deliverer {
	d := &Deliverer{st: st, log: log, workers: max(workers, 1), invokers: map[string]Invoker{}}
	d.Register("http", newHTTPInvoker())
	d.Register("event-bus", busInvoker{in})
	return d
}

// Register sets the invoker for a kind of target (see Kind).
func (d *Deliverer) Register(kind string, inv Invoker) { d.invokers[kind] = inv }

// Run delivers until ctx ends.
func (d *Deliverer) Run(ctx context.Context) error {
	cons, err := d.st.JS.CreateOrUpdateConsumer(ctx, store.DeliveryStream, jetstream.ConsumerConfig{
		Durable:       consumerName,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxAckPending: 10000,
		MaxDeliver:    -1, // the retry policy decides, per target
	})
	if err != nil {
		return fmt.Errorf("deliver consumer: %w", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(2 * d.workers))
	if err != nil {
		return fmt.Errorf("deliver consume: %w", err)
	}
	go func() { <-ctx.Done(); it.Stop() }()
	var wg sync.WaitGroup
	for i := 0; i < d.workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				msg, err := it.Next()
				if err != nil {
					if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
						return
					}
					d.log.Error("deliver: next task", "err", err)
					continue
				}
				d.handle(ctx, msg)
			}
		}()
	}
	wg.Wait()
	return nil
}

// permanent marks failures that retrying cannot fix (a missing resource,
// an unsupported target); AWS skips the retries for those.
type permanent struct{ error }

func (d *Deliverer) handle(ctx context.Context, msg jetstream.Msg) {
	var t match.Task
	if err := json.Unmarshal(msg.Data(), &t); err != nil {
		d.log.Error("deliver: undecodable task; dropped", "err", err)
		_ = msg.Term()
		return
	}
	meta, err := msg.Metadata()
	if err != nil {
		d.log.Error("deliver: no metadata", "err", err)
		_ = msg.Nak()
		return
	}
	sc, _, ok := taskScope(msg.Subject())
	if !ok {
		_ = msg.Term()
		return
	}
	inv := &Invocation{Scope: sc, RuleArn: t.RuleArn, RuleName: t.RuleName, Target: &t.Target, Event: t.Event,
		Input: t.Event, Ingested: time.UnixMilli(t.Ingested), Attempt: int(meta.NumDelivered),
		ID: msg.Headers().Get(jetstream.MsgIDHeader)}
	if t.Target.Input != nil {
		inv.Input = []byte(*t.Target.Input)
	}
	err = d.invoke(ctx, inv)
	if err == nil {
		_ = msg.Ack()
		return
	}
	attempts, maxAge := DefaultMaxAttempts, DefaultMaxAge
	if rp := t.Target.RetryPolicy; rp != nil {
		if rp.MaximumRetryAttempts != nil {
			attempts = int(*rp.MaximumRetryAttempts)
		}
		if rp.MaximumEventAgeInSeconds != nil {
			maxAge = time.Duration(*rp.MaximumEventAgeInSeconds) * time.Second
		}
	}
	e := classify(err)
	retries := inv.Attempt - 1
	if e.Permanent || retries >= attempts || time.Since(inv.Ingested) >= maxAge {
		d.log.Warn("deliver: giving up", "rule", t.RuleArn, "target", t.Target.Id, "retries", retries, "err", err)
		_ = msg.Term()
		return
	}
	delay := max(Backoff(retries), e.RetryAfter)
	d.log.Info("deliver: will retry", "rule", t.RuleArn, "target", t.Target.Id, "retry", retries+1, "in", delay, "err", err)
	_ = msg.NakWithDelay(delay)
}

// invoke hands the invocation to the invoker of its target's kind.
func (d *Deliverer) invoke(ctx context.Context, inv *Invocation) error {
	i := d.invokers[Kind(inv.Target.Arn)]
	if i == nil {
		return unsupported(inv.Target.Arn)
	}
	return i.Invoke(ctx, inv)
}

// Backoff is the wait before retry n+1: exponential from one second, capped
// at three minutes, with full jitter in its upper half.
func Backoff(n int) time.Duration {
	d := time.Second << min(n, 8)
	d = min(d, 3*time.Minute)
	return d/2 + rand.N(d/2+1)
}

func taskScope(subj string) (control.Scope, string, bool) {
	rest, ok := strings.CutPrefix(subj, store.DeliveryPrefix)
	if !ok {
		return control.Scope{}, "", false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 4 {
		return control.Scope{}, "", false
	}
	return control.Scope{Account: parts[0], Region: parts[1]}, store.Untoken(parts[2]), true
}
