package control

import (
	"sort"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/store"
)

// Key prefixes of connections and API destinations in the control bucket:
// conn.<account>.<region>.<name> and apidest.<account>.<region>.<name>.
const (
	connPrefix = "conn"
	destPrefix = "apidest"
)

// applyAPIDest applies a connection or API destination record; v.mu is
// held.
func (v *View) applyAPIDest(parts []string, e jetstream.KeyValueEntry, deleted bool) {
	k := nameKey{Scope{parts[1], parts[2]}, store.Untoken(parts[3])}
	switch parts[0] {
	case connPrefix:
		applyRecord(v, &v.conns, "connection", k, e, deleted)
	case destPrefix:
		applyRecord(v, &v.dests, "api destination", k, e, deleted)
	}
}

// Connection returns the named connection of scope s, or nil.
func (v *View) Connection(s Scope, name string) (*Connection, uint64) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.conns[nameKey{s, name}].get()
}

// Connections returns the connections of scope s sorted by name.
func (v *View) Connections(s Scope) []*Connection {
	v.mu.RLock()
	out := collect(v.conns, func(k nameKey) bool { return k.Scope == s })
	v.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// AllConnections returns the connections of every scope.
func (v *View) AllConnections() []*Connection {
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make([]*Connection, 0, len(v.conns))
	for _, ce := range v.conns {
		out = append(out, ce.val)
	}
	return out
}

// ApiDestination returns the named API destination of scope s, or nil.
func (v *View) ApiDestination(s Scope, name string) (*ApiDestination, uint64) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.dests[nameKey{s, name}].get()
}

// ApiDestinations returns the API destinations of scope s sorted by name.
func (v *View) ApiDestinations(s Scope) []*ApiDestination {
	v.mu.RLock()
	out := collect(v.dests, func(k nameKey) bool { return k.Scope == s })
	v.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
