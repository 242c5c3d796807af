package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchyard/switchyard/internal/bench/httpceiling"
)

func benchDeliveryCmd() *cobra.Command {
	var cfg deliveryBench
	cmd := &cobra.Command{
		Use:   "delivery",
		Short: "Latency from PutEvents accepted to the target's first call, and fan-out deliveries/s",
		Long: `Starts a switchyard serve child (loopback port, temporary data directory) and
an HTTP target on loopback, then:

  latency   for each --rates value, offers that many events/s (PutEvents of 10
            entries, open loop) for --duration to one rule with one HTTP
            target, and reports p50/p99/p99.9/max of the time from PutEvents
            answering (the event accepted) to the target's first call with
            that event; any event never delivered fails the run;
  fan-out   one bus with --rules rules of --targets HTTP targets each, all
            matching every event; puts --fanout-events events as fast as
            accepted and reports deliveries/s until the last one arrived.

  switchyard bench delivery                                  # both, default rates 1000 and 10000
  switchyard bench delivery --rates 10000 --duration 30s --skip-fanout`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return cfg.run(ctx, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.rates, "rates", "1000,10000", "offered loads of the latency runs, events/s")
	f.DurationVar(&cfg.duration, "duration", 10*time.Second, "measured duration of each latency run")
	f.DurationVar(&cfg.warmup, "warmup", 0, "latency runs: offer the rate this long first, and report those events' latency apart (a fresh process is slower for a second or so)")
	f.IntVar(&cfg.clients, "clients", 16, "concurrent PutEvents callers")
	f.IntVar(&cfg.rules, "rules", 100, "fan-out: rules on the bus")
	f.IntVar(&cfg.targets, "targets", 5, "fan-out: targets per rule")
	f.IntVar(&cfg.fanoutEvents, "fanout-events", 1000, "fan-out: events put")
	f.BoolVar(&cfg.skipFanout, "skip-fanout", false, "only the latency runs")
	f.StringArrayVar(&cfg.serveArgs, "serve-arg", nil, "extra flag for the child's serve command (repeatable)")
	f.DurationVar(&cfg.timeline, "timeline", 0, "latency runs: also print p50/p99/max for each interval of this length (by acceptance time), to tell steady queueing from stalls")
	return cmd
}

type deliveryBench struct {
	rates        string
	duration     time.Duration
	warmup       time.Duration
	clients      int
	rules        int
	targets      int
	fanoutEvents int
	skipFanout   bool
	serveArgs    []string
	timeline     time.Duration

	endpoint string
	hc       *http.Client
	rcv      *benchReceiver
}

func (b *deliveryBench) run(ctx context.Context, out io.Writer) error {
	var rates []float64
	for _, s := range strings.Split(b.rates, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || r <= 0 {
			return fmt.Errorf("--rates: %q", s)
		}
		rates = append(rates, r)
	}
	child, err := startBenchChild(ctx, b.serveArgs)
	if err != nil {
		return err
	}
	defer child.stop()
	b.endpoint = "http://" + child.addr
	b.hc = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}
	if b.rcv, err = newBenchReceiver(); err != nil {
		return err
	}
	defer b.rcv.close()
	fmt.Fprintf(out, "switchyard bench delivery: child %s, %d CPUs\n", child.addr, runtime.NumCPU())

	if err := b.api(ctx, "PutRule", map[string]any{"Name": "latency", "EventPattern": `{"source":["bench.latency"]}`}); err != nil {
		return err
	}
	if err := b.api(ctx, "PutTargets", map[string]any{"Rule": "latency", "Targets": []any{map[string]any{"Id": "t", "Arn": b.rcv.url + "/latency"}}}); err != nil {
		return err
	}
	time.Sleep(200 * time.Millisecond) // the matcher's view of the new rule
	for _, r := range rates {
		if err := b.latency(ctx, r, out); err != nil {
			return err
		}
	}
	if !b.skipFanout {
		return b.fanout(ctx, out)
	}
	return nil
}

