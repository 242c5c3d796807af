package schemas

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/restapi"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/schemainfer"
)

// Discoverer states (DiscovererState).
const (
	StateStarted = "STARTED"
	StateStopped = "STOPPED"
)

// discovererID is the id AWS gives the discoverer of a bus:
// "events-event-bus-<bus name>". A bus has at most one discoverer.
func discovererID(bus string) string { return "events-event-bus-" + bus }

type discovererOut struct {
	Description   string `json:",omitempty"`
	DiscovererArn string
	DiscovererId  string
	SourceArn     string
	State         string
	CrossAccount  bool
	Tags          map[string]string `json:"tags"`
}

func (d *Discoverer) out(sc control.Scope) discovererOut {
	return discovererOut{d.Description, discovererARN(sc, d.ID), d.ID, d.SourceArn, d.State, d.CrossAccount, tagsOut(d.Tags)}
}

func (s *Service) createDiscoverer(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	var in struct {
		Description  *string
		SourceArn    *string
		CrossAccount *bool
		Tags         map[string]string
	}
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	if in.SourceArn == nil {
		return nil, badRequest("SourceArn is required.")
	}
	arn := *in.SourceArn
	if n := len(arn); n < 20 || n > 1600 {
		return nil, badRequest("SourceArn must be 20 to 1600 characters long.")
	}
	if err := checkDescription(in.Description); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	owner, bus, ok := control.ParseBusARN(arn)
	if !ok {
		return nil, badRequest("SourceArn '%s' is not the ARN of an event bus.", arn)
	}
	if owner != r.Scope {
		return nil, badRequest("SourceArn '%s' must be an event bus of account %s in region %s.", arn, r.Scope.Account, r.Scope.Region)
	}
	if s.cfg.View != nil {
		if b, _ := s.cfg.View.Bus(owner, bus); b == nil && bus != control.DefaultBus {
			return nil, badRequest("Event bus %s does not exist.", bus)
		}
	}
	d := Discoverer{ID: discovererID(bus), SourceArn: arn, State: StateStarted, CrossAccount: true, Tags: in.Tags}
	if in.CrossAccount != nil {
		d.CrossAccount = *in.CrossAccount
	}
	if in.Description != nil {
		d.Description = *in.Description
	}
	if _, err := s.db.swap(ctx, key(kindDiscoverer, r.Scope, d.ID), &d, 0); err != nil {
		if store.IsConflict(err) {
			return nil, conflict("Discoverer for event bus %s already exists: %s.", bus, d.ID)
		}
		return nil, err
	}
	return created(d.out(r.Scope))
}

func (s *Service) discoverer(ctx context.Context, sc control.Scope, id string) (*Discoverer, uint64, error) {
	var d Discoverer
	rev, err := s.db.get(ctx, key(kindDiscoverer, sc, id), &d)
	if err != nil {
		return nil, 0, err
	}
	if rev == 0 {
		return nil, 0, notFound("Discoverer with id '%s' does not exist.", id)
	}
	return &d, rev, nil
}

func (s *Service) describeDiscoverer(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	d, _, err := s.discoverer(ctx, r.Scope, r.Path("discovererId"))
	if err != nil {
		return nil, err
	}
	return restapi.OK(d.out(r.Scope))
}

// changeDiscoverer applies change to a discoverer, retrying lost races.
func (s *Service) changeDiscoverer(ctx context.Context, sc control.Scope, id string, change func(*Discoverer)) (*Discoverer, error) {
	for {
		d, rev, err := s.discoverer(ctx, sc, id)
		if err != nil {
			return nil, err
		}
		change(d)
		if _, err := s.db.swap(ctx, key(kindDiscoverer, sc, id), d, rev); err != nil {
			if store.IsConflict(err) {
				continue
			}
			return nil, err
		}
		return d, nil
	}
}

func (s *Service) updateDiscoverer(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	var in struct {
		Description  *string
		CrossAccount *bool
	}
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	if err := checkDescription(in.Description); err != nil {
		return nil, err
	}
	d, err := s.changeDiscoverer(ctx, r.Scope, r.Path("discovererId"), func(d *Discoverer) {
		if in.Description != nil {
			d.Description = *in.Description
		}
		if in.CrossAccount != nil {
			d.CrossAccount = *in.CrossAccount
		}
	})
	if err != nil {
		return nil, err
	}
	return restapi.OK(d.out(r.Scope))
}

