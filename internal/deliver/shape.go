package deliver

import (
	"maps"
	"sync"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/transform"
)

// Compiling a target's shaping parses its paths and template; a busy rule
// would do that for every event, so compiled shapers are kept per rule and
// target. A task carries the target as it was when the event matched, so
// an entry is reused only while the target's shaping is unchanged.
var shapers = shaperCache{m: map[shaperKey]*shaperEntry{}}

// maxShapers bounds the cache; past it the cache starts over, which costs
// a recompile per target and nothing else.
const maxShapers = 10000

type shaperKey struct{ rule, target string }

type shaperEntry struct {
	spec   transform.Spec
	shaper *transform.Shaper
}

type shaperCache struct {
	mu sync.RWMutex
	m  map[shaperKey]*shaperEntry
}

func (c *shaperCache) get(rule string, t *control.Target) (*transform.Shaper, error) {
	spec := t.Shaping()
	k := shaperKey{rule, t.Id}
	c.mu.RLock()
	e := c.m[k]
	c.mu.RUnlock()
	if e != nil && sameShaping(e.spec, spec) {
		return e.shaper, nil
	}
	s, err := transform.Compile(spec)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= maxShapers {
		clear(c.m)
	}
	c.m[k] = &shaperEntry{spec: spec, shaper: s}
	c.mu.Unlock()
	return s, nil
}

func sameShaping(a, b transform.Spec) bool {
	eq := func(x, y *string) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	if !eq(a.Input, b.Input) || !eq(a.InputPath, b.InputPath) || (a.Transformer == nil) != (b.Transformer == nil) {
		return false
	}
	return a.Transformer == nil ||
		a.Transformer.Template == b.Transformer.Template && maps.Equal(a.Transformer.PathsMap, b.Transformer.PathsMap)
}

// shapeInput sets inv.Input to what the target receives: the event, or its
// Input, InputPath or InputTransformer applied to the event. A target whose
// shaping cannot be applied never will be, so the failure is permanent.
func shapeInput(inv *Invocation) error {
	s, err := shapers.get(inv.RuleArn, inv.Target)
	if err != nil {
		return Permanent("InvalidTargetInput", err)
	}
	in, err := s.Apply(inv.Event, transform.Meta{RuleArn: inv.RuleArn, RuleName: inv.RuleName, IngestionTime: inv.Ingested})
	if err != nil {
		return Permanent("InvalidTargetInput", err)
	}
	inv.Input = in
	return nil
}
