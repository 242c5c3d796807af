// Command switchyard is Amazon EventBridge as one self-hosted binary.
//
//	switchyard serve      run the EventBridge API and data path
//	switchyard version    print the version
//	switchyard bench ...  load generators and benchmarks
//	switchyard webhooks   manage inbound SaaS webhooks on a running server
//	switchyard apply      make a running server match a document or template
//	switchyard diff       print what apply would change
//
// Every flag can also be set through the environment as SWITCHYARD_<FLAG>,
// upper-cased with dashes as underscores (--data-dir: SWITCHYARD_DATA_DIR).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/switchyard/switchyard/internal/api"
	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
	"github.com/switchyard/switchyard/internal/netguard"
	"github.com/switchyard/switchyard/internal/peer"
	"github.com/switchyard/switchyard/internal/quota"
	"github.com/switchyard/switchyard/internal/server"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/tracing"
	"github.com/switchyard/switchyard/internal/webhooks"
	"github.com/switchyard/switchyard/schedule"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	if err := rootCmd().Execute(); err != nil {
		var ee *exitError
		if !errors.As(err, &ee) {
			fmt.Fprintln(os.Stderr, "Error:", err)
			os.Exit(1)
		}
		os.Exit(ee.code)
	}
}

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "switchyard",
		Short:         "Amazon EventBridge, self-hosted: one binary, the AWS API, durable delivery",
		SilenceUsage:  true,
		SilenceErrors: true, // main prints them, except an exitError's
	}
	fire := rulesFireCmd()
	fire.Use, fire.Short = "fire --name RULE", "Emit a scheduled rule's event now (the same as rules fire)"
	root.AddCommand(serveCmd(), versionCmd(), benchCmd(), rulesCmd(), replayCmd(), secretsCmd(),
		putCmd(), tailCmd(), testPatternCmd(), fire, dlqCmd(), clusterCmd(), webhooksCmd(),
		applyCmd(), diffCmd())
	return root
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "switchyard %s\n", version)
		},
	}
}

// envFlags fills every flag not given on the command line from
// SWITCHYARD_<FLAG>.
func envFlags(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || err != nil {
			return
		}
		name := "SWITCHYARD_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", name, e)
			}
		}
	})
	return err
}

