// Package store connects Switchyard to NATS JetStream, where all of its state
// lives: an embedded, in-process nats-server by default, or an external NATS
// server or cluster when a URL is given. Either way the rest of Switchyard
// sees the same things: the control-plane key-value bucket and the durable
// streams of the data path (events → matching → deliveries).
//
// Nothing is held only in one process's memory: several Switchyard processes
// may share one NATS cluster, each deriving its in-memory views from these
// streams.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Names of the JetStream assets. They are part of the on-disk format.
const (
	ControlBucket  = "switchyard_control"
	ScheduleBucket = "switchyard_schedule" // per scheduled rule, the last tick fired
	RatesBucket    = "switchyard_rates"    // API destinations' invocations per second, cluster-wide
	EventsStream   = "SWITCHYARD_EVENTS"
	DeliveryStream = "SWITCHYARD_DELIVERIES"
	// PeerStream holds the events of global endpoints waiting to be
	// replicated to another deployment (package peer), one subject per
	// region: PeerPrefix + region.
	PeerStream = "SWITCHYARD_PEER_OUTBOX"
	PeerPrefix = "sy.peer."

	// EventsPrefix is followed by "<account>.<region>.<bus>" (see Token).
	EventsPrefix = "sy.events."
	// DeliveryPrefix is followed by "<account>.<region>.<bus>.<rule>".
	DeliveryPrefix = "sy.deliver."
	// RetryPrefix holds delivery tasks waiting for a later attempt, one
	// subject per waiting task: JetStream message schedules ("@at") that
	// the server itself re-publishes onto their task's DeliveryPrefix
	// subject when due. A schedule must live in the stream of its target.
	RetryPrefix = "sy.retry."
	// TickPrefix is followed by "<account>.<region>.<bus>.<rule>": the
	// tasks of scheduled rules' ticks, stored ahead of the tick and held
	// by a deliverer until it is due (packages scheduler and deliver).
	TickPrefix = "sy.tick."
)

// StallWait is the publish option of every asynchronous publish on the
// data path: when the client already has 4,000 publishes waiting for
// their acknowledgement, the next one waits up to ten seconds for storage
// to catch up — back-pressure — instead of failing after nats.go's default
// 200 ms. A failed publish made the router hand a whole event back for
// redelivery (calling again the targets it had already called) and a
// PutEvents entry fail: at 100 rules × 5 targets a burst of events did.
var StallWait = jetstream.WithStallWait(10 * time.Second)

// Config says where the store is.
type Config struct {
	// URL of an external NATS server; empty runs one embedded.
	URL string
	// DataDir holds the embedded server's JetStream files.
	DataDir string
	// Sync is the embedded server's fsync policy: 0 means fsync after every
	// write ("always"); a positive duration syncs on that interval.
	Sync time.Duration
	// Replicas for the streams and bucket on an external cluster (1 embedded).
	Replicas int
	// DiskReserve is the free space, in bytes, the embedded store keeps on
	// its filesystem: below it Available reports the store unavailable,
	// and PutEvents is refused (retryably) rather than filling the disk.
	// 0 is DefaultDiskReserve (at most 5% of the filesystem); negative
	// turns the guard off.
	DiskReserve int64
	// Listen is the API address, recorded in the data-dir lock so that a
	// second process refused the directory can say who holds it.
	Listen string
	Logger *slog.Logger
}

// Store is a connection to JetStream with the Switchyard assets in place.
type Store struct {
	NC      *nats.Conn
	JS      jetstream.JetStream
	Control jetstream.KeyValue
	Events  jetstream.Stream
	Deliver jetstream.Stream
	// Peer is the outbox of events replicated to other deployments
	// (PeerStream).
	Peer jetstream.Stream

	// Schedule is the scheduler's per-rule state (ScheduleBucket).
	Schedule jetstream.KeyValue
	// Rates counts the invocations of each API destination in each second
	// (RatesBucket), so that every process shares its rate limit.
	Rates jetstream.KeyValue

	emb *embedded // nil when external
	log *slog.Logger

	// unavailable, when set, says why the store cannot take writes now
	// (see Available).
	unavailable atomic.Pointer[error]
	stop        context.CancelFunc // ends supervise
	supervised  chan struct{}      // closed when supervise has ended
	replicas    int
}

