package control

import (
	"sort"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/store"
)

// idKey identifies an endpoint by its EndpointId within an account: PutEvents
// names an endpoint by id alone, in a request whose region the endpoint
// decides.
type idKey struct{ account, id string }

// applyEndpoint applies an endpoint record; v.mu is held.
func (v *View) applyEndpoint(parts []string, e jetstream.KeyValueEntry, deleted bool) {
	k := nameKey{Scope{parts[1], parts[2]}, store.Untoken(parts[3])}
	if old := v.endpoints[k]; old != nil {
		delete(v.endpointIDs, idKey{k.Account, old.val.ID})
	}
	applyRecord(v, &v.endpoints, "endpoint", k, e, deleted)
	if r := v.endpoints[k]; r != nil {
		if v.endpointIDs == nil {
			v.endpointIDs = make(map[idKey]nameKey)
		}
		v.endpointIDs[idKey{k.Account, r.val.ID}] = k
	}
}

// applyHealth applies a health record (health.<id>); v.mu is held.
func (v *View) applyHealth(parts []string, e jetstream.KeyValueEntry, deleted bool) {
	applyRecord(v, &v.health, "health", nameKey{Name: store.Untoken(parts[1])}, e, deleted)
}

// Endpoint returns the named endpoint of scope s (its primary region), or
// nil.
func (v *View) Endpoint(s Scope, name string) (*Endpoint, uint64) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.endpoints[nameKey{s, name}].get()
}

// EndpointByID returns the endpoint of account whose EndpointId is id, in
// whichever region it was created, or nil.
func (v *View) EndpointByID(account, id string) (*Endpoint, uint64) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	k, ok := v.endpointIDs[idKey{account, id}]
	if !ok {
		return nil, 0
	}
	return v.endpoints[k].get()
}

// Endpoints returns the endpoints of scope s sorted by name; a zero scope
// returns those of every scope.
func (v *View) Endpoints(s Scope) []*Endpoint {
	v.mu.RLock()
	out := collect(v.endpoints, func(k nameKey) bool { return s == (Scope{}) || k.Scope == s })
	v.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Account+out[i].Region < out[j].Account+out[j].Region
	})
	return out
}

// Health returns the health record of a Route 53 health check, or nil.
func (v *View) Health(id string) (*HealthStatus, uint64) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.health[nameKey{Name: id}].get()
}

// HealthRecords returns every health record.
func (v *View) HealthRecords() []*HealthStatus {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return collect(v.health, func(nameKey) bool { return true })
}
