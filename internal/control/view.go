package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/pattern"
)

// busKey identifies a bus across scopes.
type busKey struct {
	Scope
	Bus string
}

// busState is what the View knows of one bus.
type busState struct {
	bus    *Bus // nil until the bus record is seen
	busRev uint64
	rules  map[string]*ruleEntry
	// matcher holds the event patterns of the bus's enabled rules, by rule
	// name.
	matcher *pattern.Matcher
}

type ruleEntry struct {
	rule *Rule
	rev  uint64
}

// View is this process's materialized copy of the control-plane bucket.
type View struct {
	kv  jetstream.KeyValue
	log *slog.Logger

	mu      sync.RWMutex
	rev     uint64        // last bucket revision applied
	changed chan struct{} // closed and replaced whenever rev advances
	buses   map[busKey]*busState
	conns   map[nameKey]*connEntry
	dests   map[nameKey]*destEntry
	// archives and replays (view_archive.go)
	archives map[nameKey]*archiveEntry
	replays  map[nameKey]*replayEntry
	// global endpoints, by name and by account and id, and the health of
	// the Route 53 health checks they name, by id (view_endpoints.go)
	endpoints   map[nameKey]*record[Endpoint]
	endpointIDs map[idKey]nameKey
	health      map[nameKey]*record[HealthStatus]
	// partner event sources offered to each scope (partners.go)
	psources map[nameKey]*record[PartnerSource]
}

// NewView returns an empty view of kv; Run fills it.
func NewView(kv jetstream.KeyValue, log *slog.Logger) *View {
	return &View{kv: kv, log: log, changed: make(chan struct{}), buses: make(map[busKey]*busState)}
}

