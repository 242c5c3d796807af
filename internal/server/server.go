// Package server assembles a Switchyard process: storage, the control-plane
// view, the API, and the data path (ingest → match → deliver), and runs them
// until told to stop.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/switchyard/switchyard/internal/api"
	"github.com/switchyard/switchyard/internal/apidest"
	"github.com/switchyard/switchyard/internal/archive"
	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/buslog"
	"github.com/switchyard/switchyard/internal/console"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/deliver"
	"github.com/switchyard/switchyard/internal/deliver/awstarget"
	"github.com/switchyard/switchyard/internal/deliver/natstarget"
	"github.com/switchyard/switchyard/internal/healthcheck"
	"github.com/switchyard/switchyard/internal/ingest"
	"github.com/switchyard/switchyard/internal/match"
	"github.com/switchyard/switchyard/internal/netguard"
	"github.com/switchyard/switchyard/internal/peer"
	"github.com/switchyard/switchyard/internal/quota"
	"github.com/switchyard/switchyard/internal/restapi"
	"github.com/switchyard/switchyard/internal/scheduler"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/tail"
	"github.com/switchyard/switchyard/internal/webhooks"
)

// Config is the whole configuration of a Switchyard process.
type Config struct {
	Listen string
	// TLS serves the API over TLS when it names a key pair.
	TLS            TLSFiles
	Store          store.Config
	Limits         control.Limits
	MaxRequestSize int // PutEvents entries, summed (ingest.DefaultMaxRequestSize)
	// MaxInflightBytes bounds the API request bodies held at once, all
	// requests together (api.DefaultInflightBytes if 0).
	MaxInflightBytes int64
	Workers          int // calls in flight per target
	// RetryBaseDelay scales the retry schedule (default 1 s); for tests.
	RetryBaseDelay time.Duration
	// SchedulerRateMinute is how long the minute of EventBridge
	// Scheduler's rate() expressions is (time.Minute if 0); tests shrink
	// it to see rate(1 minute) fire within seconds.
	SchedulerRateMinute time.Duration
	// AWSEndpoints overrides AWS service endpoints for targets, by ARN
	// service name ("sqs", ...; "*" for all). See package awsclient.
	AWSEndpoints map[string]string
	// IgnoreTargetRoles calls AWS targets with Switchyard's own
	// credentials instead of assuming their RoleArn.
	IgnoreTargetRoles bool
	Logger            *slog.Logger
	// ScheduleValid validates schedule expressions for PutRule.
	ScheduleValid func(string) error
	// Ready, if set, is called with the bound address once serving.
	Ready func(addr string)
	// SecretsKey (base64), or else SecretsKeyFile, holds the key that
	// encrypts connection secrets (see loadSecrets). Processes sharing a
	// NATS cluster must share it.
	SecretsKey     string
	SecretsKeyFile string
	// SecretsPreviousKeyFile holds the key a rotation moves away from:
	// values sealed with it still open, and are sealed again with the new
	// key in the background.
	SecretsPreviousKeyFile string
	// SecretsKeyReset makes this process's key the cluster's even if
	// another was recorded: the way out when the cluster's key is lost.
	SecretsKeyReset bool
	// ReplayMaxPending is how many delivery tasks may wait before replays
	// pause (package archive).
	ReplayMaxPending int
	// StoreFirstAttempts stores every task before its first attempt,
	// instead of first trying targets that can take a call at once
	// directly from the router (package deliver, direct.go).
	StoreFirstAttempts bool
	// HTTP holds the API server's connection caps and timeouts; the zero
	// value leaves each off.
	HTTP HTTPLimits
	// Quotas are the accounts' API request quotas; the zero value sets
	// none (the command's flags default to AWS's, quota.Defaults).
	Quotas quota.Config
	// Auth is how API requests are authenticated: auth.ModeSigV4 (the
	// zero value too) verifies their signatures against the keys of
	// CredentialsFile; auth.ModeNone takes whatever they claim.
	Auth            auth.Mode
	CredentialsFile string
	// TargetGuard denies the addresses that HTTP calls chosen by users'
	// configuration (URL targets, API destinations, OAuth token requests,
	// the targets of global endpoints' health checks) may connect to; nil
	// is netguard.Default. Parse "" for none.
	TargetGuard *netguard.Guard
	// HealthCheckInterval, if positive, replaces the RequestInterval of
	// the Route 53 health checks of global endpoints (package healthcheck).
	HealthCheckInterval time.Duration
	// BusLogDestination is where event bus logs go, for the buses whose
	// LogConfig asks for them: "stdout", "file:/path" or
	// "logs:<log-group-name>" (package buslog); "" writes none.
	BusLogDestination string
	// BusLogMaxFileBytes is the size at which a file destination rotates
	// (buslog.DefaultMaxFileBytes if 0).
	BusLogMaxFileBytes int64
	// BusLogQueue is how many bus log records may wait for the writer
	// before more are dropped (buslog.DefaultQueue if 0).
	BusLogQueue int
	// ShutdownDelay is how long the process keeps serving, answering
	// /readyz with 503, once told to stop, before it closes the listener
	// and drains the requests in flight (0: at once).
	ShutdownDelay time.Duration
	// WebhooksFile, if set, is the YAML file of inbound webhooks (package
	// webhooks), reloaded on change and on SIGHUP.
	WebhooksFile string
	// WebhookReadTimeout bounds reading a webhook delivery's body
	// (webhooks.DefaultReadTimeout if 0).
	WebhookReadTimeout time.Duration
	// Peers are the deployments serving other regions (package peer):
	// --region-peer, --regions, --region-peer-key-file.
	Peers peer.Config
	// KMS configures the encryption of the events of buses with a
	// customer managed key (kms.go).
	KMS KMSConfig
}

