// Package healthcheck decides whether the primary region of each global
// endpoint is healthy, as the Route 53 health check the endpoint names
// says, and records it in the control plane for every process to route
// PutEvents by (package control, HealthStatus).
//
// AWS's Route 53 health checkers cannot reach the targets a self-hosted
// Switchyard is usually given (loopback, private addresses), so Switchyard
// reads each health check's configuration through the Route 53 API
// (GetHealthCheck: Type, IPAddress or FullyQualifiedDomainName, Port,
// ResourcePath, SearchString, RequestInterval, FailureThreshold, Inverted,
// Disabled, EnableSNI) and observes the target itself, as one Route 53
// health checker would: every RequestInterval, an HTTP(S) request that
// must connect within 4 s and answer 2xx or 3xx within 2 s (the string
// matching types then must have the search string in the first 5,120
// bytes, within 2 s more), or a TCP connection within 10 s; the status
// changes after FailureThreshold consecutive observations say otherwise;
// Inverted inverts it; a Disabled check is healthy. Checks that do not
// monitor an endpoint (CALCULATED, CLOUDWATCH_METRIC, RECOVERY_CONTROL)
// are Route 53's to evaluate: their status is Route 53's own
// (GetHealthCheckStatus: healthy when more than 18% of its checkers say
// so). The rules are those of the Route 53 Developer Guide, "How Amazon
// Route 53 determines whether a health check is healthy", and of the API
// reference of HealthCheckConfig.
//
// Every Switchyard process runs a Checker; each health check is polled by
// one process of the cluster at a time, the holder of the lease in its
// health record (control.Lease), renewed with every write; a process that
// dies stops renewing, and another takes the check over once the lease
// lapses. The Route 53 endpoint comes from the AWS configuration
// (awsclient: --aws-endpoint route53=URL, or the SDK's configured
// endpoints). When Route 53 cannot be read, the health check keeps its
// last state and is read again with a back-off; the reason is logged.
//
// The Checker also ends the transitions of endpoints: CREATING and
// UPDATING become ACTIVE once their health check has been read (or
// CREATE_FAILED and UPDATE_FAILED when Route 53 has no such check), and
// DELETING endpoints are removed.
package healthcheck

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/netguard"
)

var (
	endpointHealthy = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "switchyard_endpoint_healthy",
		Help: "Whether the primary region of a global endpoint is healthy (1) or its events go to the secondary region (0), by endpoint name.",
	}, []string{"endpoint"})
	observations = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_health_check_observations_total",
		Help: "Observations this process made of the targets of Route 53 health checks, by result (success, failure).",
	}, []string{"result"})
	route53Errors = promauto.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_health_check_route53_errors_total",
		Help: "Route 53 API calls (GetHealthCheck, GetHealthCheckStatus) that failed; the health check keeps its last state.",
	})
)

// Checker polls the health checks of the global endpoints in its View.
type Checker struct {
	Ctl *control.Service
	// AWS gives the Route 53 client its configuration and endpoint.
	AWS *awsclient.Factory
	Log *slog.Logger
	// Guard denies the addresses probes may connect to (nil: none).
	Guard *netguard.Guard
	// Interval, if positive, replaces every health check's RequestInterval
	// (10 or 30 s in Route 53): tests observe in fractions of a second.
	Interval time.Duration
	// Lease is how long a claim on polling a health check holds without
	// renewal (15 s by default); it is renewed every third of it.
	Lease time.Duration

	id     string
	prober prober

	r53Once sync.Once
	r53     *route53.Client
	r53Err  error

	mu      sync.Mutex
	polling map[string]context.CancelFunc
	labels  map[string]bool
}

// Run polls until ctx ends.
func (c *Checker) Run(ctx context.Context) error {
	if c.Lease <= 0 {
		c.Lease = 15 * time.Second
	}
	c.id = uuid.NewString()
	c.prober = prober{guard: c.Guard, resolver: net.DefaultResolver}
	c.polling = map[string]context.CancelFunc{}
	c.labels = map[string]bool{}
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	view := c.Ctl.View()
	for {
		changed := view.Changed()
		c.reconcile(ctx, &wg)
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-tick.C:
		}
	}
}