// latency offers rate events/s for the duration and reports the time from
// each event's acceptance to its first arrival at the target.
func (b *deliveryBench) latency(ctx context.Context, rate float64, out io.Writer) error {
	b.rcv.reset()
	var (
		mu       sync.Mutex
		accepted = map[string]time.Time{}
		failed   atomic.Int64
	)
	interval := time.Duration(float64(time.Second) * 10 / rate)
	start := time.Now()
	end := start.Add(b.warmup + b.duration)
	due := make(chan struct{}, b.clients*4)
	go func() {
		defer close(due)
		for next := start; next.Before(end); next = next.Add(interval) {
			time.Sleep(time.Until(next))
			select {
			case due <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for c := 0; c < b.clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			n := 0
			for range due {
				n++
				ids, err := b.put(ctx, "default", "bench.latency", 10, fmt.Sprintf(`{"c":%d,"n":%d}`, c, n))
				now := time.Now()
				if err != nil {
					if failed.Add(10) == 10 {
						fmt.Fprintf(out, "latency: PutEvents: %v\n", err)
					}
					continue
				}
				mu.Lock()
				for _, id := range ids {
					accepted[id] = now
				}
				mu.Unlock()
			}
		}(c)
	}
	wg.Wait()
	offered := time.Since(start)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// A run the server cannot keep up with drains late; only what never
	// arrives is lost.
	arrived, missing := b.rcv.wait(ctx, accepted, 3*time.Minute)
	// Events accepted during the warm-up are delivered and checked like
	// any, but their latency is reported apart: a process just started
	// (connections, caches, a small heap collected often) is slower for
	// its first second or so.
	var lat, warm []time.Duration
	steady := start.Add(b.warmup)
	for id, at := range accepted {
		if a, ok := arrived[id]; ok {
			if at.Before(steady) {
				warm = append(warm, max(a.Sub(at), 0))
			} else {
				lat = append(lat, max(a.Sub(at), 0))
			}
		}
	}
	q := func(lat []time.Duration, p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(int(p*float64(len(lat))), len(lat)-1)].Round(10 * time.Microsecond)
	}
	slices.Sort(lat)
	slices.Sort(warm)
	fmt.Fprintf(out, "latency  offered %6.0f events/s: accepted %d (%.0f/s), failed %d, delivered %d, never delivered %d; accepted→first call p50 %v p99 %v p99.9 %v max %v\n",
		rate, len(accepted), float64(len(accepted))/offered.Seconds(), failed.Load(), len(lat)+len(warm), missing, q(lat, .50), q(lat, .99), q(lat, .999), q(lat, 1))
	if b.warmup > 0 {
		fmt.Fprintf(out, "         (the figures above leave out the %v warm-up: %d events, p50 %v p99 %v max %v)\n",
			b.warmup, len(warm), q(warm, .50), q(warm, .99), q(warm, 1))
	}
	if b.timeline > 0 {
		printTimeline(out, start, b.timeline, accepted, arrived)
	}
	if srv, err := b.serverLatency(ctx); err == nil {
		fmt.Fprintf(out, "         server side (IngestionToInvocationStartLatency, all runs so far): %s\n", srv)
	}
	if missing > 0 || failed.Load() > 0 {
		return fmt.Errorf("%d events never delivered, %d not accepted", missing, failed.Load())
	}
	return nil
}

