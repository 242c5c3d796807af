package schemas

import (
	"context"
	"strings"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/restapi"
	"github.com/switchyard/switchyard/internal/store"
)

// taggable is the record an ARN names, read and written with its tags.
type taggable struct {
	key  string
	rec  any
	tags *map[string]string
}

// byARN finds what arn names in the caller's scope: a registry
// ("registry/<name>"), a schema ("schema/<registry>/<name>") or a
// discoverer ("discoverer/<id>"). It returns the record's revision, 0 if it
// does not exist.
func (s *Service) byARN(ctx context.Context, sc control.Scope, arn string) (*taggable, uint64, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "schemas" {
		return nil, 0, badRequest("Invalid ResourceArn '%s'.", arn)
	}
	if parts[3] != sc.Region || parts[4] != sc.Account {
		return nil, 0, notFound("Resource '%s' does not exist.", arn)
	}
	kind, rest, _ := strings.Cut(parts[5], "/")
	var t taggable
	switch kind {
	case "registry":
		if isBuiltin(rest) {
			return nil, 0, forbidden("Registry '%s' is managed by the service and cannot be tagged.", rest)
		}
		r := &Registry{}
		t = taggable{key(kindRegistry, sc, rest), r, &r.Tags}
	case "schema":
		reg, name, ok := strings.Cut(rest, "/")
		if !ok {
			return nil, 0, badRequest("Invalid ResourceArn '%s'.", arn)
		}
		if reg == AWSEventsRegistry {
			return nil, 0, forbidden("The schemas of registry '%s' cannot be tagged.", reg)
		}
		r := &Schema{}
		t = taggable{key(kindSchema, sc, reg, name), r, &r.Tags}
	case "discoverer":
		r := &Discoverer{}
		t = taggable{key(kindDiscoverer, sc, rest), r, &r.Tags}
	default:
		return nil, 0, badRequest("Invalid ResourceArn '%s'.", arn)
	}
	rev, err := s.db.get(ctx, t.key, t.rec)
	if err != nil {
		return nil, 0, err
	}
	if rev == 0 {
		return nil, 0, notFound("Resource '%s' does not exist.", arn)
	}
	return &t, rev, nil
}

// retag changes the tags of what arn names, retrying lost races.
func (s *Service) retag(ctx context.Context, sc control.Scope, arn string, change func(map[string]string) error) error {
	for {
		t, rev, err := s.byARN(ctx, sc, arn)
		if err != nil {
			return err
		}
		if *t.tags == nil {
			*t.tags = map[string]string{}
		}
		if err := change(*t.tags); err != nil {
			return err
		}
		if _, err := s.db.swap(ctx, t.key, t.rec, rev); err != nil {
			if store.IsConflict(err) {
				continue
			}
			return err
		}
		return nil
	}
}

func (s *Service) tagResource(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	var in struct{ Tags map[string]string }
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	if in.Tags == nil {
		return nil, badRequest("Tags is required.")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	err := s.retag(ctx, r.Scope, r.Path("resourceArn"), func(tags map[string]string) error {
		for k, v := range in.Tags {
			tags[k] = v
		}
		return checkTags(tags)
	})
	if err != nil {
		return nil, err
	}
	return noContent()
}

func (s *Service) untagResource(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	keys := r.QueryList("tagKeys")
	if len(keys) == 0 {
		return nil, badRequest("TagKeys is required.")
	}
	err := s.retag(ctx, r.Scope, r.Path("resourceArn"), func(tags map[string]string) error {
		for _, k := range keys {
			delete(tags, k)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return noContent()
}

func (s *Service) listTagsForResource(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	t, _, err := s.byARN(ctx, r.Scope, r.Path("resourceArn"))
	if err != nil {
		return nil, err
	}
	return restapi.OK(map[string]any{"tags": tagsOut(*t.tags)})
}
