package control

import (
	"context"
	"strings"

	"github.com/switchyard/switchyard/internal/awserr"
)

// BusInput holds the settable attributes of a bus.
type BusInput struct {
	Name             string
	EventSourceName  string
	Description      *string
	KmsKeyIdentifier *string
	DeadLetterConfig *DeadLetterConfig
	LogConfig        *LogConfig
	Tags             []Tag
}

// CreateEventBus creates a custom bus.
func (s *Service) CreateEventBus(ctx context.Context, sc Scope, in BusInput) (*Bus, error) {
	if in.EventSourceName != "" {
		// A partner event bus (partners.go).
		if err := s.checkPartnerBus(sc, in.Name, in.EventSourceName); err != nil {
			return nil, err
		}
	} else if strings.Contains(in.Name, "/") {
		return nil, awserr.Validation("Event bus name must not contain '/'.")
	}
	if err := s.EnsureDefaultBus(ctx, sc); err != nil {
		return nil, err
	}
	if b, _ := s.view.Bus(sc, in.Name); b != nil {
		return nil, busExists(in.Name)
	}
	if len(s.view.Buses(sc)) >= s.limits.BusesPerScope {
		return nil, awserr.New(awserr.CodeLimitExceeded, "The requested resource exceeds the maximum number allowed.")
	}
	if err := s.checkTags(in.Tags); err != nil {
		return nil, err
	}
	if err := s.checkKey(ctx, sc, in.KmsKeyIdentifier); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	b := &Bus{Scope: sc, Name: in.Name, CreationTime: now, LastModifiedTime: now, Tags: mergeTags(nil, in.Tags),
		DeadLetterConfig: in.DeadLetterConfig, LogConfig: in.LogConfig}
	setGiven(&b.Description, in.Description)
	setGiven(&b.KmsKeyIdentifier, in.KmsKeyIdentifier)
	if err := s.create(ctx, busKeyName(sc, in.Name), b, busExists(in.Name)); err != nil {
		return nil, err
	}
	return b, nil
}

// checkKey validates a bus's customer managed key, if one is given.
func (s *Service) checkKey(ctx context.Context, sc Scope, id *string) error {
	if id == nil || *id == "" || s.KeyCheck == nil {
		return nil
	}
	return s.KeyCheck(ctx, sc, *id)
}

func busExists(name string) error {
	return awserr.New(awserr.CodeResourceAlreadyExists, "Event bus %s already exists.", name)
}

// DescribeEventBus returns a bus by name or ARN (empty means default).
func (s *Service) DescribeEventBus(ctx context.Context, sc Scope, nameOrARN string) (*Bus, error) {
	name, err := ResolveBus(sc, nameOrARN)
	if err != nil {
		return nil, err
	}
	return s.bus(ctx, sc, name)
}

// bus returns the named bus or AWS's not-found error.
func (s *Service) bus(ctx context.Context, sc Scope, name string) (*Bus, error) {
	if err := s.EnsureDefaultBus(ctx, sc); err != nil {
		return nil, err
	}
	b, _ := s.view.Bus(sc, name)
	if b == nil {
		return nil, awserr.NotFound("Event bus %s does not exist.", name)
	}
	return b, nil
}

// ListEventBuses lists the scope's buses by name.
func (s *Service) ListEventBuses(ctx context.Context, sc Scope, prefix string, limit *int32, token *string) ([]*Bus, *string, error) {
	if err := s.EnsureDefaultBus(ctx, sc); err != nil {
		return nil, nil, err
	}
	return page(s.view.Buses(sc), func(b *Bus) string { return b.Name }, prefix, limit, token)
}

// UpdateEventBus changes a bus's description, key, dead-letter and log
// configuration.
func (s *Service) UpdateEventBus(ctx context.Context, sc Scope, in BusInput) (*Bus, error) {
	name := in.Name
	if name == "" {
		name = DefaultBus
	}
	if err := s.checkKey(ctx, sc, in.KmsKeyIdentifier); err != nil {
		return nil, err
	}
	var out *Bus
	err := retry(ctx, func() error {
		b, err := s.bus(ctx, sc, name)
		if err != nil {
			return err
		}
		_, rev := s.view.Bus(sc, name)
		nb := *b
		// UpdateEventBus sets what it is given and clears what it is not,
		// the way AWS's console and CloudFormation rely on.
		nb.Description, nb.KmsKeyIdentifier = "", ""
		setGiven(&nb.Description, in.Description)
		setGiven(&nb.KmsKeyIdentifier, in.KmsKeyIdentifier)
		nb.DeadLetterConfig, nb.LogConfig = in.DeadLetterConfig, in.LogConfig
		nb.LastModifiedTime = s.now().UTC()
		out = &nb
		return s.write(ctx, busKeyName(sc, name), &nb, rev)
	})
	return out, err
}

// DeleteEventBus deletes a custom bus. AWS refuses while rules remain
// ("All rules associated with this event bus need to be deleted"), and
// deleting a bus that does not exist succeeds.
func (s *Service) DeleteEventBus(ctx context.Context, sc Scope, name string) error {
	if name == DefaultBus {
		return awserr.Validation("Cannot delete event bus default.")
	}
	return retry(ctx, func() error {
		_, rev := s.view.Bus(sc, name)
		if rev == 0 {
			return nil
		}
		if len(s.view.Rules(sc, name)) > 0 {
			return awserr.Validation("EventBus can't be deleted since it has rules.")
		}
		return s.remove(ctx, busKeyName(sc, name), rev)
	})
}
