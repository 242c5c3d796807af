package api

import (
	"context"
	"strings"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/ingest"
)

// The model's patterns of the global endpoint shapes.
func init() {
	for name, p := range map[string]string{
		"endpointName":          resourceName,
		"healthCheckArn":        `^arn:aws([a-z]|\-)*:route53:::healthcheck/[\-a-z0-9]+$`,
		"route":                 `^[\-a-z0-9]+$`,
		"nonPartnerEventBusArn": `^arn:aws[a-z-]*:events:[a-z]+-[a-z-]+-\d+:\d{12}:event-bus/[\w.-]+$`,
		"iamRoleArn":            `^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$`,
	} {
		patterns[name] = p
	}
}

// The shapes of RoutingConfig, as the model has them; the same in requests
// and answers.
type (
	routingConfig struct {
		FailoverConfig *failoverConfig `v:"req"`
	}
	failoverConfig struct {
		Primary   *primaryConfig   `v:"req"`
		Secondary *secondaryConfig `v:"req"`
	}
	primaryConfig struct {
		HealthCheck *string `v:"req,len=1:1600,re=healthCheckArn"`
	}
	secondaryConfig struct {
		Route *string `v:"req,len=9:20,re=route"`
	}
	replicationConfig struct {
		State *string `json:",omitempty" v:"enum=ENABLED|DISABLED"`
	}
	endpointEventBus struct {
		EventBusArn *string `v:"req,len=1:512,re=nonPartnerEventBusArn"`
	}
)

type createEndpointIn struct {
	Name              *string            `v:"req,len=1:64,re=endpointName"`
	Description       *string            `v:"len=:512,re=anything"`
	RoutingConfig     *routingConfig     `v:"req"`
	ReplicationConfig *replicationConfig `json:",omitempty"`
	EventBuses        []endpointEventBus `v:"req,len=2:2"`
	RoleArn           *string            `v:"len=1:256,re=iamRoleArn"`
}

type updateEndpointIn struct {
	Name              *string            `v:"req,len=1:64,re=endpointName"`
	Description       *string            `v:"len=:512,re=anything"`
	RoutingConfig     *routingConfig     `json:",omitempty"`
	ReplicationConfig *replicationConfig `json:",omitempty"`
	EventBuses        []endpointEventBus `v:"len=2:2"`
	RoleArn           *string            `v:"len=1:256,re=iamRoleArn"`
}

type endpointRefIn struct {
	Name       *string `v:"req,len=1:64,re=endpointName"`
	HomeRegion *string `v:"len=9:20,re=route"`
}

type listEndpointsIn struct {
	NamePrefix *string `v:"len=1:64,re=endpointName"`
	HomeRegion *string `v:"len=9:20,re=route"`
	NextToken  *string `v:"len=1:2048"`
	MaxResults *int32  `v:"range=1:100"`
}

// endpointOut serves DescribeEndpoint, the entries of ListEndpoints and
// the answers of Create and UpdateEndpoint, each with the members its
// shape has (see the out* functions).
type endpointOut struct {
	Name              string
	Description       string `json:",omitempty"`
	Arn               string
	RoutingConfig     routingConfig
	ReplicationConfig replicationConfig
	EventBuses        []endpointEventBus
	RoleArn           string `json:",omitempty"`
	EndpointId        string `json:",omitempty"`
	EndpointUrl       string `json:",omitempty"`
	State             string
	StateReason       string `json:",omitempty"`
	CreationTime      epoch  `json:",omitempty"`
	LastModifiedTime  epoch  `json:",omitempty"`
}

// toEndpointOut renders e in full, as DescribeEndpoint and ListEndpoints
// show it.
func toEndpointOut(e *control.Endpoint) endpointOut {
	o := endpointOut{Name: e.Name, Description: e.Description, Arn: e.ARN(),
		RoutingConfig:     routingConfig{&failoverConfig{&primaryConfig{&e.HealthCheck}, &secondaryConfig{&e.SecondaryRegion}}},
		ReplicationConfig: replicationConfig{&e.Replication}, RoleArn: e.RoleArn, EndpointId: e.ID, EndpointUrl: e.URL(),
		State: e.State, StateReason: e.StateReason, CreationTime: toEpoch(e.CreationTime), LastModifiedTime: toEpoch(e.LastModifiedTime)}
	for _, b := range e.EventBuses {
		o.EventBuses = append(o.EventBuses, endpointEventBus{&b})
	}
	return o
}

func (in *createEndpointIn) input() control.EndpointInput {
	out := control.EndpointInput{Name: *in.Name, Description: in.Description, RoleArn: in.RoleArn}
	setRouting(&out, in.RoutingConfig, in.ReplicationConfig, in.EventBuses)
	return out
}

