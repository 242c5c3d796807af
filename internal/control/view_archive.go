package control

import (
	"encoding/json"
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

type archiveEntry struct {
	archive *Archive
	rev     uint64
}

type replayEntry struct {
	replay *Replay
	rev    uint64
}

// applyArchive applies an archive or replay record; v.mu is held.
func (v *View) applyArchive(parts []string, e jetstream.KeyValueEntry, deleted bool) {
	k := nameKey{Scope{parts[1], parts[2]}, store.Untoken(parts[3])}
	if v.archives == nil {
		v.archives, v.replays = make(map[nameKey]*archiveEntry), make(map[nameKey]*replayEntry)
	}
	switch parts[0] {
	case archivePrefix:
		if deleted {
			delete(v.archives, k)
			return
		}
		var a Archive
		if err := json.Unmarshal(e.Value(), &a); err != nil {
			v.log.Error("control: undecodable archive record", "key", e.Key(), "err", err)
			return
		}
		v.archives[k] = &archiveEntry{&a, e.Revision()}
	case replayPrefix:
		if deleted {
			delete(v.replays, k)
			return
		}
		var r Replay
		if err := json.Unmarshal(e.Value(), &r); err != nil {
			v.log.Error("control: undecodable replay record", "key", e.Key(), "err", err)
			return
		}
		v.replays[k] = &replayEntry{&r, e.Revision()}
	}
}

// Archive returns the named archive of scope s, or nil.
func (v *View) Archive(s Scope, name string) (*Archive, uint64) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if e := v.archives[nameKey{s, name}]; e != nil {
		return e.archive, e.rev
	}
	return nil, 0
}

// Archives returns the archives of scope s sorted by name; a zero scope
// returns those of every scope.
func (v *View) Archives(s Scope) []*Archive {
	v.mu.RLock()
	var out []*Archive
	for k, e := range v.archives {
		if s == (Scope{}) || k.Scope == s {
			out = append(out, e.archive)
		}
	}
	v.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Replay returns the named replay of scope s, or nil.
func (v *View) Replay(s Scope, name string) (*Replay, uint64) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if e := v.replays[nameKey{s, name}]; e != nil {
		return e.replay, e.rev
	}
	return nil, 0
}

// Replays returns the replays of scope s sorted by name; a zero scope
// returns those of every scope.
func (v *View) Replays(s Scope) []*Replay {
	v.mu.RLock()
	var out []*Replay
	for k, e := range v.replays {
		if s == (Scope{}) || k.Scope == s {
			out = append(out, e.replay)
		}
	}
	v.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
