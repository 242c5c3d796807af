package pattern

import (
	"bytes"
	"math"
	"slices"
)

// The compiled form is persistent: once a snapshot is published it is never
// written again. Add and Remove copy only the nodes on the way from the root
// to what changes (path copying), so an update costs about the size of the
// pattern, not the size of the matcher, and readers need no locks.

// pathNode is one object level of the field-name automaton: the keys that
// lead further, and the value index of the fields that end here.
type pathNode struct {
	names []string
	kids  []*pathNode
	// sigs holds keySig of each name, so that most keys an event has and
	// no pattern uses are told apart without reading the names.
	sigs []uint32
	// wide replaces names and kids once a level has many keys, so that an
	// update copies a few small nodes, not every key of the level.
	wide  *hnode[*pathNode]
	nWide int32
	// deep counts the children that have children in their turn: only
	// through those can an event key holding dots lead anywhere (see
	// dotted), so a level without them need not look for dots. It shares
	// a word with nWide: a bigger node slowed matching by a tenth.
	deep int32
	idx  *valueIndex
}

// pathWideMin is the number of keys from which a level is wide.
const pathWideMin = 16

// child returns the child for the key name, and its index in kids (-1 for
// a wide level or no child).
func (n *pathNode) child(name []byte) (*pathNode, int) {
	if n == nil {
		return nil, -1
	}
	if n.wide != nil {
		return n.wide.lookup(hashValue(0, name), 0, name), -1
	}
	if len(name) == 0 {
		if i := slices.Index(n.names, ""); i >= 0 {
			return n.kids[i], i
		}
		return nil, -1
	}
	// Length, first and last byte settle most comparisons without a
	// call to the general string comparison.
	sig := keySig(name)
	for i, g := range n.sigs {
		// A key of one or two bytes is its signature.
		if g == sig && (len(name) <= 2 || n.names[i] == string(name)) {
			return n.kids[i], i
		}
	}
	return nil, -1
}

// keySig packs the length, first and last byte of a non-empty key.
func keySig[S string | []byte](k S) uint32 {
	return uint32(len(k))<<16 | uint32(k[0])<<8 | uint32(k[len(k)-1])
}

func (n *pathNode) hasKids() bool { return len(n.kids) != 0 || n.wide != nil }

func (n *pathNode) clone() *pathNode {
	if n == nil {
		return &pathNode{}
	}
	c := *n
	c.names = slices.Clone(n.names)
	c.kids = slices.Clone(n.kids)
	c.sigs = slices.Clone(n.sigs)
	return &c
}

func (n *pathNode) empty() bool { return !n.hasKids() && n.idx == nil }

// update returns a copy of n in which the value index at path has been
// replaced by fn(old index); nodes left empty are pruned (nil result).
func (n *pathNode) update(path []string, depth int, fn func(*valueIndex) *valueIndex) *pathNode {
	c := n.clone()
	if depth == len(path) {
		c.idx = fn(c.idx)
		if c.empty() {
			return nil
		}
		return c
	}
	name := path[depth]
	if c.wide != nil {
		h := hashValue(0, []byte(name))
		old := c.wide.lookup(h, 0, []byte(name))
		nk := old.update(path, depth+1, fn)
		c.deep += deepDelta(old, nk)
		c.wide = c.wide.update(h, 0, 0, name, func(*pathNode) *pathNode { return nk })
		switch {
		case old == nil && nk != nil:
			c.nWide++
		case old != nil && nk == nil:
			c.nWide--
		}
	} else {
		at := slices.Index(c.names, name)
		var old *pathNode
		if at >= 0 {
			old = c.kids[at]
		}
		nk := old.update(path, depth+1, fn)
		c.deep += deepDelta(old, nk)
		switch {
		case nk != nil && at >= 0:
			c.kids[at] = nk
		case nk != nil:
			c.names = append(c.names, name)
			c.kids = append(c.kids, nk)
			sig := uint32(0) // the empty name is looked up apart
			if name != "" {
				sig = keySig(name)
			}
			c.sigs = append(c.sigs, sig)
		case at >= 0:
			c.names = slices.Delete(c.names, at, at+1)
			c.kids = slices.Delete(c.kids, at, at+1)
			c.sigs = slices.Delete(c.sigs, at, at+1)
		}
		if len(c.names) >= pathWideMin {
			for i, k := range c.names {
				kid := c.kids[i]
				c.wide = c.wide.update(hashValue(0, []byte(k)), 0, 0, k, func(*pathNode) *pathNode { return kid })
			}
			c.nWide, c.names, c.kids, c.sigs = int32(len(c.names)), nil, nil, nil
		}
	}
	if c.empty() {
		return nil
	}
	return c
}

// deepDelta is the change to a parent's deep count when its child old is
// replaced by nk (either may be nil).
func deepDelta(old, nk *pathNode) int32 {
	d := int32(0)
	if old != nil && old.hasKids() {
		d--
	}
	if nk != nil && nk.hasKids() {
		d++
	}
	return d
}

