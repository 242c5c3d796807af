package control

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/store"
)

// API destination states.
const (
	DestActive   = "ACTIVE"
	DestInactive = "INACTIVE"
)

// DefaultInvocationRate is the InvocationRateLimitPerSecond of an API
// destination created without one, as in AWS.
const DefaultInvocationRate = 300

// ApiDestination is an HTTP endpoint invoked through a connection.
type ApiDestination struct {
	Scope
	Name                         string
	UUID                         string
	Description                  string `json:",omitempty"`
	ConnectionArn                string
	InvocationEndpoint           string
	HttpMethod                   string
	InvocationRateLimitPerSecond int32
	CreationTime                 time.Time
	LastModifiedTime             time.Time
}

// ARN is the destination's ARN, api-destination/<name>/<uuid> as AWS forms
// it.
func (d *ApiDestination) ARN() string {
	return fmt.Sprintf("arn:%s:events:%s:%s:api-destination/%s/%s", d.Partition(), d.Region, d.Account, d.Name, d.UUID)
}

func destKeyName(sc Scope, name string) string {
	return destPrefix + "." + sc.Account + "." + sc.Region + "." + store.Token(name)
}

// destNotFound is AWS's answer for an API destination that does not
// exist, as LocalStack recorded it from AWS
// (tests/aws/services/events/test_api_destinations_and_connection.snapshot.json,
// describe-api-destination-not-found-error).
func destNotFound(name string) error {
	return awserr.NotFound("Failed to describe the api-destination(s). An api-destination '%s' does not exist.", name)
}

func destExists(name string) error {
	return awserr.New(awserr.CodeResourceAlreadyExists, "An api-destination '%s' already exists.", name)
}

// ParseResourceARN splits an events ARN of the form
// arn:partition:events:region:account:<kind>/<name>/<uuid>.
func ParseResourceARN(arn, kind string) (sc Scope, name, id string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "events" {
		return Scope{}, "", "", false
	}
	rest, found := strings.CutPrefix(parts[5], kind+"/")
	if !found {
		return Scope{}, "", "", false
	}
	name, id, found = strings.Cut(rest, "/")
	if !found || name == "" || id == "" {
		return Scope{}, "", "", false
	}
	return Scope{Account: parts[4], Region: parts[3]}, name, id, true
}

// ConnectionByARN returns the connection an ARN names, if it exists in
// scope sc under that very ARN (a connection deleted and created again under
// the same name has a new ARN).
func (v *View) ConnectionByARN(arn string) *Connection {
	sc, name, id, ok := ParseResourceARN(arn, "connection")
	if !ok {
		return nil
	}
	c, _ := v.Connection(sc, name)
	if c == nil || c.UUID != id {
		return nil
	}
	return c
}

// ApiDestinationByARN returns the API destination an ARN names, if it
// exists under that very ARN.
func (v *View) ApiDestinationByARN(arn string) *ApiDestination {
	sc, name, id, ok := ParseResourceARN(arn, "api-destination")
	if !ok {
		return nil
	}
	d, _ := v.ApiDestination(sc, name)
	if d == nil || d.UUID != id {
		return nil
	}
	return d
}

// DestinationState is ACTIVE while the destination's connection is
// authorized, INACTIVE otherwise.
func (s *Service) DestinationState(d *ApiDestination) string {
	if c := s.view.ConnectionByARN(d.ConnectionArn); c != nil && c.State == ConnAuthorized {
		return DestActive
	}
	return DestInactive
}

// ApiDestinationInput holds what CreateApiDestination and
// UpdateApiDestination set; on update, nil fields keep their values.
type ApiDestinationInput struct {
	Name                         string
	Description                  *string
	ConnectionArn                *string
	InvocationEndpoint           *string
	HttpMethod                   *string
	InvocationRateLimitPerSecond *int32
}

func (s *Service) checkDestConnection(sc Scope, arn string) error {
	csc, name, _, ok := ParseResourceARN(arn, "connection")
	if !ok {
		return awserr.Validation("Parameter ConnectionArn is not valid. Reason: Provided Arn is not in correct format.")
	}
	if csc != sc || s.view.ConnectionByARN(arn) == nil {
		return connectionNotFound(name)
	}
	return nil
}