func serveCmd() *cobra.Command {
	var (
		listen, dataDir, natsURL, sync, logLevel, logFormat string
		awsEndpoints                                        string
		replicas, workers, maxRequest                       int
		retryBase                                           time.Duration
		schedulerMinute                                     time.Duration
		limits                                              = control.DefaultLimits()
	)
	var pprofAddr, secretsKeyFile string
	var secretsKey, secretsPrevFile string
	var tlsFiles server.TLSFiles
	var secretsKeyReset bool
	var replayMaxPending int
	var storeFirst, assumeRoles bool
	var httpLimits server.HTTPLimits
	var inflightBytes int64
	var diskReserve string
	quotas := quota.Defaults()
	var memoryLimit string
	var denyCIDRs string
	var authMode, credentialsFile string
	var healthInterval time.Duration
	var configFile string
	var shutdownDelay time.Duration
	var webhooksFile string
	var otelOn bool
	var webhookReadTimeout time.Duration
	var regionPeers, servedRegions []string
	var peerKeyFile string
	var (
		busLogDest    string
		busLogMaxFile int64
		busLogQueue   int
	)
	var kmsCfg server.KMSConfig
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the EventBridge API (AWS JSON 1.1) on embedded or external NATS JetStream",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envFlags(cmd.Flags()); err != nil {
				return err
			}
			if configFile != "" {
				if err := configFlags(cmd.Flags(), configFile); err != nil {
					return err
				}
			}
			log, err := newLogger(logLevel, logFormat)
			if err != nil {
				return err
			}
			mode, err := auth.ParseMode(authMode)
			if err != nil {
				return err
			}
			syncEvery, err := parseSync(sync)
			if err != nil {
				return err
			}
			reserve, err := parseDiskReserve(diskReserve)
			if err != nil {
				return fmt.Errorf("--disk-reserve: %w", err)
			}
			endpoints, err := awsclient.ParseEndpoints(awsEndpoints)
			if err != nil {
				return fmt.Errorf("--aws-endpoint: %w", err)
			}
			guard, err := netguard.Parse(denyCIDRs)
			if err != nil {
				return fmt.Errorf("--deny-target-cidrs: %w", err)
			}
			if !guard.Enabled() {
				log.Warn("--deny-target-cidrs is empty: HTTP targets, API destinations and OAuth endpoints may reach any address, cloud metadata services included")
			}
			if limits.PatternMaxLength < 1 || limits.PatternMaxLength > 4096 {
				return fmt.Errorf("--pattern-max-length must be between 1 and 4096")
			}
			peers := peer.Config{Regions: servedRegions}
			for _, v := range regionPeers {
				r, u, err := peer.ParsePeer(v)
				if err != nil {
					return err
				}
				if peers.Peers == nil {
					peers.Peers = map[string]string{}
				}
				if _, dup := peers.Peers[r]; dup {
					return fmt.Errorf("--region-peer: %s is given twice", r)
				}
				peers.Peers[r] = u
			}
			if peerKeyFile != "" {
				if peers.Key, err = peer.LoadKey(peerKeyFile); err != nil {
					return err
				}
			}
			if err := tuneGC(memoryLimit); err != nil {
				return err
			}
			recordBuildInfo()
			if pprofAddr != "" {
				if err := servePprof(pprofAddr, log); err != nil {
					return err
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			stopTracing, err := tracing.Setup(ctx, tracing.Config{On: otelOn, Version: version})
			if err != nil {
				return err
			}
			defer flushTraces(stopTracing, log)
			return server.Run(ctx, server.Config{
				Listen:                 listen,
				TLS:                    tlsFiles,
				Store:                  store.Config{URL: natsURL, DataDir: dataDir, Sync: syncEvery, Replicas: replicas, DiskReserve: reserve},
				Limits:                 limits,
				MaxRequestSize:         maxRequest,
				Workers:                workers,
				RetryBaseDelay:         retryBase,
				SchedulerRateMinute:    schedulerMinute,
				AWSEndpoints:           endpoints,
				Logger:                 log,
				SecretsKeyFile:         secretsKeyFile,
				SecretsKey:             secretsKey,
				SecretsPreviousKeyFile: secretsPrevFile,
				SecretsKeyReset:        secretsKeyReset,
				ReplayMaxPending:       replayMaxPending,
				StoreFirstAttempts:     storeFirst,
				Quotas:                 quotas,
				HTTP:                   httpLimits,
				MaxInflightBytes:       inflightBytes,
				IgnoreTargetRoles:      !assumeRoles,
				TargetGuard:            guard,
				Auth:                   mode,
				CredentialsFile:        credentialsFile,
				BusLogDestination:      busLogDest,
				BusLogMaxFileBytes:     busLogMaxFile,
				BusLogQueue:            busLogQueue,
				HealthCheckInterval:    healthInterval,
				ShutdownDelay:          shutdownDelay,
				WebhooksFile:           webhooksFile,
				WebhookReadTimeout:     webhookReadTimeout,
				Peers:                  peers,
				KMS:                    kmsCfg,
				ScheduleValid: func(expr string) error {
					_, err := schedule.Parse(expr)
					return err
				},
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&configFile, "config", "", "YAML file of serve settings, keyed by flag name (listen: ..., data-dir: ...); the command line and SWITCHYARD_<FLAG> variables override it")
	f.DurationVar(&shutdownDelay, "shutdown-delay", 0, "on SIGTERM, keep serving this long with /readyz answering 503, so that load balancers move traffic away, before closing the listener and draining requests in flight")
	f.StringVar(&listen, "listen", "127.0.0.1:4010", "address of the API (host:port)")
	f.StringVar(&authMode, "auth", string(auth.ModeSigV4), `how API requests are authenticated: "sigv4" verifies their AWS Signature V4 against the keys of --credentials-file, as AWS does; "none" (dev mode) takes any request as the account its access key id names`)
	f.StringVar(&credentialsFile, "credentials-file", "", "YAML file of the access keys that may sign requests (--auth sigv4): id, secret, account, optional principal, session token, expiration and policies; reloaded on change and on SIGHUP")
	f.StringVar(&tlsFiles.CertFile, "tls-cert", "", "serve the API over TLS with this PEM certificate chain (with --tls-key); re-read when the file changes")
	f.StringVar(&tlsFiles.KeyFile, "tls-key", "", "the PEM private key of --tls-cert")
	f.StringVar(&webhooksFile, "webhooks-file", "", "YAML file of inbound webhooks (POST /webhooks/<name>): provider, bus, secret, source and detail-type of each; reloaded on change and on SIGHUP. Webhooks can also be defined through the admin API (switchyard webhooks ...)")
	f.DurationVar(&webhookReadTimeout, "webhook-read-timeout", webhooks.DefaultReadTimeout, "how long a webhook delivery's body may take to arrive after its headers; slower clients are answered 408")
	f.StringVar(&dataDir, "data-dir", "./switchyard-data", "directory of the embedded store")
	f.BoolVar(&secretsKeyReset, "secrets-key-reset", false, "make this process's secrets key the cluster's although another was recorded (the cluster's key was lost); connections sealed with the old key need their credentials again (UpdateConnection)")
	f.StringVar(&secretsKeyFile, "secrets-key-file", "", "AES-256 key (base64, mode 0600) sealing connection secrets, kept out of the data directory; make one with switchyard secrets new-key; processes sharing a --nats-url must share it")
	f.StringVar(&secretsKey, "secrets-key", "", "the secrets key itself (base64), instead of a file: set it as SWITCHYARD_SECRETS_KEY, not on the command line, which other users can read")
	f.StringVar(&secretsPrevFile, "secrets-previous-key-file", "", "the key a rotation moves away from: secrets sealed with it still open, and are sealed again with the new key in the background")
	f.StringVar(&natsURL, "nats-url", "", "external NATS server or cluster to use instead of the embedded one")
	f.StringVar(&diskReserve, "disk-reserve", "auto", `free space the embedded store keeps on the data dir's filesystem: below it PutEvents answers 503 (retryable) instead of filling the disk; "auto" (256MiB, at most 5% of the filesystem), "off", or a size such as 1GiB`)
	f.StringVar(&sync, "sync", "1s", `fsync policy of the embedded store: "always" (fsync every write) or an interval such as 1s`)
	f.IntVar(&replicas, "replicas", 1, "stream and bucket replicas on an external NATS cluster")
	f.IntVar(&workers, "delivery-workers", 64, "most calls in flight per target (each target ARN or URL); a slow target uses only its own")
	f.DurationVar(&retryBase, "retry-base-delay", time.Second, "first retry delay; scales the whole retry schedule (capped at 180x), for tests")
	f.DurationVar(&schedulerMinute, "scheduler-rate-minute", time.Minute, "length of the minute of EventBridge Scheduler's rate() expressions, for tests")
	f.IntVar(&maxRequest, "max-request-size", ingest.DefaultMaxRequestSize, "PutEvents limit on the summed entry sizes of one request, in bytes (AWS's: 1 MiB since January 2026)")
	f.Int64Var(&inflightBytes, "max-inflight-request-bytes", api.DefaultInflightBytes, "API request bodies held at once, all requests together, in bytes; a request that finds no room within 2 s is answered ThrottlingException")
	f.StringVar(&memoryLimit, "memory-limit", defaultMemoryLimit, "soft memory limit of the Go runtime (bytes, or with KiB, MiB, GiB; off for none): past it the collector works harder rather than let the heap grow; GOMEMLIMIT wins")
	f.IntVar(&limits.RulesPerBus, "rules-per-bus", limits.RulesPerBus, "most rules an event bus may have")
	f.IntVar(&limits.TargetsPerRule, "targets-per-rule", limits.TargetsPerRule, "most targets a rule may have")
	f.IntVar(&limits.PatternMaxLength, "pattern-max-length", limits.PatternMaxLength, "longest event pattern accepted, in characters (at most 4096)")
	f.IntVar(&quotas.PutEvents, "quota-putevents", quotas.PutEvents, "PutEvents requests an account may make per second in a region, all Switchyard processes together (AWS's quota in us-east-1); more are answered ThrottlingException; 0 for no quota")
	f.IntVar(&quotas.Control, "quota-control", quotas.Control, "requests of all other operations an account may make per second in a region (AWS's 50); 0 for no quota")
	f.IntVar(&limits.BusesPerScope, "buses-per-account", limits.BusesPerScope, "most event buses an account may have in a region")
	f.StringVar(&awsEndpoints, "aws-endpoint", "", `AWS endpoints for targets: "sqs=http://host:port,sns=..." or one URL for all services (default: AWS_ENDPOINT_URL_<SERVICE>, then AWS)`)
	f.BoolVar(&assumeRoles, "assume-target-roles", true, "call AWS targets that have a RoleArn as that role, assumed through STS (its endpoint: --aws-endpoint sts=... or AWS_ENDPOINT_URL_STS); false calls them with Switchyard's own credentials")
	f.StringVar(&busLogDest, "bus-log-destination", "", `where event bus logs go, for buses whose LogConfig Level is not OFF: "stdout", "file:/path" (JSON lines, rotated at --bus-log-max-file-bytes to /path.1) or "logs:<log-group-name>" (CloudWatch Logs, its endpoint as --aws-endpoint logs=...; a log stream per bus); none by default`)
	f.Int64Var(&busLogMaxFile, "bus-log-max-file-bytes", 64<<20, "size at which a file: bus log destination is rotated (one previous file is kept)")
	f.IntVar(&busLogQueue, "bus-log-queue", 8192, "bus log records that may wait for the destination; more are dropped and counted in switchyard_bus_log_dropped_total")
	f.DurationVar(&healthInterval, "health-check-interval", 0, "time between observations of the targets of global endpoints' Route 53 health checks, instead of each check's RequestInterval (10 or 30 s); for tests")
	f.StringArrayVar(&regionPeers, "region-peer", nil, `REGION=URL: another Switchyard deployment (its own NATS) serves REGION at URL, its API; global endpoints joining REGION to a region served here forward and replicate their events there (repeat for more regions)`)
	f.StringSliceVar(&servedRegions, "regions", nil, "the regions this deployment serves, as its --region-peer peers see it (comma-separated); default every region no --region-peer names")
	f.StringVar(&peerKeyFile, "region-peer-key-file", "", "YAML file (mode 0600) with the access_key_id and secret_access_key this deployment signs its calls to --region-peer deployments with; their credentials files list that key with peer_regions")
	f.StringVar(&kmsCfg.LocalKeyFile, "kms-local-key-file", "", "encrypt the events of buses with a KmsKeyIdentifier under this local AES-256 master key (32 bytes, base64 or hex; make one with: head -c 32 /dev/urandom | base64) instead of calling AWS KMS; processes sharing a --nats-url must share it")
	f.DurationVar(&kmsCfg.DataKeyTTL, "kms-data-key-ttl", 5*time.Minute, "how long one KMS data key encrypts a bus's events, and an unwrapped one is kept, before KMS is asked again")
	f.IntVar(&kmsCfg.DataKeyUses, "kms-data-key-uses", 100000, "most events-stream messages one KMS data key encrypts")
	f.DurationVar(&kmsCfg.Timeout, "kms-timeout", 5*time.Second, "longest wait for one KMS call (GenerateDataKey, Decrypt): PutEvents to an encrypted bus waits at most this for a data key")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&logFormat, "log-format", "text", "text or json")
	f.BoolVar(&otelOn, "otel", false, "export OpenTelemetry traces of PutEvents, matching and every delivery attempt with OTLP, to the endpoint of the OTEL_EXPORTER_OTLP_* variables (OTLP/HTTP, or gRPC with OTEL_EXPORTER_OTLP_PROTOCOL=grpc); OTEL_TRACES_EXPORTER=otlp turns it on too")
	f.IntVar(&replayMaxPending, "replay-max-pending", 50000, "delivery tasks waiting beyond which replays pause, so that live events never queue behind more")
	f.BoolVar(&storeFirst, "store-first-attempts", false, "store every delivery task before its first attempt, instead of calling a target that can take the call at once straight from the matcher (slower; for comparison)")
	f.StringVar(&denyCIDRs, "deny-target-cidrs", netguard.DefaultCIDRs, `address ranges (comma-separated CIDRs) that HTTP targets, API destinations and OAuth token requests may not connect to, checked on the address dialled; default: link-local (cloud metadata and credential services), fd00:ec2::254 and fd00:ec2::23 (AWS, IPv6), 100.100.100.200 (Alibaba); "" for none`)
	f.IntVar(&httpLimits.MaxConns, "max-conns", 10000, "API connections open at once, in total (idle keep-alive ones included); one more is closed as soon as accepted; 0 for no cap")
	f.IntVar(&httpLimits.MaxConnsPerClient, "max-conns-per-client", 256, "API connections open at once from one client address (IPv4 address or IPv6 /64); one more is closed as soon as accepted; 0 for no cap (behind a proxy, whose address every connection has)")
	f.DurationVar(&httpLimits.BodyTimeout, "request-body-timeout", 30*time.Second, "time a request body has from the end of its headers, extended by --request-body-min-rate; a body still incomplete then is answered 408 RequestTimeoutException and its connection closed; 0 for none")
	f.Int64Var(&httpLimits.BodyMinRate, "request-body-min-rate", 4096, "bytes/s: every this many bytes of body received extend --request-body-timeout by a second, so a body arriving at least this fast is never cut; 0 makes the timeout fixed")
	f.DurationVar(&httpLimits.WriteTimeout, "write-timeout", 30*time.Second, "time an answer has to be written, from its first byte; a client not reading it then has its connection closed; 0 for none")
	f.DurationVar(&httpLimits.IdleTimeout, "idle-timeout", 60*time.Second, "a kept-alive API connection without a request is closed after this; 0 for never")
	f.StringVar(&pprofAddr, "pprof", "", "serve net/http/pprof on this loopback address (host:port); off when empty")
	return cmd
}

// flushTraces exports the spans not yet sent, for at most five seconds.
func flushTraces(stop func(context.Context) error, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := stop(ctx); err != nil {
		log.Warn("tracing: spans not exported at shutdown", "err", err)
	}
}

func parseSync(s string) (time.Duration, error) {
	if s == "always" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf(`--sync must be "always" or a positive duration, got %q`, s)
	}
	return d, nil
}

func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	// tracing.LogHandler adds an event's ids (event_id, rule_arn,
	// target_id) and the trace's (trace_id, span_id) to the lines about it.
	case "text":
		return slog.New(tracing.LogHandler(slog.NewTextHandler(os.Stderr, opts))), nil
	case "json":
		return slog.New(tracing.LogHandler(slog.NewJSONHandler(os.Stderr, opts))), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json")
}

// benchCmd groups the load generators; each lives in its own file.
func benchCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Benchmarks and load generators"}
	cmd.AddCommand(benchPutEventsCmd(), benchPatternsCmd(), benchDeliveryCmd(), benchSchedulesCmd(), benchArchiveCmd(), benchClusterCmd())
	return cmd
}
