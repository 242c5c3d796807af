package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchyard/switchyard/internal/api"
	"github.com/switchyard/switchyard/internal/bench/httpceiling"
	"github.com/switchyard/switchyard/internal/bench/putevents"
)

func benchArchiveCmd() *cobra.Command {
	var (
		load        putevents.Config
		rounds      int
		serveArgs   []string
		skipReplay  bool
		replayLimit int
		noTarget    bool
	)
	cmd := &cobra.Command{
		Use:   "archive",
		Short: "PutEvents throughput with one archive on the bus vs none, and replay rate into a rule with an HTTP target",
		Long: `Runs the put-events load (closed loop by default) against a fresh switchyard serve
child without archives, then against another fresh child whose default bus
has one archive (no pattern: every event archived), --rounds times
alternately, and reports accepted and routed events/s of each and the
difference. Then, in the last archived child, it puts a rule with an HTTP
target (a counting receiver in this process) on the bus, replays the whole
archive into it and reports the replay rate (events handed to the rules per
second, from ReplayStartTime to ReplayEndTime) and the delivery rate at the
receiver.

  switchyard bench archive --duration 10s
  switchyard bench archive --duration 10s --rounds 2`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runArchiveBench(ctx, cmd.OutOrStdout(), load, rounds, serveArgs, !skipReplay, replayLimit, !noTarget)
		},
	}
	f := cmd.Flags()
	f.IntVar(&load.Clients, "clients", 16, "concurrent PutEvents clients")
	f.Float64Var(&load.Rate, "rate", 0, "offered load in events/s (open loop); 0 runs closed-loop")
	f.DurationVar(&load.Duration, "duration", 10*time.Second, "measured duration of each PutEvents run")
	f.DurationVar(&load.Warmup, "warmup", 2*time.Second, "unmeasured load before each run")
	f.IntVar(&load.DetailSize, "detail-size", 256, "bytes of Detail per entry")
	f.IntVar(&rounds, "rounds", 1, "runs of each configuration, alternated")
	f.StringArrayVar(&serveArgs, "serve-arg", nil, "extra flag for the children's serve command (repeatable)")
	f.BoolVar(&skipReplay, "no-replay", false, "skip the replay measurement")
	f.BoolVar(&noTarget, "replay-no-target", false, "replay into a rule without targets: the replay and routing alone, no delivery")
	f.IntVar(&replayLimit, "replay-max-pending", 0, "the last child's --replay-max-pending (0: serve's default)")
	return cmd
}

var (
	acceptedRE = regexp.MustCompile(`accepted\s+([0-9.]+) events/s`)
	routedRE   = regexp.MustCompile(`matcher\s+([0-9.]+) events/s routed`)
)

func runArchiveBench(ctx context.Context, out io.Writer, load putevents.Config, rounds int, serveArgs []string, replay bool, replayLimit int, target bool) error {
	var sums [2][2]float64
	var last *archiveChild
	defer func() {
		if last != nil {
			last.stop()
		}
	}()
	for round := 0; round < max(rounds, 1); round++ {
		for withArchive := 0; withArchive < 2; withArchive++ {
			args := serveArgs
			if withArchive == 1 && replayLimit > 0 {
				args = append(args, "--replay-max-pending", strconv.Itoa(replayLimit))
			}
			ch, err := startArchiveChild(ctx, args)
			if err != nil {
				return err
			}
			label := "no archive"
			if withArchive == 1 {
				label = "one archive"
				if err := ch.call(ctx, "CreateArchive", map[string]any{"ArchiveName": "bench",
					"EventSourceArn": fmt.Sprintf("arn:aws:events:us-east-1:%s:event-bus/default", api.DefaultAccount)}, nil); err != nil {
					ch.stop()
					return err
				}
			}
			fmt.Fprintf(out, "== round %d, %s (child %s)\n", round+1, label, ch.url)
			cfg := load
			cfg.Endpoint = ch.url
			var buf bytes.Buffer
			err = putevents.Run(ctx, cfg, io.MultiWriter(out, &buf))
			if err != nil {
				ch.stop()
				return err
			}
			for k, re := range []*regexp.Regexp{acceptedRE, routedRE} {
				if m := re.FindSubmatch(buf.Bytes()); m != nil {
					v, _ := strconv.ParseFloat(string(m[1]), 64)
					sums[withArchive][k] += v
				}
			}
			if withArchive == 1 && round == max(rounds, 1)-1 {
				last = ch
			} else {
				ch.stop()
			}
		}
	}
	n := float64(max(rounds, 1))
	fmt.Fprintf(out, "\nPutEvents, mean of %d run(s) each:\n", int(n))
	fmt.Fprintf(out, "  no archive   accepted %8.0f events/s, routed %8.0f events/s\n", sums[0][0]/n, sums[0][1]/n)
	fmt.Fprintf(out, "  one archive  accepted %8.0f events/s, routed %8.0f events/s\n", sums[1][0]/n, sums[1][1]/n)
	if sums[0][0] > 0 {
		fmt.Fprintf(out, "  with one archive: accepted %+.1f%%, routed (and archived) %+.1f%%\n",
			100*(sums[1][0]/sums[0][0]-1), 100*(sums[1][1]/max(sums[0][1], 1)-1))
	}
	if !replay || last == nil {
		return nil
	}
	return benchReplay(ctx, out, last, target)
}

