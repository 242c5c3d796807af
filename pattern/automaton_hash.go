package pattern

import (
	"hash/maphash"
	"slices"
)

// Exact values, and the keys of wide object levels, live in a persistent
// hash trie: a lookup costs a few dependent memory loads whatever the key's
// length, where walking a byte trie costs a few per byte (and with many
// rules those loads miss the cache), and an update copies a few small nodes
// where a map would have to be copied whole. Like the rest of the automaton
// it is updated by path copying.

var hashSeed = maphash.MakeSeed()

const (
	hBits    = 4
	hFan     = 1 << hBits
	hLeafMax = 8 // entries a leaf holds before it splits
)

// hnode is a node of the hash trie: interior nodes route on hBits of the
// hash per level; leaves hold entries.
type hnode[V any] struct {
	inner bool
	kids  [hFan]*hnode[V]
	ents  []hentry[V]
}

// hentry is one key (a tag, see valueKey, and text) and its value.
type hentry[V any] struct {
	h   uint64
	tag byte
	key string
	val V
}

func hashValue(tag byte, v []byte) uint64 {
	// The tag is mixed in rather than hashed, so that the value bytes need
	// not be copied next to it; entries compare the tag anyway.
	return maphash.Bytes(hashSeed, v) ^ uint64(tag)*0x9E3779B97F4A7C15
}

func (n *hnode[V]) lookup(h uint64, tag byte, v []byte) V {
	for depth := 0; n != nil && n.inner; depth += hBits {
		n = n.kids[(h>>depth)&(hFan-1)]
	}
	if n != nil {
		for i := range n.ents {
			if e := &n.ents[i]; e.h == h && e.tag == tag && e.key == string(v) {
				return e.val
			}
		}
	}
	var zero V
	return zero
}

// absent says whether a value stands for no entry: the trie holds no empty
// field lists and no nil nodes.
func absent[V any](v V) bool {
	switch x := any(v).(type) {
	case []*cfield:
		return len(x) == 0
	case *pathNode:
		return x == nil
	}
	return false
}

// update returns a copy of n in which fn has replaced the value for (tag,
// key) (fn gets the zero value when there is none); absent results drop the
// entry and empty nodes are pruned (nil result).
func (n *hnode[V]) update(h uint64, depth int, tag byte, key string, fn func(V) V) *hnode[V] {
	if n == nil {
		var zero V
		v := fn(zero)
		if absent(v) {
			return nil
		}
		return &hnode[V]{ents: []hentry[V]{{h: h, tag: tag, key: key, val: v}}}
	}
	c := &hnode[V]{inner: n.inner, kids: n.kids}
	if n.inner {
		i := (h >> depth) & (hFan - 1)
		c.kids[i] = n.kids[i].update(h, depth+hBits, tag, key, fn)
		if c.kids == ([hFan]*hnode[V]{}) {
			return nil
		}
		return c
	}
	c.ents = slices.Clone(n.ents)
	at := slices.IndexFunc(c.ents, func(e hentry[V]) bool { return e.h == h && e.tag == tag && e.key == key })
	if at >= 0 {
		e := &c.ents[at]
		if e.val = fn(e.val); absent(e.val) {
			c.ents = slices.Delete(c.ents, at, at+1)
		}
	} else {
		var zero V
		if v := fn(zero); !absent(v) {
			c.ents = append(c.ents, hentry[V]{h: h, tag: tag, key: key, val: v})
		}
	}
	switch {
	case len(c.ents) == 0:
		return nil
	case len(c.ents) > hLeafMax && depth+hBits < 64:
		// Split; entries whose hashes agree on every bit stay together in
		// a leaf at the bottom.
		s := &hnode[V]{inner: true}
		for _, e := range c.ents {
			i := (e.h >> depth) & (hFan - 1)
			s.kids[i] = s.kids[i].update(e.h, depth+hBits, e.tag, e.key, func(V) V { return e.val })
		}
		return s
	}
	return c
}
