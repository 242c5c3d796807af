package control

import (
	"encoding/json"
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

// nameKey identifies a scope's resource by name.
type nameKey struct {
	Scope
	Name string
}

type connEntry struct {
	conn *Connection
	rev  uint64
}

type destEntry struct {
	dest *ApiDestination
	rev  uint64
}

// applyAPIDest applies a connection or API destination record; v.mu is
// held.
func (v *View) applyAPIDest(parts []string, e jetstream.KeyValueEntry, deleted bool) {
	k := nameKey{Scope{parts[1], parts[2]}, store.Untoken(parts[3])}
	if v.conns == nil {
		v.conns, v.dests = make(map[nameKey]*connEntry), make(map[nameKey]*destEntry)
	}
	switch parts[0] {
	case connPrefix:
		if deleted {
			delete(v.conns, k)
			return
		}
		var c Connection
		if err := json.Unmarshal(e.Value(), &c); err != nil {
			v.log.Error("control: undecodable connection record", "key", e.Key(), "err", err)
			return
		}
		v.conns[k] = &connEntry{&c, e.Revision()}
	case destPrefix:
		if deleted {
			delete(v.dests, k)
			return
		}
		var d ApiDestination
		if err := json.Unmarshal(e.Value(), &d); err != nil {
			v.log.Error("control: undecodable api destination record", "key", e.Key(), "err", err)
			return
		}
		v.dests[k] = &destEntry{&d, e.Revision()}
	}
}

// Connection returns the named connection of scope s, or nil.
func (v *View) Connection(s Scope, name string) (*Connection, uint64) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if ce := v.conns[nameKey{s, name}]; ce != nil {
		return ce.conn, ce.rev
	}
	return nil, 0
}

// Connections returns the connections of scope s sorted by name.
func (v *View) Connections(s Scope) []*Connection {
	v.mu.RLock()
	var out []*Connection
	for k, ce := range v.conns {
		if k.Scope == s {
			out = append(out, ce.conn)
		}
	}
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
		out = append(out, ce.conn)
	}
	return out
}

// ApiDestination returns the named API destination of scope s, or nil.
func (v *View) ApiDestination(s Scope, name string) (*ApiDestination, uint64) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if de := v.dests[nameKey{s, name}]; de != nil {
		return de.dest, de.rev
	}
	return nil, 0
}

// ApiDestinations returns the API destinations of scope s sorted by name.
func (v *View) ApiDestinations(s Scope) []*ApiDestination {
	v.mu.RLock()
	var out []*ApiDestination
	for k, de := range v.dests {
		if k.Scope == s {
			out = append(out, de.dest)
		}
	}
	v.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
