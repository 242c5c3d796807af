package control

import (
	"encoding/json"

	"github.com/nats-io/nats.go/jetstream"
)

// nameKey identifies a scope's resource by name.
type nameKey struct {
	Scope
	Name string
}

// record is a record of the view (a connection, API destination, archive
// or replay) with its bucket revision.
type record[T any] struct {
	val *T
	rev uint64
}

type (
	connEntry    = record[Connection]
	destEntry    = record[ApiDestination]
	archiveEntry = record[Archive]
	replayEntry  = record[Replay]
)

// get returns the record's value and revision; nil and 0 for no record.
func (r *record[T]) get() (*T, uint64) {
	if r == nil {
		return nil, 0
	}
	return r.val, r.rev
}

// applyRecord stores the record e of kind what (as logged) in *m under k,
// or deletes it; v.mu is held.
func applyRecord[T any](v *View, m *map[nameKey]*record[T], what string, k nameKey, e jetstream.KeyValueEntry, deleted bool) {
	if deleted {
		delete(*m, k)
		return
	}
	var val T
	if err := json.Unmarshal(e.Value(), &val); err != nil {
		v.log.Error("control: undecodable "+what+" record", "key", e.Key(), "err", err)
		return
	}
	if *m == nil {
		*m = make(map[nameKey]*record[T])
	}
	(*m)[k] = &record[T]{&val, e.Revision()}
}

// collect returns the values of the records of m whose key ok accepts;
// v.mu is held.
func collect[T any](m map[nameKey]*record[T], ok func(nameKey) bool) []*T {
	var out []*T
	for k, r := range m {
		if ok(k) {
			out = append(out, r.val)
		}
	}
	return out
}
