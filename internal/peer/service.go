package peer

import (
	"context"
	"net/http"

	"github.com/switchyard/switchyard/internal/auth"
	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
	"github.com/switchyard/switchyard/internal/restapi"
)

// Receiver stores what peers hand this deployment (package ingest).
type Receiver interface {
	StorePeerEvents(ctx context.Context, peerRegions []string, serves func(string) bool, events []ingest.PeerEvent) ([]ingest.PeerResult, error)
}

// EndpointSyncer keeps the copies of peers' endpoints (package control).
type EndpointSyncer interface {
	SyncPeerEndpoints(ctx context.Context, homes []string, serves func(string) bool, eps []*control.Endpoint) error
}

// MaxBody bounds a peer call's body: MaxEvents events of at most 1 MiB
// each would be more, but a sender batches by count and a forward
// carries one PutEvents call (1 MiB of entries).
const MaxBody = 16 << 20

// Service returns the front of the peer calls, on the API listener
// (restapi.Dispatch, by the signing name auth.PeerService). opts are the
// process's restapi options for it; quotas are left out, as peer calls
// carry events already charged where they were put.
func (p *Peers) Service(opts restapi.Options, events Receiver, endpoints EndpointSyncer) *restapi.Service {
	opts.Quotas = nil
	opts.MaxBody = MaxBody
	svc := restapi.New(auth.PeerService, opts)
	svc.Handle("GetPeerInfo", "GET "+pathInfo, nil, func(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
		id, err := peerIdentity(r)
		if err != nil {
			return nil, err
		}
		return restapi.OK(&Info{Regions: p.cfg.Regions, PeerRegions: p.Regions(),
			Caller: CallerInfo{AccessKeyID: id.AccessKeyID, PeerRegions: id.PeerRegions}})
	})
	svc.Handle("StoreEvents", "POST "+pathEvents, nil, func(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
		id, err := peerIdentity(r)
		if err != nil {
			return nil, err
		}
		var in storeEventsIn
		if err := r.Decode(&in); err != nil {
			return nil, err
		}
		if len(in.Events) == 0 || len(in.Events) > MaxEvents {
			return nil, awserr.Validation("Parameter Events is not valid. Reason: between 1 and %d events are required.", MaxEvents)
		}
		res, err := events.StorePeerEvents(ctx, id.PeerRegions, p.Serves, in.Events)
		if err != nil {
			return nil, err
		}
		return restapi.OK(&storeEventsOut{res})
	})
	svc.Handle("SyncEndpoints", "PUT "+pathEndpoints, nil, func(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
		id, err := peerIdentity(r)
		if err != nil {
			return nil, err
		}
		var in syncEndpointsIn
		if err := r.Decode(&in); err != nil {
			return nil, err
		}
		for _, e := range in.Endpoints {
			if e == nil {
				return nil, awserr.Validation("Parameter Endpoints is not valid. Reason: null endpoint.")
			}
		}
		if err := endpoints.SyncPeerEndpoints(ctx, id.PeerRegions, p.Serves, in.Endpoints); err != nil {
			return nil, err
		}
		return restapi.OK(nil)
	})
	return svc
}

// peerIdentity is the caller, if it is a peer deployment: a verified key
// with peer_regions. (Under --auth sigv4 package auth already refuses
// every other key; under --auth none nothing is verified, and peers are
// refused.)
func peerIdentity(r *restapi.Request) (*auth.Identity, error) {
	id := r.Identity
	if id == nil || !id.Verified || len(id.PeerRegions) == 0 {
		return nil, &awserr.Error{Code: "AccessDeniedException", Status: http.StatusForbidden,
			Message: "Only a peer deployment's key (peer_regions in the credentials file, under --auth sigv4) may call " + auth.PeerService + "."}
	}
	return id, nil
}
