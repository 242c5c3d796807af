package control

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/store"
)

// Global endpoints (CreateEndpoint and the rest; PutEvents' EndpointId)
// route a publisher's events to an event bus of one of two regions: the
// endpoint's own region, its primary ("HomeRegion"), while the Route 53
// health check it names is healthy, else the secondary region
// (RoutingConfig.FailoverConfig.Secondary.Route); with replication
// enabled, the events accepted in one region are also sent to the bus of
// the other. See the EventBridge User Guide, "Making applications
// Regional-fault tolerant with global endpoints and event replication".
// The health checks are polled by package healthcheck, whose results are
// recorded here (HealthStatus) for every process to route by.

// Endpoint states (the API model's EndpointState).
const (
	EndpointCreating     = "CREATING"
	EndpointActive       = "ACTIVE"
	EndpointUpdating     = "UPDATING"
	EndpointDeleting     = "DELETING"
	EndpointCreateFailed = "CREATE_FAILED"
	EndpointUpdateFailed = "UPDATE_FAILED"
)

// Replication states (the API model's ReplicationState).
const (
	ReplicationEnabled  = "ENABLED"
	ReplicationDisabled = "DISABLED"
)

// MaxEndpoints is AWS's quota of global endpoints per account and region
// ("Global endpoints: Maximum 100 endpoints per account per Region", the
// EventBridge quotas page).
const MaxEndpoints = 100

// Endpoint is a global endpoint, recorded in the scope of its primary
// region.
type Endpoint struct {
	Scope
	Name string
	// ID is the EndpointId: the endpoint's subdomain in EndpointUrl, which
	// PutEvents names it by.
	ID          string
	Description string `json:",omitempty"`
	// HealthCheck is the ARN of the Route 53 health check that says
	// whether the primary region is healthy.
	HealthCheck     string
	SecondaryRegion string
	Replication     string
	// EventBuses are the ARNs of the two buses, in the order given.
	EventBuses       []string
	RoleArn          string `json:",omitempty"`
	State            string
	StateReason      string `json:",omitempty"`
	CreationTime     time.Time
	LastModifiedTime time.Time
	// Peer marks the copy of an endpoint whose primary region another
	// deployment serves (package peer): that deployment keeps it up to
	// date (SyncPeerEndpoints); here it is only routed by.
	Peer bool `json:",omitempty"`
}

// ARN is the endpoint's ARN, arn:aws:events:<region>:<account>:endpoint/<name>.
func (e *Endpoint) ARN() string {
	return fmt.Sprintf("arn:%s:events:%s:%s:endpoint/%s", e.Partition(), e.Region, e.Account, e.Name)
}

// URL is the endpoint's EndpointUrl: https://<id>.endpoint.events.<DNS
// suffix of the partition>, the URL the AWS SDKs' endpoint rules make of
// an EndpointId (the EventBridge endpoint rule set,
// "https://{EndpointId}.endpoint.events.{PartitionResult#dnsSuffix}").
// Switchyard's clients do not resolve it: they set their endpoint URL to
// Switchyard's, and the SDKs then send PutEvents with EndpointId there.
func (e *Endpoint) URL() string {
	suffix := "amazonaws.com"
	if e.Partition() == "aws-cn" {
		suffix = "amazonaws.com.cn"
	}
	return "https://" + e.ID + ".endpoint.events." + suffix
}

// HealthCheckID is the id of the Route 53 health check of HealthCheck
// (arn:aws:route53:::healthcheck/<id>).
func (e *Endpoint) HealthCheckID() string { return HealthCheckID(e.HealthCheck) }

