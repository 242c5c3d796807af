package server

import (
	"context"
	"log/slog"

	"golang.org/x/sync/errgroup"

	"github.com/switchyard/switchyard/internal/apidest"
	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/awsclient"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/deliver"
	"github.com/switchyard/switchyard/internal/ingest"
	"github.com/switchyard/switchyard/internal/netguard"
	"github.com/switchyard/switchyard/internal/quota"
	"github.com/switchyard/switchyard/internal/restapi"
	"github.com/switchyard/switchyard/internal/schedules"
	"github.com/switchyard/switchyard/internal/store"
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
	Log     *slog.Logger
	// Group runs the services' background work; it is cancelled after
	// the HTTP server has drained.
	Group *errgroup.Group
	Ctx   context.Context
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
