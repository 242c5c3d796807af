package schemas

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/restapi"
	"github.com/switchyard/switchyard/internal/store"
)

// Built-in registries. aws.events (scope AWS) holds the schemas of the
// events AWS services (here: Switchyard itself) emit; discovered-schemas
// holds what discoverers find ("Schema registries in Amazon
// EventBridge", EventBridge User Guide). Neither can be deleted.
const (
	AWSEventsRegistry  = "aws.events"
	DiscoveredRegistry = "discovered-schemas"
)

// Registry scopes, as ListRegistries' Scope filter names them.
const (
	scopeLocal = "LOCAL"
	scopeAWS   = "AWS"
)

type registryOut struct {
	Description  string `json:",omitempty"`
	RegistryArn  string
	RegistryName string
	Tags         map[string]string `json:"tags"`
}

// registry returns a registry, the built-ins included; nil if there is no
// such registry.
func (s *Service) registry(ctx context.Context, sc control.Scope, name string) (*Registry, uint64, error) {
	var r Registry
	rev, err := s.db.get(ctx, key(kindRegistry, sc, name), &r)
	if err != nil || rev != 0 {
		return &r, rev, err
	}
	switch name {
	case AWSEventsRegistry:
		return &Registry{Name: name, Description: "Schemas of the events Switchyard emits, as AWS services emit them"}, 0, nil
	case DiscoveredRegistry:
		return &Registry{Name: name, Description: "Schemas discovered from the events of event buses with a discoverer"}, 0, nil
	}
	return nil, 0, nil
}

func (s *Service) mustRegistry(ctx context.Context, sc control.Scope, name string) (*Registry, uint64, error) {
	r, rev, err := s.registry(ctx, sc, name)
	if err != nil {
		return nil, 0, err
	}
	if r == nil {
		return nil, 0, notFound("Registry with name '%s' does not exist.", name)
	}
	return r, rev, nil
}

func isBuiltin(name string) bool { return name == AWSEventsRegistry || name == DiscoveredRegistry }

func (s *Service) createRegistry(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	name := r.Path("registryName")
	var in struct {
		Description *string
		Tags        map[string]string
	}
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	if err := checkRegistryName(name); err != nil {
		return nil, err
	}
	if err := checkDescription(in.Description); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if strings.HasPrefix(name, "aws.") || isBuiltin(name) {
		return nil, forbidden("Registry names starting with 'aws.' and '%s' are reserved.", DiscoveredRegistry)
	}
	reg := Registry{Name: name, Tags: in.Tags, Created: s.now()}
	if in.Description != nil {
		reg.Description = *in.Description
	}
	if _, err := s.db.swap(ctx, key(kindRegistry, r.Scope, name), &reg, 0); err != nil {
		if store.IsConflict(err) {
			return nil, conflict("Registry with name '%s' already exists.", name)
		}
		return nil, err
	}
	return created(registryOut{reg.Description, registryARN(r.Scope, name), name, tagsOut(reg.Tags)})
}

func (s *Service) describeRegistry(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	reg, _, err := s.mustRegistry(ctx, r.Scope, r.Path("registryName"))
	if err != nil {
		return nil, err
	}
	return restapi.OK(registryOut{reg.Description, registryARN(r.Scope, reg.Name), reg.Name, tagsOut(reg.Tags)})
}

func (s *Service) updateRegistry(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	name := r.Path("registryName")
	var in struct{ Description *string }
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	if err := checkDescription(in.Description); err != nil {
		return nil, err
	}
	if isBuiltin(name) {
		return nil, forbidden("Registry '%s' is managed by the service and cannot be updated.", name)
	}
	for {
		reg, rev, err := s.mustRegistry(ctx, r.Scope, name)
		if err != nil {
			return nil, err
		}
		if in.Description != nil {
			reg.Description = *in.Description
		}
		if _, err := s.db.swap(ctx, key(kindRegistry, r.Scope, name), reg, rev); err != nil {
			if store.IsConflict(err) {
				continue
			}
			return nil, err
		}
		return restapi.OK(registryOut{reg.Description, registryARN(r.Scope, name), name, tagsOut(reg.Tags)})
	}
}

// deleteRegistry deletes a registry with its schemas, their versions and
// code bindings, and its policy.
func (s *Service) deleteRegistry(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	name := r.Path("registryName")
	if isBuiltin(name) {
		return nil, forbidden("Registry '%s' is managed by the service and cannot be deleted.", name)
	}
	if _, _, err := s.mustRegistry(ctx, r.Scope, name); err != nil {
		return nil, err
	}
	if err := s.db.delete(ctx, key(kindRegistry, r.Scope, name)); err != nil {
		return nil, err
	}
	for _, kind := range []string{kindSchema, kindVersion, kindBinding} {
		ks, err := s.db.keys(ctx, key(kind, r.Scope, name)+".>")
		if err != nil {
			return nil, err
		}
		for _, k := range ks {
			if err := s.db.delete(ctx, k); err != nil {
				return nil, err
			}
		}
	}
	if err := s.db.delete(ctx, key(kindPolicy, r.Scope, name)); err != nil {
		return nil, err
	}
	return noContent()
}

func (s *Service) listRegistries(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	prefix, scope := r.Query("registryNamePrefix"), r.Query("scope")
	if scope != "" && scope != scopeLocal && scope != scopeAWS {
		return nil, badRequest("Invalid Scope '%s'. Valid values are LOCAL and AWS.", scope)
	}
	p, err := pageOf(r, "registries")
	if err != nil {
		return nil, err
	}
	entries, err := s.db.list(ctx, key(kindRegistry, r.Scope)+".*")
	if err != nil {
		return nil, err
	}
	byName := map[string]*Registry{}
	for _, e := range entries {
		var reg Registry
		if json.Unmarshal(e.Value, &reg) == nil {
			byName[reg.Name] = &reg
		}
	}
	for _, b := range []string{AWSEventsRegistry, DiscoveredRegistry} {
		if byName[b] == nil {
			byName[b], _, _ = s.registry(ctx, r.Scope, b)
		}
	}
	var names []string
	for _, n := range sortedKeys(byName) {
		if !strings.HasPrefix(n, prefix) {
			continue
		}
		switch {
		case scope == scopeAWS && n != AWSEventsRegistry, scope == scopeLocal && n == AWSEventsRegistry:
			continue
		}
		names = append(names, n)
	}
	from, to, next := p.take(names)
	type summary struct {
		RegistryArn  string
		RegistryName string
		Tags         map[string]string `json:"tags"`
	}
	out := struct {
		NextToken  string `json:",omitempty"`
		Registries []summary
	}{NextToken: next, Registries: []summary{}}
	for _, n := range names[from:to] {
		out.Registries = append(out.Registries, summary{registryARN(r.Scope, n), n, tagsOut(byName[n].Tags)})
	}
	return restapi.OK(out)
}
