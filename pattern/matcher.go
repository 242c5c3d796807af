package pattern

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Matcher holds many patterns under ids and tells which of them an event
// matches. Match may run from many goroutines while Add and Remove go on:
// writers build a new snapshot sharing everything they did not touch and
// publish it with one atomic store; a Match sees one snapshot throughout.
type Matcher struct {
	cur atomic.Pointer[snapshot]

	mu       sync.Mutex // serialises writers
	patterns map[string]*cpattern
	stats    Stats
	maxBytes int64 // 0: no limit
	// ruleNums, patNums and pathNums hand out the small numbers that
	// index the per-event bookkeeping of rules, patterns and paths.
	ruleNums, patNums, pathNums numbers
}

// numbers allocates small non-negative integers, reusing freed ones.
type numbers struct {
	next int32
	free []int32
}

func (n *numbers) get() int32 {
	if k := len(n.free); k > 0 {
		v := n.free[k-1]
		n.free = n.free[:k-1]
		return v
	}
	n.next++
	return n.next - 1
}

func (n *numbers) put(v int32) { n.free = append(n.free, v) }

// Stats describes the size of a Matcher.
type Stats struct {
	Patterns int // patterns held
	Rules    int // rules (alternatives after $or expansion)
	Fields   int // field constraints over all rules
	// ApproxBytes estimates the heap the compiled patterns use, from the
	// size of what each pattern adds (trie nodes shared between patterns
	// are counted once per pattern). patternbench compares it with the
	// heap growth: both are within a factor of two.
	ApproxBytes int64
}

type snapshot struct {
	root *pathNode
	// always are rules with no field that can start a match by itself (all
	// their fields are exists:false, or they have no fields): they are
	// evaluated for every event.
	always []*crule
	// nRules, nPatterns and nPaths bound crule.num, cpattern.num and
	// valueIndex.pathID.
	nRules, nPatterns, nPaths int32
}

type cpattern struct {
	num   int32
	id    string
	rules []*crule
	bytes int64
}

type crule struct {
	num    int32
	pat    *cpattern
	fields []*cfield
	// anchor is the field whose hit makes the rule a candidate; nil for
	// rules in snapshot.always.
	anchor *cfield
}

type cfield struct {
	rule *crule
	// simple is set when the field is its rule's only one: a value meeting
	// it matches the pattern outright. patNum and patID are the pattern's,
	// at hand for that case.
	simple bool
	patNum int32
	patID  string
	// The field's own data.
	path []string
	// pathID is the number of the path (valueIndex.pathID).
	pathID int32
	conds  []Cond
	// ranges holds the numeric conditions' ranges as numCond, at the
	// conditions' indexes (nil when there are none).
	ranges []numCond
	// existsFalse is set when some condition is {"exists": false}: the
	// field is then met by the absence of values too.
	existsFalse bool
}

// NewMatcher returns an empty Matcher.
func NewMatcher() *Matcher {
	m := &Matcher{patterns: map[string]*cpattern{}}
	m.cur.Store(&snapshot{})
	return m
}

// ErrNilPattern is returned by Add for a nil pattern.
var ErrNilPattern = errors.New("pattern: nil pattern")

// ErrMatcherFull is returned by Add when the pattern would take the
// matcher's estimated size (Stats.ApproxBytes) over its limit.
var ErrMatcherFull = errors.New("pattern: matcher memory limit reached")

// SetMaxBytes bounds Stats().ApproxBytes: Add refuses patterns that would
// exceed n. Zero or less removes the bound. Patterns already held stay.
func (m *Matcher) SetMaxBytes(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.maxBytes = max(n, 0)
}

// Add adds p under id, replacing any pattern already held under id.
func (m *Matcher) Add(id string, p *Pattern) error {
	if p == nil {
		return ErrNilPattern
	}
	cp := compilePattern(id, p)
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.patterns[id]
	if m.maxBytes > 0 {
		size := m.stats.ApproxBytes + cp.bytes
		if old != nil {
			size -= old.bytes
		}
		if size > m.maxBytes {
			return ErrMatcherFull
		}
	}
	snap := *m.cur.Load()
	if old != nil {
		m.unindex(&snap, old)
	}
	m.index(&snap, cp)
	m.patterns[id] = cp
	m.cur.Store(&snap)
	return nil
}

// Remove drops the pattern held under id and reports whether there was one.
func (m *Matcher) Remove(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.patterns[id]
	if old == nil {
		return false
	}
	snap := *m.cur.Load()
	m.unindex(&snap, old)
	delete(m.patterns, id)
	m.cur.Store(&snap)
	return true
}