// bnode is a node of a byte trie keyed by (possibly case-folded, possibly
// reversed) value bytes. Fields hang off the node their literal leads to.
// The labels of the first few children sit inside the node, and a node
// with many children indexes them by byte, so that a step costs one or two
// memory loads: with many rules, the trie is larger than the cache.
type bnode struct {
	n     int16 // number of children
	keys  [bnodeInline]byte
	kids  []*bnode     // children of keys[:n], while n <= bnodeInline
	dense *[256]*bnode // children by byte, once n > bnodeInline
	// pre fields match when the value passes through this node (prefix and
	// suffix conditions, in the reversed trie).
	pre []*cfield
	// wild are wildcards whose fixed start (or end) leads here; passing
	// through only makes them candidates for a full check.
	wild []wildRef
}

const bnodeInline = 14

type wildRef struct {
	f    *cfield
	toks []int // see wildcardTokens
}

func (n *bnode) next(c byte) *bnode {
	if n.dense != nil {
		return n.dense[c]
	}
	for i := 0; i < int(n.n); i++ {
		if n.keys[i] == c {
			return n.kids[i]
		}
	}
	return nil
}

func (n *bnode) clone() *bnode {
	if n == nil {
		return &bnode{}
	}
	c := *n
	c.kids = slices.Clone(n.kids)
	if n.dense != nil {
		d := *n.dense
		c.dense = &d
	}
	c.pre = slices.Clone(n.pre)
	c.wild = slices.Clone(n.wild)
	return &c
}

// setChild sets (or, with k nil, removes) the child for byte b of a node
// that is not yet published.
func (n *bnode) setChild(b byte, k *bnode) {
	if n.dense != nil {
		if (n.dense[b] == nil) != (k == nil) {
			if k == nil {
				n.n--
			} else {
				n.n++
			}
		}
		n.dense[b] = k
		return
	}
	at := bytes.IndexByte(n.keys[:n.n], b)
	switch {
	case at >= 0 && k != nil:
		n.kids[at] = k
	case at >= 0:
		copy(n.keys[at:], n.keys[at+1:n.n])
		n.kids = slices.Delete(n.kids, at, at+1)
		n.n--
	case k == nil:
	case n.n < bnodeInline:
		n.keys[n.n] = b
		n.kids = append(n.kids, k)
		n.n++
	default:
		d := new([256]*bnode)
		for i, kid := range n.kids {
			d[n.keys[i]] = kid
		}
		d[b] = k
		n.dense, n.kids, n.keys = d, nil, [bnodeInline]byte{}
		n.n++
	}
}

func (n *bnode) empty() bool {
	return n.n == 0 && len(n.pre) == 0 && len(n.wild) == 0
}

// update returns a copy of n with fn applied to the node at key, pruning
// nodes left empty.
func (n *bnode) update(key []byte, fn func(*bnode)) *bnode {
	c := n.clone()
	if len(key) == 0 {
		fn(c)
	} else {
		var old *bnode
		if n != nil {
			old = n.next(key[0])
		}
		c.setChild(key[0], old.update(key[1:], fn))
	}
	if c.empty() {
		return nil
	}
	return c
}

// bnodeBytes is the rough heap cost of one sparse trie node, for Stats.
const bnodeBytes = 112

func removeField(list []*cfield, f *cfield) []*cfield {
	return slices.DeleteFunc(list, func(g *cfield) bool { return g == f })
}

// valueIndex finds, for one value at one path, the fields of all rules at
// that path whose conditions the value meets.
type valueIndex struct {
	// exact holds exact values, tagged by kind (see valueKey), and
	// case-folded ones for equals-ignore-case (tagFolded).
	exact *hnode[[]*cfield]
	// foldedExact counts the tagFolded entries: values need folding only
	// when some condition wants it.
	foldedExact int
	// litNumbers counts the tagNumberLit entries: pattern numbers that
	// only match their own literal.
	litNumbers int
	// fwd holds prefixes and wildcards by their fixed start, both after
	// tagString.
	fwd *bnode
	// rev holds suffixes and wildcards by their fixed end, reversed.
	rev *bnode
	// fold and frev are fwd and rev over case-folded text (no tag).
	fold, frev *bnode
	// wildAny are wildcards with '*' at both ends: always checked.
	wildAny []wildRef
	// Conditions tested one by one: numeric ranges, as closed float
	// intervals, on comparable numbers; on strings (cidr), on any value
	// (anything-but, exists:true).
	slowNum          []numCond
	slowStr, slowAny []slowCond
	// ab is a filter over slowAny: a string that it clears is excluded by
	// none of the anything-but conditions there, so all of them are met
	// without testing them one by one.
	ab abFilter
	// absent counts the fields with exists:false here, later the fields
	// that are not their rule's anchor: those are judged after the scan,
	// on the values recorded then.
	absent, later int
	// laterNum holds the ranges of the later fields whose conditions are
	// all numeric, laterOther counts the other later fields. Where every
	// later field is numeric (and no field has exists:false), a value is
	// recorded for them only if it may lie in one of those ranges: the
	// others can never meet them.
	laterNum   []numCond
	laterOther int
	// fields counts the fields at this path, to know when it is empty.
	fields int
	// pathID numbers the path while it has fields, so that an event's
	// values can be grouped by path (evalState.pathHead).
	pathID int32
}

