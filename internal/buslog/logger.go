package buslog

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchyard/switchyard/internal/control"
)

// Drop reasons, the reason label of switchyard_bus_log_dropped_total.
const (
	ReasonQueueFull = "queue_full" // the writer fell behind
	ReasonWrite     = "write"      // the destination refused or was unreachable
)

var (
	dropped = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_bus_log_dropped_total",
		Help: "Event bus log records not written: the in-memory queue was full (the destination is slow or down), or the destination failed the write.",
	}, []string{"reason"})
	written = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_bus_log_records_total",
		Help: "Event bus log records written to the bus log destination.",
	})
)

// Sink is a bus log destination. Write is called by one goroutine at a
// time, with records in emission order; it should give up within the
// context's deadline.
type Sink interface {
	Write(ctx context.Context, batch []*Record) error
	Close() error
}

// Defaults of Options.
const (
	DefaultQueue    = 8192
	DefaultBatch    = 500
	DefaultInterval = 200 * time.Millisecond
	writeTimeout    = 5 * time.Second
)

// Options tune a Logger; zero fields take the defaults.
type Options struct {
	// Queue is the most records waiting for the writer; more are dropped.
	Queue int
	// Batch is the most records written at once.
	Batch int
	// Interval is the longest a record waits for its batch to fill.
	Interval time.Duration
}

// Logger queues records for one Sink. A nil *Logger logs nothing.
type Logger struct {
	sink   Sink
	lookup func(control.Scope, string) *control.LogConfig
	log    *slog.Logger
	q      chan *Record
	batch  int
	every  time.Duration
	now    func() time.Time
	done   chan struct{}
}

// New returns a logger writing to sink the records of the buses whose
// LogConfig lookup returns.
func New(sink Sink, lookup func(control.Scope, string) *control.LogConfig, log *slog.Logger, o Options) *Logger {
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	return &Logger{sink: sink, lookup: lookup, log: log, q: make(chan *Record, o.Queue), batch: o.Batch, every: o.Interval,
		now: time.Now, done: make(chan struct{})}
}

// ViewLookup returns the LogConfig lookup of buses in view.
func ViewLookup(view *control.View) func(control.Scope, string) *control.LogConfig {
	return func(sc control.Scope, bus string) *control.LogConfig {
		if b, _ := view.Bus(sc, bus); b != nil {
			return b.LogConfig
		}
		return nil
	}
}

// Bus is the logging of one bus as its LogConfig was when asked for: a
// value, cheap to get and to test (On) per event.
type Bus struct {
	l     *Logger
	level Level
	full  bool
	sc    control.Scope
	name  string
}

// Bus returns the logging of bus name of scope sc.
func (l *Logger) Bus(sc control.Scope, name string) Bus {
	if l == nil {
		return Bus{}
	}
	lc := l.lookup(sc, name)
	if lc == nil {
		return Bus{}
	}
	lv := ParseLevel(lc.Level)
	if lv == Off {
		return Bus{}
	}
	return Bus{l: l, level: lv, full: lc.IncludeDetail != nil && *lc.IncludeDetail == "FULL", sc: sc, name: name}
}

// On says whether step t is logged.
func (b Bus) On(t MessageType) bool { return b.level != Off && b.level >= stepLevel[t] }

// Any says whether anything is logged.
func (b Bus) Any() bool { return b.level != Off }

// Full says whether records carry the event and target data
// (IncludeDetail FULL).
func (b Bus) Full() bool { return b.full }

// Emit queues r if its step is on, filling in the bus's ARN, level and
// the time; it never blocks: with the queue full, r is dropped and
// counted.
func (b Bus) Emit(r *Record) {
	if !b.On(r.MessageType) {
		return
	}
	r.ResourceArn = control.BusARN(b.sc, b.name)
	r.LogLevel = b.level.String()
	r.MessageTimestampMs = b.l.now().UnixMilli()
	r.scope, r.bus = b.sc, b.name
	select {
	case b.l.q <- r:
	default:
		dropped.WithLabelValues(ReasonQueueFull).Inc()
	}
}

// invocationNS namespaces invocation ids.
var invocationNS = uuid.MustParse("6f1d2c5e-3b8a-4e0f-9a51-2b7c9d4e8f10")

// InvocationID is the invocation_id of the delivery of event eventID to
// target targetID of rule ruleArn: derived from them, so that the router
// (RULE_MATCH's invocation_ids) and the deliverer, in whatever process,
// name it alike without passing it along.
func InvocationID(eventID, ruleArn, targetID string) string {
	return uuid.NewSHA1(invocationNS, []byte(eventID+"|"+ruleArn+"|"+targetID)).String()
}

// Run writes queued records in batches until ctx ends, then writes what
// is queued (within a few seconds) and closes the sink.
func (l *Logger) Run(ctx context.Context) {
	defer close(l.done)
	defer func() {
		if err := l.sink.Close(); err != nil {
			l.log.Warn("bus logs: close destination", "err", err)
		}
	}()
	batch := make([]*Record, 0, l.batch)
	tick := time.NewTicker(l.every)
	defer tick.Stop()
	var failing bool
	flush := func(ctx context.Context) {
		if len(batch) == 0 {
			return
		}
		wctx, cancel := context.WithTimeout(ctx, writeTimeout)
		err := l.sink.Write(wctx, batch)
		cancel()
		switch {
		case err != nil:
			dropped.WithLabelValues(ReasonWrite).Add(float64(len(batch)))
			if !failing { // once per outage, not per batch
				l.log.Warn("bus logs: destination write failed; records dropped until it recovers", "records", len(batch), "err", err)
			}
			failing = true
		default:
			if failing {
				l.log.Info("bus logs: destination writes again")
			}
			failing = false
			written.Add(float64(len(batch)))
		}
		clear(batch)
		batch = batch[:0]
	}
	for {
		select {
		case r := <-l.q:
			batch = append(batch, r)
			if len(batch) >= l.batch {
				flush(ctx)
			}
		case <-tick.C:
			flush(ctx)
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
			defer cancel()
		drain:
			for {
				select {
				case r := <-l.q:
					batch = append(batch, r)
					if len(batch) >= l.batch {
						flush(fctx)
					}
				default:
					break drain
				}
			}
			flush(fctx)
			return
		}
	}
}

// Done is closed once Run has returned.
func (l *Logger) Done() <-chan struct{} { return l.done }