// Stats reports the size of the matcher.
func (m *Matcher) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

// Match returns the ids of the patterns the event matches, each once. The
// event must be a JSON object.
func (m *Matcher) Match(event []byte) ([]string, error) {
	return m.AppendMatches(nil, event)
}

// AppendMatches appends the ids of the patterns the event matches to dst.
// With a dst of sufficient capacity it does not allocate.
func (m *Matcher) AppendMatches(dst []string, event []byte) ([]string, error) {
	return m.appendMatches(dst, event, false)
}

// AppendMatchesValid is AppendMatches for events the caller has already
// checked to be valid JSON (json.Valid, as ingestion does). It reads only
// as much of the event as the patterns need, stopping early where it can,
// and does not check the syntax of what it skips: on invalid JSON it may
// return an error or a result, but it does not panic. Duplicate keys may be
// read up to the point where reading stops, and so may a key holding dots
// that leads where a key met before it already led (EventBridge reads
// {"a":{},"a.b":1} as a field a.b; this may stop after "a"): callers that
// cannot rule such events out use AppendMatches for them.
func (m *Matcher) AppendMatchesValid(dst []string, event []byte) ([]string, error) {
	return m.appendMatches(dst, event, true)
}

func (m *Matcher) appendMatches(dst []string, event []byte, trusted bool) ([]string, error) {
	s := statePool.Get().(*evalState)
	s.reset(m.cur.Load(), event, trusted, dst)
	err := s.scanEvent()
	if err == nil {
		dst = s.collect()
	}
	s.release()
	statePool.Put(s)
	return dst, err
}

func compilePattern(id string, p *Pattern) *cpattern {
	cp := &cpattern{id: id}
	cp.bytes = int64(unsafe.Sizeof(cpattern{})) + int64(len(id)) + int64(len(p.Source))
	for ri := range p.Rules {
		r := &crule{pat: cp}
		for fi := range p.Rules[ri].Fields {
			src := &p.Rules[ri].Fields[fi]
			f := &cfield{rule: r, path: slices.Clone(src.Path), conds: slices.Clone(src.Conds)}
			cp.bytes += int64(unsafe.Sizeof(cfield{}))
			for _, k := range f.path {
				cp.bytes += 16 + 2*int64(len(k)) // the field's copy and the path node's
			}
			for j, c := range f.conds {
				if c.Op == OpExists && !c.Exists {
					f.existsFalse = true
				}
				if c.Op == OpNumeric {
					if f.ranges == nil {
						f.ranges = make([]numCond, len(f.conds))
					}
					f.ranges[j] = newNumCond(f, c.Range)
					cp.bytes += int64(unsafe.Sizeof(numCond{}))
				}
				cp.bytes += condBytes(&c)
			}
			r.fields = append(r.fields, f)
		}
		r.anchor = pickAnchor(r.fields)
		cp.bytes += int64(unsafe.Sizeof(crule{}))
		cp.rules = append(cp.rules, r)
	}
	return cp
}

// pickAnchor chooses the field most likely to be rare among events, so that
// as few rules as possible become candidates. A field with exists:false can
// be met without any value and cannot be an anchor.
func pickAnchor(fields []*cfield) *cfield {
	var best *cfield
	bestRank := 1 << 30
	for _, f := range fields {
		if f.existsFalse {
			continue
		}
		rank := 0
		for _, c := range f.conds {
			rank = max(rank, opRank(c.Op))
		}
		if rank < bestRank {
			best, bestRank = f, rank
		}
	}
	return best
}

func opRank(op Op) int {
	switch op {
	case OpExact, OpEqualsIgnoreCase:
		return 0
	case OpPrefix, OpSuffix, OpPrefixIgnoreCase, OpSuffixIgnoreCase, OpWildcard, OpCIDR:
		return 1
	case OpNumeric:
		return 2
	case OpExists:
		return 4
	default: // anything-but: almost every value passes
		return 3
	}
}

func condBytes(c *Cond) int64 {
	n := int64(unsafe.Sizeof(Cond{})) + int64(len(c.Str)+len(c.Value.Str))
	for _, s := range c.Strs {
		n += 16 + int64(len(s))
	}
	for _, v := range c.Values {
		n += int64(unsafe.Sizeof(v)) + int64(len(v.Str))
	}
	// Index space: an exact value takes an entry of the hash trie and a
	// share of its node; a trie literal may take a node per byte.
	switch c.Op {
	case OpExact, OpEqualsIgnoreCase:
		n += int64(unsafe.Sizeof(hentry[[]*cfield]{})) + int64(len(c.Str)+len(c.Value.Str)) + 8 + int64(unsafe.Sizeof(hnode[[]*cfield]{}))/hLeafMax*2
	case OpPrefix, OpSuffix, OpPrefixIgnoreCase, OpSuffixIgnoreCase, OpWildcard:
		n += int64(len(c.Str)+2) * (bnodeBytes + 16)
	}
	return n
}