type slowCond struct {
	f *cfield
	c *Cond
	// toks are the compiled operands of anything-but wildcard, folded
	// those of anything-but equals-ignore-case.
	toks   [][]int
	folded []string
}

// abFilter records the first and last bytes of what the anything-but
// conditions of a path exclude (prefixes and exact strings by their first
// byte, suffixes by their last, case-folded values by their folded first
// byte, wildcards by a fixed end). A string whose first and last bytes are
// in none of the sets cannot be excluded; conditions it cannot reason
// about set always.
type abFilter struct {
	first, last, foldFirst [4]uint64
	always                 bool
	// numbers is set when some condition excludes numbers: only then
	// does a number need decoding for slowAny.
	numbers bool
	// fields are those of slowAny, in order.
	fields []*cfield
}

func setBit(set *[4]uint64, b byte)      { set[b>>6] |= 1 << (b & 63) }
func hasBit(set *[4]uint64, b byte) bool { return set[b>>6]&(1<<(b&63)) != 0 }

// clears reports whether no anything-but condition can exclude v.
func (a *abFilter) clears(v []byte) bool {
	if a.always || len(v) == 0 || hasBit(&a.first, v[0]) || hasBit(&a.last, v[len(v)-1]) {
		return false
	}
	if a.foldFirst != ([4]uint64{}) {
		c := v[0]
		if c >= 0x80 {
			return false // folding a rune is left to the full test
		}
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		return !hasBit(&a.foldFirst, c)
	}
	return true
}

// buildABFilter recomputes v.ab from v.slowAny.
func (v *valueIndex) buildABFilter() {
	a := abFilter{}
	str := func(set *[4]uint64, s string, at func(string) byte) {
		if s == "" {
			a.always = true
			return
		}
		setBit(set, at(s))
	}
	first := func(s string) byte { return s[0] }
	last := func(s string) byte { return s[len(s)-1] }
	for i := range v.slowAny {
		sc := &v.slowAny[i]
		a.fields = append(a.fields, sc.f)
		switch c := sc.c; c.Op {
		case OpExists:
			// exists:true excludes nothing.
		case OpAnythingBut:
			for _, x := range c.Values {
				if x.Kind == KindString {
					str(&a.first, x.Str, first)
				} else {
					a.numbers = true
				}
			}
		case OpAnythingButPrefix:
			for _, x := range c.Strs {
				str(&a.first, x, first)
			}
		case OpAnythingButSuffix:
			for _, x := range c.Strs {
				str(&a.last, x, last)
			}
		case OpAnythingButIgnoreCase:
			for _, x := range sc.folded {
				str(&a.foldFirst, x, first)
			}
		case OpAnythingButWildcard:
			for _, toks := range sc.toks {
				switch {
				case len(toks) > 0 && toks[0] != wcStar:
					setBit(&a.first, byte(toks[0]))
				case len(toks) > 0 && toks[len(toks)-1] != wcStar:
					setBit(&a.last, byte(toks[len(toks)-1]))
				default:
					a.always = true
				}
			}
		default:
			a.always, a.numbers = true, true
		}
	}
	v.ab = a
}

// numCond is a numeric range as the closed interval [lo, hi] of float64s:
// an open bound is moved to the next float inside the range (comparable
// numbers are finite floats, so x > b is x >= the float after b), a
// missing one to an infinity.
type numCond struct {
	lo, hi float64
	f      *cfield
}

func newNumCond(f *cfield, r Range) numCond {
	n := numCond{lo: math.Inf(-1), hi: math.Inf(1), f: f}
	if r.HasLow {
		n.lo = r.Low
		if r.LowOpen {
			n.lo = math.Nextafter(r.Low, math.Inf(1))
		}
	}
	if r.HasHigh {
		n.hi = r.High
		if r.HighOpen {
			n.hi = math.Nextafter(r.High, math.Inf(-1))
		}
	}
	return n
}

func (v *valueIndex) clone() *valueIndex {
	if v == nil {
		return &valueIndex{}
	}
	c := *v
	c.wildAny = slices.Clone(v.wildAny)
	c.slowNum = slices.Clone(v.slowNum)
	c.laterNum = slices.Clone(v.laterNum)
	c.slowStr = slices.Clone(v.slowStr)
	c.slowAny = slices.Clone(v.slowAny)
	return &c
}

// Tags in front of exact values in fwd, so that the string "1" and the
// number 1 stay apart and prefixes only ever meet strings.
const (
	tagString = 's'
	tagTrue   = 't'
	tagFalse  = 'f'
	tagNull   = 'z'
	tagFolded = 'i'
)