// CreateApiDestination creates an API destination on an existing
// connection of the same account and region.
func (s *Service) CreateApiDestination(ctx context.Context, sc Scope, in ApiDestinationInput) (*ApiDestination, error) {
	if d, _ := s.view.ApiDestination(sc, in.Name); d != nil {
		return nil, destExists(in.Name)
	}
	if err := checkEndpoint("InvocationEndpoint", *in.InvocationEndpoint); err != nil {
		return nil, err
	}
	if err := s.checkAddress("InvocationEndpoint", *in.InvocationEndpoint); err != nil {
		return nil, err
	}
	if err := s.checkDestConnection(sc, *in.ConnectionArn); err != nil {
		return nil, err
	}
	if len(s.view.ApiDestinations(sc)) >= maxAPIDestinations {
		return nil, awserr.New(awserr.CodeLimitExceeded, "The requested resource exceeds the maximum number allowed.")
	}
	now := s.now().UTC()
	d := &ApiDestination{Scope: sc, Name: in.Name, UUID: uuid.NewString(), Description: deref(in.Description),
		ConnectionArn: *in.ConnectionArn, InvocationEndpoint: *in.InvocationEndpoint, HttpMethod: *in.HttpMethod,
		InvocationRateLimitPerSecond: DefaultInvocationRate, CreationTime: now, LastModifiedTime: now}
	setGiven(&d.InvocationRateLimitPerSecond, in.InvocationRateLimitPerSecond)
	if err := s.create(ctx, destKeyName(sc, in.Name), d, destExists(in.Name)); err != nil {
		return nil, err
	}
	return d, nil
}

// DescribeApiDestination returns an API destination by name.
func (s *Service) DescribeApiDestination(ctx context.Context, sc Scope, name string) (*ApiDestination, error) {
	d, _ := s.view.ApiDestination(sc, name)
	if d == nil {
		return nil, destNotFound(name)
	}
	return d, nil
}

// ListApiDestinations lists API destinations by name, optionally of one
// connection.
func (s *Service) ListApiDestinations(ctx context.Context, sc Scope, prefix, connectionArn string, limit *int32, token *string) ([]*ApiDestination, *string, error) {
	ds := s.view.ApiDestinations(sc)
	if connectionArn != "" {
		ds = keep(ds, func(d *ApiDestination) bool { return d.ConnectionArn == connectionArn })
	}
	return page(ds, func(d *ApiDestination) string { return d.Name }, prefix, limit, token)
}

// UpdateApiDestination changes the given attributes of an API destination.
func (s *Service) UpdateApiDestination(ctx context.Context, sc Scope, in ApiDestinationInput) (*ApiDestination, error) {
	if in.InvocationEndpoint != nil {
		if err := checkEndpoint("InvocationEndpoint", *in.InvocationEndpoint); err != nil {
			return nil, err
		}
		if err := s.checkAddress("InvocationEndpoint", *in.InvocationEndpoint); err != nil {
			return nil, err
		}
	}
	var out *ApiDestination
	err := retry(ctx, func() error {
		d, rev := s.view.ApiDestination(sc, in.Name)
		if d == nil {
			return destNotFound(in.Name)
		}
		if in.ConnectionArn != nil {
			if err := s.checkDestConnection(sc, *in.ConnectionArn); err != nil {
				return err
			}
		}
		nd := *d
		setGiven(&nd.Description, in.Description)
		setGiven(&nd.ConnectionArn, in.ConnectionArn)
		setGiven(&nd.InvocationEndpoint, in.InvocationEndpoint)
		setGiven(&nd.HttpMethod, in.HttpMethod)
		setGiven(&nd.InvocationRateLimitPerSecond, in.InvocationRateLimitPerSecond)
		nd.LastModifiedTime = s.now().UTC()
		out = &nd
		return s.write(ctx, destKeyName(sc, in.Name), &nd, rev)
	})
	return out, err
}

// DeleteApiDestination deletes an API destination. Rules that target it
// keep the target, whose deliveries then fail as AWS's do.
func (s *Service) DeleteApiDestination(ctx context.Context, sc Scope, name string) error {
	return retry(ctx, func() error {
		d, rev := s.view.ApiDestination(sc, name)
		if d == nil {
			return destNotFound(name)
		}
		return s.remove(ctx, destKeyName(sc, name), rev)
	})
}
