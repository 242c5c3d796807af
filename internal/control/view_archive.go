package control

import (
	"sort"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/store"
)

// Key prefixes of archives and replays in the control bucket:
// archive.<account>.<region>.<name> and replay.<account>.<region>.<name>.
const (
	archivePrefix = "archive"
	replayPrefix  = "replay"
)

// applyArchive applies an archive or replay record; v.mu is held.
func (v *View) applyArchive(parts []string, e jetstream.KeyValueEntry, deleted bool) {
	k := nameKey{Scope{parts[1], parts[2]}, store.Untoken(parts[3])}
	switch parts[0] {
	case archivePrefix:
		applyRecord(v, &v.archives, "archive", k, e, deleted)
	case replayPrefix:
		applyRecord(v, &v.replays, "replay", k, e, deleted)
	}
}

// Archive returns the named archive of scope s, or nil.
func (v *View) Archive(s Scope, name string) (*Archive, uint64) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.archives[nameKey{s, name}].get()
}

// Archives returns the archives of scope s sorted by name; a zero scope
// returns those of every scope.
func (v *View) Archives(s Scope) []*Archive {
	v.mu.RLock()
	out := collect(v.archives, func(k nameKey) bool { return s == (Scope{}) || k.Scope == s })
	v.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Replay returns the named replay of scope s, or nil.
func (v *View) Replay(s Scope, name string) (*Replay, uint64) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.replays[nameKey{s, name}].get()
}

// Replays returns the replays of scope s sorted by name; a zero scope
// returns those of every scope.
func (v *View) Replays(s Scope) []*Replay {
	v.mu.RLock()
	out := collect(v.replays, func(k nameKey) bool { return s == (Scope{}) || k.Scope == s })
	v.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
