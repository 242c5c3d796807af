// Package putevents is a PutEvents load generator. It speaks the AWS JSON
// 1.1 protocol over keep-alive HTTP, as the SDKs do, either open-loop at a
// fixed event rate (to read latency at a given load) or closed-loop (to find
// the throughput ceiling), and checks every response's FailedEntryCount.
//
// Open-loop latency is measured from the moment a request was due, not from
// when a client got round to sending it, so a stalled server is not hidden
// by the generator waiting for it (coordinated omission).
package putevents

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Config describes one run.
type Config struct {
	// Endpoint is the base URL of an EventBridge API. Empty starts a
	// `switchyard serve` child on a fresh data directory.
	Endpoint string
	// Endpoints, if set, are several APIs (the processes of a cluster)
	// that the clients are spread over, instead of Endpoint.
	Endpoints []string
	// CPUPids are processes (a cluster's members) whose CPU time over the
	// measured interval is reported, summed, as the target's.
	CPUPids []int
	// Clients is the number of concurrent clients, each with at most one
	// request in flight.
	Clients int
	// Rate is the offered load in events per second; 0 runs closed-loop.
	Rate float64
	// Duration is the measured interval; Warmup precedes it unmeasured.
	Duration, Warmup time.Duration
	// Entries per PutEvents call (at most 10, as in AWS).
	Entries int
	// DetailSize is the length of each entry's Detail, in bytes.
	DetailSize int
	// Region goes into the SigV4 credential scope.
	Region string
	// Timeout bounds one request.
	Timeout time.Duration

	// ServeBinary is the switchyard executable for the child; empty means
	// this executable.
	ServeBinary string
	// Sync is the child's --sync (fsync policy).
	Sync string
	// ServeArgs are further flags for the child's serve command.
	ServeArgs []string

	// Ceiling, in a closed-loop run, drives a bare PutEvents server in
	// this process with the same load afterwards and reports the ratio.
	Ceiling bool
	// CompareMoto runs the same load against moto_server as well.
	CompareMoto bool
	// CompareAuth runs the load against fresh switchyard children with
	// --auth none (unsigned requests) and with --auth sigv4 (every
	// request signed with a key of a credentials file the run writes),
	// Rounds times each, alternating, and reports what verification
	// costs.
	CompareAuth bool
	Rounds      int
	// AccessKeyID and SecretAccessKey, when set, sign every request with
	// SigV4 as an SDK does (see signer).
	AccessKeyID, SecretAccessKey string
	// MotoCommand is the moto_server executable.
	MotoCommand string
	// KmsKeyIdentifier, if set, is given to the default bus
	// (UpdateEventBus) before the load, so that every event is encrypted
	// under that key at rest (a Switchyard target only: serve the child
	// with --kms-local-key-file, or with --aws-endpoint kms=... naming a
	// KMS where the key exists).
	KmsKeyIdentifier string
}