// Open starts (or connects to) NATS and makes sure the assets exist.
//
// Embedded, it first makes sure the data directory is this process's to
// use (see prepareDataDir): writable, and locked against a second process,
// failing at once, saying why, if not. It then supervises the embedded
// server until Close: see supervise.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Store{log: log, replicas: max(cfg.Replicas, 1)}
	var err error
	if cfg.URL == "" {
		if s.emb, err = newEmbedded(cfg, log); err != nil {
			return nil, err
		}
		var srv *server.Server
		if srv, err = s.emb.start(); err != nil {
			s.Close()
			return nil, err
		}
		s.emb.srv = srv // err stays the outer one: the connect below sets it
		s.NC, err = nats.Connect("", nats.InProcessServer(s.emb), nats.Name("switchyard"), nats.MaxReconnects(-1),
			// While the embedded server is replaced (supervise), the
			// connection retries often: the new one is in this process.
			nats.ReconnectWait(50*time.Millisecond), nats.ReconnectJitter(0, 0),
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
				if err != nil {
					log.Warn("store: disconnected from the embedded nats server", "err", err)
				}
			}),
			nats.ReconnectHandler(func(*nats.Conn) { log.Info("store: reconnected to the embedded nats server") }))
	} else {
		s.NC, err = nats.Connect(cfg.URL, nats.Name("switchyard"), nats.MaxReconnects(-1))
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("connect to nats: %w", err)
	}
	// A message JetStream fails to store gets no acknowledgement at all
	// (nats-server does not answer it, see embedded); without a timeout its
	// publisher would wait for ever.
	if s.JS, err = jetstream.New(s.NC, jetstream.WithPublishAsyncTimeout(AckTimeout)); err != nil {
		s.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if err := s.ensureAssetsPatiently(ctx, cfg.Logger); err != nil {
		s.Close()
		return nil, err
	}
	if s.emb != nil {
		if err := s.redeliverOrphans(ctx); err != nil {
			s.Close()
			return nil, err
		}
		sctx, stop := context.WithCancel(context.Background())
		s.stop, s.supervised = stop, make(chan struct{})
		go func() { defer close(s.supervised); s.supervise(sctx) }()
	}
	return s, nil
}

// assetsPatience is how long Open keeps trying to create the streams and
// buckets while JetStream cannot answer: a NATS cluster still electing its
// meta leader, or several Switchyard processes creating the same assets at
// once on a fresh cluster (each request then may time out while the meta
// leader works through the others). A fault that does not pass in that
// time is reported.
const assetsPatience = 2 * time.Minute

func (s *Store) ensureAssetsPatiently(ctx context.Context, log *slog.Logger) error {
	return Patiently(ctx, log, func(ctx context.Context) error { return s.ensureAssets(ctx, true) })
}

// Patiently runs create, the creation or update of JetStream assets, until
// it succeeds, fails for a reason other than JetStream not answering, or
// assetsPatience has passed. Each attempt has 3 s: when processes race to
// create the same assets on a fresh cluster, a request can go unanswered
// while the asset is made. Every part of a process that makes assets of its
// own (the services' buckets and streams) goes through it, with
// EnsureKeyValue and EnsureStream.
func Patiently(ctx context.Context, log *slog.Logger, create func(ctx context.Context) error) error {
	deadline := time.Now().Add(assetsPatience)
	delay := 250 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := create(actx)
		cancel()
		if err == nil || !retryableAssetError(err) || time.Now().After(deadline) {
			return err
		}
		if log != nil {
			log.Warn("store: JetStream not answering yet; trying again", "err", err, "in", delay)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// EnsureKeyValue creates or updates the bucket cfg describes, Patiently.
func EnsureKeyValue(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	var kv jetstream.KeyValue
	err := Patiently(ctx, nil, func(ctx context.Context) error {
		var err error
		kv, err = js.CreateOrUpdateKeyValue(ctx, cfg)
		return err
	})
	return kv, err
}

// EnsureStream creates or updates the stream cfg describes, Patiently.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	var st jetstream.Stream
	err := Patiently(ctx, nil, func(ctx context.Context) error {
		var err error
		st, err = js.CreateOrUpdateStream(ctx, cfg)
		return err
	})
	return st, err
}

// retryableAssetError reports whether creating an asset failed for want of
// an answer (a timeout, no JetStream responders, a cluster without a
// leader yet) rather than because the request was refused.
func retryableAssetError(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled) {
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		// 10008: "JetStream system temporarily unavailable", a cluster
		// without a meta leader (nats-server's errors.json).
		return apiErr.ErrorCode == 10008
	}
	return false
}