// benchReplay replays the whole archive of the child into a rule whose
// target is a counting HTTP receiver.
func benchReplay(ctx context.Context, out io.Writer, ch *archiveChild, target bool) error {
	var desc struct{ EventCount int64 }
	deadline := time.Now().Add(time.Minute)
	for prev := int64(-1); ; prev = desc.EventCount {
		// the router may still be archiving the tail of the load
		if err := ch.call(ctx, "DescribeArchive", map[string]any{"ArchiveName": "bench"}, &desc); err != nil {
			return err
		}
		if desc.EventCount == prev || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	var got atomic.Int64
	var lastAt atomic.Int64
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got.Add(1)
		lastAt.Store(time.Now().UnixNano())
	})}
	go func() { _ = srv.Serve(lis) }()
	defer srv.Close()
	var ceiling httpceiling.Ceiling
	if target {
		// The ceiling: the same receiver, called by bare clients from this
		// process for as long as it takes, measured in this run.
		if ceiling, err = httpceiling.MeasureBoth(ctx, "http://"+lis.Addr().String()+"/ceiling", 64, 3*time.Second); err != nil {
			return err
		}
		got.Store(0)
	}
	if err := ch.call(ctx, "PutRule", map[string]any{"Name": "replayed", "EventPattern": `{"replay-name":[{"exists":true}]}`}, nil); err != nil {
		return err
	}
	if target {
		if err := ch.call(ctx, "PutTargets", map[string]any{"Rule": "replayed",
			"Targets": []map[string]any{{"Id": "http", "Arn": "http://" + lis.Addr().String() + "/"}}}, nil); err != nil {
			return err
		}
		fmt.Fprintf(out, "\nReplay of the archive (%d events) into a rule with an HTTP target:\n", desc.EventCount)
	} else {
		fmt.Fprintf(out, "\nReplay of the archive (%d events) into a rule without targets:\n", desc.EventCount)
	}
	start := time.Now()
	if err := ch.call(ctx, "StartReplay", map[string]any{"ReplayName": "bench",
		"EventSourceArn": fmt.Sprintf("arn:aws:events:us-east-1:%s:archive/bench", api.DefaultAccount),
		"EventStartTime": 0, "EventEndTime": float64(time.Now().Add(time.Hour).Unix()),
		"Destination": map[string]any{"Arn": fmt.Sprintf("arn:aws:events:us-east-1:%s:event-bus/default", api.DefaultAccount)}}, nil); err != nil {
		return err
	}
	var st replayState
	for {
		if err := ch.call(ctx, "DescribeReplay", map[string]any{"ReplayName": "bench"}, &st); err != nil {
			return err
		}
		if st.State == "COMPLETED" || st.State == "FAILED" || st.State == "CANCELLED" {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	replayWall := time.Since(start)
	if st.State != "COMPLETED" {
		return fmt.Errorf("replay %s: %s", st.State, st.StateReason)
	}
	if !target {
		fmt.Fprintf(out, "  replay     %s in %.2fs (ReplayStartTime to ReplayEndTime): %.0f events/s matched against the rules (%.2fs wall from StartReplay)\n",
			st.State, st.ReplayEndTime-st.ReplayStartTime, float64(desc.EventCount)/(st.ReplayEndTime-st.ReplayStartTime), replayWall.Seconds())
		return nil
	}
	for got.Load() < desc.EventCount && time.Since(time.Unix(0, max(lastAt.Load(), start.UnixNano()))) < 30*time.Second {
		time.Sleep(50 * time.Millisecond)
	}
	delivered := got.Load()
	deliverWall := time.Unix(0, lastAt.Load()).Sub(start)
	took := st.ReplayEndTime - st.ReplayStartTime
	fmt.Fprintf(out, "  replay     %s in %.2fs (ReplayStartTime to ReplayEndTime): %.0f events/s handed to the rules (%.2fs wall from StartReplay)\n",
		st.State, took, float64(desc.EventCount)/took, replayWall.Seconds())
	fmt.Fprintf(out, "  delivered  %d of %d to the HTTP target in %.2fs: %.0f events/s\n",
		delivered, desc.EventCount, deliverWall.Seconds(), float64(delivered)/deliverWall.Seconds())
	fmt.Fprintf(out, "  ratio      delivered/s is %s\n", ceiling.Ratios(float64(delivered)/deliverWall.Seconds()))
	return nil
}

// archiveChild is a switchyard serve process on a fresh data directory.
type archiveChild struct {
	cmd *exec.Cmd
	dir string
	url string
}

func startArchiveChild(ctx context.Context, extra []string) (*archiveChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "switchyard-bench-archive-")
	if err != nil {
		return nil, err
	}
	// No quotas: a benchmark measures how fast Switchyard goes.
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dir, "--quota-putevents", "0", "--quota-control", "0"}, extra...)
	args = append(args, devAuth(extra)...)
	cmd := exec.Command(exe, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SWITCHYARD_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	ch := &archiveChild{cmd: cmd, dir: dir}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := archiveServingRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		ch.url = "http://" + a
		return ch, nil
	case <-time.After(60 * time.Second):
	case <-ctx.Done():
	}
	ch.stop()
	return nil, fmt.Errorf("switchyard child did not start")
}

var archiveServingRE = regexp.MustCompile(`switchyard serving"? addr=(\S+)`)

func (c *archiveChild) call(ctx context.Context, op string, in, out any) error {
	return callAPI(ctx, c.url, caller{region: "us-east-1", account: api.DefaultAccount}, op, in, out)
}

func (c *archiveChild) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
	os.RemoveAll(c.dir)
}
