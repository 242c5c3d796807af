package control

import (
	"context"
	"strings"

	"github.com/switchyard/switchyard/internal/awserr"
)

// mergeTags returns old with add applied: keys in add replace or extend.
func mergeTags(old, add []Tag) []Tag {
	out := append([]Tag(nil), old...)
	for _, t := range add {
		found := false
		for i := range out {
			if out[i].Key == t.Key {
				out[i].Value, found = t.Value, true
				break
			}
		}
		if !found {
			out = append(out, t)
		}
	}
	return out
}

func (s *Service) checkTags(tags []Tag) error {
	if len(tags) > s.limits.TagsPerResource {
		return awserr.New(awserr.CodeLimitExceeded, "The requested resource exceeds the maximum number allowed.")
	}
	return nil
}

// taggable is a resource named by an ARN that can carry tags.
type taggable struct {
	bus, rule string // rule empty for a bus
}

// parseResourceARN resolves an events ARN of scope sc to a bus or rule.
func parseResourceARN(sc Scope, arn string) (taggable, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "events" {
		return taggable{}, awserr.Validation("Parameter %s is not valid. Reason: Provided Arn is not in correct format.", arn)
	}
	res := parts[5]
	var t taggable
	switch {
	case strings.HasPrefix(res, "event-bus/"):
		t.bus = strings.TrimPrefix(res, "event-bus/")
	case strings.HasPrefix(res, "rule/"):
		rest := strings.TrimPrefix(res, "rule/")
		if i := strings.LastIndexByte(rest, '/'); i >= 0 {
			t.bus, t.rule = rest[:i], rest[i+1:]
		} else {
			t.bus, t.rule = DefaultBus, rest
		}
	default:
		return taggable{}, awserr.Validation("Parameter %s is not valid. Reason: Provided Arn is not in correct format.", arn)
	}
	if parts[3] != sc.Region || parts[4] != sc.Account {
		if t.rule != "" {
			return t, ruleNotFound(t.rule, t.bus)
		}
		return t, awserr.NotFound("Event bus %s does not exist.", t.bus)
	}
	return t, nil
}

// ListTags returns the tags of the bus or rule named by arn.
func (s *Service) ListTags(ctx context.Context, sc Scope, arn string) ([]Tag, error) {
	t, err := parseResourceARN(sc, arn)
	if err != nil {
		return nil, err
	}
	if t.rule != "" {
		r, _, _, err := s.rule(ctx, sc, t.bus, t.rule)
		if err != nil {
			return nil, err
		}
		return r.Tags, nil
	}
	b, err := s.bus(ctx, sc, t.bus)
	if err != nil {
		return nil, err
	}
	return b.Tags, nil
}

// UpdateTags applies fn to the tags of the bus or rule named by arn.
func (s *Service) UpdateTags(ctx context.Context, sc Scope, arn string, fn func([]Tag) []Tag) error {
	t, err := parseResourceARN(sc, arn)
	if err != nil {
		return err
	}
	return retry(ctx, func() error {
		if t.rule != "" {
			r, rev, _, err := s.rule(ctx, sc, t.bus, t.rule)
			if err != nil {
				return err
			}
			nr := *r
			if nr.Tags = fn(r.Tags); len(nr.Tags) > s.limits.TagsPerResource {
				return awserr.New(awserr.CodeLimitExceeded, "The requested resource exceeds the maximum number allowed.")
			}
			return s.write(ctx, ruleKeyName(sc, t.bus, t.rule), &nr, rev)
		}
		b, err := s.bus(ctx, sc, t.bus)
		if err != nil {
			return err
		}
		_, rev := s.view.Bus(sc, t.bus)
		nb := *b
		if nb.Tags = fn(b.Tags); len(nb.Tags) > s.limits.TagsPerResource {
			return awserr.New(awserr.CodeLimitExceeded, "The requested resource exceeds the maximum number allowed.")
		}
		return s.write(ctx, busKeyName(sc, t.bus), &nb, rev)
	})
}

// TagResource adds or replaces tags.
func (s *Service) TagResource(ctx context.Context, sc Scope, arn string, tags []Tag) error {
	return s.UpdateTags(ctx, sc, arn, func(old []Tag) []Tag { return mergeTags(old, tags) })
}

// UntagResource removes tags by key.
func (s *Service) UntagResource(ctx context.Context, sc Scope, arn string, keys []string) error {
	return s.UpdateTags(ctx, sc, arn, func(old []Tag) []Tag {
		var out []Tag
		for _, t := range old {
			keep := true
			for _, k := range keys {
				keep = keep && t.Key != k
			}
			if keep {
				out = append(out, t)
			}
		}
		return out
	})
}
