package peer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"golang.org/x/sync/errgroup"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
	"github.com/switchyard/switchyard/internal/store"
)

var (
	replicationSent = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_peer_replication_sent_total",
		Help: "Replicated events the peer outbox handed to the deployment serving their region, by result: stored, dropped (refused by the peer, per event, after retries).",
	}, []string{"region", "result"})
	replicationFailures = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_peer_replication_failures_total",
		Help: "Calls of the peer outbox to the deployment serving a region that failed (unreachable, hanging, 5xx, credentials refused); their events wait and are sent again.",
	}, []string{"region"})
	endpointSyncFailures = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_peer_endpoint_sync_failures_total",
		Help: "Failed calls telling the deployment serving a region the global endpoints it is the secondary of.",
	}, []string{"region"})
)

// Run sends the peer outbox to the peers and keeps their copies of this
// deployment's endpoints up to date, until ctx ends. Every process of a
// cluster runs it: the outbox's consumer of each region is shared (a work
// queue), and the endpoint syncs are idempotent.
func (p *Peers) Run(ctx context.Context, js jetstream.JetStream, view *control.View) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, r := range p.Regions() {
		c := p.clients[r]
		g.Go(func() error { p.sendLoop(ctx, js, c); return nil })
	}
	g.Go(func() error { p.syncLoop(ctx, view); return nil })
	return g.Wait()
}

// Sender tuning: how long an outbox message may be held before JetStream
// hands it to another process, and the back-off between failed calls.
const (
	// Held messages are kept in progress between calls (at most
	// backoffMax + sendTimeout apart); a process that dies holding some
	// leaves them to another after outboxAckWait, or to itself at once
	// when it restarts on its data directory (store.redeliverOrphans).
	outboxAckWait = 30 * time.Second
	backoffMin    = 200 * time.Millisecond
	backoffMax    = 10 * time.Second
	// refusedRetries is how often an event the peer refuses is offered
	// again (the endpoint or bus may not have reached the peer yet)
	// before it is dropped and counted.
	refusedRetries = 5
	refusedDelay   = 5 * time.Second
	// sendTimeout bounds one call of the outbox to a peer that hangs.
	sendTimeout = 5 * time.Second
)

// sendLoop drains the outbox subject of c's region, again after any
// failure of the store, until ctx ends.
func (p *Peers) sendLoop(ctx context.Context, js jetstream.JetStream, c *Client) {
	for ctx.Err() == nil {
		err := p.send(ctx, js, c)
		if ctx.Err() != nil {
			return
		}
		p.log.Warn("peer: outbox sender restarting", "region", c.region, "err", err)
		sleep(ctx, time.Second)
	}
}

func (p *Peers) send(ctx context.Context, js jetstream.JetStream, c *Client) error {
	cons, err := js.CreateOrUpdateConsumer(ctx, store.PeerStream, jetstream.ConsumerConfig{
		Durable:       "peer-" + store.Token(c.region),
		Description:   "Replicated events for the deployment serving " + c.region,
		FilterSubject: store.PeerPrefix + c.region,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       outboxAckWait,
		MaxAckPending: 10 * MaxEvents,
	})
	if err != nil {
		return fmt.Errorf("outbox consumer: %w", err)
	}
	for ctx.Err() == nil {
		msgs, err := next(ctx, cons)
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			continue
		}
		p.deliver(ctx, c, msgs)
	}
	return nil
}

// next waits for the next outbox messages: those waiting now, up to
// MaxEvents, or the first to arrive within a few seconds.
func next(ctx context.Context, cons jetstream.Consumer) ([]jetstream.Msg, error) {
	var out []jetstream.Msg
	batch, err := cons.FetchNoWait(MaxEvents)
	if err != nil {
		return nil, fmt.Errorf("outbox fetch: %w", err)
	}
	for m := range batch.Messages() {
		out = append(out, m)
	}
	if len(out) > 0 {
		return out, nil
	}
	batch, err = cons.Fetch(1, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		return nil, fmt.Errorf("outbox fetch: %w", err)
	}
	for m := range batch.Messages() {
		out = append(out, m)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
		return out, fmt.Errorf("outbox fetch: %w", err)
	}
	return out, ctx.Err()
}

// deliver hands msgs to the peer, calling again with a back-off while the
// call fails (the messages are kept in progress meanwhile), and
// acknowledges each once the peer has stored it.
func (p *Peers) deliver(ctx context.Context, c *Client, msgs []jetstream.Msg) {
	events := make([]ingest.PeerEvent, 0, len(msgs))
	held := make([]jetstream.Msg, 0, len(msgs))
	for _, m := range msgs {
		var e ingest.PeerEvent
		if err := json.Unmarshal(m.Data(), &e); err != nil {
			p.log.Error("peer: malformed outbox message dropped", "region", c.region, "err", err)
			_ = m.Term()
			continue
		}
		events, held = append(events, e), append(held, m)
	}
	for _, r := range batches(events, maxBatchBytes) {
		if ctx.Err() != nil {
			return
		}
		p.deliverBatch(ctx, c, held[r[0]:r[1]], events[r[0]:r[1]])
	}
}