// HealthCheckID is the id a Route 53 health check ARN names.
func HealthCheckID(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

// BusName is the name both of the endpoint's buses have.
func (e *Endpoint) BusName() string {
	if len(e.EventBuses) == 0 {
		return ""
	}
	return busNameOfARN(e.EventBuses[0])
}

// Secondary is the scope of the endpoint's secondary region.
func (e *Endpoint) Secondary() Scope { return Scope{e.Account, e.SecondaryRegion} }

// Replicates reports whether the endpoint replicates events.
func (e *Endpoint) Replicates() bool { return e.Replication == ReplicationEnabled }

func busNameOfARN(arn string) string {
	_, name, _ := strings.Cut(arn, ":event-bus/")
	return name
}

// endpointPrefix starts the keys of endpoints in the control bucket:
// endpoint.<account>.<region>.<name>.
const endpointPrefix = "endpoint"

func endpointKeyName(sc Scope, name string) string {
	return endpointPrefix + "." + sc.Account + "." + sc.Region + "." + store.Token(name)
}

func endpointNotFound(name string) error {
	return awserr.NotFound("Endpoint %s does not exist.", name)
}

func endpointExists(name string) error {
	return awserr.New(awserr.CodeResourceAlreadyExists, "Endpoint %s already exists.", name)
}

// EndpointInput holds what CreateEndpoint and UpdateEndpoint set; on
// update, nil members keep their values.
type EndpointInput struct {
	Name        string
	Description *string
	// HealthCheck and SecondaryRegion are RoutingConfig's, given together.
	HealthCheck     *string
	SecondaryRegion *string
	Replication     *string
	EventBuses      []string
	RoleArn         *string
}

// checkGlobalEndpoint applies the rules of the endpoint's members to one
// another, which the API model cannot say, in the scope of its primary
// region sc. AWS publishes the rules (the buses "must be identical in
// each Region"; the default replication state "is ENABLED which means you
// must supply a RoleArn", the API reference) but not its messages for
// them: these are worded as AWS words its other parameter checks.
func checkGlobalEndpoint(sc Scope, e *Endpoint) error {
	const route = "RoutingConfig.FailoverConfig.Secondary.Route"
	if !ValidRegion(e.SecondaryRegion) {
		return awserr.Validation("Parameter %s is not valid. Reason: %s is not a valid Region.", route, e.SecondaryRegion)
	}
	if e.SecondaryRegion == sc.Region {
		return awserr.Validation("Parameter %s is not valid. Reason: The secondary Region must be different from the primary Region %s.", route, sc.Region)
	}
	var names [2]string
	var regions [2]string
	for i, arn := range e.EventBuses {
		p := strings.SplitN(arn, ":", 6)
		if len(p) != 6 || p[1] != sc.Partition() || p[4] != sc.Account {
			return awserr.Validation("Parameter EventBuses is not valid. Reason: Event bus %s is not in account %s.", arn, sc.Account)
		}
		regions[i], names[i] = p[3], busNameOfARN(arn)
	}
	if names[0] != names[1] {
		return awserr.Validation("Parameter EventBuses is not valid. Reason: The event buses must have the same name in both Regions.")
	}
	if !(regions[0] == sc.Region && regions[1] == e.SecondaryRegion) && !(regions[1] == sc.Region && regions[0] == e.SecondaryRegion) {
		return awserr.Validation("Parameter EventBuses is not valid. Reason: One event bus must be in the primary Region %s and the other in the secondary Region %s.",
			sc.Region, e.SecondaryRegion)
	}
	if e.Replicates() && e.RoleArn == "" {
		return awserr.Validation("Parameter RoleArn is not valid. Reason: RoleArn is required when ReplicationConfig.State is ENABLED.")
	}
	return nil
}

// endpointIDAlphabet and the lengths below make EndpointIds of the form
// the API reference shows, "abcde.veo": a random label, a dot, and a short
// one, in the lowercase letters and digits DNS labels allow.
const endpointIDAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

func newEndpointID() string {
	b := make([]byte, 14)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = endpointIDAlphabet[int(b[i])%len(endpointIDAlphabet)]
	}
	b[10] = '.'
	return string(b)
}

// CreateEndpoint records a global endpoint in state CREATING; package
// healthcheck makes it ACTIVE once it has read its health check from
// Route 53 (or CREATE_FAILED if Route 53 has no such health check).
func (s *Service) CreateEndpoint(ctx context.Context, sc Scope, in EndpointInput) (*Endpoint, error) {
	now := s.now().UTC()
	e := &Endpoint{Scope: sc, Name: in.Name, Replication: ReplicationEnabled, EventBuses: in.EventBuses,
		State: EndpointCreating, CreationTime: now, LastModifiedTime: now}
	setGiven(&e.Description, in.Description)
	setGiven(&e.HealthCheck, in.HealthCheck)
	setGiven(&e.SecondaryRegion, in.SecondaryRegion)
	setGiven(&e.Replication, in.Replication)
	setGiven(&e.RoleArn, in.RoleArn)
	if err := checkGlobalEndpoint(sc, e); err != nil {
		return nil, err
	}
	if old, _ := s.view.Endpoint(sc, in.Name); old != nil {
		return nil, endpointExists(in.Name)
	}
	if len(s.view.Endpoints(sc)) >= MaxEndpoints {
		return nil, awserr.New(awserr.CodeLimitExceeded, "The requested resource exceeds the maximum number allowed.")
	}
	for {
		e.ID = newEndpointID()
		if other, _ := s.view.EndpointByID(sc.Account, e.ID); other == nil {
			break
		}
	}
	if err := s.create(ctx, endpointKeyName(sc, in.Name), e, endpointExists(in.Name)); err != nil {
		return nil, err
	}
	return e, nil
}

