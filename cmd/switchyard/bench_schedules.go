package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/switchyard/switchyard/internal/bench/httpceiling"
)

func benchSchedulesCmd() *cobra.Command {
	var b scheduleBench
	cmd := &cobra.Command{
		Use:   "schedules",
		Short: "Many rate(1 minute) rules: lag from each minute boundary to delivery, and CPU between ticks",
		Long: `Starts a switchyard serve child, puts --rules scheduled rules with rate(1 minute)
on the default bus, each with its own HTTP target on a receiver in this
process, and for --ticks minute boundaries reports the lag from the boundary
to each delivery (p50, p99, max, and how many arrived within 1 s), missing or
duplicate deliveries, and the child's CPU time (user+system, from /proc)
in the seconds around the tick and over the rest of the minute.

  switchyard bench schedules                       # 10,000 rules, 3 ticks
  switchyard bench schedules --rules 1000 --ticks 2`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return b.run(ctx, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.IntVar(&b.rules, "rules", 10000, "scheduled rules")
	f.IntVar(&b.ticks, "ticks", 3, "minute boundaries measured")
	f.IntVar(&b.clients, "clients", 16, "concurrent API calls while putting the rules")
	f.StringArrayVar(&b.serveArgs, "serve-arg", nil, "extra flag for the child's serve command (repeatable)")
	return cmd
}

type scheduleBench struct {
	rules, ticks, clients int
	serveArgs             []string

	endpoint string
	hc       *http.Client

	mu      sync.Mutex
	arrived map[string][]time.Duration // by the event's time: lag of each delivery
	seen    map[string]int             // "time rule": deliveries
}

func (b *scheduleBench) run(ctx context.Context, out io.Writer) error {
	b.arrived, b.seen = map[string][]time.Duration{}, map[string]int{}
	b.hc = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: b.clients}, Timeout: 30 * time.Second}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	rcv := &http.Server{Handler: http.HandlerFunc(b.receive)}
	go func() { _ = rcv.Serve(lis) }()
	defer rcv.Close()

	child, err := startBenchChild(ctx, append([]string{"--rules-per-bus", strconv.Itoa(b.rules + 10)}, b.serveArgs...))
	if err != nil {
		return err
	}
	defer child.stop()
	b.endpoint = "http://" + child.addr
	pid := child.cmd.Process.Pid

	start := time.Now()
	if err := b.putRules(ctx, "http://"+lis.Addr().String()); err != nil {
		return err
	}
	fmt.Fprintf(out, "switchyard bench schedules: %d rules with rate(1 minute), each with its own HTTP target, put in %.1fs; %d CPUs (%s)\n",
		b.rules, time.Since(start).Seconds(), runtime.NumCPU(), loadAvg())

	// The first boundary measured is one the rules were in place for:
	// the scheduler fires a tick's rules 10 s ahead (a rule put within
	// those 10 s fires at the boundary itself, the slower way).
	tick := time.Now().Add(15 * time.Second).Truncate(time.Minute).Add(time.Minute)
	// The ceiling: the deliverer's client alone making a tick's calls to
	// the same receiver, at the per-host cap the deliverer keeps (1,024
	// in flight), on fresh connections as a first tick has them.
	bare := httpceiling.DeliverClient()
	burst, err := httpceiling.Burst(ctx, bare, "http://"+lis.Addr().String()+"/ceiling", b.rules, 1024)
	bare.Close()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "ceiling: the deliverer's HTTP client alone makes %d calls to the same receiver in %s (1,024 in flight, new connections)\n", b.rules, ms(burst))
	fmt.Fprintf(out, "%-9s %9s %8s %8s %8s %10s %8s %11s %11s\n", "tick", "delivered", "p50", "p99", "max", "within 1s", "dupes", "CPU ±10s", "CPU rest")
	allWithin := true
	var worstP99 time.Duration
	for i := 0; i < b.ticks; i++ {
		if err := sleepUntil(ctx, tick.Add(-2*time.Second)); err != nil {
			return err
		}
		c0 := procCPU(pid)
		if err := sleepUntil(ctx, tick.Add(10*time.Second)); err != nil {
			return err
		}
		c1 := procCPU(pid)
		if err := sleepUntil(ctx, tick.Add(58*time.Second)); err != nil {
			return err
		}
		c2 := procCPU(pid)
		lags, dupes := b.tick(tick)
		within := 0
		for _, l := range lags {
			if l <= time.Second {
				within++
			}
		}
		if within != b.rules {
			allWithin = false
		}
		worstP99 = max(worstP99, pct(lags, 0.99))
		fmt.Fprintf(out, "%-9s %9d %8s %8s %8s %10s %8d %10.2fs %10.2fs\n", tick.UTC().Format("15:04"), len(lags),
			ms(pct(lags, 0.50)), ms(pct(lags, 0.99)), ms(pct(lags, 1)), fmt.Sprintf("%d/%d", within, b.rules), dupes,
			(c1 - c0).Seconds(), (c2 - c1).Seconds())
		tick = tick.Add(time.Minute)
	}
	fmt.Fprintf(out, "every tick delivered to every target within 1s of the minute boundary: %v\n", allWithin)
	fmt.Fprintf(out, "ratio: the calls alone take %s; the worst tick's p99 was %.1fx that\n", ms(burst), float64(worstP99)/float64(burst))
	fmt.Fprintln(out, `(lag: minute boundary to the receiver's arrival; CPU: the child's user+system time from 2s before to 10s after the boundary, then over the next 48s)`)
	return nil
}