func (m *Matcher) index(snap *snapshot, cp *cpattern) {
	cp.num = m.patNums.get()
	for _, r := range cp.rules {
		r.num = m.ruleNums.get()
		for _, f := range r.fields {
			f.patNum, f.patID = cp.num, cp.id
			f.simple = len(r.fields) == 1 && r.anchor == f
		}
		for _, f := range r.fields {
			snap.root = snap.root.update(f.path, 0, func(v *valueIndex) *valueIndex {
				nv := v.with(f)
				if v == nil {
					nv.pathID = m.pathNums.get()
				}
				f.pathID = nv.pathID
				return nv
			})
		}
		if r.anchor == nil {
			snap.always = append(slices.Clip(snap.always), r)
		}
		m.stats.Rules++
		m.stats.Fields += len(r.fields)
	}
	m.stats.Patterns++
	m.stats.ApproxBytes += cp.bytes
	snap.nRules, snap.nPatterns, snap.nPaths = m.ruleNums.next, m.patNums.next, m.pathNums.next
}

func (m *Matcher) unindex(snap *snapshot, cp *cpattern) {
	for _, r := range cp.rules {
		for _, f := range r.fields {
			snap.root = snap.root.update(f.path, 0, func(v *valueIndex) *valueIndex {
				nv := v.without(f)
				if nv == nil {
					m.pathNums.put(v.pathID)
				}
				return nv
			})
		}
		if r.anchor == nil {
			snap.always = slices.DeleteFunc(slices.Clone(snap.always), func(x *crule) bool { return x == r })
		}
		m.stats.Rules--
		m.stats.Fields -= len(r.fields)
		m.ruleNums.put(r.num)
	}
	m.patNums.put(cp.num)
	m.stats.Patterns--
	m.stats.ApproxBytes -= cp.bytes
}

// with returns a copy of v that also finds f.
func (v *valueIndex) with(f *cfield) *valueIndex {
	c := v.clone()
	c.fields++
	if f.existsFalse {
		c.absent++
	}
	if f.rule.anchor != f {
		c.later++
		if allNumeric(f) {
			for i := range f.conds {
				c.laterNum = append(c.laterNum, newNumCond(f, f.conds[i].Range))
			}
		} else {
			c.laterOther++
		}
		return c
	}
	for i := range f.conds {
		c.addCond(f, &f.conds[i])
	}
	c.buildABFilter()
	return c
}

// without returns a copy of v that no longer finds f, or nil when nothing
// is left.
func (v *valueIndex) without(f *cfield) *valueIndex {
	c := v.clone()
	c.fields--
	if c.fields == 0 {
		return nil
	}
	if f.existsFalse {
		c.absent--
	}
	if f.rule.anchor != f {
		c.later--
		if allNumeric(f) {
			c.laterNum = slices.DeleteFunc(c.laterNum, func(n numCond) bool { return n.f == f })
		} else {
			c.laterOther--
		}
		return c
	}
	drop := func(n *bnode) {
		n.pre = removeField(n.pre, f)
		n.wild = slices.DeleteFunc(n.wild, func(w wildRef) bool { return w.f == f })
	}
	for i := range f.conds {
		cond := &f.conds[i]
		if tag, key, ok := exactKey(cond); ok {
			c.exact = c.exact.update(hashValue(tag, []byte(key)), 0, tag, key, func(fs []*cfield) []*cfield { return removeField(slices.Clone(fs), f) })
			switch tag {
			case tagFolded:
				c.foldedExact--
			case tagNumberLit:
				c.litNumbers--
			}
		} else if trie, key := c.trieFor(cond); trie != nil {
			*trie = (*trie).update(key, drop)
		}
	}
	c.wildAny = slices.DeleteFunc(c.wildAny, func(w wildRef) bool { return w.f == f })
	notF := func(s slowCond) bool { return s.f == f }
	c.slowNum = slices.DeleteFunc(c.slowNum, func(n numCond) bool { return n.f == f })
	c.slowStr = slices.DeleteFunc(c.slowStr, notF)
	c.slowAny = slices.DeleteFunc(c.slowAny, notF)
	c.buildABFilter()
	return c
}