// maxBatchBytes bounds the envelopes of one StoreEvents call, well under
// the peer's MaxBody: 100 events of up to 1 MiB would be more.
const maxBatchBytes = 4 << 20

// batches cuts events into runs [from, to) whose envelopes add up to at
// most max bytes each (an event larger than max is a run of its own).
func batches(events []ingest.PeerEvent, max int) [][2]int {
	var out [][2]int
	from, size := 0, 0
	for i, e := range events {
		n := len(e.Envelope)
		if i > from && size+n > max {
			out = append(out, [2]int{from, i})
			from, size = i, 0
		}
		size += n
	}
	if from < len(events) {
		out = append(out, [2]int{from, len(events)})
	}
	return out
}

// deliverBatch is deliver for one StoreEvents call's worth.
func (p *Peers) deliverBatch(ctx context.Context, c *Client, held []jetstream.Msg, events []ingest.PeerEvent) {
	wait := backoffMin
	failingSince := time.Time{}
	lastLog := time.Time{}
	for {
		cctx, cancel := context.WithTimeout(ctx, sendTimeout)
		results, err := c.StoreEvents(cctx, events)
		cancel()
		if err == nil {
			if !failingSince.IsZero() {
				p.log.Info("peer: replication to the deployment serving a region resumed", "region", c.region, "after", time.Since(failingSince).Round(time.Millisecond))
			}
			p.settle(ctx, c, held, events, results)
			return
		}
		if ctx.Err() != nil {
			return
		}
		replicationFailures.WithLabelValues(c.region).Inc()
		if failingSince.IsZero() {
			failingSince = time.Now()
		}
		if time.Since(lastLog) > 30*time.Second {
			level := slog.LevelWarn
			var ae *APIError
			if errors.As(err, &ae) && !ae.Retryable() {
				// Refused (the key, most likely): a configuration to fix,
				// not an outage to wait out.
				level = slog.LevelError
			}
			p.log.Log(ctx, level, "peer: replication to the deployment serving a region failing; the events wait in the outbox",
				"region", c.region, "url", c.base, "events", len(events), "err", err)
			lastLog = time.Now()
		}
		for _, m := range held {
			_ = m.InProgress()
		}
		sleep(ctx, wait)
		wait = min(2*wait, backoffMax)
	}
}

// settle acknowledges the events the peer stored; one it refused is
// offered again later, up to refusedRetries times, then dropped.
func (p *Peers) settle(ctx context.Context, c *Client, held []jetstream.Msg, events []ingest.PeerEvent, results []ingest.PeerResult) {
	for i, m := range held {
		r := results[i]
		if r.ErrorCode == "" {
			replicationSent.WithLabelValues(c.region, "stored").Inc()
			_ = m.DoubleAck(ctx)
			continue
		}
		if md, err := m.Metadata(); err == nil && md.NumDelivered <= refusedRetries {
			_ = m.NakWithDelay(refusedDelay)
			continue
		}
		p.log.Error("peer: replicated event refused by the deployment serving its region; dropped", "region", c.region,
			"account", events[i].Account, "bus", events[i].Bus, "id", events[i].ID, "code", r.ErrorCode, "message", r.ErrorMessage)
		replicationSent.WithLabelValues(c.region, "dropped").Inc()
		_ = m.Term()
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// syncLoop tells each peer the endpoints it is the secondary of: when
// they change here, and every resyncEvery (a peer that restarted, or was
// unreachable, catches up).
func (p *Peers) syncLoop(ctx context.Context, view *control.View) {
	last := map[string]string{}
	at := map[string]time.Time{}
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		changed := view.Changed()
		for _, r := range p.Regions() {
			var eps []*control.Endpoint
			for _, e := range view.Endpoints(control.Scope{}) {
				if !e.Peer && e.SecondaryRegion == r && p.Serves(e.Region) {
					eps = append(eps, e)
				}
			}
			data, _ := json.Marshal(eps)
			if string(data) == last[r] && time.Since(at[r]) < resyncEvery {
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := p.clients[r].SyncEndpoints(cctx, eps)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				endpointSyncFailures.WithLabelValues(r).Inc()
				if time.Since(at[r]) > resyncEvery {
					p.log.Warn("peer: endpoints not synced to the deployment serving a region; trying again", "region", r, "err", err)
					at[r] = time.Now()
				}
				delete(last, r)
				continue
			}
			last[r], at[r] = string(data), time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-tick.C:
		}
	}
}

// resyncEvery is how often the endpoints are told again unchanged.
const resyncEvery = 30 * time.Second