// reconcile starts polling the health checks that endpoints name and that
// no other process polls, forgets those no endpoint names any more,
// removes DELETING endpoints and sets the metric.
func (c *Checker) reconcile(ctx context.Context, wg *sync.WaitGroup) {
	view := c.Ctl.View()
	now := time.Now()
	need := map[string]bool{}
	seen := map[string]bool{}
	for _, e := range view.Endpoints(control.Scope{}) {
		if e.State == control.EndpointDeleting {
			if e.Peer {
				// A peer deployment's endpoint: that deployment removes
				// the copy (control.SyncPeerEndpoints).
				continue
			}
			if cur, rev := view.Endpoint(e.Scope, e.Name); cur != nil && cur.State == control.EndpointDeleting {
				if _, err := c.Ctl.SettleEndpoint(ctx, cur, rev, ""); err != nil && ctx.Err() == nil {
					c.Log.Warn("healthcheck: deleting endpoint", "endpoint", e.ARN(), "err", err)
				}
			}
			continue
		}
		need[e.HealthCheckID()] = true
		v := 0.0
		if view.Healthy(e) {
			v = 1
		}
		endpointHealthy.WithLabelValues(e.Name).Set(v)
		seen[e.Name] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for name := range c.labels {
		if !seen[name] {
			endpointHealthy.DeleteLabelValues(name)
		}
	}
	c.labels = seen
	for id := range need {
		if c.polling[id] != nil {
			continue
		}
		if h, _ := view.Health(id); h != nil && h.HeldByOther(c.id, now) {
			continue
		}
		pctx, cancel := context.WithCancel(ctx)
		c.polling[id] = cancel
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				c.mu.Lock()
				delete(c.polling, id)
				c.mu.Unlock()
				cancel()
			}()
			c.claimAndPoll(pctx, id)
		}()
	}
	for _, h := range view.HealthRecords() {
		if need[h.ID] {
			continue
		}
		if cancel := c.polling[h.ID]; cancel != nil {
			cancel()
		}
		if !h.HeldByOther(c.id, now) {
			if _, rev := view.Health(h.ID); rev > 0 {
				if err := c.Ctl.RemoveHealth(ctx, h.ID, rev); err != nil && ctx.Err() == nil {
					c.Log.Warn("healthcheck: removing the health record of an unused health check", "health_check", h.ID, "err", err)
				}
			}
		}
	}
}

// poll is one claimed health check.
type poll struct {
	c   *Checker
	id  string
	rec *control.HealthStatus
	rev uint64

	cfg       *types.HealthCheckConfig
	cfgAt     time.Time // when cfg was read
	cfgRetry  time.Time // when to try reading again after a failure
	cfgFails  int
	missing   bool // Route 53 said it has no such health check
	contrary  int  // consecutive observations contradicting rec.Healthy
	lastSaved time.Time
}

// claimAndPoll claims the health check's lease and polls it until ctx
// ends or another process holds the lease.
func (c *Checker) claimAndPoll(ctx context.Context, id string) {
	rec, rev, err := c.Ctl.LoadHealth(ctx, id)
	if err != nil {
		if ctx.Err() == nil {
			c.Log.Warn("healthcheck: reading the health record", "health_check", id, "err", err)
		}
		return
	}
	now := time.Now()
	if rec != nil && rec.HeldByOther(c.id, now) {
		return
	}
	if rec == nil {
		rec = &control.HealthStatus{ID: id, Healthy: true}
	}
	rec.Grant(c.id, now, c.Lease)
	nrev, ok, err := c.Ctl.SaveHealth(ctx, rec, rev)
	if err != nil || !ok {
		if err != nil && ctx.Err() == nil {
			c.Log.Warn("healthcheck: claiming a health check", "health_check", id, "err", err)
		}
		return
	}
	c.Log.Info("healthcheck: this process polls the health check", "health_check", id, "healthy", rec.Healthy)
	p := &poll{c: c, id: id, rec: rec, rev: nrev, lastSaved: now}
	p.run(ctx)
	if ctx.Err() != nil && p.rev > 0 {
		// Stopping (shutdown, or the check is no longer used): give the
		// lease up so that another process takes over at once.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		p.rec.Release()
		_, _, _ = c.Ctl.SaveHealth(rctx, p.rec, p.rev)
	}
}

// interval is the time between observations.
func (p *poll) interval() time.Duration {
	if p.c.Interval > 0 {
		return p.c.Interval
	}
	if p.cfg != nil && p.cfg.RequestInterval != nil && *p.cfg.RequestInterval > 0 {
		return time.Duration(*p.cfg.RequestInterval) * time.Second
	}
	return 30 * time.Second // Route 53's default RequestInterval
}