// homeScope is the scope of the endpoints of home region (the caller's
// region when empty).
func homeScope(sc Scope, home string) (Scope, error) {
	if home == "" {
		return sc, nil
	}
	if !ValidRegion(home) {
		return Scope{}, awserr.Validation("Parameter HomeRegion is not valid. Reason: %s is not a valid Region.", home)
	}
	return Scope{sc.Account, home}, nil
}

// DescribeEndpoint returns an endpoint of the home region (the primary
// region it was created in; the caller's region when empty).
func (s *Service) DescribeEndpoint(ctx context.Context, sc Scope, name, home string) (*Endpoint, error) {
	hs, err := homeScope(sc, home)
	if err != nil {
		return nil, err
	}
	e, _ := s.view.Endpoint(hs, name)
	if e == nil {
		return nil, endpointNotFound(name)
	}
	return e, nil
}

// ListEndpoints lists the endpoints of the home region by name.
func (s *Service) ListEndpoints(ctx context.Context, sc Scope, prefix, home string, limit *int32, token *string) ([]*Endpoint, *string, error) {
	hs, err := homeScope(sc, home)
	if err != nil {
		return nil, nil, err
	}
	return page(s.view.Endpoints(hs), func(e *Endpoint) string { return e.Name }, prefix, limit, token)
}

// UpdateEndpoint changes what it is given of an endpoint, which becomes
// UPDATING until package healthcheck has read its (possibly new) health
// check. An endpoint being created, updated or deleted is not changed:
// AWS answers ConcurrentModificationException.
func (s *Service) UpdateEndpoint(ctx context.Context, sc Scope, in EndpointInput) (*Endpoint, error) {
	var out *Endpoint
	err := retry(ctx, func() error {
		e, rev := s.view.Endpoint(sc, in.Name)
		if e == nil {
			return endpointNotFound(in.Name)
		}
		if e.Peer {
			return peerManaged(e)
		}
		switch e.State {
		case EndpointCreating, EndpointUpdating, EndpointDeleting:
			return awserr.New(awserr.CodeConcurrentModification, "Endpoint %s is %s. Try again later.", in.Name, strings.ToLower(e.State))
		}
		ne := *e
		setGiven(&ne.Description, in.Description)
		setGiven(&ne.HealthCheck, in.HealthCheck)
		setGiven(&ne.SecondaryRegion, in.SecondaryRegion)
		setGiven(&ne.Replication, in.Replication)
		setGiven(&ne.RoleArn, in.RoleArn)
		if in.EventBuses != nil {
			ne.EventBuses = in.EventBuses
		}
		if err := checkGlobalEndpoint(sc, &ne); err != nil {
			return err
		}
		ne.State, ne.StateReason = EndpointUpdating, ""
		ne.LastModifiedTime = s.now().UTC()
		out = &ne
		return s.write(ctx, endpointKeyName(sc, in.Name), &ne, rev)
	})
	return out, err
}

// DeleteEndpoint marks an endpoint DELETING; package healthcheck then
// removes it. PutEvents no longer routes through it from now.
func (s *Service) DeleteEndpoint(ctx context.Context, sc Scope, name string) error {
	return retry(ctx, func() error {
		e, rev := s.view.Endpoint(sc, name)
		if e == nil {
			return endpointNotFound(name)
		}
		if e.Peer {
			return peerManaged(e)
		}
		if e.State == EndpointDeleting {
			return nil
		}
		ne := *e
		ne.State, ne.StateReason = EndpointDeleting, ""
		ne.LastModifiedTime = s.now().UTC()
		return s.write(ctx, endpointKeyName(sc, name), &ne, rev)
	})
}