func (c Config) withDefaults() Config {
	if c.Clients <= 0 {
		c.Clients = 16
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Warmup < 0 {
		c.Warmup = 0
	}
	if c.Entries <= 0 {
		c.Entries = 10
	}
	if c.DetailSize <= 0 {
		c.DetailSize = 256
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Sync == "" {
		c.Sync = "1s"
	}
	if c.MotoCommand == "" {
		c.MotoCommand = "moto_server"
	}
	if c.Rounds <= 0 {
		c.Rounds = 1
	}
	return c
}

// Run drives the load described by cfg and writes a report to out. It
// fails if any entry failed.
func Run(ctx context.Context, cfg Config, out io.Writer) error {
	cfg = cfg.withDefaults()
	if cfg.Entries > 10 {
		return errors.New("at most 10 entries per PutEvents call")
	}
	if cfg.Rate < 0 {
		return errors.New("rate must not be negative")
	}
	fmt.Fprintf(out, "load: %s, %d clients, %d entries/call, %d-byte Detail, %v measured after %v warm-up\n",
		mode(cfg), cfg.Clients, cfg.Entries, cfg.DetailSize, cfg.Duration, cfg.Warmup)
	fmt.Fprintln(out, hostNote())

	if cfg.CompareAuth {
		if cfg.Endpoint != "" {
			return errors.New("--compare-auth starts its own servers: leave --endpoint empty")
		}
		return compareAuth(ctx, cfg, out)
	}
	sy, err := runSwitchyard(ctx, cfg, out, "switchyard")
	if err != nil {
		return err
	}
	failed := sy.failed()
	if cfg.Ceiling && cfg.Rate == 0 {
		if err := runCeiling(ctx, cfg, out, sy); err != nil {
			return err
		}
	}

	if cfg.CompareMoto {
		ch, err := startMoto(ctx, cfg)
		if err != nil {
			return err
		}
		defer ch.stop()
		fmt.Fprintf(out, "moto: child pid %d, %s\n", ch.pid, strings.Join(ch.args, " "))
		mo, err := drive(ctx, cfg, target{name: "moto", url: ch.url, proc: ch})
		ch.stop()
		if err != nil {
			return err
		}
		mo.print(out)
		failed += mo.failed()
		fmt.Fprintf(out, "ratio switchyard/moto: throughput %.1fx", ratio(sy.rate(), mo.rate()))
		fmt.Fprintf(out, ", p50 latency %.2fx, p99 latency %.2fx (moto/switchyard)\n",
			ratio(mo.lat.quantile(0.5).Seconds(), sy.lat.quantile(0.5).Seconds()),
			ratio(mo.lat.quantile(0.99).Seconds(), sy.lat.quantile(0.99).Seconds()))
	}
	if failed > 0 {
		return fmt.Errorf("%d entries failed", failed)
	}
	return ctx.Err()
}

func mode(cfg Config) string {
	if cfg.Rate > 0 {
		return fmt.Sprintf("open-loop at %.0f events/s", cfg.Rate)
	}
	return "closed-loop (max throughput)"
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// target is a server under load; proc is set when this run started it.
type target struct {
	name string
	url  string
	proc *child
	urls []string // when the clients are spread over several
	pids []int    // whose CPU is the target's, when there is no child
}

// stats is what one client, and then the whole run, observed.
type stats struct {
	lat, svc       histogram // from due time, and from send time, to response
	calls          uint64    // completed in the measured interval
	accepted       uint64    // entries accepted in the measured interval
	acceptedAll    uint64    // entries accepted at any time
	failedEntries  uint64    // FailedEntryCount, summed, at any time
	failedRequests uint64    // requests that failed as a whole
	failedInCalls  uint64    // entries of failed requests
	unsent         uint64    // open-loop requests due but never sent
	errSamples     []string
}

func (s *stats) addError(msg string) {
	if len(s.errSamples) < 5 {
		s.errSamples = append(s.errSamples, msg)
	}
}

func (s *stats) merge(o *stats) {
	s.lat.merge(&o.lat)
	s.svc.merge(&o.svc)
	s.calls += o.calls
	s.accepted += o.accepted
	s.acceptedAll += o.acceptedAll
	s.failedEntries += o.failedEntries
	s.failedRequests += o.failedRequests
	s.failedInCalls += o.failedInCalls
	s.unsent += o.unsent
	for _, e := range o.errSamples {
		s.addError(e)
	}
}

// result is one target's run.
type result struct {
	target   string
	cfg      Config
	elapsed  time.Duration // of the measured interval
	stats                  // merged over clients
	cpuSelf  time.Duration // this process, measured interval
	cpuProc  time.Duration // the target's process, measured interval (-1 unknown)
	matcher  *matcherStats
	matchErr string
}

type matcherStats struct {
	matched      float64 // events routed in the measured interval
	backlogEnd   float64 // events stream backlog when the load stopped
	backlogMax   float64 // largest backlog sampled during the run
	drain        time.Duration
	drained      bool
	totalPending float64
}

func (r *result) rate() float64 { return float64(r.accepted) / r.elapsed.Seconds() }

func (r *result) failed() uint64 { return r.failedEntries + r.failedInCalls }

func (r *result) print(w io.Writer) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }
	fmt.Fprintf(w, "%s:\n", r.target)
	fmt.Fprintf(w, "  accepted   %.0f events/s (%d events in %d calls over %.2fs)\n", r.rate(), r.accepted, r.calls, r.elapsed.Seconds())
	if r.cfg.Rate > 0 {
		fmt.Fprintf(w, "  offered    %.0f events/s; %d calls due but not sent in time\n", r.cfg.Rate, r.unsent)
	}
	fmt.Fprintf(w, "  failed     %d entries (%d in FailedEntryCount, %d in %d failed requests)\n",
		r.failed(), r.failedEntries, r.failedInCalls, r.failedRequests)
	for _, e := range r.errSamples {
		fmt.Fprintf(w, "    e.g. %s\n", e)
	}
	fmt.Fprintf(w, "  latency    p50 %s  p99 %s  p99.9 %s  max %s  (%d calls", ms(r.lat.quantile(0.5)), ms(r.lat.quantile(0.99)),
		ms(r.lat.quantile(0.999)), ms(r.lat.quantile(1)), r.lat.n)
	if r.cfg.Rate > 0 {
		fmt.Fprintf(w, "; from when each call was due")
	}
	fmt.Fprintln(w, ")")
	if r.cfg.Rate > 0 {
		fmt.Fprintf(w, "  service    p50 %s  p99 %s  p99.9 %s  (from when each call was sent)\n",
			ms(r.svc.quantile(0.5)), ms(r.svc.quantile(0.99)), ms(r.svc.quantile(0.999)))
	}
	sec := r.elapsed.Seconds()
	fmt.Fprintf(w, "  cpu        load generator %.2f cores", r.cpuSelf.Seconds()/sec)
	if r.cpuProc >= 0 {
		fmt.Fprintf(w, ", %s %.2f cores", r.target, r.cpuProc.Seconds()/sec)
	}
	fmt.Fprintln(w, " (of 2 shared)")
	if r.cpuProc >= 0 && r.accepted > 0 {
		fmt.Fprintf(w, "  cpu/event  %s %.1f µs per event accepted\n", r.target, float64(r.cpuProc.Microseconds())/float64(r.accepted))
	}
	if m := r.matcher; m != nil {
		fmt.Fprintf(w, "  matcher    %.0f events/s routed during the measured interval; backlog %.0f at the end of the load (max sampled %.0f)",
			m.matched/sec, m.backlogEnd, m.backlogMax)
		if m.drained {
			fmt.Fprintf(w, ", drained %.2fs later\n", m.drain.Seconds())
		} else {
			fmt.Fprintf(w, ", NOT drained after %.0fs (%.0f pending)\n", m.drain.Seconds(), m.totalPending)
		}
	} else if r.matchErr != "" {
		fmt.Fprintf(w, "  matcher    unknown: %s\n", r.matchErr)
	}
}

// runSwitchyard drives the load against cfg.Endpoint, or against a
// switchyard child it starts and stops, and prints the result.
func runSwitchyard(ctx context.Context, cfg Config, out io.Writer, name string) (*result, error) {
	tgt := target{name: name, url: strings.TrimSuffix(cfg.Endpoint, "/"), pids: cfg.CPUPids}
	for _, u := range cfg.Endpoints {
		tgt.urls = append(tgt.urls, strings.TrimSuffix(u, "/"))
	}
	if len(tgt.urls) > 0 {
		tgt.url = tgt.urls[0]
	}
	if tgt.url == "" {
		ch, err := startSwitchyard(ctx, cfg)
		if err != nil {
			return nil, err
		}
		defer ch.stop()
		tgt.url, tgt.proc = ch.url, ch
		fmt.Fprintf(out, "%s: child pid %d, %s\n", name, ch.pid, strings.Join(ch.args, " "))
	}
	res, err := drive(ctx, cfg, tgt)
	if err != nil {
		return nil, err
	}
	res.print(out)
	if tgt.proc != nil {
		tgt.proc.stop()
		if msg := tgt.proc.complaints(); msg != "" {
			fmt.Fprintf(out, "  server warnings/errors:\n%s", msg)
		}
	}
	return res, nil
}

// drive runs the load against one target.
func drive(ctx context.Context, cfg Config, tgt target) (*result, error) {
	tr := &http.Transport{
		MaxIdleConns:        cfg.Clients,
		MaxIdleConnsPerHost: cfg.Clients,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: cfg.Timeout}
	if cfg.KmsKeyIdentifier != "" && tgt.name != "moto" {
		if err := encryptDefaultBus(ctx, cfg, hc, tgt.url); err != nil {
			return nil, fmt.Errorf("%s: %w", tgt.name, err)
		}
	}
	urls := tgt.urls
	if len(urls) == 0 {
		urls = []string{tgt.url}
	}
	mw := newMatcherWatch(ctx, hc, urls...)
	// One call first: a target that cannot take one should not be timed.
	probe := newClient(cfg, tgt.url, hc, 0)
	var ps stats
	probe.call(ctx, time.Now(), &ps, false)
	if ps.failedRequests > 0 || ps.failedEntries > 0 {
		mw.stop()
		return nil, fmt.Errorf("%s: first PutEvents call failed: %s", tgt.name, strings.Join(ps.errSamples, "; "))
	}

	res := &result{target: tgt.name, cfg: cfg, cpuProc: -1}
	start := time.Now()
	measureFrom := start.Add(cfg.Warmup)
	end := measureFrom.Add(cfg.Duration)

	// Snapshots at the edges of the measured interval.
	var cpuSelf0, cpuProc0 time.Duration
	var matched0 float64
	edges := make(chan struct{})
	go func() {
		defer close(edges)
		if !sleepUntil(ctx, measureFrom) {
			return
		}
		cpuSelf0 = selfCPU()
		if tgt.proc != nil {
			cpuProc0 = tgt.proc.cpu()
		} else if len(tgt.pids) > 0 {
			cpuProc0 = pidsCPU(tgt.pids)
		}
		if mw != nil {
			matched0 = mw.matched()
		}
		if !sleepUntil(ctx, end) {
			return
		}
		res.cpuSelf = selfCPU() - cpuSelf0
		if tgt.proc != nil {
			res.cpuProc = tgt.proc.cpu() - cpuProc0
		} else if len(tgt.pids) > 0 {
			res.cpuProc = pidsCPU(tgt.pids) - cpuProc0
		}
		if mw != nil {
			res.matcher = &matcherStats{matched: mw.matched() - matched0, backlogEnd: mw.backlog()}
		}
	}()

	var tickets chan time.Time
	if cfg.Rate > 0 {
		tickets = make(chan time.Time)
		go schedule(ctx, tickets, start, end, time.Duration(float64(time.Second)*float64(cfg.Entries)/cfg.Rate))
	}
	per := make([]stats, cfg.Clients)
	var wg sync.WaitGroup
	for i := range cfg.Clients {
		url := tgt.url
		if len(tgt.urls) > 0 {
			url = tgt.urls[i%len(tgt.urls)]
		}
		c := newClient(cfg, url, hc, i)
		st := &per[i]
		wg.Go(func() {
			for {
				var due time.Time
				if tickets != nil {
					t, ok := <-tickets
					if !ok {
						return
					}
					if time.Now().After(end) {
						st.unsent++
						continue
					}
					due = t
				} else {
					if due = time.Now(); !due.Before(end) || ctx.Err() != nil {
						return
					}
				}
				c.call(ctx, due, st, !due.Before(measureFrom))
			}
		})
	}
	wg.Wait()
	<-edges
	if err := ctx.Err(); err != nil {
		mw.stop()
		return nil, err
	}
	res.elapsed = cfg.Duration
	for i := range per {
		res.merge(&per[i])
	}
	backlogMax := mw.stop()
	if mw != nil && res.matcher != nil {
		res.matcher.backlogMax = max(backlogMax, res.matcher.backlogEnd)
		res.matcher.drained, res.matcher.drain, res.matcher.totalPending = mw.waitDrained(ctx, ps.acceptedAll+res.acceptedAll, time.Now())
	} else if mw == nil && tgt.name == "switchyard" {
		res.matchErr = "the server exports no switchyard_match_* metrics"
	}
	return res, nil
}

// schedule hands out the due times of open-loop calls. It blocks while
// every client is busy; the due times stay as planned, so the wait shows
// in the measured latency.
func schedule(ctx context.Context, tickets chan<- time.Time, start, end time.Time, interval time.Duration) {
	defer close(tickets)
	for due := start; due.Before(end); due = due.Add(interval) {
		if !sleepUntil(ctx, due) {
			return
		}
		select {
		case tickets <- due:
		case <-ctx.Done():
			return
		}
	}
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// client is one simulated SDK client with its request body ready.
type client struct {
	url     string
	hc      *http.Client
	body    []byte
	entries int
	auth    string
	date    string
	sign    *signer // nil: the fixed, unsigned auth and date
	buf     bytes.Buffer
}

// encryptDefaultBus sets cfg.KmsKeyIdentifier on the default bus.
func encryptDefaultBus(ctx context.Context, cfg Config, hc *http.Client, url string) error {
	c := newClient(cfg, url, hc, 0)
	body, _ := json.Marshal(map[string]string{"Name": "default", "KmsKeyIdentifier": cfg.KmsKeyIdentifier})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AWSEvents.UpdateEventBus")
	req.Header.Set("X-Amz-Date", c.date)
	req.Header.Set("Authorization", c.auth)
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("UpdateEventBus: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("UpdateEventBus with KmsKeyIdentifier %s: %s: %s", cfg.KmsKeyIdentifier, resp.Status, msg)
	}
	return nil
}

func newClient(cfg Config, url string, hc *http.Client, id int) *client {
	now := time.Now().UTC()
	c := &client{url: url + "/", hc: hc, entries: cfg.Entries, date: now.Format("20060102T150405Z")}
	// Unsigned but SigV4-shaped: the server takes the region from the
	// credential scope, as AWS does.
	c.auth = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/" + now.Format("20060102") + "/" + cfg.Region +
		"/events/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + strings.Repeat("0", 64)
	type entry struct{ Source, DetailType, Detail string }
	var in struct{ Entries []entry }
	for i := range cfg.Entries {
		head := fmt.Sprintf(`{"bench":"putevents","client":%d,"entry":%d,"pad":"`, id, i)
		pad := max(cfg.DetailSize-len(head)-2, 0)
		in.Entries = append(in.Entries, entry{"bench.switchyard", "Bench Event", head + strings.Repeat("x", pad) + `"}`})
	}
	c.body, _ = json.Marshal(in)
	if cfg.AccessKeyID != "" {
		c.sign = newSigner(cfg, c.url, c.body)
	}
	return c
}

type putEventsOut struct {
	FailedEntryCount *int
	Entries          []struct{ EventId, ErrorCode, ErrorMessage string }
}

// call makes one PutEvents call due at due, recording into st.
func (c *client) call(ctx context.Context, due time.Time, st *stats, measured bool) {
	sent := time.Now()
	accepted, ok := c.put(ctx, st)
	done := time.Now()
	st.acceptedAll += uint64(accepted)
	if !ok || !measured {
		return
	}
	st.calls++
	st.accepted += uint64(accepted)
	st.lat.record(done.Sub(due))
	st.svc.record(done.Sub(sent))
}

func (c *client) put(ctx context.Context, st *stats) (accepted int, ok bool) {
	fail := func(format string, a ...any) (int, bool) {
		st.failedRequests++
		st.failedInCalls += uint64(c.entries)
		st.addError(fmt.Sprintf(format, a...))
		return 0, false
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(c.body))
	if err != nil {
		return fail("%v", err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AWSEvents.PutEvents")
	auth, date := c.auth, c.date
	if c.sign != nil {
		if auth, date, err = c.sign.headers(time.Now()); err != nil {
			return fail("signing: %v", err)
		}
	}
	req.Header.Set("X-Amz-Date", date)
	req.Header.Set("Authorization", auth)
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, false
		}
		return fail("%v", err)
	}
	c.buf.Reset()
	_, err = c.buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fail("reading response: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fail("HTTP %d: %.200s", resp.StatusCode, c.buf.Bytes())
	}
	var out putEventsOut
	if err := json.Unmarshal(c.buf.Bytes(), &out); err != nil || out.FailedEntryCount == nil || len(out.Entries) != c.entries {
		return fail("unexpected response: %.200s", c.buf.Bytes())
	}
	failed := 0
	for _, e := range out.Entries {
		if e.ErrorCode != "" || e.EventId == "" {
			failed++
			st.addError(e.ErrorCode + ": " + e.ErrorMessage)
		}
	}
	if failed != *out.FailedEntryCount {
		return fail("FailedEntryCount %d but %d entries have errors", *out.FailedEntryCount, failed)
	}
	st.failedEntries += uint64(failed)
	return c.entries - failed, true
}
