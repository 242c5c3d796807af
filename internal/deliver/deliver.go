// Package deliver invokes targets: it consumes the delivery stream and sends
// each task's event to its target — another event bus, or an HTTP endpoint —
// retrying failures with exponential backoff within the target's retry
// policy. A task stays in the stream until it is delivered or given up, so
// a crash loses none.
package deliver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
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
	st      *store.Store
	ingest  *ingest.Service
	log     *slog.Logger
	client  *http.Client
	workers int
}

// New returns a deliverer with the given number of concurrent workers.
func New(st *store.Store, in *ingest.Service, log *slog.Logger, workers int) *Deliverer {
	return &Deliverer{
		st: st, ingest: in, log: log, workers: max(workers, 1),
		// AWS gives an HTTP target five seconds.
		client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}},
	}
}

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
	err = d.invoke(ctx, sc, &t, meta)
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
	retries := int(meta.NumDelivered) - 1 // NumDelivered counts this attempt
	age := time.Since(time.UnixMilli(t.Ingested))
	var perm permanent
	if errors.As(err, &perm) || retries >= attempts || age >= maxAge {
		d.log.Warn("deliver: giving up", "rule", t.RuleArn, "target", t.Target.Id, "retries", retries, "err", err)
		_ = msg.Term()
		return
	}
	delay := Backoff(retries)
	d.log.Info("deliver: will retry", "rule", t.RuleArn, "target", t.Target.Id, "retry", retries+1, "in", delay, "err", err)
	_ = msg.NakWithDelay(delay)
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

// invoke sends the task's event to its target once.
func (d *Deliverer) invoke(ctx context.Context, sc control.Scope, t *match.Task, meta *jetstream.MsgMetadata) error {
	body := []byte(t.Event)
	if t.Target.Input != nil {
		body = []byte(*t.Target.Input)
	}
	arn := t.Target.Arn
	switch {
	case strings.HasPrefix(arn, "http://") || strings.HasPrefix(arn, "https://"):
		return d.post(ctx, arn, body)
	case isBusARN(arn):
		parts := strings.SplitN(arn, ":", 6)
		target := control.Scope{Account: parts[4], Region: parts[3]}
		if target != sc {
			return permanent{fmt.Errorf("cross-account and cross-region bus targets are not supported yet (%s)", arn)}
		}
		bus := strings.TrimPrefix(parts[5], "event-bus/")
		dedup := fmt.Sprintf("fwd|%d|%s|%s", meta.Sequence.Stream, t.RuleArn, t.Target.Id)
		err := d.ingest.Forward(ctx, target, bus, body, t.Ingested, dedup)
		if err != nil && strings.Contains(err.Error(), "does not exist") {
			return permanent{err}
		}
		return err
	default:
		return permanent{fmt.Errorf("target kind not supported yet: %s", arn)}
	}
}

func isBusARN(arn string) bool {
	parts := strings.SplitN(arn, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && parts[2] == "events" && strings.HasPrefix(parts[5], "event-bus/")
}

// post sends body to an HTTP endpoint. 2xx is success; 401, 407, 409, 429
// and 5xx are retried; other answers cannot succeed on retry.
func (d *Deliverer) post(ctx context.Context, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return permanent{fmt.Errorf("http target %s: %w", url, err)}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Switchyard")
	resp, err := d.client.Do(req)
	if err != nil {
		return fmt.Errorf("http target %s: %w", url, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c == 401 || c == 407 || c == 409 || c == 429 || c >= 500:
		return fmt.Errorf("http target %s: status %d", url, c)
	default:
		return permanent{fmt.Errorf("http target %s: status %d", url, c)}
	}
}