// SettleEndpoint ends the transition an endpoint is in, if it is still in
// it at revision rev: a CREATING or UPDATING endpoint becomes ACTIVE, or,
// with a reason, CREATE_FAILED or UPDATE_FAILED; a DELETING one is
// removed. It reports false when the record changed meanwhile (by another
// process, or by the user), which leaves the transition to the next look.
func (s *Service) SettleEndpoint(ctx context.Context, e *Endpoint, rev uint64, failure string) (bool, error) {
	var err error
	if e.State == EndpointDeleting {
		err = s.remove(ctx, endpointKeyName(e.Scope, e.Name), rev)
	} else {
		ne := *e
		switch {
		case failure == "":
			ne.State, ne.StateReason = EndpointActive, ""
		case e.State == EndpointCreating:
			ne.State, ne.StateReason = EndpointCreateFailed, failure
		case e.State == EndpointUpdating:
			ne.State, ne.StateReason = EndpointUpdateFailed, failure
		default:
			return true, nil
		}
		err = s.write(ctx, endpointKeyName(e.Scope, e.Name), &ne, rev)
	}
	if errors.Is(err, errConflict) {
		return false, nil
	}
	return err == nil, err
}

// Settling reports whether the endpoint is in a transition SettleEndpoint
// ends.
func (e *Endpoint) Settling() bool {
	return e.State == EndpointCreating || e.State == EndpointUpdating || e.State == EndpointDeleting
}

// Routable reports whether PutEvents may route through the endpoint: every
// state but DELETING (an endpoint being created or updated already has its
// configuration; one that failed keeps the configuration it was given).
func (e *Endpoint) Routable() bool { return e.State != EndpointDeleting }

// peerManaged refuses to change, here, an endpoint another deployment
// serves the primary region of: it is changed there, as an AWS endpoint
// is changed in its home region only.
func peerManaged(e *Endpoint) error {
	return awserr.Validation("Endpoint %s is managed by the deployment serving its home Region %s; change it there.", e.Name, e.Region)
}

// SyncPeerEndpoints makes the copies of the endpoints of homes (regions a
// peer deployment serves) exactly eps: the endpoints of those regions
// whose secondary region is served here, as the peer last said. Each is
// recorded with Peer set, in the scope of its home region, so that
// PutEvents with its EndpointId routes here too (by this deployment's own
// reading of its health check). A local endpoint of the same name is
// never overwritten. Endpoints outside homes, or whose secondary region
// serves(region) refuses, are refused with a ValidationException: a peer
// may describe only its own regions' endpoints.
func (s *Service) SyncPeerEndpoints(ctx context.Context, homes []string, serves func(region string) bool, eps []*Endpoint) error {
	home := map[string]bool{}
	for _, r := range homes {
		home[r] = true
	}
	want := map[string]*Endpoint{}
	for _, e := range eps {
		if !home[e.Region] || !serves(e.SecondaryRegion) || !accountPattern.MatchString(e.Account) || e.Name == "" || e.ID == "" {
			return awserr.Validation("Parameter Endpoints is not valid. Reason: endpoint %s of %s/%s is not one of a peer Region's endpoints with its secondary Region here.",
				e.Name, e.Account, e.Region)
		}
		// The same rules as CreateEndpoint's: one bus of the account in
		// each of the two regions, of one name (which the peer's events
		// are then let into, see ingest.StorePeerEvents).
		if len(e.EventBuses) != 2 {
			return awserr.Validation("Parameter Endpoints is not valid. Reason: endpoint %s has %d event buses, not 2.", e.Name, len(e.EventBuses))
		}
		if err := checkGlobalEndpoint(e.Scope, e); err != nil {
			return err
		}
		c := *e
		c.Peer = true
		want[endpointKeyName(c.Scope, c.Name)] = &c
	}
	for _, cur := range s.view.Endpoints(Scope{}) {
		key := endpointKeyName(cur.Scope, cur.Name)
		if !cur.Peer || !home[cur.Region] || want[key] != nil {
			continue
		}
		if _, rev := s.view.Endpoint(cur.Scope, cur.Name); rev > 0 {
			if err := s.remove(ctx, key, rev); err != nil && !errors.Is(err, errConflict) {
				return err
			}
		}
	}
	for key, e := range want {
		err := retry(ctx, func() error {
			cur, rev := s.view.Endpoint(e.Scope, e.Name)
			if cur != nil && !cur.Peer {
				return nil
			}
			if cur != nil && sameEndpoint(cur, e) {
				return nil
			}
			return s.write(ctx, key, e, rev)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func sameEndpoint(a, b *Endpoint) bool {
	return a.ID == b.ID && a.State == b.State && a.HealthCheck == b.HealthCheck && a.SecondaryRegion == b.SecondaryRegion &&
		a.Replication == b.Replication && strings.Join(a.EventBuses, ",") == strings.Join(b.EventBuses, ",") &&
		a.LastModifiedTime.Equal(b.LastModifiedTime) && a.Description == b.Description && a.RoleArn == b.RoleArn &&
		a.StateReason == b.StateReason
}
