package schemas

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"

	"github.com/switchyard/switchyard/internal/restapi"
	"github.com/switchyard/switchyard/internal/store"
)

// Resource policies: one per registry (RegistryName), stored with a
// RevisionId that PutResourcePolicy may name to update only the revision
// it read; another is a PreconditionFailedException.

func (s *Service) policyTarget(ctx context.Context, r *restapi.Request) (string, error) {
	name := r.Query("registryName")
	if name == "" {
		return "", badRequest("RegistryName is required.")
	}
	if _, _, err := s.mustRegistry(ctx, r.Scope, name); err != nil {
		return "", err
	}
	return name, nil
}

func (s *Service) putResourcePolicy(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	var in struct {
		Policy     json.RawMessage
		RevisionId *string
	}
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	if len(in.Policy) == 0 || string(in.Policy) == "null" {
		return nil, badRequest("Policy is required.")
	}
	// Policy is a string holding a policy document (its shape is __string
	// with the jsonvalue trait): the SDKs send the JSON text as a string
	// member, and read it back as one.
	var doc string
	if json.Unmarshal(in.Policy, &doc) != nil {
		doc = string(in.Policy)
	}
	var probe struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(doc), &probe); err != nil || len(probe.Statement) == 0 {
		return nil, badRequest("Policy is not a valid policy document: it must be a JSON object with a Statement.")
	}
	name, err := s.policyTarget(ctx, r)
	if err != nil {
		return nil, err
	}
	k := key(kindPolicy, r.Scope, name)
	for {
		var cur Policy
		rev, err := s.db.get(ctx, k, &cur)
		if err != nil {
			return nil, err
		}
		if in.RevisionId != nil && *in.RevisionId != "" && (rev == 0 || cur.RevisionID != *in.RevisionId) {
			return nil, preconditionFailed("The RevisionId '%s' does not match the policy's current revision.", *in.RevisionId)
		}
		p := Policy{Policy: json.RawMessage(doc), RevisionID: uuid.NewString()}
		if _, err := s.db.swap(ctx, k, &p, rev); err != nil {
			if store.IsConflict(err) {
				if in.RevisionId != nil && *in.RevisionId != "" {
					return nil, preconditionFailed("The RevisionId '%s' does not match the policy's current revision.", *in.RevisionId)
				}
				continue
			}
			return nil, err
		}
		return restapi.OK(map[string]any{"Policy": doc, "RevisionId": p.RevisionID})
	}
}

func (s *Service) getResourcePolicy(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	name, err := s.policyTarget(ctx, r)
	if err != nil {
		return nil, err
	}
	var p Policy
	rev, err := s.db.get(ctx, key(kindPolicy, r.Scope, name), &p)
	if err != nil {
		return nil, err
	}
	if rev == 0 {
		return nil, notFound("Resource policy for registry '%s' does not exist.", name)
	}
	return restapi.OK(map[string]any{"Policy": string(p.Policy), "RevisionId": p.RevisionID})
}

func (s *Service) deleteResourcePolicy(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	name, err := s.policyTarget(ctx, r)
	if err != nil {
		return nil, err
	}
	k := key(kindPolicy, r.Scope, name)
	var p Policy
	rev, err := s.db.get(ctx, k, &p)
	if err != nil {
		return nil, err
	}
	if rev == 0 {
		return nil, notFound("Resource policy for registry '%s' does not exist.", name)
	}
	if err := s.db.delete(ctx, k); err != nil {
		return nil, err
	}
	return noContent()
}