func (s *Service) deleteDiscoverer(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	id := r.Path("discovererId")
	if _, _, err := s.discoverer(ctx, r.Scope, id); err != nil {
		return nil, err
	}
	if err := s.db.delete(ctx, key(kindDiscoverer, r.Scope, id)); err != nil {
		return nil, err
	}
	return noContent()
}

func (s *Service) setState(ctx context.Context, r *restapi.Request, state string) (*restapi.Response, error) {
	d, err := s.changeDiscoverer(ctx, r.Scope, r.Path("discovererId"), func(d *Discoverer) { d.State = state })
	if err != nil {
		return nil, err
	}
	return restapi.OK(map[string]string{"DiscovererId": d.ID, "State": d.State})
}

func (s *Service) startDiscoverer(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	return s.setState(ctx, r, StateStarted)
}

func (s *Service) stopDiscoverer(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	return s.setState(ctx, r, StateStopped)
}

func (s *Service) listDiscoverers(ctx context.Context, r *restapi.Request) (*restapi.Response, error) {
	idPrefix, arnPrefix := r.Query("discovererIdPrefix"), r.Query("sourceArnPrefix")
	p, err := pageOf(r, "discoverers")
	if err != nil {
		return nil, err
	}
	entries, err := s.db.list(ctx, key(kindDiscoverer, r.Scope)+".*")
	if err != nil {
		return nil, err
	}
	var ids []string
	byID := map[string]*Discoverer{}
	for _, e := range entries {
		var d Discoverer
		if json.Unmarshal(e.Value, &d) != nil {
			continue
		}
		if strings.HasPrefix(d.ID, idPrefix) && strings.HasPrefix(d.SourceArn, arnPrefix) {
			byID[d.ID] = &d
		}
	}
	ids = sortedKeys(byID)
	from, to, next := p.take(ids)
	type summary struct {
		DiscovererArn string
		DiscovererId  string
		SourceArn     string
		State         string
		CrossAccount  bool
		Tags          map[string]string `json:"tags"`
	}
	out := struct {
		Discoverers []summary
		NextToken   string `json:",omitempty"`
	}{Discoverers: []summary{}, NextToken: next}
	for _, id := range ids[from:to] {
		d := byID[id]
		out.Discoverers = append(out.Discoverers, summary{discovererARN(r.Scope, id), id, d.SourceArn, d.State, d.CrossAccount, tagsOut(d.Tags)})
	}
	return restapi.OK(out)
}

// getDiscoveredSchema infers the schema of up to ten events, merged into
// one, without storing anything.
func (s *Service) getDiscoveredSchema(_ context.Context, r *restapi.Request) (*restapi.Response, error) {
	var in struct {
		Events []string
		Type   *string
	}
	if err := r.Decode(&in); err != nil {
		return nil, err
	}
	switch {
	case in.Type == nil:
		return nil, badRequest("Type is required.")
	case len(in.Events) < 1 || len(in.Events) > 10:
		return nil, badRequest("Events must have 1 to 10 items.")
	}
	if err := checkType(*in.Type); err != nil {
		return nil, err
	}
	var merged *schemainfer.Schema
	for i, e := range in.Events {
		if e == "" || len(e) > maxContent {
			return nil, badRequest("Events[%d] must be 1 to %d characters long.", i, maxContent)
		}
		x, err := schemainfer.FromEvent([]byte(e))
		if err != nil {
			return nil, badRequest("Events[%d] is not a valid event: %v", i, err)
		}
		if merged == nil {
			merged = x
		} else {
			merged.Merge(x)
		}
	}
	content := merged.OpenAPI()
	if *in.Type == TypeDraft4 {
		c, err := schemainfer.ToJSONSchemaDraft4(content)
		if err != nil {
			return nil, err
		}
		content = c
	}
	return restapi.OK(map[string]string{"Content": string(content)})
}