// fanout: rules × targets on one bus, every event matching every rule.
func (b *deliveryBench) fanout(ctx context.Context, out io.Writer) error {
	if err := b.api(ctx, "CreateEventBus", map[string]any{"Name": "fanout"}); err != nil {
		return err
	}
	for r := 0; r < b.rules; r++ {
		name := fmt.Sprintf("fan-%03d", r)
		if err := b.api(ctx, "PutRule", map[string]any{"Name": name, "EventBusName": "fanout", "EventPattern": `{"source":["bench.fanout"]}`}); err != nil {
			return err
		}
		var ts []any
		for t := 0; t < b.targets; t++ {
			ts = append(ts, map[string]any{"Id": fmt.Sprintf("t%d", t), "Arn": fmt.Sprintf("%s/fanout/%d/%d", b.rcv.url, r, t)})
		}
		if err := b.api(ctx, "PutTargets", map[string]any{"Rule": name, "EventBusName": "fanout", "Targets": ts}); err != nil {
			return err
		}
	}
	// The ceiling: the same receiver, called by bare clients from this
	// process, measured in this run.
	ceiling, err := httpceiling.MeasureBoth(ctx, b.rcv.url+"/ceiling", 64, 3*time.Second)
	if err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond)
	b.rcv.reset()
	want := int64(b.fanoutEvents) * int64(b.rules*b.targets)
	start := time.Now()
	var wg sync.WaitGroup
	var next, failed atomic.Int64
	for c := 0; c < min(b.clients, 4); c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := next.Add(10); i <= int64(b.fanoutEvents)+9; i = next.Add(10) {
				n := min(10, int(int64(b.fanoutEvents)-(i-10)))
				if _, err := b.put(ctx, "fanout", "bench.fanout", n, fmt.Sprintf(`{"i":%d}`, i)); err != nil {
					if failed.Add(int64(n)) == int64(n) {
						fmt.Fprintf(out, "fan-out: PutEvents: %v\n", err)
					}
				}
			}
		}(c)
	}
	wg.Wait()
	put := time.Since(start)
	if failed.Load() > 0 {
		return fmt.Errorf("fan-out: %d events not accepted", failed.Load())
	}
	deadline := time.Now().Add(5 * time.Minute)
	for b.rcv.count.Load() < want {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("fan-out: %d of %d deliveries after 5 minutes", b.rcv.count.Load(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := b.rcv.lastAt().Sub(start)
	fmt.Fprintf(out, "fan-out  %d rules × %d targets, %d events (put in %v): %d deliveries in %v = %.0f deliveries/s\n",
		b.rules, b.targets, b.fanoutEvents, put.Round(time.Millisecond), want, took.Round(time.Millisecond), float64(want)/took.Seconds())
	fmt.Fprintf(out, "         ratio: deliveries/s is %s\n", ceiling.Ratios(float64(want)/took.Seconds()))
	if srv, err := b.serverLatency(ctx); err == nil {
		fmt.Fprintf(out, "         server side (all runs so far): %s\n", srv)
	}
	return nil
}

// serverLatency summarises the child's own ingestion-to-invocation
// histogram: the share of first calls within each bucket bound.
func (b *deliveryBench) serverLatency(ctx context.Context) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.endpoint+"/metrics", nil)
	resp, err := b.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var parts []string
	var total float64
	counts := map[string]float64{}
	var les []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var deferred, retries, direct float64
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "switchyard_deliver_direct_attempts_total "); ok {
			direct, _ = strconv.ParseFloat(v, 64)
			continue
		}
		if strings.HasPrefix(line, "switchyard_deliver_deferred_total ") || strings.HasPrefix(line, "switchyard_RetryInvocationAttempts_total{") {
			v, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if line[11] == 'd' {
				deferred += v
			} else {
				retries += v
			}
			continue
		}
		if !strings.HasPrefix(line, "switchyard_IngestionToInvocationStartLatency_seconds_bucket{") || !strings.Contains(line, `kind="http"`) {
			continue
		}
		i := strings.Index(line, `le="`)
		le := line[i+4 : i+4+strings.IndexByte(line[i+4:], '"')]
		v, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if _, ok := counts[le]; !ok {
			les = append(les, le)
		}
		counts[le] += v
		if le == "+Inf" {
			total += v
		}
	}
	for _, le := range les {
		if le == "+Inf" || total == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("≤%ss %.2f%%", le, 100*counts[le]/total))
		if counts[le] == total {
			break
		}
	}
	// First calls not made directly went through the delivery stream
	// (package deliver, direct.go), at several times the cost.
	return strings.Join(parts, ", ") + fmt.Sprintf("; retries %.0f, deferred %.0f; first calls made directly %.0f of %.0f", retries, deferred, direct, total), nil
}

func (b *deliveryBench) api(ctx context.Context, op string, in any) error {
	body, _ := json.Marshal(in)
	_, err := b.call(ctx, op, body)
	return err
}

func (b *deliveryBench) put(ctx context.Context, bus, source string, n int, detail string) ([]string, error) {
	type entry struct{ EventBusName, Source, DetailType, Detail string }
	var in struct{ Entries []entry }
	for i := 0; i < n; i++ {
		in.Entries = append(in.Entries, entry{bus, source, "Bench", detail})
	}
	body, _ := json.Marshal(in)
	resp, err := b.call(ctx, "PutEvents", body)
	if err != nil {
		return nil, err
	}
	var out struct {
		FailedEntryCount int
		Entries          []struct{ EventId string }
	}
	if err := json.Unmarshal(resp, &out); err != nil || out.FailedEntryCount != 0 {
		return nil, fmt.Errorf("PutEvents: %v %.200s", err, resp)
	}
	ids := make([]string, 0, len(out.Entries))
	for _, e := range out.Entries {
		ids = append(ids, e.EventId)
	}
	return ids, nil
}

func (b *deliveryBench) call(ctx context.Context, op string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AWSEvents."+op)
	req.Header.Set("X-Amz-Date", now.Format("20060102T150405Z"))
	// Unsigned but SigV4-shaped: the region comes from the credential scope.
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=123456789012/"+now.Format("20060102")+
		"/us-east-1/events/aws4_request, SignedHeaders=host, Signature="+strings.Repeat("0", 64))
	resp, err := b.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d: %.300s", op, resp.StatusCode, out)
	}
	return out, nil
}

// benchReceiver is the loopback HTTP target: it records each event id's
// first arrival.
type benchReceiver struct {
	url   string
	srv   *http.Server
	count atomic.Int64
	mu    sync.Mutex
	first map[string]time.Time
	last  time.Time
}

