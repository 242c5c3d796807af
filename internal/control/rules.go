package control

import (
	"context"
	"errors"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/pattern"
)

// RuleInput holds what PutRule sets.
type RuleInput struct {
	Name               string
	EventBusName       string
	EventPattern       *string
	ScheduleExpression *string
	State              *string
	Description        *string
	RoleArn            *string
	Tags               []Tag
	// CreatedBy is the account creating the rule when it is not the
	// bus's (a rule put on another account's bus by its ARN); a rule
	// replaced keeps its creator.
	CreatedBy string
}

// ruleNotFound is AWS's error for a missing rule.
func ruleNotFound(name, bus string) error {
	return awserr.NotFound("Rule %s does not exist on EventBus %s.", name, bus)
}

// forceNeeded is AWS's answer to DeleteRule and RemoveTargets on a managed
// rule without Force: "CW_RULE_NAME_PLACEHOLDER is a managed rule. Set
// 'force' parameter to true to override." (DeleteRule,
// rebuy-de/aws-nuke#448; RemoveTargets, cloud-custodian/cloud-custodian#10308).
func forceNeeded(name string) error {
	return awserr.New(awserr.CodeManagedRule, "%s is a managed rule. Set 'force' parameter to true to override.", name)
}

// ValidatePattern parses an event pattern with the configured length limit,
// returning InvalidEventPatternException with the engine's reason.
func (s *Service) ValidatePattern(src string) (*pattern.Pattern, error) {
	p, err := pattern.ParseWithOptions([]byte(src), pattern.Options{MaxLength: s.limits.PatternMaxLength})
	var lengthErr *pattern.LengthError
	switch {
	case errors.As(err, &lengthErr):
		// AWS refuses an over-long pattern before parsing it, as a
		// constraint violation rather than an invalid pattern.
		return nil, awserr.Validation("%s", err.Error())
	case err != nil:
		return nil, awserr.New(awserr.CodeInvalidEventPattern, "%s", err.Error())
	}
	return p, nil
}

// PutRule creates or replaces a rule. Replacing keeps the rule's targets and
// tags; every other attribute is taken from the input, as AWS does ("If you
// omit arguments in PutRule, the old values for those arguments are not
// kept").
func (s *Service) PutRule(ctx context.Context, sc Scope, in RuleInput) (*Rule, error) {
	bus, err := ResolveBus(sc, in.EventBusName)
	if err != nil {
		return nil, err
	}
	pat, sched := deref(in.EventPattern), deref(in.ScheduleExpression)
	if pat == "" && sched == "" {
		return nil, awserr.Validation("Parameter(s) EventPattern or ScheduleExpression must be specified.")
	}
	if pat != "" {
		if _, err := s.ValidatePattern(pat); err != nil {
			return nil, err
		}
	}
	if sched != "" {
		if bus != DefaultBus {
			return nil, awserr.Validation("ScheduleExpression is supported only on the default event bus.")
		}
		if s.ScheduleValid == nil || s.ScheduleValid(sched) != nil {
			return nil, awserr.Validation("Parameter ScheduleExpression is not valid.")
		}
	}
	if _, err := s.bus(ctx, sc, bus); err != nil {
		return nil, err
	}
	if err := s.checkTags(in.Tags); err != nil {
		return nil, err
	}
	var out *Rule
	err = retry(ctx, func() error {
		old, rev := s.view.Rule(sc, bus, in.Name)
		r := &Rule{Scope: sc, Bus: bus, Name: in.Name, EventPattern: pat, ScheduleExpression: sched,
			State: StateEnabled, Description: deref(in.Description), RoleArn: deref(in.RoleArn),
			Tags: mergeTags(nil, in.Tags), CreationTime: s.now().UTC()}
		setGiven(&r.State, in.State)
		if old != nil {
			if old.ManagedBy != "" {
				return awserr.New(awserr.CodeManagedRule, "Rule %s is managed by %s and cannot be modified.", in.Name, old.ManagedBy)
			}
			r.Targets, r.ManagedBy, r.CreationTime = old.Targets, old.ManagedBy, old.CreationTime
			r.CreatedBy = old.CreatedBy
			r.Tags = old.Tags // AWS ignores PutRule's Tags when it updates a rule
		} else if len(s.view.Rules(sc, bus)) >= s.limits.RulesPerBus {
			return awserr.New(awserr.CodeLimitExceeded, "The requested resource exceeds the maximum number allowed.")
		} else if in.CreatedBy != sc.Account {
			r.CreatedBy = in.CreatedBy
		}
		out = r
		return s.write(ctx, ruleKeyName(sc, bus, in.Name), r, rev)
	})
	return out, err
}