// Run watches the bucket, applying every change, until ctx ends. It signals
// ready once the bucket's existing contents are applied.
//
// A watch that ends or cannot be made (the NATS connection is reconnecting,
// the server is short of disk, a cluster is electing a leader) is made
// again, resuming after the last revision applied, with a back-off of up to
// 5 s: an outage of storage is an outage of the control plane's freshness,
// never the end of the process.
func (v *View) Run(ctx context.Context, ready func()) error {
	backoff := 100 * time.Millisecond
	for {
		applied, err := v.watch(ctx, &ready)
		if ctx.Err() != nil {
			return nil
		}
		if applied {
			backoff = 100 * time.Millisecond
		}
		v.log.Warn("control: bucket watch interrupted; watching again", "after_rev", v.Rev(), "retry_in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// watch runs one watch of the bucket from after the last revision applied
// until it ends. It reports whether it applied anything.
func (v *View) watch(ctx context.Context, ready *func()) (applied bool, err error) {
	var opts []jetstream.WatchOpt
	if rev := v.Rev(); rev > 0 {
		opts = append(opts, jetstream.ResumeFromRevision(rev+1))
	}
	w, err := v.kv.WatchAll(ctx, opts...)
	if err != nil {
		return false, fmt.Errorf("watch control bucket: %w", err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return applied, nil
		case e, ok := <-w.Updates():
			if !ok {
				return applied, errors.New("control bucket watch ended")
			}
			if e == nil { // the initial contents have been delivered
				if *ready != nil {
					(*ready)()
					*ready = nil
				}
				continue
			}
			v.apply(e)
			applied = true
		}
	}
}

func (v *View) apply(e jetstream.KeyValueEntry) {
	v.mu.Lock()
	defer func() {
		if e.Revision() > v.rev {
			v.rev = e.Revision()
		}
		close(v.changed)
		v.changed = make(chan struct{})
		v.mu.Unlock()
	}()
	parts := strings.Split(e.Key(), ".")
	deleted := e.Operation() != jetstream.KeyValuePut
	switch {
	case len(parts) == 4 && parts[0] == "bus":
		k := busKey{Scope{parts[1], parts[2]}, store.Untoken(parts[3])}
		if deleted {
			if bs := v.buses[k]; bs != nil {
				bs.bus = nil
				v.gc(k, bs)
			}
			return
		}
		var b Bus
		if err := json.Unmarshal(e.Value(), &b); err != nil {
			v.log.Error("control: undecodable bus record", "key", e.Key(), "err", err)
			return
		}
		bs := v.state(k)
		bs.bus, bs.busRev = &b, e.Revision()
	case len(parts) == 5 && parts[0] == "rule":
		k := busKey{Scope{parts[1], parts[2]}, store.Untoken(parts[3])}
		name := store.Untoken(parts[4])
		bs := v.state(k)
		bs.matcher.Remove(name)
		if deleted {
			delete(bs.rules, name)
			v.gc(k, bs)
			return
		}
		var r Rule
		if err := json.Unmarshal(e.Value(), &r); err != nil {
			v.log.Error("control: undecodable rule record", "key", e.Key(), "err", err)
			return
		}
		bs.rules[name] = &ruleEntry{rule: &r, rev: e.Revision()}
		if r.Enabled() && r.EventPattern != "" {
			// Stored patterns were validated on the way in; a pattern the
			// engine now refuses must not stop the view.
			if p, err := pattern.ParseWithOptions([]byte(r.EventPattern), pattern.Options{MaxLength: maxPatternLength}); err != nil {
				v.log.Error("control: stored pattern no longer parses", "rule", r.ARN(), "err", err)
			} else if err := bs.matcher.Add(name, p); err != nil {
				v.log.Error("control: pattern not added to matcher", "rule", r.ARN(), "err", err)
			}
		}
	case len(parts) == 4 && (parts[0] == connPrefix || parts[0] == destPrefix):
		v.applyAPIDest(parts, e, deleted)
	case len(parts) == 4 && (parts[0] == archivePrefix || parts[0] == replayPrefix):
		v.applyArchive(parts, e, deleted)
	case len(parts) == 4 && parts[0] == endpointPrefix:
		v.applyEndpoint(parts, e, deleted)
	case len(parts) == 2 && parts[0] == healthPrefix:
		v.applyHealth(parts, e, deleted)
	case len(parts) == 4 && parts[0] == partnerSourcePrefix:
		v.applyPartnerSource(parts, e, deleted)
	case parts[0] == clusterPrefix: // settings, not resources (cluster.go)
	default:
		v.log.Warn("control: unknown key in bucket", "key", e.Key())
	}
}

func (v *View) state(k busKey) *busState {
	bs := v.buses[k]
	if bs == nil {
		bs = &busState{rules: make(map[string]*ruleEntry), matcher: pattern.NewMatcher()}
		v.buses[k] = bs
	}
	return bs
}

func (v *View) gc(k busKey, bs *busState) {
	if bs.bus == nil && len(bs.rules) == 0 {
		delete(v.buses, k)
	}
}

// Rev is the last bucket revision this view has applied.
func (v *View) Rev() uint64 {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.rev
}

// WaitRev blocks until the view has applied revision rev, or ctx ends.
func (v *View) WaitRev(ctx context.Context, rev uint64) error {
	for {
		v.mu.RLock()
		cur, ch := v.rev, v.changed
		v.mu.RUnlock()
		if cur >= rev {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Bus returns the named bus of scope s, or nil.
func (v *View) Bus(s Scope, name string) (*Bus, uint64) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if bs := v.buses[busKey{s, name}]; bs != nil && bs.bus != nil {
		return bs.bus, bs.busRev
	}
	return nil, 0
}

// Buses returns the buses of scope s sorted by name.
func (v *View) Buses(s Scope) []*Bus {
	v.mu.RLock()
	var out []*Bus
	for k, bs := range v.buses {
		if k.Scope == s && bs.bus != nil {
			out = append(out, bs.bus)
		}
	}
	v.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Rule returns the named rule of bus, or nil.
func (v *View) Rule(s Scope, bus, name string) (*Rule, uint64) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if bs := v.buses[busKey{s, bus}]; bs != nil {
		if re := bs.rules[name]; re != nil {
			return re.rule, re.rev
		}
	}
	return nil, 0
}

// Rules returns the rules of bus sorted by name.
func (v *View) Rules(s Scope, bus string) []*Rule {
	v.mu.RLock()
	var out []*Rule
	if bs := v.buses[busKey{s, bus}]; bs != nil {
		for _, re := range bs.rules {
			out = append(out, re.rule)
		}
	}
	v.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Match returns the enabled rules of bus whose event pattern matches event
// (an event in AWS's envelope), checking the syntax of the whole event: a
// malformed event is an error.
func (v *View) Match(s Scope, bus string, event []byte) ([]*Rule, error) {
	return v.match(s, bus, event, false)
}

// MatchValid is Match for an event known to be valid JSON, such as the
// envelope ingest.PutEvents builds around a checked Detail: it reads only
// what the bus's patterns need (pattern.Matcher.AppendMatchesValid), about
// twice as fast. On malformed input it may return an error or a result,
// but it does not panic. It may also stop before the second spelling of a
// path an event reaches twice ("a" and "a.b": EventBridge reads a dotted
// key as a path), so the router uses Match for the events ingestion marked
// (ingest.CheckDetailPaths).
func (v *View) MatchValid(s Scope, bus string, event []byte) ([]*Rule, error) {
	return v.match(s, bus, event, true)
}

// namesPool holds the slices the matcher appends rule names to, so that
// matching an event allocates nothing but the result.
var namesPool = sync.Pool{New: func() any { s := make([]string, 0, 16); return &s }}

func (v *View) match(s Scope, bus string, event []byte, valid bool) ([]*Rule, error) {
	v.mu.RLock()
	bs := v.buses[busKey{s, bus}]
	if bs == nil {
		v.mu.RUnlock()
		return nil, nil
	}
	m := bs.matcher
	v.mu.RUnlock()
	np := namesPool.Get().(*[]string)
	defer func() {
		clear(*np)
		*np = (*np)[:0]
		namesPool.Put(np)
	}()
	var names []string
	var err error
	if valid {
		names, err = m.AppendMatchesValid((*np)[:0], event)
	} else {
		names, err = m.AppendMatches((*np)[:0], event)
	}
	*np = names
	if err != nil || len(names) == 0 {
		return nil, err
	}
	sort.Strings(names)
	v.mu.RLock()
	defer v.mu.RUnlock()
	out := make([]*Rule, 0, len(names))
	for _, n := range names {
		if re := bs.rules[n]; re != nil && re.rule.Enabled() {
			out = append(out, re.rule)
		}
	}
	return out, nil
}

// Changed returns a channel that is closed when the view next applies a
// change; a watcher calls it again after each close.
func (v *View) Changed() <-chan struct{} {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.changed
}

// ScheduledRules returns the enabled rules that have a schedule expression,
// in every scope. Rules are never modified in place (a change stores a new
// *Rule), so callers may compare pointers to detect changes.
func (v *View) ScheduledRules() []*Rule {
	v.mu.RLock()
	defer v.mu.RUnlock()
	var out []*Rule
	for _, bs := range v.buses {
		for _, re := range bs.rules {
			if re.rule.ScheduleExpression != "" && re.rule.Enabled() {
				out = append(out, re.rule)
			}
		}
	}
	return out
}