// refresh is how often the configuration is read again: a change of
// Inverted, Disabled, the target or the threshold takes effect within it.
func (p *poll) refresh() time.Duration { return min(6*p.interval(), time.Minute) }

func (p *poll) run(ctx context.Context) {
	for {
		now := time.Now()
		settling := p.settling()
		if (p.cfg == nil || now.Sub(p.cfgAt) >= p.refresh() || settling) && !now.Before(p.cfgRetry) {
			p.readConfig(ctx)
		}
		dirty := false
		if p.cfg != nil {
			dirty = p.observe(ctx)
		}
		if ctx.Err() != nil {
			return
		}
		if dirty || time.Since(p.lastSaved) >= p.c.Lease/3 {
			if !p.save(ctx) {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(p.interval()):
		}
	}
}

// settling reports whether an endpoint naming this health check waits for
// it to be read (CREATING, UPDATING).
func (p *poll) settling() bool {
	for _, e := range p.c.Ctl.View().Endpoints(control.Scope{}) {
		if e.HealthCheckID() == p.id && (e.State == control.EndpointCreating || e.State == control.EndpointUpdating) {
			return true
		}
	}
	return false
}

// settle ends the CREATING and UPDATING transitions of the endpoints that
// name this health check: failure "" makes them ACTIVE.
func (p *poll) settle(ctx context.Context, failure string) {
	view := p.c.Ctl.View()
	for _, e := range view.Endpoints(control.Scope{}) {
		if e.Peer || e.HealthCheckID() != p.id || (e.State != control.EndpointCreating && e.State != control.EndpointUpdating) {
			continue
		}
		if cur, rev := view.Endpoint(e.Scope, e.Name); cur != nil {
			if _, err := p.c.Ctl.SettleEndpoint(ctx, cur, rev, failure); err != nil && ctx.Err() == nil {
				p.c.Log.Warn("healthcheck: settling endpoint", "endpoint", e.ARN(), "err", err)
			}
		}
	}
}

// route53 returns the Route 53 client: Route 53 is a global service,
// signed for us-east-1, at the endpoint --aws-endpoint route53=URL or the
// SDK's configuration gives.
func (c *Checker) route53(ctx context.Context) (*route53.Client, error) {
	c.r53Once.Do(func() {
		// Loaded once for every poll: not cut short by this one's end.
		cfg, err := c.AWS.Config(context.WithoutCancel(ctx), "us-east-1")
		if err != nil {
			c.r53Err = err
			return
		}
		c.r53 = route53.NewFromConfig(cfg, func(o *route53.Options) {
			o.BaseEndpoint = c.AWS.BaseEndpoint("route53", o.BaseEndpoint)
		})
	})
	return c.r53, c.r53Err
}

// readConfig reads the health check's configuration. Route 53 not
// answering leaves the last one in use, and is tried again with a
// back-off of up to a minute.
func (p *poll) readConfig(ctx context.Context) {
	client, err := p.c.route53(ctx)
	var out *route53.GetHealthCheckOutput
	if err == nil {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		out, err = client.GetHealthCheck(rctx, &route53.GetHealthCheckInput{HealthCheckId: aws.String(p.id)})
		cancel()
	}
	if ctx.Err() != nil {
		return
	}
	var missing *types.NoSuchHealthCheck
	switch {
	case errors.As(err, &missing):
		if !p.missing {
			p.c.Log.Warn("healthcheck: Route 53 has no such health check; endpoints naming it keep their last state", "health_check", p.id)
		}
		p.cfg, p.cfgFails, p.missing = nil, 0, true
		p.cfgRetry = time.Now().Add(min(6*p.interval(), time.Minute))
		p.rec.Status = "Unknown: Route 53 has no health check " + p.id + "."
		p.settle(ctx, "Health check arn:aws:route53:::healthcheck/"+p.id+" does not exist.")
		return
	case err != nil || out.HealthCheck == nil || out.HealthCheck.HealthCheckConfig == nil:
		if err == nil {
			err = errors.New("GetHealthCheck answered without a configuration")
		}
		route53Errors.Inc()
		p.cfgFails++
		p.cfgRetry = time.Now().Add(min(p.interval()<<min(p.cfgFails-1, 6), time.Minute))
		if p.cfgFails == 1 {
			p.c.Log.Warn("healthcheck: cannot read the health check from Route 53; it keeps its last state and is read again",
				"health_check", p.id, "healthy", p.rec.Healthy, "err", err)
		} else {
			p.c.Log.Debug("healthcheck: Route 53 still not read", "health_check", p.id, "attempts", p.cfgFails, "err", err)
		}
		if p.cfg == nil {
			p.rec.Status = "Unknown: the health check could not be read from Route 53: " + err.Error()
		}
		return
	}
	if p.cfgFails > 0 {
		p.c.Log.Info("healthcheck: Route 53 read again", "health_check", p.id, "after_attempts", p.cfgFails)
	}
	p.cfg, p.cfgAt, p.cfgFails, p.missing = out.HealthCheck.HealthCheckConfig, time.Now(), 0, false
	p.settle(ctx, "")
}

// observe makes one observation and applies it: it reports whether the
// status changed.
func (p *poll) observe(ctx context.Context) bool {
	cfg := p.cfg
	now := time.Now()
	var healthy bool
	var status string
	threshold := 3 // Route 53's default FailureThreshold
	if cfg.FailureThreshold != nil && *cfg.FailureThreshold > 0 {
		threshold = int(*cfg.FailureThreshold)
	}
	switch {
	case aws.ToBool(cfg.Disabled):
		// "After you disable a health check, Route 53 considers the
		// status of the health check to always be healthy."
		healthy, status, threshold = true, "Success: The health check is disabled; Route 53 considers it healthy.", 1
	case probes(cfg.Type):
		healthy, status = p.c.prober.observe(ctx, targetOf(cfg))
	default:
		var ok bool
		healthy, status, ok = p.routeStatus(ctx)
		if !ok {
			return false
		}
		threshold = 1 // Route 53 has applied its threshold already
	}
	if ctx.Err() != nil {
		return false
	}
	if healthy {
		observations.WithLabelValues("success").Inc()
	} else {
		observations.WithLabelValues("failure").Inc()
	}
	if aws.ToBool(cfg.Inverted) && !aws.ToBool(cfg.Disabled) {
		healthy, status = !healthy, "Inverted: "+status
	}
	p.rec.Status, p.rec.CheckedTime = status, now.UTC()
	if healthy == p.rec.Healthy {
		p.contrary = 0
		return false
	}
	p.contrary++
	if p.contrary < threshold {
		return false
	}
	p.contrary = 0
	p.rec.Healthy, p.rec.ChangedTime = healthy, now.UTC()
	p.c.Log.Info("healthcheck: status changed", "health_check", p.id, "healthy", healthy, "status", status)
	return true
}

// routeStatus is Route 53's own status of a health check that does not
// monitor an endpoint: healthy when more than 18% of its health checkers
// report success ("If more than 18% of health checkers report that an
// endpoint is healthy, Route 53 considers it healthy"). ok is false when
// Route 53 cannot say.
func (p *poll) routeStatus(ctx context.Context) (healthy bool, status string, ok bool) {
	client, err := p.c.route53(ctx)
	var out *route53.GetHealthCheckStatusOutput
	if err == nil {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		out, err = client.GetHealthCheckStatus(rctx, &route53.GetHealthCheckStatusInput{HealthCheckId: aws.String(p.id)})
		cancel()
	}
	if err != nil {
		if ctx.Err() == nil {
			route53Errors.Inc()
			p.c.Log.Debug("healthcheck: GetHealthCheckStatus", "health_check", p.id, "err", err)
		}
		return false, "", false
	}
	n, good := len(out.HealthCheckObservations), 0
	for _, o := range out.HealthCheckObservations {
		if o.StatusReport != nil && len(aws.ToString(o.StatusReport.Status)) >= 7 && aws.ToString(o.StatusReport.Status)[:7] == "Success" {
			good++
		}
	}
	if n == 0 {
		return false, "", false
	}
	healthy = good*100 > n*18
	if healthy {
		return true, "Success: Route 53 reports the health check healthy.", true
	}
	return false, "Failure: Route 53 reports the health check unhealthy.", true
}

// save writes the record with a renewed lease; false means another process
// holds the health check now.
func (p *poll) save(ctx context.Context) bool {
	now := time.Now()
	p.rec.Grant(p.c.id, now, p.c.Lease)
	nrev, ok, err := p.c.Ctl.SaveHealth(ctx, p.rec, p.rev)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			p.c.Log.Warn("healthcheck: storing the health record", "health_check", p.id, "err", err)
		}
		return true // keep polling; the next save tries again
	case !ok:
		p.c.Log.Info("healthcheck: another process polls the health check now", "health_check", p.id)
		p.rev = 0
		return false
	}
	p.rev, p.lastSaved = nrev, now
	return true
}