func newBenchReceiver() (*benchReceiver, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &benchReceiver{url: "http://" + lis.Addr().String(), first: map[string]time.Time{}}
	r.srv = &http.Server{Handler: r}
	go func() { _ = r.srv.Serve(lis) }()
	return r, nil
}

var idField = []byte(`"id":"`)

func (r *benchReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	body, _ := io.ReadAll(req.Body)
	var id string
	if i := bytes.Index(body, idField); i >= 0 {
		rest := body[i+len(idField):]
		if j := bytes.IndexByte(rest, '"'); j >= 0 {
			id = string(rest[:j])
		}
	}
	r.mu.Lock()
	if _, seen := r.first[id]; !seen && strings.HasPrefix(req.URL.Path, "/latency") {
		r.first[id] = now
	}
	r.last = now
	r.mu.Unlock()
	r.count.Add(1)
	w.WriteHeader(http.StatusOK)
}

func (r *benchReceiver) reset() {
	r.mu.Lock()
	r.first = map[string]time.Time{}
	r.mu.Unlock()
	r.count.Store(0)
}

func (r *benchReceiver) lastAt() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// wait returns the arrivals once every accepted id arrived, or at within.
func (r *benchReceiver) wait(ctx context.Context, accepted map[string]time.Time, within time.Duration) (map[string]time.Time, int) {
	deadline := time.Now().Add(within)
	for {
		r.mu.Lock()
		missing := 0
		for id := range accepted {
			if _, ok := r.first[id]; !ok {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			out := make(map[string]time.Time, len(r.first))
			for k, v := range r.first {
				out[k] = v
			}
			r.mu.Unlock()
			return out, missing
		}
		r.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *benchReceiver) close() { _ = r.srv.Close() }

type benchChild struct {
	cmd    *exec.Cmd
	addr   string
	dir    string
	exited chan struct{}
}

var benchServingRE = regexp.MustCompile(`switchyard serving"? addr=(\S+)`)

// startBenchChild runs this executable's serve on a loopback port and a
// temporary data directory, without SWITCHYARD_* settings from the
// environment, so that figures are reproducible.
func startBenchChild(ctx context.Context, extra []string) (*benchChild, error) {
	bin, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "switchyard-bench-delivery")
	if err != nil {
		return nil, err
	}
	// No quotas: a benchmark measures how fast Switchyard goes.
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dir, "--quota-putevents", "0", "--quota-control", "0"}, extra...)
	args = append(args, devAuth(extra)...)
	c := &benchChild{cmd: exec.Command(bin, args...), dir: dir, exited: make(chan struct{})}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SWITCHYARD_") {
			c.cmd.Env = append(c.cmd.Env, kv)
		}
	}
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = c.cmd.Wait(); close(c.exited) }()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			// The child's errors would otherwise go unseen, and a
			// benchmark that had them measured something else.
			if strings.Contains(sc.Text(), "level=ERROR") {
				fmt.Fprintln(os.Stderr, "child:", sc.Text())
			}
			if m := benchServingRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case c.addr = <-addr:
		return c, nil
	case <-c.exited:
		return nil, errors.New("switchyard serve exited before serving")
	case <-time.After(30 * time.Second):
	case <-ctx.Done():
	}
	c.stop()
	return nil, errors.New("switchyard serve did not start")
}

func (c *benchChild) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
	os.RemoveAll(c.dir)
}

// printTimeline prints, for each interval of acceptance time, how many
// events were accepted and the p50, p99 and max of their latency: a stall
// shows as one bad interval, an overload as a rising trend.
func printTimeline(out io.Writer, start time.Time, every time.Duration, accepted, arrived map[string]time.Time) {
	var buckets [][]time.Duration
	for id, at := range accepted {
		a, ok := arrived[id]
		if !ok {
			continue
		}
		i := int(at.Sub(start) / every)
		for len(buckets) <= i {
			buckets = append(buckets, nil)
		}
		buckets[i] = append(buckets[i], max(a.Sub(at), 0))
	}
	for i, lat := range buckets {
		if len(lat) == 0 {
			continue
		}
		slices.Sort(lat)
		q := func(p float64) time.Duration {
			return lat[min(int(p*float64(len(lat))), len(lat)-1)].Round(10 * time.Microsecond)
		}
		fmt.Fprintf(out, "         %8v  %6d events  p50 %-10v p99 %-10v max %v\n", time.Duration(i)*every, len(lat), q(.5), q(.99), q(1))
	}
}

// devAuth is the --auth none that the benchmarks' servers run with unless
// their extra flags choose: the load generators send unsigned requests.
func devAuth(args []string) []string {
	for _, a := range args {
		if a == "--auth" || strings.HasPrefix(a, "--auth=") {
			return nil
		}
	}
	return []string{"--auth", "none"}
}