// Run serves until ctx ends, then shuts down gracefully: the listener
// closes, in-flight requests finish, consumers stop and storage is flushed.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	cfg.Store.Logger = log
	cfg.Store.Listen = cfg.Listen
	// The credentials first, before anything takes time: a bad file fails
	// at once.
	authn, creds, err := openAuth(cfg, log)
	if err != nil {
		return err
	}
	peers, err := peer.New(cfg.Peers, log)
	if err != nil {
		return err
	}
	// The store first: it checks the data directory is writable and locks
	// it, failing at once, saying why, if not (package store, datadir.go).
	st, err := store.Open(ctx, cfg.Store)
	if err != nil {
		return err
	}
	defer st.Close()
	secrets, keySource, err := loadSecrets(cfg, log)
	if err != nil {
		return err
	}

	view := control.NewView(st.Control, log)
	ctl := control.NewService(st.Control, view, cfg.Limits, log)
	ctl.ScheduleValid = cfg.ScheduleValid
	ctl.Secrets = secrets
	guard := cfg.TargetGuard
	if guard == nil {
		guard = netguard.Default()
	}
	ctl.TargetGuard = guard
	if secrets != nil {
		if err := ctl.AgreeOnSecretsKey(ctx, keySource, cfg.SecretsKeyReset); err != nil {
			return err
		}
	}
	ctl.ArchiveStorage = &archive.Storage{JS: st.JS, Replicas: cfg.Store.Replicas, Log: log}
	in := ingest.NewService(st.JS, ctl, log)
	if creds != nil {
		in.Organization = creds.Organization
	}
	in.Available = st.Available // PutEvents refused, retryably, while storage cannot take it
	if cfg.MaxRequestSize > 0 {
		in.MaxRequestSize = cfg.MaxRequestSize
	}
	if len(cfg.Peers.Peers) > 0 {
		// A peer that serves another region than it is configured for,
		// or refuses this deployment's key, is refused now.
		if err := peers.Check(ctx); err != nil {
			return err
		}
		in.Peers = peers
	}

	// Background parts stop when bg is cancelled, after the HTTP server has
	// drained, so that in-flight requests still reach storage.
	bg, stopBG := context.WithCancel(context.Background())
	defer stopBG()
	g, gctx := errgroup.WithContext(bg)
	ready := make(chan struct{})
	g.Go(func() error { return view.Run(gctx, func() { close(ready) }) })
	if creds != nil {
		g.Go(func() error { creds.Watch(gctx, time.Second); return nil })
	}
	select {
	case <-ready:
	case <-gctx.Done():
		return g.Wait()
	case <-ctx.Done():
		stopBG()
		_ = g.Wait()
		return nil
	}
	if secrets != nil && len(secrets.PreviousKeyIDs()) > 0 {
		go resealSecrets(gctx, ctl, log)
	}
	sch := scheduler.New(st, view, log)
	g.Go(func() error { return sch.Run(gctx) })
	aws := awsclient.New(cfg.AWSEndpoints)
	aws.IgnoreRoles = cfg.IgnoreTargetRoles
	dl := deliver.New(st, in, log, cfg.Workers)
	var busLog *buslog.Logger
	if cfg.BusLogDestination != "" {
		sink, err := buslog.Open(cfg.BusLogDestination, aws, cfg.BusLogMaxFileBytes)
		if err != nil {
			stopBG()
			_ = g.Wait()
			return err
		}
		busLog = buslog.New(sink, buslog.ViewLookup(view), log, buslog.Options{Queue: cfg.BusLogQueue})
		// Its own context: it writes what the data path emitted until the
		// consumers have stopped (below, after g.Wait).
		logCtx, stopLog := context.WithCancel(context.Background())
		go busLog.Run(logCtx)
		defer func() { stopLog(); <-busLog.Done() }()
		in.BusLog, dl.BusLog = busLog, busLog
	}
	keys, keyCheck, err := openKeys(cfg.KMS, aws, view)
	if err != nil {
		stopBG()
		_ = g.Wait()
		return err
	}
	ctl.KeyCheck = keyCheck
	deadLetters := deliver.NewDeadLetters(aws)
	in.Keys, in.DeadLetters = keys, deadLetters
	dl.Keys, dl.DeadLetters = keys, deadLetters
	dl.SetTargetGuard(guard)
	dl.StillScheduled = sch.StillScheduled
	router := match.NewRouter(st, view, log)
	router.BusLog = busLog
	router.Keys, router.DeadLetters = keys, deadLetters
	if !cfg.StoreFirstAttempts {
		router.Direct = dl
	}
	g.Go(func() error { return router.Run(gctx) })
	for kind, inv := range awstarget.Invokers(aws) {
		dl.Register(kind, inv)
	}
	dl.Register(natstarget.Kind, natstarget.New(st.NC, st.JS))
	dl.AWS = aws // dead-letter queues; the AWS service targets register their invokers with it
	if cfg.RetryBaseDelay > 0 {
		dl.BaseDelay = cfg.RetryBaseDelay
	}
	apiDest := apidest.New(ctl, st.Rates, log)
	apiDest.SetTargetGuard(guard)
	dl.Register("api-destination", apiDest)
	g.Go(func() error { return apiDest.Run(gctx) }) // authorizes OAuth connections
	g.Go(func() error { return dl.Run(gctx) })
	g.Go(func() error {
		return (&healthcheck.Checker{Ctl: ctl, AWS: aws, Log: log, Guard: guard, Interval: cfg.HealthCheckInterval}).Run(gctx)
	})
	if len(cfg.Peers.Peers) > 0 {
		g.Go(func() error { return peers.Run(gctx, st.JS, view) })
	}
	g.Go(func() error { return (&archive.Sweeper{JS: st.JS, View: view, Log: log}).Run(gctx) })
	g.Go(func() error {
		return (&archive.Replayer{JS: st.JS, Ctl: ctl, View: view, Log: log, Keys: keys, MaxDeliveries: uint64(max(cfg.ReplayMaxPending, 0))}).Run(gctx)
	})

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.Handler())
	mux.Handle(console.Path, console.New(console.Options{Auth: string(cfg.Auth)}))
	hc := &health{st: st}
	hc.register(mux)
	mux.Handle("GET "+tail.Path, &tail.Handler{JS: st.JS, View: view, Auth: authn, Log: log, Keys: keys})
	mux.Handle("POST "+scheduler.FirePath, sch.FireHandler(func(r *http.Request, body []byte) (control.Scope, error) {
		id, err := authn.Authenticate(r, body)
		if err != nil {
			return control.Scope{}, err
		}
		return id.Scope(), nil
	}))
	h := api.New(ctl, in, log, cfg.MaxInflightBytes, authn)
	var quotas *quota.Quotas
	if !cfg.Quotas.Off() {
		quotas = quota.New(st.Rates, cfg.Quotas, log)
		h.Quotas = quotas
	}
	deps := &serviceDeps{Config: cfg, Store: st, View: view, Control: ctl, Ingest: in, Deliver: dl,
		APIDest: apiDest, AWS: aws, Guard: guard, Auth: authn, Quotas: quotas, Log: log, Group: g, Ctx: gctx, Peers: peers}
	hooks, hookHandler, err := startWebhooks(ctx, deps)
	if err != nil {
		stopBG()
		_ = g.Wait()
		return err
	}
	deps.Webhooks = hooks
	// Inbound webhooks are unsigned by AWS's measure (each provider signs
	// in its own way), so they are routed before the signed services.
	mux.Handle(webhooks.Path, hookHandler)
	rest, err := restServices(deps)
	if err != nil {
		stopBG()
		_ = g.Wait()
		return err
	}
	// The REST-JSON services are told apart by the signing name of their
	// requests; everything else is EventBridge's.
	mux.Handle("/", restapi.Dispatch(h, rest...))
	srv := newHTTPServer(cfg.HTTP, mux)
	lis, err := listen(cfg.Listen, cfg.HTTP, cfg.TLS, log)
	if err != nil {
		stopBG()
		_ = g.Wait()
		return err
	}
	log.Info("switchyard serving", "addr", lis.Addr().String(), "nats", natsMode(cfg.Store))
	st.Serving(lis.Addr().String())
	if cfg.Ready != nil {
		cfg.Ready(lis.Addr().String())
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(lis) }()

	select {
	case <-ctx.Done():
	case err = <-serveErr:
	case <-gctx.Done():
	}
	log.Info("switchyard shutting down")
	// Not ready from now on; requests keep being served for the drain
	// delay, while load balancers see /readyz fail and move traffic.
	hc.draining.Store(true)
	if cfg.ShutdownDelay > 0 && err == nil {
		log.Info("draining before closing the listener", "delay", cfg.ShutdownDelay)
		time.Sleep(cfg.ShutdownDelay)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	stopBG()
	if gerr := g.Wait(); gerr != nil && !errors.Is(gerr, context.Canceled) && err == nil {
		err = gerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// openAuth returns the authenticator cfg.Auth names and, for SigV4, the
// credentials store it reads, whose file is then watched for changes.
func openAuth(cfg Config, log *slog.Logger) (auth.Authenticator, *auth.Store, error) {
	switch cfg.Auth {
	case auth.ModeNone:
		if cfg.CredentialsFile != "" {
			return nil, nil, errors.New("--credentials-file is given but --auth is none: say --auth sigv4 to use it")
		}
		log.Warn("AUTHENTICATION IS OFF (--auth none): any request, signed or not, with any credentials, acts as any account it names; use --auth sigv4 --credentials-file FILE outside development")
		return auth.None{}, nil, nil
	case auth.ModeSigV4, "":
		if cfg.CredentialsFile == "" {
			return nil, nil, errors.New("--auth sigv4 (the default) needs --credentials-file FILE naming the access keys that may sign requests; for development without credentials, give --auth none")
		}
		creds, err := auth.OpenStore(cfg.CredentialsFile, log)
		if err != nil {
			return nil, nil, err
		}
		return auth.NewSigV4(creds, log), creds, nil
	}
	return nil, nil, fmt.Errorf("unknown --auth %q", cfg.Auth)
}

func natsMode(c store.Config) string {
	if c.URL != "" {
		return c.URL
	}
	return "embedded"
}