func setRouting(out *control.EndpointInput, rc *routingConfig, repl *replicationConfig, buses []endpointEventBus) {
	if rc != nil {
		out.HealthCheck, out.SecondaryRegion = rc.FailoverConfig.Primary.HealthCheck, rc.FailoverConfig.Secondary.Route
	}
	if repl != nil {
		out.Replication = repl.State
	}
	if buses != nil {
		out.EventBuses = make([]string, len(buses))
		for i, b := range buses {
			out.EventBuses[i] = *b.EventBusArn
		}
	}
}

func (h *Handler) createEndpoint(ctx context.Context, sc control.Scope, in *createEndpointIn) (any, error) {
	e, err := h.control.CreateEndpoint(ctx, sc, in.input())
	if err != nil {
		return nil, err
	}
	// CreateEndpointResponse: Name, Arn, RoutingConfig, ReplicationConfig,
	// EventBuses, RoleArn, State.
	full := toEndpointOut(e)
	return struct {
		Name              string
		Arn               string
		RoutingConfig     routingConfig
		ReplicationConfig replicationConfig
		EventBuses        []endpointEventBus
		RoleArn           string `json:",omitempty"`
		State             string
	}{full.Name, full.Arn, full.RoutingConfig, full.ReplicationConfig, full.EventBuses, full.RoleArn, full.State}, nil
}

func (h *Handler) describeEndpoint(ctx context.Context, sc control.Scope, in *endpointRefIn) (any, error) {
	e, err := h.control.DescribeEndpoint(ctx, sc, *in.Name, deref(in.HomeRegion))
	if err != nil {
		return nil, err
	}
	return toEndpointOut(e), nil
}

func (h *Handler) listEndpoints(ctx context.Context, sc control.Scope, in *listEndpointsIn) (any, error) {
	list, next, err := h.control.ListEndpoints(ctx, sc, deref(in.NamePrefix), deref(in.HomeRegion), in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return struct {
		Endpoints []endpointOut
		NextToken *string `json:",omitempty"`
	}{each(list, toEndpointOut), next}, nil
}

func (h *Handler) updateEndpoint(ctx context.Context, sc control.Scope, in *updateEndpointIn) (any, error) {
	up := control.EndpointInput{Name: *in.Name, Description: in.Description, RoleArn: in.RoleArn}
	setRouting(&up, in.RoutingConfig, in.ReplicationConfig, in.EventBuses)
	e, err := h.control.UpdateEndpoint(ctx, sc, up)
	if err != nil {
		return nil, err
	}
	// UpdateEndpointResponse: the members of CreateEndpointResponse, with
	// EndpointId and EndpointUrl.
	full := toEndpointOut(e)
	return struct {
		Name              string
		Arn               string
		RoutingConfig     routingConfig
		ReplicationConfig replicationConfig
		EventBuses        []endpointEventBus
		RoleArn           string `json:",omitempty"`
		EndpointId        string
		EndpointUrl       string
		State             string
	}{full.Name, full.Arn, full.RoutingConfig, full.ReplicationConfig, full.EventBuses, full.RoleArn, full.EndpointId, full.EndpointUrl, full.State}, nil
}

func (h *Handler) deleteEndpoint(ctx context.Context, sc control.Scope, in *endpointRefIn) (any, error) {
	return nil, h.control.DeleteEndpoint(ctx, sc, *in.Name)
}

// throughEndpoint resolves PutEvents' EndpointId: the endpoint of the
// caller's account with that id, in whichever region it was created (a
// request to an endpoint is signed for every region, SigV4a with
// X-Amz-Region-Set "*", so that the endpoint, not the credential, decides
// the region). It returns the scope the events go to — the primary region
// while its health check is healthy, else the secondary — and, with
// replication enabled, where to copy them. An entry naming its bus by ARN
// may name the endpoint's bus in either region: it is taken by name, to
// the region the endpoint chose.
//
// AWS has no answer for an EndpointId that names no endpoint: its
// hostname does not resolve, and the SDK fails before sending. Switchyard
// answers ResourceNotFoundException.
func (h *Handler) throughEndpoint(sc control.Scope, id string, entries []putEventsEntryIn) (control.Scope, *ingest.Replication, error) {
	view := h.control.View()
	e, _ := view.EndpointByID(sc.Account, id)
	if e == nil || !e.Routable() {
		return sc, nil, awserr.NotFound("Endpoint %s does not exist.", id)
	}
	to, other := e.Scope, e.Secondary()
	if !view.Healthy(e) {
		to, other = other, to
	}
	for i := range entries {
		b := entries[i].EventBusName
		if b == nil || !strings.HasPrefix(*b, "arn:") {
			continue
		}
		for _, arn := range e.EventBuses {
			if *b == arn {
				name := e.BusName()
				entries[i].EventBusName = &name
			}
		}
	}
	var rep *ingest.Replication
	if e.Replicates() {
		rep = &ingest.Replication{To: other, Bus: e.BusName(), EndpointARN: e.ARN()}
	}
	return to, rep, nil
}