// AckTimeout bounds the wait for JetStream's acknowledgement of an
// asynchronous publish; the publish then fails with
// jetstream.ErrAsyncPublishTimeout, and may or may not have been stored.
const AckTimeout = 5 * time.Second

// ensureAssets creates the streams and buckets or updates their
// configuration, and, if assign, sets the Store's handles to them (only
// Open does: the handles are shared, and a handle stays valid when its
// asset is created again, as the in-memory rates bucket is after a
// restart of the embedded server).
func (s *Store) ensureAssets(ctx context.Context, assign bool) error {
	replicas := s.replicas
	var a struct {
		control, schedule, rates jetstream.KeyValue
		events, deliver, peer    jetstream.Stream
	}
	var err error
	a.control, err = s.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      ControlBucket,
		Description: "Switchyard control plane: event buses, rules, targets, tags",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if err != nil {
		return fmt.Errorf("control bucket: %w", err)
	}
	// A tick more than a minute old is never fired, so a day-old record
	// is never needed; the TTL clears the records of deleted rules.
	a.schedule, err = s.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      ScheduleBucket,
		Description: "Switchyard scheduled rules: the last tick fired, per rule",
		History:     1,
		TTL:         24 * time.Hour,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if err != nil {
		return fmt.Errorf("schedule bucket: %w", err)
	}
	// A second's count is of use only during that second and the few
	// before it (invocations reserved ahead); in memory, and soon gone.
	a.rates, err = s.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      RatesBucket,
		Description: "Switchyard API destinations: invocations taken per destination per second, across processes",
		History:     1,
		TTL:         time.Minute,
		Storage:     jetstream.MemoryStorage,
		Replicas:    replicas,
	})
	if err != nil {
		return fmt.Errorf("rates bucket: %w", err)
	}
	// Events are removed once every consumer (the matcher, later archives)
	// has acknowledged them; the age limit only bounds a stuck backlog.
	a.events, err = s.JS.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        EventsStream,
		Description: "Accepted events, per account, region and bus, awaiting rule matching",
		Subjects:    []string{EventsPrefix + ">"},
		Retention:   jetstream.InterestPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		MaxAge:      7 * 24 * time.Hour,
		Duplicates:  2 * time.Minute,
	})
	if err != nil {
		return fmt.Errorf("events stream: %w", err)
	}
	a.deliver, err = s.JS.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        DeliveryStream,
		Description: "Matched (event, rule, target) deliveries awaiting invocation, and those waiting to be retried",
		Subjects:    []string{DeliveryPrefix + ">", RetryPrefix + ">", TickPrefix + ">"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		MaxAge:      7 * 24 * time.Hour,
		Duplicates:  2 * time.Minute,
		// Retries wait as message schedules in the stream, not as
		// unacknowledged messages of the consumer (see package deliver);
		// schedules need subject roll-ups.
		AllowMsgSchedules: true,
		AllowRollup:       true,
	})
	if err != nil {
		return fmt.Errorf("delivery stream: %w", err)
	}
	// Replicated events wait here, acknowledged by the sender only once
	// the peer deployment has stored them: a peer that is down costs a
	// backlog, not events. No duplicate window: each message is one
	// event whose id the peer deduplicates on.
	if a.peer, err = s.JS.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        PeerStream,
		Description: "Events of global endpoints awaiting replication to the deployment serving their other region",
		Subjects:    []string{PeerPrefix + ">"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		MaxAge:      7 * 24 * time.Hour,
	}); err != nil {
		return fmt.Errorf("peer stream: %w", err)
	}
	if assign {
		s.Control, s.Schedule, s.Rates, s.Events, s.Deliver, s.Peer = a.control, a.schedule, a.rates, a.events, a.deliver, a.peer
	}
	return nil
}

