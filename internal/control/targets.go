package control

import (
	"context"
	"errors"
	"strings"

	"github.com/switchyard/switchyard/internal/awserr"
	"github.com/switchyard/switchyard/internal/netguard"
	"github.com/switchyard/switchyard/transform"
)

// FailedEntry is a per-target failure of PutTargets or RemoveTargets.
type FailedEntry struct {
	TargetId     string
	ErrorCode    string
	ErrorMessage string
}

// validTargetARN reports whether arn has the form of an ARN, or of an HTTP
// URL: Switchyard's own target kind for a plain HTTP endpoint (API
// destinations with connections are the full, AWS-compatible form).
func validTargetARN(arn string) bool {
	if strings.HasPrefix(arn, "http://") || strings.HasPrefix(arn, "https://") {
		return len(arn) > len("https://")
	}
	parts := strings.SplitN(arn, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && parts[1] != "" && parts[2] != "" && parts[5] != ""
}

// checkAddress refuses a URL whose host is a literal address that
// TargetGuard denies (http://169.254.169.254/..., the cloud's metadata
// service), as early as it can be told. A name cannot be judged yet: what
// it resolves to is checked when it is dialled (package netguard), and
// that check, not this one, is the guard; this one only says so at once.
func (s *Service) checkAddress(param, rawURL string) error {
	if err := s.TargetGuard.CheckURL(rawURL); err != nil {
		var de *netguard.DeniedError
		if errors.As(err, &de) {
			return awserr.Validation("Parameter %s is not valid. Reason: %s is in %s, an address range this server does not call (--deny-target-cidrs).", param, de.Addr, de.Prefix)
		}
		return awserr.Validation("Parameter %s is not valid. Reason: %s.", param, err)
	}
	return nil
}

// Shaping is the target's input shaping, as package transform takes it.
func (t *Target) Shaping() transform.Spec {
	spec := transform.Spec{ID: t.Id, Input: t.Input, InputPath: t.InputPath}
	if it := t.InputTransformer; it != nil {
		spec.Transformer = &transform.Transformer{PathsMap: it.InputPathsMap}
		if it.InputTemplate != nil {
			spec.Transformer.Template = *it.InputTemplate
		}
	}
	return spec
}

// PutTargets adds targets to a rule or updates those with the same Id.
func (s *Service) PutTargets(ctx context.Context, sc Scope, busNameOrARN, ruleName string, targets []Target) ([]FailedEntry, error) {
	for _, t := range targets {
		if !validTargetARN(t.Arn) {
			return nil, awserr.Validation("Parameter %s is not valid. Reason: Provided Arn is not in correct format.", t.Arn)
		}
		if strings.HasPrefix(t.Arn, "http://") || strings.HasPrefix(t.Arn, "https://") {
			if err := s.checkAddress(t.Arn, t.Arn); err != nil {
				return nil, err
			}
		}
		if _, err := transform.Compile(t.Shaping()); err != nil {
			return nil, awserr.Validation("%s", err.Error())
		}
		if err := checkTargetKind(&t); err != nil {
			return nil, err
		}
		if needsSqsParameters(&t) {
			return nil, awserr.Validation("Parameter(s) SqsParameters must be specified for target: %s.", t.Id)
		}
		if subj, ok := NATSSubject(t.Arn); ok && !ValidNATSSubject(subj) {
			return nil, awserr.Validation("Parameter %s is not valid. Reason: %q is not a subject a target may publish on (no wildcards, whitespace or empty tokens; sy., $ and _INBOX. are reserved).", t.Arn, subj)
		}
	}
	err := retry(ctx, func() error {
		r, rev, bus, err := s.rule(ctx, sc, busNameOrARN, ruleName)
		if err != nil {
			return err
		}
		if r.ManagedBy != "" {
			return awserr.New(awserr.CodeManagedRule, "Rule %s is managed by %s and cannot be modified.", ruleName, r.ManagedBy)
		}
		nr := *r
		nr.Targets = append([]Target(nil), r.Targets...)
		for _, t := range targets {
			replaced := false
			for i := range nr.Targets {
				if nr.Targets[i].Id == t.Id {
					nr.Targets[i], replaced = t, true
					break
				}
			}
			if !replaced {
				nr.Targets = append(nr.Targets, t)
			}
		}
		if len(nr.Targets) > s.limits.TargetsPerRule {
			return awserr.New(awserr.CodeLimitExceeded, "The requested resource exceeds the maximum number allowed.")
		}
		return s.write(ctx, ruleKeyName(sc, bus, ruleName), &nr, rev)
	})
	return nil, err
}

// RemoveTargets removes targets from a rule by Id. Ids the rule does not
// have are ignored, as in AWS.
func (s *Service) RemoveTargets(ctx context.Context, sc Scope, busNameOrARN, ruleName string, ids []string, force bool) ([]FailedEntry, error) {
	err := retry(ctx, func() error {
		r, rev, bus, err := s.rule(ctx, sc, busNameOrARN, ruleName)
		if err != nil {
			return err
		}
		if r.ManagedBy != "" && !force {
			return forceNeeded(ruleName)
		}
		drop := make(map[string]bool, len(ids))
		for _, id := range ids {
			drop[id] = true
		}
		nr := *r
		nr.Targets = nil
		for _, t := range r.Targets {
			if !drop[t.Id] {
				nr.Targets = append(nr.Targets, t)
			}
		}
		if len(nr.Targets) == len(r.Targets) {
			return nil
		}
		return s.write(ctx, ruleKeyName(sc, bus, ruleName), &nr, rev)
	})
	return nil, err
}

// ListTargetsByRule lists a rule's targets in the order they were added.
func (s *Service) ListTargetsByRule(ctx context.Context, sc Scope, busNameOrARN, ruleName string, limit *int32, token *string) ([]Target, *string, error) {
	r, _, _, err := s.rule(ctx, sc, busNameOrARN, ruleName)
	if err != nil {
		return nil, nil, err
	}
	n, after, err := pageOf(limit, token)
	if err != nil {
		return nil, nil, err
	}
	start := 0
	if after != "" {
		for i, t := range r.Targets {
			if t.Id == after {
				start = i + 1
			}
		}
	}
	out := r.Targets[start:]
	if len(out) > n {
		out = out[:n]
		tok := pageToken(out[n-1].Id)
		return out, &tok, nil
	}
	return out, nil, nil
}

// ListRuleNamesByTarget lists the names of the bus's rules that have a
// target with the given ARN.
func (s *Service) ListRuleNamesByTarget(ctx context.Context, sc Scope, busNameOrARN, targetARN string, limit *int32, token *string) ([]string, *string, error) {
	bus, err := s.busName(ctx, sc, busNameOrARN)
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for _, r := range s.view.Rules(sc, bus) {
		for _, t := range r.Targets {
			if t.Arn == targetARN {
				names = append(names, r.Name)
				break
			}
		}
	}
	return page(names, func(n string) string { return n }, "", limit, token)
}
