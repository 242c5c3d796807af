package schemas

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/schemainfer"
)

// Discovery is split in two so that PutEvents never waits for it:
//
//   - Sample, called by ingest for each stored entry, looks in memory
//     whether the bus has a STARTED discoverer and whether this second's
//     samples of the entry's source and detail-type are used up; if not, it
//     publishes the event to SamplesStream without waiting for the
//     acknowledgement. Each sample's message id is its key, its second and
//     its slot (0 to SamplesPerSecond-1), so that JetStream's duplicate
//     window drops what other processes sampled in the same slot: at most
//     SamplesPerSecond samples per key per second get in, cluster-wide.
//   - The worker (run) consumes the stream through one durable consumer
//     shared by every process (a work queue: each sample is merged once),
//     infers each sample's schema and merges it into the discovered
//     schema, a new version when its shape changed. The stream and the
//     consumer are on disk: samples not yet merged survive restarts.

// SamplesStream holds sampled events awaiting discovery; part of the
// on-disk format.
const (
	SamplesStream  = "SWITCHYARD_SCHEMA_SAMPLES"
	samplesPrefix  = "sy.schemas.samples."
	samplesDurable = "schemas-discovery"
)

// maxPendingSamples: past this many publishes of the process awaiting
// JetStream's acknowledgement, samples are dropped, so that sampling never
// makes a PutEvents wait (an asynchronous publish blocks when too many are
// pending).
const maxPendingSamples = 2000

// DefaultSamplesPerSecond is the default of Config.SamplesPerSecond.
const DefaultSamplesPerSecond = 5

var (
	sampledEvents = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_schema_discovery_sampled_events_total",
		Help: "Events sampled for schema discovery by this process (before the cluster-wide de-duplication).",
	})
	discoveredVersions = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_schema_discovered_versions_total",
		Help: "Versions of discovered schemas created: new schemas, and new shapes of known ones.",
	})
	droppedSamples = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_schema_discovery_dropped_samples_total",
		Help: "Samples not taken because the process had too many publishes waiting for storage.",
	})
	discoveryFailures = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_schema_discovery_failures_total",
		Help: "Samples that could not be merged into their discovered schema (not valid events, or storage errors).",
	})
)

// busRef names a bus.
type busRef struct{ account, region, bus string }

// sampleKey names what is sampled: one source and detail-type on a bus.
type sampleKey struct {
	busRef
	source, detailType string
}

// slot counts the samples of one key taken in one second.
type slot struct {
	sec atomic.Int64
	n   atomic.Int64
}

type discovery struct {
	s      *Service
	js     jetstream.JetStream
	stream jetstream.Stream
	perSec int

	// started maps each bus with a STARTED discoverer to its
	// CrossAccount. It is read on every stored entry and changes seldom:
	// an immutable map swapped whole, so that readers share no lock.
	started atomic.Pointer[map[busRef]bool]

	// slots (sampleKey → *slot) is read on every entry of a bus with a
	// started discoverer, from every PutEvents at once: a sync.Map and
	// atomic counts keep that free of locks.
	slots sync.Map
}

// take counts an entry of k in second now, and says whether it is sampled
// and in which slot (0 to perSec-1).
func (d *discovery) take(k sampleKey, now int64) (int, bool) {
	v, ok := d.slots.Load(k)
	if !ok {
		v, _ = d.slots.LoadOrStore(k, &slot{})
	}
	sl := v.(*slot)
	sec := sl.sec.Load()
	if sec == now && sl.n.Load() >= int64(d.perSec) {
		// This second's samples are taken: under load, nearly every
		// entry ends here, reading and not writing the shared count.
		return 0, false
	}
	if sec != now {
		if sl.sec.CompareAndSwap(sec, now) {
			sl.n.Store(0)
		}
	}
	n := sl.n.Add(1) - 1
	return int(n), n < int64(d.perSec)
}

// sweep forgets the keys not sampled for a minute.
func (d *discovery) sweep(now int64) {
	d.slots.Range(func(k, v any) bool {
		if now-v.(*slot).sec.Load() > 60 {
			d.slots.Delete(k)
		}
		return true
	})
}

