package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/switchyard/switchyard/internal/bench/putevents"
)

func benchPutEventsCmd() *cobra.Command {
	var cfg putevents.Config
	cmd := &cobra.Command{
		Use:   "put-events",
		Short: "Load PutEvents over HTTP and report accepted events/s and latency percentiles",
		Long: `Drives PutEvents (AWS JSON 1.1, keep-alive HTTP, 10 entries a call) against
--endpoint, or against a switchyard serve child started on a loopback port and
a temporary data directory, and reports events/s accepted, failed entries and
p50/p99/p99.9 request latency. With --rate it offers a fixed load (open loop,
latency measured from when each call was due); without it every client sends
as fast as answers come back (closed loop). Any failed entry fails the run.
Unlike serve, it ignores SWITCHYARD_* environment variables, and removes them
from the child's environment, so that its figures are reproducible.

  switchyard bench put-events --duration 30s                 # max throughput
  switchyard bench put-events --rate 5000 --duration 30s     # latency at 5,000 events/s
  switchyard bench put-events --compare-moto                 # the same load against moto_server too
  switchyard bench put-events --compare-auth --rounds 3      # --auth none vs --auth sigv4 (signed requests)
  switchyard bench put-events --kms-key-identifier k --serve-arg=--kms-local-key-file=bus.key  # events encrypted at rest`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return putevents.Run(ctx, cfg, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.BoolVar(&cfg.Ceiling, "ceiling", true, "closed loop: also drive a bare net/http PutEvents server (decodes, answers, stores nothing) in this process with the same load and print the ratio")
	f.StringVar(&cfg.Endpoint, "endpoint", "", "EventBridge endpoint URL; empty starts a switchyard serve child")
	f.IntVar(&cfg.Clients, "clients", 16, "concurrent clients, one request in flight each")
	f.Float64Var(&cfg.Rate, "rate", 0, "offered load in events/s (open loop); 0 runs closed-loop at maximum throughput")
	f.DurationVar(&cfg.Duration, "duration", 10e9, "measured duration")
	f.DurationVar(&cfg.Warmup, "warmup", 2e9, "unmeasured load before the measured duration")
	f.IntVar(&cfg.Entries, "entries", 10, "entries per PutEvents call (1-10)")
	f.IntVar(&cfg.DetailSize, "detail-size", 256, "bytes of Detail per entry")
	f.StringVar(&cfg.Region, "region", "us-east-1", "region of the SigV4 credential scope")
	f.DurationVar(&cfg.Timeout, "timeout", 10e9, "timeout of one request")
	f.StringVar(&cfg.ServeBinary, "serve-binary", "", "switchyard executable for the child (default: this one)")
	f.StringVar(&cfg.Sync, "sync", "1s", "the child's --sync (fsync policy)")
	f.StringArrayVar(&cfg.ServeArgs, "serve-arg", nil, "extra flag for the child's serve command (repeatable)")
	f.BoolVar(&cfg.CompareMoto, "compare-moto", false, "run the same load against moto_server and report the ratio")
	f.StringVar(&cfg.MotoCommand, "moto-command", "moto_server", "moto_server executable")
	f.BoolVar(&cfg.CompareAuth, "compare-auth", false, "run the load against a child with --auth none (unsigned requests) and one with --auth sigv4 (every request signed with a key of a credentials file the run writes), and report what verification costs")
	f.IntVar(&cfg.Rounds, "rounds", 1, "with --compare-auth: how many times to run each, alternating; the medians are compared")
	f.StringVar(&cfg.AccessKeyID, "access-key-id", "", "sign every request with this access key (SigV4), for a server with --auth sigv4 (with --secret-access-key)")
	f.StringVar(&cfg.SecretAccessKey, "secret-access-key", "", "the secret of --access-key-id")
	f.StringVar(&cfg.KmsKeyIdentifier, "kms-key-identifier", "", "encrypt the default bus's events under this key (UpdateEventBus) before the load: serve the child with --serve-arg=--kms-local-key-file=FILE, or --serve-arg=--aws-endpoint=kms=URL of a KMS holding the key")
	return cmd
}
