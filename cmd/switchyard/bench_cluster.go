package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchyard/switchyard/internal/bench/putevents"
	"github.com/switchyard/switchyard/internal/devcluster"
	"github.com/switchyard/switchyard/internal/secretbox"
)

func benchClusterCmd() *cobra.Command {
	var cfg putevents.Config
	var natsBin string
	cmd := &cobra.Command{
		Use:   "cluster --nats-server PATH",
		Short: "PutEvents throughput of one vs three switchyard processes on a 3-node NATS JetStream cluster",
		Long: `Starts a 3-node NATS JetStream cluster and three switchyard processes on it
(package devcluster, as make cluster does), then drives the put-events load
first against one process (the other two stopped), then spread over all three,
and reports each run's accepted events/s, latency, and the CPU the cluster's
processes (switchyard and nats-server) used per event: the figure from which a
cluster of three machines can be sized.

  go build -o bin/nats-server github.com/nats-io/nats-server/v2
  switchyard bench cluster --nats-server bin/nats-server --duration 20s`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			out := cmd.OutOrStdout()
			self, err := os.Executable()
			if err != nil {
				return err
			}
			dir, err := os.MkdirTemp("", "switchyard-bench-cluster")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			key := filepath.Join(dir, "secrets.key")
			if err := os.WriteFile(key, []byte(secretbox.NewKey()+"\n"), 0o600); err != nil {
				return err
			}
			c, err := devcluster.Start(ctx, devcluster.Config{Nodes: 3, Switchyard: self, NATS: natsBin, Dir: dir,
				Args: []string{"--auth", "none", "--quota-putevents", "0", "--quota-control", "0", "--secrets-key-file", key, "--log-level", "warn"}})
			if err != nil {
				return err
			}
			defer c.Close()
			natsPids := func() []int {
				var ps []int
				for _, m := range c.NATS {
					ps = append(ps, m.Pid())
				}
				return ps
			}
			run := func(members []*devcluster.Member) error {
				run := cfg
				run.Endpoints, run.CPUPids = nil, natsPids()
				for _, m := range members {
					run.Endpoints = append(run.Endpoints, "http://"+m.Addr)
					run.CPUPids = append(run.CPUPids, m.Pid())
				}
				fmt.Fprintf(out, "\n== %d switchyard process(es) on the 3-node NATS cluster (CPU: those and the 3 nats-servers)\n", len(members))
				var syPids []int
				for _, m := range members {
					syPids = append(syPids, m.Pid())
				}
				sy0, nats0, start := putevents.ProcessCPU(syPids), putevents.ProcessCPU(natsPids()), time.Now()
				if err := putevents.Run(ctx, run, out); err != nil {
					return err
				}
				// The split of that CPU, over the whole run (warm-up and drain
				// included): what a machine of each kind would need.
				sy, nats := putevents.ProcessCPU(syPids)-sy0, putevents.ProcessCPU(natsPids())-nats0
				el := time.Since(start).Seconds()
				fmt.Fprintf(out, "  cpu split  switchyard %.2f cores, nats-servers %.2f cores over the run (%.0f%% / %.0f%%)\n",
					sy.Seconds()/el, nats.Seconds()/el, 100*sy.Seconds()/(sy+nats).Seconds(), 100*nats.Seconds()/(sy+nats).Seconds())
				return nil
			}
			for _, m := range c.Switchyard[1:] {
				m.Stop(30 * time.Second)
			}
			if err := run(c.Switchyard[:1]); err != nil {
				return err
			}
			for _, m := range c.Switchyard[1:] {
				if err := m.Start(); err != nil {
					return err
				}
				if err := m.WaitReady(ctx, 90*time.Second); err != nil {
					return err
				}
			}
			if err := run(c.Switchyard); err != nil {
				return err
			}
			c.Stop()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&natsBin, "nats-server", "bin/nats-server", "the nats-server binary")
	f.IntVar(&cfg.Clients, "clients", 24, "concurrent clients, spread over the processes")
	f.Float64Var(&cfg.Rate, "rate", 0, "offered load in events/s (open loop); 0 runs closed-loop at maximum throughput")
	f.DurationVar(&cfg.Duration, "duration", 15*time.Second, "measured duration of each run")
	f.DurationVar(&cfg.Warmup, "warmup", 3*time.Second, "unmeasured load before each run")
	f.IntVar(&cfg.Entries, "entries", 10, "entries per PutEvents call (1-10)")
	f.IntVar(&cfg.DetailSize, "detail-size", 256, "bytes of Detail per entry")
	f.StringVar(&cfg.Region, "region", "us-east-1", "region of the SigV4 credential scope")
	f.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "timeout of one request")
	return cmd
}