// busName resolves an EventBusName (a name or an ARN; empty means default)
// to the name of a bus of sc, and returns AWS's not-found error (with the
// name) when that bus does not exist.
func (s *Service) busName(ctx context.Context, sc Scope, nameOrARN string) (string, error) {
	bus, err := ResolveBus(sc, nameOrARN)
	if err != nil {
		return "", err
	}
	_, err = s.bus(ctx, sc, bus)
	return bus, err
}

// rule returns the rule or AWS's not-found error, resolving the bus.
func (s *Service) rule(ctx context.Context, sc Scope, busNameOrARN, name string) (*Rule, uint64, string, error) {
	bus, err := s.busName(ctx, sc, busNameOrARN)
	if err != nil {
		return nil, 0, bus, err
	}
	r, rev := s.view.Rule(sc, bus, name)
	if r == nil {
		return nil, 0, bus, ruleNotFound(name, bus)
	}
	return r, rev, bus, nil
}

// DescribeRule returns a rule.
func (s *Service) DescribeRule(ctx context.Context, sc Scope, busNameOrARN, name string) (*Rule, error) {
	r, _, _, err := s.rule(ctx, sc, busNameOrARN, name)
	return r, err
}

// ListRules lists a bus's rules by name.
func (s *Service) ListRules(ctx context.Context, sc Scope, busNameOrARN, prefix string, limit *int32, token *string) ([]*Rule, *string, error) {
	bus, err := s.busName(ctx, sc, busNameOrARN)
	if err != nil {
		return nil, nil, err
	}
	return page(s.view.Rules(sc, bus), func(r *Rule) string { return r.Name }, prefix, limit, token)
}

// SetRuleState enables or disables a rule.
func (s *Service) SetRuleState(ctx context.Context, sc Scope, busNameOrARN, name, state string) error {
	return retry(ctx, func() error {
		r, rev, bus, err := s.rule(ctx, sc, busNameOrARN, name)
		if err != nil {
			return err
		}
		if r.ManagedBy != "" {
			return awserr.New(awserr.CodeManagedRule, "Rule %s is managed by %s and cannot be modified.", name, r.ManagedBy)
		}
		if r.State == state || (state == StateEnabled && r.Enabled()) {
			return nil
		}
		nr := *r
		nr.State = state
		return s.write(ctx, ruleKeyName(sc, bus, name), &nr, rev)
	})
}

// DeleteRule deletes a rule that has no targets (or any rule with force).
// Deleting a rule that does not exist succeeds, as in AWS.
func (s *Service) DeleteRule(ctx context.Context, sc Scope, busNameOrARN, name string, force bool) error {
	return retry(ctx, func() error {
		bus, err := s.busName(ctx, sc, busNameOrARN)
		if err != nil {
			return err // a missing bus is an error; a missing rule is not
		}
		r, rev := s.view.Rule(sc, bus, name)
		if r == nil {
			return nil
		}
		if r.ManagedBy != "" && !force {
			return forceNeeded(name)
		}
		if len(r.Targets) > 0 && !force {
			return awserr.Validation("Rule can't be deleted since it has targets.")
		}
		return s.remove(ctx, ruleKeyName(sc, bus, name), rev)
	})
}

// deref is *p, or T's zero value when p is nil.
func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