// Close stops supervising, drains the connection and shuts the embedded
// server down, which flushes its files, then releases the data directory.
func (s *Store) Close() {
	if s.stop != nil {
		s.stop()
		<-s.supervised
	}
	if s.NC != nil {
		_ = s.NC.Drain()
		for i := 0; i < 100 && !s.NC.IsClosed(); i++ {
			time.Sleep(10 * time.Millisecond)
		}
		s.NC.Close()
	}
	if s.emb != nil {
		if srv := s.emb.server(); srv != nil {
			srv.Shutdown()
			srv.WaitForShutdown()
		}
		_ = s.emb.lock.Close()
	}
}

// Token encodes a name for use as one token of a NATS subject or KV key.
// Bus and rule names may contain '.', the token separator; it becomes "=2E"
// ('=' never occurs in these names, so the encoding is reversible). '/' and
// the other name characters are valid in subjects and keys as they are.
func Token(name string) string {
	if !strings.ContainsAny(name, ".=") {
		return name
	}
	return strings.NewReplacer("=", "=3D", ".", "=2E").Replace(name)
}

// Swap writes val under key if the key is still at revision rev, or, with
// rev 0, does not exist yet; it returns the new revision. A lost race is an
// error IsConflict reports.
func Swap(ctx context.Context, kv jetstream.KeyValue, key string, val []byte, rev uint64) (uint64, error) {
	if rev == 0 {
		return kv.Create(ctx, key, val)
	}
	return kv.Update(ctx, key, val, rev)
}

// IsConflict reports whether a KV Create or Update lost an optimistic
// concurrency race: the key exists, or is no longer at the revision given.
func IsConflict(err error) bool {
	if errors.Is(err, jetstream.ErrKeyExists) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// Untoken reverses Token.
func Untoken(tok string) string {
	if !strings.Contains(tok, "=") {
		return tok
	}
	return strings.NewReplacer("=2E", ".", "=3D", "=").Replace(tok)
}

// Messages starts pulling cons's messages as every consumer of the data
// path does: in batches of up to 1,000, with short pulls and frequent
// heartbeats. When a pull request is lost on the server's side (seen when
// a burst filled the deliverer's window), the iterator notices only by the
// missing heartbeats, and with the default 30 s expiry that stopped every
// delivery for 30 s with nothing in flight; with these, for 2 s.
//
// When ctx ends the iterator drains: what it has pulled and not yet handed
// out goes back to the stream (a Nak) for another process to take at once;
// left to time out, it waited for the consumer's AckWait (a minute for the
// router) before anyone delivered it. Then Next returns
// jetstream.ErrMsgIteratorClosed.
func Messages(ctx context.Context, cons jetstream.Consumer) (*Iterator, error) {
	it, err := cons.Messages(jetstream.PullMaxMessages(1000), jetstream.PullExpiry(5*time.Second), jetstream.PullHeartbeat(time.Second))
	if err != nil {
		return nil, err
	}
	go func() { <-ctx.Done(); it.Drain() }()
	return &Iterator{ctx: ctx, it: it}, nil
}

// Iterator hands out a consumer's messages until its context ends (see
// Messages).
type Iterator struct {
	ctx context.Context
	it  jetstream.MessagesContext
}

// Next returns the next message, or an error: jetstream.ErrMsgIteratorClosed
// once the context has ended and what was pulled is handed back.
func (i *Iterator) Next() (jetstream.Msg, error) {
	for {
		msg, err := i.it.Next()
		if err != nil || i.ctx.Err() == nil {
			return msg, err
		}
		_ = msg.Nak()
	}
}

// LogPullError logs an error of a consumer's message iterator. A missed
// heartbeat says only that the iterator read nothing, not even a
// heartbeat, for two seconds: the consumer's loop was held up (by
// back-pressure from a busy target, say) or the process stalled; the
// iterator renews its pull itself, so it is a warning. Anything else is an
// error.
func LogPullError(log *slog.Logger, msg string, err error) {
	if errors.Is(err, jetstream.ErrNoHeartbeat) {
		log.Warn(msg+": nothing read for two heartbeats; pull renewed", "err", err)
		return
	}
	log.Error(msg, "err", err)
}
