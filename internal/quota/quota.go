// Package quota enforces EventBridge's API request quotas: how many
// requests an account may make per second in a region, PutEvents apart
// from the other operations, as AWS throttles them. A request over its
// quota is answered with ThrottlingException ("Rate exceeded"), which every
// AWS SDK retries with backoff.
//
// The counts are the cluster's, not one process's: they are kept with
// package ratelimit in the shared rates bucket, so that three Switchyard
// processes behind one load balancer give an account its quota, not three
// times it. A second is the unit: an account may use its whole second's
// quota at once (a token bucket whose burst is one second's rate).
//
// AWS's defaults (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html):
// PutEvents 10,000 requests per second in us-east-1, us-west-2 and
// eu-west-1 (less in smaller regions), all other operations 50 per
// second ("All other EventBridge APIs are throttled at 50 requests per
// second by default", the older quotas page), CreateEndpoint and
// DeleteEndpoint 5 per second, not adjustable.
package quota

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ratelimit"
)

// AWS's default quotas, in requests per second per account and region.
const (
	DefaultPutEvents = 10000
	DefaultControl   = 50
)

// Config sets the quotas, in requests per second per account and region;
// 0 is no quota.
type Config struct {
	// PutEvents is PutEvents' quota.
	PutEvents int
	// Control is the quota of every other operation, together.
	Control int
	// Operations gives operations a quota of their own, outside Control's
	// (AWS's CreateEndpoint and DeleteEndpoint: 5).
	Operations map[string]int
}

// Defaults is AWS's default configuration.
func Defaults() Config {
	return Config{PutEvents: DefaultPutEvents, Control: DefaultControl,
		Operations: map[string]int{"CreateEndpoint": 5, "DeleteEndpoint": 5}}
}

// Off reports whether the configuration sets no quota at all.
func (c Config) Off() bool {
	if c.PutEvents > 0 || c.Control > 0 {
		return false
	}
	for _, n := range c.Operations {
		if n > 0 {
			return false
		}
	}
	return true
}

// Quotas enforces a Config.
type Quotas struct {
	cfg   Config
	lim   *ratelimit.Limiter
	log   *slog.Logger
	swept atomic.Int64 // Unix second of the last sweep of idle keys
}

// New returns the quotas of cfg counted in rates (store.Store.Rates).
func New(rates jetstream.KeyValue, cfg Config, log *slog.Logger) *Quotas {
	return &Quotas{cfg: cfg, lim: ratelimit.New(rates), log: log}
}

var throttled = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "switchyard_api_quota_throttled_total",
	Help: "API requests answered with ThrottlingException because their account was over its quota, by quota (PutEvents, control, or an operation with its own).",
}, []string{"quota"})

// Allow charges one request of operation op to sc's quota, and returns
// AWS's ThrottlingException when the quota's second is used up. A failure
// to count (storage unavailable) lets the request through: the quota
// protects the service, and an outage must not refuse what could be done.
func (q *Quotas) Allow(ctx context.Context, sc control.Scope, op string) error {
	class, rate := q.class(op)
	if rate <= 0 {
		return nil
	}
	q.sweep()
	_, ok, err := q.lim.Reserve(ctx, "quota|"+sc.Account+"|"+sc.Region+"|"+class, rate, 0)
	if err != nil {
		q.log.Debug("quota: not counted", "op", op, "err", err)
		return nil
	}
	if !ok {
		throttled.WithLabelValues(class).Inc()
		return awserr.New("ThrottlingException", "Rate exceeded")
	}
	return nil
}

// class is the quota op counts against, and its rate.
func (q *Quotas) class(op string) (string, int) {
	if n, ok := q.cfg.Operations[op]; ok {
		return op, n
	}
	if op == "PutEvents" {
		return "PutEvents", q.cfg.PutEvents
	}
	return "control", q.cfg.Control
}

// sweep drops, every ten seconds, what this process holds of the accounts
// that made no request in the current second, so that many accounts
// (with --auth none, any 12-digit key is one) cost no memory for long.
func (q *Quotas) sweep() {
	now := time.Now().Unix()
	last := q.swept.Load()
	if now-last < 10 || !q.swept.CompareAndSwap(last, now) {
		return
	}
	q.lim.ForgetIdle()
}
