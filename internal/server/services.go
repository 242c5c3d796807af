package server

import (
	"context"
	"fmt"
	"log/slog"

	"golang.org/x/sync/errgroup"

	"github.com/switchyard/switchyard/internal/apidest"
	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/deliver"
	"github.com/switchyard/switchyard/internal/ingest"
	"github.com/switchyard/switchyard/internal/netguard"
	"github.com/switchyard/switchyard/internal/peer"
	"github.com/switchyard/switchyard/internal/pipes"
	"github.com/switchyard/switchyard/internal/quota"
	"github.com/switchyard/switchyard/internal/restapi"
	"github.com/switchyard/switchyard/internal/schedules"
	"github.com/switchyard/switchyard/internal/schemas"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/webhooks"
)

// serviceDeps are the parts of a process that the AWS services beside
// EventBridge (Schemas, Scheduler, Pipes) share with it: its storage, its
// control plane, its data path and its target invokers. A service must use
// these, not make its own.
type serviceDeps struct {
	Config  Config
	Store   *store.Store
	View    *control.View
	Control *control.Service
	Ingest  *ingest.Service
	Deliver *deliver.Deliverer
	APIDest *apidest.Invoker
	AWS     *awsclient.Factory
	Guard   *netguard.Guard
	Auth    auth.Authenticator
	Quotas  *quota.Quotas // nil when there are none
	Peers   *peer.Peers
	Log     *slog.Logger
	// Group runs the services' background work; it is cancelled after
	// the HTTP server has drained.
	Group *errgroup.Group
	Ctx   context.Context
	// Webhooks are the inbound webhooks' definitions (package webhooks).
	Webhooks *webhooks.Registry
}

// restOptions are the restapi options of the service with the signing name
// name: the process's authentication, scoped to the service, and quotas.
func (d *serviceDeps) restOptions(name string) restapi.Options {
	o := restapi.Options{Auth: auth.ForService(d.Auth, name), Log: d.Log.With("service", name)}
	if d.Quotas != nil {
		o.Quotas = d.Quotas
	}
	return o
}

// restServices builds the REST-JSON services served on the API's listener,
// each found by the signing name of its requests' credential scope
// (restapi.Dispatch). Each service adds itself here.
func restServices(d *serviceDeps) ([]*restapi.Service, error) {
	var out []*restapi.Service
	// Switchyard's own admin API: inbound webhooks.
	out = append(out, webhooks.AdminService(d.Webhooks, d.restOptions(webhooks.SigningName)))
	// The calls of the deployments serving other regions (package peer).
	out = append(out, d.Peers.Service(d.restOptions(auth.PeerService), d.Ingest, d.Control))

	// The Schema Registry (service "schemas"): its API, and its hooks on
	// PutEvents (validation of tagged buses, sampling for discovery).
	reg, err := schemas.Open(d.Ctx, schemas.Config{JS: d.Store.JS, Replicas: d.Config.Store.Replicas, View: d.View,
		Log: d.Log.With("service", "schemas"), Group: d.Group, Ctx: d.Ctx})
	if err != nil {
		return nil, fmt.Errorf("schemas: %w", err)
	}
	opts := d.restOptions("schemas")
	opts.CodeField = "Code"
	opts.ThrottleCode = "TooManyRequestsException" // the Schemas model's 429
	api := restapi.New("schemas", opts)
	reg.Register(api)
	d.Ingest.Hook = reg
	out = append(out, api)

	p, err := newPipes(d)
	if err != nil {
		return nil, err
	}
	out = append(out, p)

	// EventBridge Scheduler: its schedules fire through the deliverer
	// (package schedules); universal targets are the deliverer's
	// "scheduler" kind (package awstarget).
	sched, err := schedules.New(d.Ctx, d.Store, d.Config.Store.Replicas, d.Log.With("service", "scheduler"))
	if err != nil {
		return nil, err
	}
	if d.Config.SchedulerRateMinute > 0 {
		sched.Engine.RateMinute = d.Config.SchedulerRateMinute
	}
	o := d.restOptions("scheduler")
	o.IAMPrefix = "scheduler"
	svc := restapi.New("scheduler", o)
	sched.Register(svc)
	d.Group.Go(func() error { return sched.Run(d.Ctx) })
	out = append(out, svc)
	return out, nil
}

// newPipes serves EventBridge Pipes: its API over the pipes bucket, and
// the pollers of the pipes this process holds the lease of, which call
// targets through the deliverer's invokers.
func newPipes(d *serviceDeps) (*restapi.Service, error) {
	kv, err := pipes.OpenBucket(d.Ctx, d.Store, d.Config.Store.Replicas)
	if err != nil {
		return nil, err
	}
	opts := d.restOptions("pipes")
	opts.MessageField = "message"
	svc := restapi.New("pipes", opts)
	log := d.Log.With("service", "pipes")
	pipes.NewAPI(kv, log).Register(svc)
	runner := &pipes.Runner{KV: kv, Invoke: d.Deliver, AWS: d.AWS, Log: log}
	d.Group.Go(func() error { return runner.Run(d.Ctx) })
	return svc, nil
}