func newDiscovery(ctx context.Context, s *Service) (*discovery, error) {
	st, err := store.EnsureStream(ctx, s.cfg.JS, jetstream.StreamConfig{
		Name:        SamplesStream,
		Description: "Switchyard schema discovery: events sampled from buses with a started discoverer",
		Subjects:    []string{samplesPrefix + ">"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    max(s.cfg.Replicas, 1),
		// A backlog is bounded: discovery is sampling, and the newest
		// samples are the ones worth keeping. By count, not MaxBytes:
		// JetStream reserves a stream's MaxBytes against the store's limit
		// at creation, which on a small disk refused the whole process
		// (the store's limit follows the free space, --disk-reserve).
		MaxMsgs:    10_000,
		Discard:    jetstream.DiscardOld,
		MaxAge:     24 * time.Hour,
		Duplicates: 2 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("schema samples stream: %w", err)
	}
	d := &discovery{s: s, js: s.cfg.JS, stream: st, perSec: s.cfg.SamplesPerSecond}
	d.started.Store(&map[busRef]bool{})
	return d, nil
}

// setStarted records whether the bus ref has a started discoverer (only
// the watch writes).
func (d *discovery) setStarted(ref busRef, started, cross bool) {
	m := maps.Clone(*d.started.Load())
	if started {
		m[ref] = cross
	} else {
		delete(m, ref)
	}
	d.started.Store(&m)
}

// Sample offers a stored event for discovery: sender sent it to bus of
// target. event builds the event's envelope, only when it is sampled.
// watches reports whether events of sender on bus of target are being
// discovered (a started discoverer, cross-account or not as it says).
func (d *discovery) watches(sender, target control.Scope, bus string) bool {
	cross, ok := (*d.started.Load())[busRef{target.Account, target.Region, bus}]
	return ok && (cross || sender.Account == target.Account)
}

func (d *discovery) Sample(sender, target control.Scope, bus, source, detailType string, event func() []byte) {
	ref := busRef{target.Account, target.Region, bus}
	cross, ok := (*d.started.Load())[ref]
	if !ok || (!cross && sender.Account != target.Account) {
		return
	}
	now := time.Now().Unix()
	n, ok := d.take(sampleKey{ref, source, detailType}, now)
	if !ok {
		return
	}
	if d.js.PublishAsyncPending() > maxPendingSamples {
		// Storage is behind: a sample is not worth waiting for.
		droppedSamples.Inc()
		return
	}
	sampledEvents.Inc()
	msg := &nats.Msg{Subject: samplesPrefix + target.Account + "." + target.Region, Data: event(), Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, sampleID(target, bus, source, detailType, now, n))
	if _, err := d.js.PublishMsgAsync(msg); err != nil {
		d.s.log.Debug("schemas: sample not published", "err", err)
	}
}

// SampleEvent is Sample for an event already formed (one an event-bus
// target forwarded): its source and detail-type are read from it only if
// its bus is being discovered.
func (d *discovery) SampleEvent(sender, target control.Scope, bus string, event []byte) {
	if _, ok := (*d.started.Load())[busRef{target.Account, target.Region, bus}]; !ok {
		return
	}
	var head struct {
		Source     string `json:"source"`
		DetailType string `json:"detail-type"`
	}
	if json.Unmarshal(event, &head) != nil || head.Source == "" || head.DetailType == "" {
		return
	}
	d.Sample(sender, target, bus, head.Source, head.DetailType, func() []byte { return event })
}

// sampleID is the message id of a sample: a hash of its key, second and
// slot, since a source or detail-type may hold what a header value cannot
// (a line break).
func sampleID(sc control.Scope, bus, source, detailType string, sec int64, n int) string {
	h := sha256.New()
	for _, s := range []string{sc.Account, sc.Region, bus, source, detailType, strconv.FormatInt(sec, 10), strconv.Itoa(n)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// run keeps the set of started discoverers and merges samples, until ctx
// ends.
func (d *discovery) run(ctx context.Context) error {
	go d.watch(ctx)
	go func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				d.sweep(now.Unix())
			}
		}
	}()
	for ctx.Err() == nil {
		if err := d.consume(ctx); err != nil && ctx.Err() == nil {
			d.s.log.Warn("schemas: discovery consumer failed; retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

// watch follows the discoverers in the bucket.
func (d *discovery) watch(ctx context.Context) {
	for ctx.Err() == nil {
		w, err := d.s.db.kv.WatchFiltered(ctx, []string{kindDiscoverer + ".>"})
		if err != nil {
			d.s.log.Warn("schemas: watch discoverers", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		d.follow(ctx, w)
		_ = w.Stop()
	}
}

func (d *discovery) follow(ctx context.Context, w jetstream.KeyWatcher) {
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil {
				continue
			}
			parts := strings.SplitN(e.Key(), ".", 4)
			if len(parts) != 4 {
				continue
			}
			var disc Discoverer
			live := e.Operation() == jetstream.KeyValuePut && json.Unmarshal(e.Value(), &disc) == nil
			var ref busRef
			if live {
				_, bus, ok := control.ParseBusARN(disc.SourceArn)
				if !ok {
					continue
				}
				ref = busRef{parts[1], parts[2], bus}
			} else {
				ref = busRef{parts[1], parts[2], strings.TrimPrefix(untok(parts[3]), "events-event-bus-")}
			}
			d.setStarted(ref, live && disc.State == StateStarted, disc.CrossAccount)
		}
	}
}

func (d *discovery) consume(ctx context.Context) error {
	cons, err := d.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       samplesDurable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxDeliver:    5,
		MaxAckPending: 256,
	})
	if err != nil {
		return fmt.Errorf("discovery consumer: %w", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(64), jetstream.PullExpiry(5*time.Second), jetstream.PullHeartbeat(time.Second))
	if err != nil {
		return fmt.Errorf("discovery pull: %w", err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, jetstream.ErrNoHeartbeat) {
				continue
			}
			return err
		}
		parts := strings.Split(strings.TrimPrefix(msg.Subject(), samplesPrefix), ".")
		if len(parts) != 2 {
			_ = msg.Term()
			continue
		}
		sc := control.Scope{Account: parts[0], Region: parts[1]}
		if err := d.s.discover(ctx, sc, msg.Data()); err != nil {
			discoveryFailures.Inc()
			var perm *permanent
			if errors.As(err, &perm) {
				d.s.log.Debug("schemas: sample not discoverable", "err", err)
				_ = msg.Term()
				continue
			}
			d.s.log.Warn("schemas: discovery failed", "err", err)
			_ = msg.NakWithDelay(time.Second)
			continue
		}
		_ = msg.Ack()
	}
}

// permanent marks a sample that can never be merged.
type permanent struct{ err error }

func (p *permanent) Error() string { return p.err.Error() }
func (p *permanent) Unwrap() error { return p.err }

// DiscoveredName is the name discovery gives the schema of the events of
// source and detailType, as schemainfer.Schema.Name does:
// "<source>@<DetailType>", the detail-type's words (runs of ASCII letters
// and digits) run together, each starting with a capital ("EC2 Instance
// State-change Notification" of aws.ec2 is
// aws.ec2@EC2InstanceStateChangeNotification).
func DiscoveredName(source, detailType string) string {
	var b strings.Builder
	b.WriteString(source)
	b.WriteByte('@')
	up, wrote := true, false
	for i := 0; i < len(detailType); i++ {
		c := detailType[i]
		switch {
		case c >= 'a' && c <= 'z':
			if up {
				c -= 'a' - 'A'
			}
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		default:
			up = true
			continue
		}
		b.WriteByte(c)
		up, wrote = false, true
	}
	if !wrote {
		b.WriteString("Object")
	}
	return b.String()
}

// discover merges the schema of event into its discovered schema in sc.
func (s *Service) discover(ctx context.Context, sc control.Scope, event []byte) error {
	inf, err := schemainfer.FromEvent(event)
	if err != nil {
		return &permanent{err}
	}
	name := inf.Name()
	if !schemaNameRE.MatchString(name) {
		return &permanent{fmt.Errorf("no schema name can be made of source %q and detail-type %q", inf.Source(), inf.DetailType())}
	}
	_, v, err := s.addVersion(ctx, sc, DiscoveredRegistry, name, mayExist, "", func(cur *Schema) ([]byte, string, bool, error) {
		latest := cur.latest()
		if latest == nil {
			return inf.OpenAPI(), TypeOpenAPI3, true, nil
		}
		c, err := s.content(ctx, sc, cur, latest)
		if err != nil {
			return nil, "", false, err
		}
		known, err := schemainfer.FromOpenAPI(c)
		if err != nil {
			// Edited by hand into something discovery cannot read: a
			// new version from this event alone.
			return inf.OpenAPI(), TypeOpenAPI3, true, nil
		}
		if !known.Merge(inf) {
			return nil, "", false, nil
		}
		return known.OpenAPI(), TypeOpenAPI3, true, nil
	})
	if err != nil {
		return err
	}
	if v != nil {
		discoveredVersions.Inc()
		s.log.Debug("schemas: discovered a schema version", "account", sc.Account, "region", sc.Region, "schema", name, "version", v.Number)
	}
	return nil
}