func (b *scheduleBench) receive(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	var ev struct {
		Time      string   `json:"time"`
		Resources []string `json:"resources"`
	}
	body, _ := io.ReadAll(r.Body)
	if json.Unmarshal(body, &ev) == nil && len(ev.Resources) == 1 {
		if t, err := time.Parse(time.RFC3339, ev.Time); err == nil {
			b.mu.Lock()
			k := ev.Time + " " + ev.Resources[0]
			b.seen[k]++
			if b.seen[k] == 1 {
				b.arrived[ev.Time] = append(b.arrived[ev.Time], at.Sub(t))
			}
			b.mu.Unlock()
		}
	}
	w.WriteHeader(http.StatusOK)
}

// tick returns the lags of the deliveries of the tick at t and how many
// deliveries were duplicates.
func (b *scheduleBench) tick(t time.Time) ([]time.Duration, int) {
	key := t.UTC().Format(time.RFC3339)
	b.mu.Lock()
	defer b.mu.Unlock()
	dupes := 0
	for k, n := range b.seen {
		if strings.HasPrefix(k, key+" ") {
			dupes += n - 1
		}
	}
	return slices.Clone(b.arrived[key]), dupes
}

func (b *scheduleBench) putRules(ctx context.Context, receiver string) error {
	g, gctx := errgroup.WithContext(ctx)
	names := make(chan int)
	for c := 0; c < b.clients; c++ {
		g.Go(func() error {
			for i := range names {
				name := fmt.Sprintf("bench-%05d", i)
				if err := b.call(gctx, "PutRule", map[string]any{"Name": name, "ScheduleExpression": "rate(1 minute)"}); err != nil {
					return err
				}
				if err := b.call(gctx, "PutTargets", map[string]any{"Rule": name,
					"Targets": []map[string]string{{"Id": "hook", "Arn": receiver + "/" + name}}}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(names)
		for i := 0; i < b.rules; i++ {
			select {
			case names <- i:
			case <-gctx.Done():
				return nil
			}
		}
		return nil
	})
	return g.Wait()
}

func (b *scheduleBench) call(ctx context.Context, op string, in any) error {
	body, _ := json.Marshal(in)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AWSEvents."+op)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=123456789012/"+now.Format("20060102")+
		"/us-east-1/events/aws4_request, SignedHeaders=host, Signature="+strings.Repeat("0", 64))
	resp, err := b.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || bytes.Contains(out, []byte(`"FailedEntryCount":1`)) {
		return fmt.Errorf("%s: HTTP %d: %.300s", op, resp.StatusCode, out)
	}
	return nil
}

func sleepUntil(ctx context.Context, t time.Time) error {
	select {
	case <-time.After(time.Until(t)):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// procCPU is the user+system time process pid has used (Linux; 0 elsewhere).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// utime and stime are fields 14 and 15, counted from the line's start,
	// in clock ticks (100/s on Linux); the command name may hold spaces.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * 10 * time.Millisecond
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "load unknown"
	}
	return "load average " + strings.Join(strings.Fields(string(b))[:3], " ")
}

func pct(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0fms", float64(d)/1e6) }