// allNumeric reports whether every condition of f is a numeric range.
func allNumeric(f *cfield) bool {
	for i := range f.conds {
		if f.conds[i].Op != OpNumeric {
			return false
		}
	}
	return len(f.conds) > 0
}

func (v *valueIndex) addCond(f *cfield, c *Cond) {
	if tag, key, ok := exactKey(c); ok {
		v.exact = v.exact.update(hashValue(tag, []byte(key)), 0, tag, key, func(fs []*cfield) []*cfield { return append(slices.Clip(fs), f) })
		switch tag {
		case tagFolded:
			v.foldedExact++
		case tagNumberLit:
			v.litNumbers++
		}
		return
	}
	if trie, key := v.trieFor(c); trie != nil {
		*trie = (*trie).update(key, func(n *bnode) {
			if c.Op == OpWildcard {
				n.wild = append(n.wild, wildRef{f: f, toks: wildcardTokens(c.Str)})
			} else {
				n.pre = append(n.pre, f)
			}
		})
		return
	}
	sc := slowCond{f: f, c: c}
	switch c.Op {
	case OpWildcard:
		v.wildAny = append(v.wildAny, wildRef{f: f, toks: wildcardTokens(c.Str)})
	case OpExists:
		if c.Exists {
			v.slowAny = append(v.slowAny, sc)
		}
	case OpNumeric:
		v.slowNum = append(v.slowNum, newNumCond(f, c.Range))
	case OpAnythingButWildcard:
		for _, w := range c.Strs {
			sc.toks = append(sc.toks, wildcardTokens(w))
		}
		v.slowAny = append(v.slowAny, sc)
	case OpAnythingButIgnoreCase:
		for _, x := range c.Strs {
			sc.folded = append(sc.folded, string(foldAppend(nil, []byte(x))))
		}
		v.slowAny = append(v.slowAny, sc)
	case OpCIDR:
		v.slowStr = append(v.slowStr, sc)
	default:
		v.slowAny = append(v.slowAny, sc)
	}
}

// exactKey gives the hash-trie key of a condition met by one value only.
func exactKey(c *Cond) (tag byte, key string, ok bool) {
	switch c.Op {
	case OpExact:
		k := valueKey(nil, &c.Value)
		return k[0], string(k[1:]), true
	case OpEqualsIgnoreCase:
		return tagFolded, string(foldAppend(nil, []byte(c.Str))), true
	case OpWildcard:
		if toks := wildcardTokens(c.Str); !slices.Contains(toks, wcStar) {
			return tagString, string(tokenBytes(toks)), true
		}
	}
	return 0, "", false
}

// trieFor says in which trie, under which key, a condition lives; nil for
// conditions tested one by one.
func (v *valueIndex) trieFor(c *Cond) (**bnode, []byte) {
	switch c.Op {
	case OpPrefix:
		return &v.fwd, append([]byte{tagString}, c.Str...)
	case OpSuffix:
		return &v.rev, reversed(nil, []byte(c.Str))
	case OpPrefixIgnoreCase:
		return &v.fold, foldAppend(nil, []byte(c.Str))
	case OpSuffixIgnoreCase:
		return &v.frev, reversed(nil, foldAppend(nil, []byte(c.Str)))
	case OpWildcard:
		// A wildcard hangs off the trie node of its fixed start, or of its
		// fixed end; only values reaching that node are checked in full.
		toks := wildcardTokens(c.Str)
		first := slices.Index(toks, wcStar)
		if first > 0 {
			return &v.fwd, append([]byte{tagString}, tokenBytes(toks[:first])...)
		}
		last := len(toks) - 1
		for toks[last] != wcStar {
			last--
		}
		if last < len(toks)-1 {
			return &v.rev, reversed(nil, tokenBytes(toks[last+1:]))
		}
	}
	return nil, nil
}

// valueKey appends the trie key of an exact value: a kind tag, then the
// text (strings) or canonical form (numbers).
func valueKey(dst []byte, v *Value) []byte {
	switch v.Kind {
	case KindString:
		return append(append(dst, tagString), v.Str...)
	case KindNumber:
		return appendPatternNumberKey(dst, []byte(v.Str))
	case KindTrue:
		return append(dst, tagTrue)
	case KindFalse:
		return append(dst, tagFalse)
	default:
		return append(dst, tagNull)
	}
}

func reversed(dst, s []byte) []byte {
	for i := len(s) - 1; i >= 0; i-- {
		dst = append(dst, s[i])
	}
	return dst
}

// tokenBytes turns star-free wildcard tokens back into bytes.
func tokenBytes(toks []int) []byte {
	b := make([]byte, len(toks))
	for i, t := range toks {
		b[i] = byte(t)
	}
	return b
}
